"""The tutorial's views: registration, login by e-mail with bcrypt, the `authenticate` decorator,
logout, and `test1`.

`login`, `authenticate`, `logout` and `test1` follow the tutorial line by line (its debugging prints
became log calls). The tutorial never shows `reg`; this one answers in the same JSON style and is
spelled out in README.md so the Node app can answer byte for byte the same. Like the tutorial's
urls, no view restricts the HTTP method.
"""
import functools
import json
import logging

import bcrypt
from django.db import IntegrityError
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, JsonResponse

from .models import User

logger = logging.getLogger(__name__)

NAME_MAX_CHARS = User._meta.get_field("name").max_length
EMAIL_MAX_CHARS = User._meta.get_field("email").max_length
# bcrypt only reads the first 72 bytes; longer passwords are refused instead of silently truncated.
PASSWORD_MAX_BYTES = 72


def _error(status, message):
    return JsonResponse({"error": message}, status=status)


def _utf8_length(value):
    """Return the UTF-8 length of a string, or None when it is not a string or holds a lone
    surrogate (JSON allows "\\ud800"; no database column can store it)."""
    if not isinstance(value, str):
        return None
    try:
        return len(value.encode())
    except UnicodeEncodeError:
        return None


def _registration_error(payload):
    """Return the first problem with a registration body, or None when it is usable."""
    if not isinstance(payload, dict):
        return "request body must be a JSON object"
    for field, limit in (("name", NAME_MAX_CHARS), ("email", EMAIL_MAX_CHARS)):
        value = payload.get(field)
        if not _utf8_length(value) or len(value) > limit:
            return "{} must be a non-empty string of at most {} characters".format(field, limit)
    if not 0 < (_utf8_length(payload.get("password")) or 0) <= PASSWORD_MAX_BYTES:
        return "password must be a non-empty string of at most {} bytes in UTF-8".format(PASSWORD_MAX_BYTES)
    return None


def reg(request: HttpRequest):
    try:
        payload = json.loads(request.body)
    except ValueError:  # also UnicodeDecodeError
        payload = None
    problem = _registration_error(payload)
    if problem:
        return _error(400, problem)

    email = payload["email"]
    if User.objects.filter(email=email).exists():
        return _error(409, "email already registered")
    user = User(
        name=payload["name"],
        email=email,
        password=bcrypt.hashpw(payload["password"].encode(), bcrypt.gensalt()).decode(),
    )
    try:
        user.save()
    except IntegrityError:  # a concurrent registration took the e-mail between the check and the save
        return _error(409, "email already registered")
    return JsonResponse({"user_id": user.id, "name": user.name, "email": user.email}, status=201)


def login(request: HttpRequest):
    # post json
    try:
        payload = json.loads(request.body)
        email = payload["email"]

        user = User.objects.get(email=email)  # only one

        if bcrypt.checkpw(payload["password"].encode(), user.password.encode()):
            s = request.session
            # Only a successful login writes to the session.
            s.set_expiry(300)
            s["user_id"] = user.id  # how later requests know the user logged in
            s["user_info"] = "**{} {} {}".format(user.id, user.name, user.email)
            return JsonResponse(
                {
                    "user": {
                        "user_id": user.id,
                        "name": user.name,
                        "email": user.email,
                    },
                    "user_info": s["user_info"],
                }
            )
        else:
            return HttpResponseBadRequest()
    except Exception as e:
        logger.info("login failed: %r", e)
        return HttpResponseBadRequest()


def authenticate(viewfunc):
    """Answer 401 unless the session's `user_id` names an existing user; else call the view with
    `request.user` set to that tutorial user."""

    @functools.wraps(viewfunc)
    def wrapper(request: HttpRequest):
        try:
            payload = request.session
            user = User.objects.get(pk=payload["user_id"])
            request.user = user
        except Exception as e:
            logger.info("authenticate failed: %r", e)
            return HttpResponse(status=401)
        return viewfunc(request)

    return wrapper


@authenticate  # nobody to log out unless a login succeeded
def logout(request: HttpRequest):
    s = "{} logout ok.".format(request.session["user_id"])
    # `del request.session['user_id']` would leave the row; flush() deletes it and drops the key.
    request.session.flush()
    return HttpResponse(s)


def test1(request: HttpRequest):
    if request.session.get("user_id"):
        return HttpResponse("test1 ok")
    else:
        return HttpResponseBadRequest()  # never logged in
