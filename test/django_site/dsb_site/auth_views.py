"""A small JSON face for django.contrib.auth: login, whoami, logout (and a test hook).

These use Django's own `authenticate`, `login` and `logout`, so the sessions they write (`_auth_user_id`,
`_auth_user_backend`, `_auth_user_hash`) are exactly what any Django app writes.
"""
import json

from django.contrib.auth import authenticate, get_user_model, login, logout
from django.http import HttpResponse, JsonResponse
from django.views.decorators.http import require_GET, require_POST


def _error(status, message):
    return JsonResponse({"error": message}, status=status)


def _user_json(user):
    return JsonResponse({"id": user.pk, "username": user.get_username()})


def _credentials(request):
    """Return (username, password) from a JSON body, or None when the body does not carry both."""
    try:
        payload = json.loads(request.body)
    except ValueError:
        return None
    if not isinstance(payload, dict):
        return None
    username, password = payload.get("username"), payload.get("password")
    if not isinstance(username, str) or not isinstance(password, str):
        return None
    return username, password


BAD_CREDENTIALS_BODY = "request body must be a JSON object with string username and password"


@require_POST
def auth_login(request):
    credentials = _credentials(request)
    if credentials is None:
        return _error(400, BAD_CREDENTIALS_BODY)
    username, password = credentials
    user = authenticate(request, username=username, password=password)
    if user is None:
        return _error(401, "invalid username or password")
    login(request, user)
    return _user_json(user)


@require_GET
def auth_whoami(request):
    if not request.user.is_authenticated:
        return _error(401, "not logged in")
    return _user_json(request.user)


@require_POST
def auth_logout(request):
    logout(request)
    return HttpResponse("ok")


@require_POST
def auth_set_password(request):
    """Test hook (DSB_TEST_HOOKS=1): give a user a new password, as an admin would.

    It leaves the caller's own session alone, so every session of that user now carries a stale
    auth hash: the next request on Django or on Node must find it logged out.
    """
    credentials = _credentials(request)
    if credentials is None:
        return _error(400, BAD_CREDENTIALS_BODY)
    username, password = credentials
    user_model = get_user_model()
    try:
        user = user_model._default_manager.get_by_natural_key(username)
    except user_model.DoesNotExist:
        return _error(404, "no such user")
    user.set_password(password)
    user.save()
    return _user_json(user)
