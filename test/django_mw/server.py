"""
A tiny Django site for the SessionMiddleware differential test
(test/integration/session-middleware-django.test.ts): Django's own SessionMiddleware and db session
engine over a SQLite file that the Node side opens too.

    PYTHONPATH=<django> /usr/bin/python3 test/django_mw/server.py <sqlite file> <secret key>

It migrates the `sessions` app into the file, serves WSGI (wsgiref, one request at a time) on an
ephemeral loopback port, and prints {"port": N, "django": "<version>"} on stdout once listening.

Per request:
  - header X-Dsb-Settings: a JSON object of SESSION_* settings to override for that request only
    (SessionMiddleware and SessionStore read them at request time);
  - GET /run?ops=op1,op2,...: the view applies the operations in order, then answers 200 with the
    JSON list of what the `read:` operations saw (unless an operation decided otherwise).

Operations (the Node side implements the same list):
  read:K         append session.get(K)
  write:K=V      session[K] = V (a string)
  pop:K          session.pop(K, None)
  clear          session.clear()
  flush          session.flush()
  cycle          session.cycle_key()
  expiry:N       session.set_expiry(int(N))
  save           session.save()
  savecreate     session.save(must_create=True)
  delete         session.delete()          (the row goes, the key stays)
  status:N       answer with status N
  vary:X         response["Vary"] = X
  cookie:N=V     response.set_cookie(N, V)
  raise          raise RuntimeError        (Django answers 500)
  raise404       raise Http404             (Django answers 404)
"""
import json
import sys
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import django
from django.conf import settings

DB_FILE, SECRET_KEY = sys.argv[1], sys.argv[2]

settings.configure(
    DEBUG=False,
    SECRET_KEY=SECRET_KEY,
    ALLOWED_HOSTS=["*"],
    ROOT_URLCONF=__name__,
    INSTALLED_APPS=["django.contrib.sessions"],
    MIDDLEWARE=["django.contrib.sessions.middleware.SessionMiddleware"],
    DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": DB_FILE}},
    USE_TZ=True,
    TIME_ZONE="UTC",
    SESSION_ENGINE="django.contrib.sessions.backends.db",
    # The 500 and 400 answers are part of the test; their tracebacks are noise.
    LOGGING={"version": 1, "disable_existing_loggers": False, "loggers": {"django": {"level": "CRITICAL", "propagate": False}}},
)
django.setup()

from django.core.management import call_command  # noqa: E402
from django.core.wsgi import get_wsgi_application  # noqa: E402
from django.http import Http404, HttpResponse  # noqa: E402
from django.test.utils import override_settings  # noqa: E402
from django.urls import path  # noqa: E402


def run(request):
    session = request.session
    seen = []
    status = 200
    after = []  # operations on the response
    ops = request.GET.get("ops", "")
    for op in filter(None, ops.split(",")):
        name, _, arg = op.partition(":")
        if name == "read":
            seen.append(session.get(arg))
        elif name == "write":
            k, _, v = arg.partition("=")
            session[k] = v
        elif name == "pop":
            session.pop(arg, None)
        elif name == "clear":
            session.clear()
        elif name == "flush":
            session.flush()
        elif name == "cycle":
            session.cycle_key()
        elif name == "expiry":
            session.set_expiry(int(arg))
        elif name == "save":
            session.save()
        elif name == "savecreate":
            session.save(must_create=True)
        elif name == "delete":
            session.delete()
        elif name == "status":
            status = int(arg)
        elif name in ("vary", "cookie"):
            after.append((name, arg))
        elif name == "raise":
            raise RuntimeError("boom")
        elif name == "raise404":
            raise Http404("nope")
        else:
            return HttpResponse("unknown op %r" % op, status=418)
    response = HttpResponse(json.dumps(seen), status=status, content_type="application/json")
    for name, arg in after:
        if name == "vary":
            response["Vary"] = arg
        else:
            k, _, v = arg.partition("=")
            response.set_cookie(k, v)
    return response


urlpatterns = [path("run", run)]

django_app = get_wsgi_application()


def app(environ, start_response):
    overrides = json.loads(environ.get("HTTP_X_DSB_SETTINGS") or "{}")
    with override_settings(**overrides):
        return django_app(environ, start_response)


class QuietHandler(WSGIRequestHandler):
    def log_message(self, *args):
        pass


call_command("migrate", "sessions", verbosity=0)
server = make_server("127.0.0.1", 0, app, server_class=WSGIServer, handler_class=QuietHandler)
print(json.dumps({"port": server.server_port, "django": django.get_version()}), flush=True)
server.serve_forever()
