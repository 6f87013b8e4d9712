#!/usr/bin/env python3
"""Django's own `db` session engine as a test oracle: a long-lived process that runs
`django.contrib.sessions.backends.db.SessionStore` against a real database and answers JSON-line
requests, so tests can check that Django and django-session-bridge read and write the same
`django_session` rows the same way (test/integration/store-django-interop.test.ts), and so the
benchmark can time Django on the same table (bench/store.ts).

Run with Debian's interpreter and the Django series under test on sys.path (the system's 3.2, or
PYTHONPATH=.cache/django/<4.2|5.2>/usr/lib/python3/dist-packages; see test/django/README.md).
Configuration comes from the environment, read once at start-up:

    DATABASE_URL     the database, in the URL forms test/django_migrate/settings.py parses
                     (mysql://, mariadb://, postgres://, postgresql://, sqlite:path, sqlite:///abs)
    USE_TZ           True / False (default True)
    TIME_ZONE        IANA name (default UTC). Django's settings *module* loader sets the process
                     zone (os.environ["TZ"] + time.tzset()) but settings.configure() does not, and
                     with USE_TZ=False timezone.now() is the process's local clock, so this oracle
                     does what the loader does. The client also starts Python with TZ=TIME_ZONE.
    SECRET_KEY       required
    SESSION_COOKIE_AGE, SESSION_EXPIRE_AT_BROWSER_CLOSE   optional, Django's defaults otherwise
    DJANGO_VERSION   optional "3.2" / "4.2" / "5.2": refuse to start if another Django is imported

The django_session table must already exist (our migrations create it exactly as Django does).

Protocol: JSON lines, answered in order (test/python/jsonlines_server.py: framing, errors, batch).
Session dicts travel as Python json text (json.dumps(d, separators=(",", ":")), what Django's
JSONSerializer writes before its latin-1 step), so ints/floats, big ints, NaN and key order are exact.

Commands. A *store* is named by "handle" (from `open`: the same SessionStore object across requests,
with its cached data, as one request's request.session) or by "sessionKey" (a new
SessionStore(sessionKey) for this request only; null for a new, empty session).
  version                              -> {django, python, vendor, useTz, timeZone}
  open {sessionKey}                    -> handle (nothing is loaded yet)
  close {handle}                       -> null
  create {data?, expiry?}              -> session key: SessionStore(), data set, set_expiry(expiry) if
                                          given, save() (which create()s: INSERT under a new key)
  load {store, modification?}          -> state (below); loads unless the store already has its data
  set {store, items, save?}            -> session key after: store[k] = v for each item (json text of
                                          a dict, in order), then save() if save (default true)
  pop {store, name, default?, save?}   -> json text of the popped value (KeyError without default)
  set_expiry {store, value, save?}     -> session key after; value: int, null,
                                          {"datetime": ISO} (datetime.fromisoformat), or
                                          {"timedelta": seconds}
  cycle_key {store}                    -> the new session key
  flush {store}                        -> session key after (null)
  save {store, mustCreate?}            -> session key after
  delete {store, sessionKey?}          -> null (store.delete(sessionKey))
  exists {sessionKey}                  -> bool (ignores expiry)
  clear_expired                        -> null (SessionStore.clear_expired())
  row {sessionKey}                     -> {sessionKey, sessionData, expireDate (ISO)} or null,
                                          through Django's Session model, expired or not
  keys                                 -> every session_key in the table, sorted
  bench_load_save {sessionKey, iterations}
                                       -> {seconds, cpuSeconds}: time.perf_counter() and
                                          time.process_time() around `iterations` times
                                          s = SessionStore(key); s["counter"] = i; s.save()
  bench_load {sessionKey, iterations}  -> {seconds, cpuSeconds}: the same around SessionStore(key).load()
  batch {requests}                     -> a list of {ok, result} / {ok: false, error}

state = {sessionKey, json, expiryAge, expiryDate, expireAtBrowserClose}: the key after loading (null
when the row was missing or expired), the data as json text, and each expiry accessor's outcome as
{"ok": value} or {"error": {type, message}} (e.g. 3.2 on a 4.2+ ISO-string expiry). expiryDate is
isoformat(); get_expiry_age/get_expiry_date receive modification=datetime.fromisoformat(...) when
the request gives one, so both sides compute with the same "now".
"""
import json
import os
import sys
import time
from datetime import datetime, timedelta

# Both live next to this script (test/python, sys.path[0]); neither imports Django.
from jsonlines_server import dumps, error_of, serve
from oracle_settings import apply_time_zone, database_from_url, env_flag, require_django_version

DATABASE_URL = os.environ["DATABASE_URL"]
USE_TZ = env_flag("USE_TZ", "True")
TIME_ZONE = apply_time_zone()

import django  # noqa: E402
from django.conf import settings  # noqa: E402

require_django_version("store_oracle")

