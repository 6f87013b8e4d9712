"""
Django's own cookie code, for test/unit/cookies.test.ts: one JSON document on stdin, one on stdout.

  {"parse": [[header, name], ...],        header as Node hands it over (latin-1 text of the bytes)
   "setCookie": [{name, value, max_age, expires, path, domain, secure, httponly, samesite, now}, ...],
   "deleteCookie": [{name, path, domain, samesite}, ...],
   "httpDate": [t, ...],
   "vary": [[existing or null, [new, ...]], ...]}

Each result is {"ok": value} or {"error": "<Python exception type>: <message>"}. The header text is
what `c.output(header="")` puts after its leading space. Runs under whichever Django is on PYTHONPATH.
"""
import json
import sys
import time

import django
from django.conf import settings

settings.configure(DEFAULT_CHARSET="utf-8")
django.setup()

from django.http import HttpResponse  # noqa: E402
from django.http.cookie import parse_cookie  # noqa: E402
from django.utils.cache import patch_vary_headers  # noqa: E402
from django.utils.http import http_date  # noqa: E402


def attempt(fn):
    try:
        return {"ok": fn()}
    except Exception as e:  # the tests compare the failure too
        return {"error": "%s: %s" % (type(e).__name__, e)}


def parse(header, name):
    # django.core.handlers.wsgi.get_str_from_wsgi: the latin-1 bytes decoded as UTF-8 with replacement.
    text = header.encode("iso-8859-1").decode("utf-8", "replace")
    return parse_cookie(text).get(name)


def header_of(response, name):
    return response.cookies[name].output(header="").lstrip(" ")


def set_cookie(case):
    real_time = time.time
    if case.get("now") is not None:
        time.time = lambda: case["now"]
    try:
        r = HttpResponse()
        r.set_cookie(
            case["name"],
            case.get("value", ""),
            max_age=case.get("max_age"),
            expires=case.get("expires"),
            path=case.get("path", "/"),
            domain=case.get("domain"),
            secure=case.get("secure", False),
            httponly=case.get("httponly", False),
            samesite=case.get("samesite"),
        )
        return header_of(r, case["name"])
    finally:
        time.time = real_time


def delete_cookie(case):
    r = HttpResponse()
    r.delete_cookie(case["name"], path=case.get("path", "/"), domain=case.get("domain"), samesite=case.get("samesite"))
    return header_of(r, case["name"])


def vary(existing, new):
    r = HttpResponse()
    if existing is not None:
        r["Vary"] = existing
    patch_vary_headers(r, new)
    return r["Vary"]


request = json.load(sys.stdin)
out = {
    "version": django.get_version(),
    "parse": [attempt(lambda h=h, n=n: parse(h, n)) for h, n in request.get("parse", [])],
    "setCookie": [attempt(lambda c=c: set_cookie(c)) for c in request.get("setCookie", [])],
    "deleteCookie": [attempt(lambda c=c: delete_cookie(c)) for c in request.get("deleteCookie", [])],
    "httpDate": [attempt(lambda t=t: http_date(t)) for t in request.get("httpDate", [])],
    "vary": [attempt(lambda e=e, n=n: vary(e, n)) for e, n in request.get("vary", [])],
}
json.dump(out, sys.stdout)