settings.configure(
    SECRET_KEY=os.environ["SECRET_KEY"],
    INSTALLED_APPS=["django.contrib.sessions"],
    DATABASES={"default": database_from_url(DATABASE_URL)},
    USE_TZ=USE_TZ,
    TIME_ZONE=TIME_ZONE,
    SESSION_ENGINE="django.contrib.sessions.backends.db",
    SESSION_COOKIE_AGE=int(os.environ.get("SESSION_COOKIE_AGE", "1209600")),
    SESSION_EXPIRE_AT_BROWSER_CLOSE=env_flag("SESSION_EXPIRE_AT_BROWSER_CLOSE", "False"),
    LOGGING_CONFIG=None,
)
django.setup()

from django.contrib.sessions.backends.db import SessionStore  # noqa: E402
from django.contrib.sessions.models import Session  # noqa: E402
from django.db import connection  # noqa: E402

handles = {}
next_handle = [1]


def outcome(fn):
    try:
        return {"ok": fn()}
    except Exception as exc:  # the client compares failures with ours
        return {"error": error_of(exc)}


def store_of(req):
    if "handle" in req:
        return handles[req["handle"]]
    return SessionStore(req.get("sessionKey"))


def state(store, req):
    data = store._session  # loads once, as any data access does
    kwargs = {}
    if req.get("modification") is not None:
        kwargs["modification"] = datetime.fromisoformat(req["modification"])
    expiry_date = outcome(lambda: store.get_expiry_date(**kwargs))
    if "ok" in expiry_date:
        expiry_date["ok"] = expiry_date["ok"].isoformat()
    return {
        "sessionKey": store.session_key,
        "json": dumps(data),
        "expiryAge": outcome(lambda: store.get_expiry_age(**kwargs)),
        "expiryDate": expiry_date,
        "expireAtBrowserClose": outcome(store.get_expire_at_browser_close),
    }


def expiry_value(value):
    if isinstance(value, dict):
        if "datetime" in value:
            return datetime.fromisoformat(value["datetime"])
        if "timedelta" in value:
            return timedelta(seconds=value["timedelta"])
        raise ValueError("unknown expiry form %r" % (value,))
    return value


def cmd_version(req):
    return {
        "django": django.get_version(),
        "python": sys.version.split()[0],
        "vendor": connection.vendor,
        "useTz": settings.USE_TZ,
        "timeZone": settings.TIME_ZONE,
    }


def cmd_open(req):
    handle = next_handle[0]
    next_handle[0] += 1
    handles[handle] = SessionStore(req.get("sessionKey"))
    return handle


def cmd_close(req):
    handles.pop(req["handle"], None)
    return None


def cmd_create(req):
    store = SessionStore()
    if req.get("data") is not None:
        store.update(json.loads(req["data"]))
    if "expiry" in req:
        store.set_expiry(expiry_value(req["expiry"]))
    store.save()
    return store.session_key


def cmd_load(req):
    return state(store_of(req), req)


def cmd_set(req):
    store = store_of(req)
    for k, v in json.loads(req["items"]).items():
        store[k] = v
    if req.get("save", True):
        store.save()
    return store.session_key


def cmd_pop(req):
    store = store_of(req)
    if "default" in req:
        value = store.pop(req["name"], json.loads(req["default"]))
    else:
        value = store.pop(req["name"])
    if req.get("save", True):
        store.save()
    return dumps(value)


def cmd_set_expiry(req):
    store = store_of(req)
    store.set_expiry(expiry_value(req["value"]))
    if req.get("save", True):
        store.save()
    return store.session_key


def cmd_cycle_key(req):
    store = store_of(req)
    store.cycle_key()
    return store.session_key


def cmd_flush(req):
    store = store_of(req)
    store.flush()
    return store.session_key


def cmd_save(req):
    store = store_of(req)
    store.save(must_create=bool(req.get("mustCreate", False)))
    return store.session_key


def cmd_delete(req):
    store = store_of(req)
    store.delete(req.get("sessionKey") if "handle" in req else None)
    return None


def cmd_exists(req):
    return SessionStore().exists(req["sessionKey"])


def cmd_clear_expired(req):
    SessionStore.clear_expired()
    return None


def cmd_row(req):
    row = Session.objects.filter(session_key=req["sessionKey"]).first()
    if row is None:
        return None
    return {"sessionKey": row.session_key, "sessionData": row.session_data, "expireDate": row.expire_date.isoformat()}


def cmd_keys(req):
    return sorted(Session.objects.values_list("session_key", flat=True))


def cmd_bench_load_save(req):
    key, iterations = req["sessionKey"], int(req["iterations"])
    cpu, start = time.process_time(), time.perf_counter()
    for i in range(iterations):
        s = SessionStore(key)
        s["counter"] = i
        s.save()
    return {"seconds": time.perf_counter() - start, "cpuSeconds": time.process_time() - cpu}


def cmd_bench_load(req):
    key, iterations = req["sessionKey"], int(req["iterations"])
    cpu, start = time.process_time(), time.perf_counter()
    for _ in range(iterations):
        SessionStore(key).load()
    return {"seconds": time.perf_counter() - start, "cpuSeconds": time.process_time() - cpu}


COMMANDS = {name[len("cmd_"):]: fn for name, fn in globals().items() if name.startswith("cmd_")}


if __name__ == "__main__":
    serve(COMMANDS)
