#!/usr/bin/env python3
"""Django's own `cache`, `cached_db` and `signed_cookies` session engines (and plain `pickle`) as a
test oracle: a long-lived process answering JSON-line requests, so tests can check that Django and
django-session-bridge share sessions through the same Redis entries, `django_session` rows and
cookies (test/integration/engines-django.test.ts), and that our pickle subset reads and writes what
CPython's pickle does (test/unit/pickle.test.ts).

Two modes:

  engines_oracle.py pickle    plain Python, no Django: only the pickle_* commands.
  engines_oracle.py           Django (the series on sys.path; see test/django/README.md), configured
                              once from the environment:
      SECRET_KEY        required
      REDIS_URL         the cache LOCATION
      CACHE_BACKEND     django_redis.cache.RedisCache | django.core.cache.backends.redis.RedisCache
      CACHE_KEY_PREFIX  (default "")   CACHE_VERSION (default 1)
      DATABASE_URL      for cached_db (URL forms of test/django_migrate/settings.py); the
                        django_session table must exist
      USE_TZ, TIME_ZONE (default True, UTC)   DJANGO_VERSION (optional check)
      DEFAULT_HASHING_ALGORITHM (3.2 only, optional: sha1 signs signed_cookies with sha1)

Protocol: JSON lines, answered in order (test/python/jsonlines_server.py: framing, errors, batch).
Session dicts travel as Python json text (json.dumps(d, separators=(",", ":"))).

Store commands take "engine": "cache" | "cached_db" | "signed_cookies" | "db" and act on a new
SessionStore(sessionKey) each time (one request's request.session). Optional "timestamp" freezes
time.time for the command; optional "sessionCookieAge" overrides SESSION_COOKIE_AGE for it.
  version                                 -> {django, python, cacheBackend}
  create {engine, data?, expiry?}         -> session key after SessionStore(); update(data);
                                             set_expiry(expiry) if given; save()
  load {engine, sessionKey}               -> {sessionKey, json, modified, accessed}: after loading
  set {engine, sessionKey, items}         -> session key after s[k] = v for each item, then save()
  save {engine, sessionKey, mustCreate?}  -> session key after save() without loading first
  cycle_key {engine, sessionKey}          -> the new key
  flush {engine, sessionKey}              -> the key after flush() (null)
  delete {engine, sessionKey}             -> null: SessionStore().delete(sessionKey)
  exists {engine, sessionKey}             -> bool
  cache_key {engine, sessionKey}          -> the full Redis key Django uses for it
  redis_get {key}                         -> {value (base64) | null, pttl}
  redis_set {key, value (base64), px?}    -> null (raw bytes, for hostile entries)
  clear_expired {engine}                  -> null
Pickle commands (both modes):
  pickle_dumps {json, protocol}           -> base64 of pickle.dumps(json.loads(json), protocol)
  pickle_loads {value (base64)}           -> json text of pickle.loads(value) (tuples become lists)
  hostile {marker}                        -> {name: base64}: pickles that run code, build objects or
                                             hold types outside the session subset; the code ones
                                             would create the file `marker` if executed
  batch {requests}                        -> a list of {ok, result} / {ok: false, error}
"""
import base64
import contextlib
import copyreg
import datetime
import decimal
import json
import os
import pickle
import sys
import time

# Both live next to this script (test/python, sys.path[0]); neither imports Django.
from jsonlines_server import dumps, serve
from oracle_settings import apply_time_zone, database_from_url, env_flag, require_django_version

PICKLE_ONLY = len(sys.argv) > 1 and sys.argv[1] == "pickle"


def b64(data):
    return base64.b64encode(data).decode("ascii")


def unb64(text):
    return base64.b64decode(text.encode("ascii"))


# --- pickle --------------------------------------------------------------------------------------

def cmd_pickle_dumps(req):
    return b64(pickle.dumps(json.loads(req["json"]), int(req["protocol"])))


def cmd_pickle_loads(req):
    return dumps(pickle.loads(unb64(req["value"])))


class _RunsCode:
    """Unpickling this would call os.system, i.e. create the marker file."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, ("touch %s" % self.marker,))


class _Plain:
    """A plain object: BUILD (its __dict__) after NEWOBJ / REDUCE."""

    def __init__(self):
        self.x = 1


class _Ext:
    pass


def _persistent_pickle(obj):
    import io

    class P(pickle.Pickler):
        def persistent_id(self, o):
            return "pid" if o is _Ext else None

    buf = io.BytesIO()
    P(buf, protocol=2).dump(obj)
    return buf.getvalue()


def cmd_hostile(req):
    marker = req["marker"]
    runs = _RunsCode(marker)
    out = {}
    for proto in (0, 2, 4, 5):
        out["reduce os.system p%d" % proto] = pickle.dumps(runs, proto)
    out["reduce inside a session dict p4"] = pickle.dumps({"_auth_user_id": "1", "x": runs}, 4)
    out["object p2 (NEWOBJ + BUILD)"] = pickle.dumps(_Plain(), 2)
    out["object p4 (STACK_GLOBAL)"] = pickle.dumps({"a": _Plain()}, 4)
    out["object p0 (INST)"] = pickle.dumps(_Plain(), 0)
    out["object p1 (OBJ)"] = pickle.dumps(_Plain(), 1)
    out["datetime p4"] = pickle.dumps({"when": datetime.datetime(2030, 1, 1)}, 4)
    out["decimal p4"] = pickle.dumps({"d": decimal.Decimal("1.5")}, 4)
    out["set p4"] = pickle.dumps({"s": {1, 2}}, 4)
    out["frozenset p4"] = pickle.dumps({"s": frozenset([1])}, 4)
    out["bytes p4"] = pickle.dumps({"b": b"raw"}, 4)
    out["bytearray p5"] = pickle.dumps({"b": bytearray(b"raw")}, 5)
    out["int key p4"] = pickle.dumps({1: "one"}, 4)
    out["tuple key p4"] = pickle.dumps({(1, 2): "t"}, 4)
    out["protocol 0 dict"] = pickle.dumps({"a": 1}, 0)
    out["protocol 1 dict"] = pickle.dumps({"a": 1}, 1)
    copyreg.add_extension(__name__, "_Ext", 240)
    try:
        out["EXT1 p2"] = pickle.dumps(_Ext, 2)
    finally:
        copyreg.remove_extension(__name__, "_Ext", 240)
    out["PERSID p2"] = _persistent_pickle({"a": _Ext})
    recursive = []
    recursive.append(recursive)
    out["self-containing list p4"] = pickle.dumps({"l": recursive}, 4)
    selfdict = {}
    selfdict["me"] = selfdict
    out["self-containing dict p4"] = pickle.dumps(selfdict, 4)
    return {name: b64(data) for name, data in out.items()}


COMMANDS = {"pickle_dumps": cmd_pickle_dumps, "pickle_loads": cmd_pickle_loads, "hostile": cmd_hostile}

# --- Django --------------------------------------------------------------------------------------

if not PICKLE_ONLY:
    USE_TZ = env_flag("USE_TZ", "True")
    TIME_ZONE = apply_time_zone()

    import django  # noqa: E402
    from django.conf import settings  # noqa: E402

    require_django_version("engines_oracle")

    if os.environ.get("DEFAULT_HASHING_ALGORITHM"):
        import warnings

        warnings.simplefilter("ignore")  # 3.2 warns about its own transitional setting

    CACHE_BACKEND = os.environ["CACHE_BACKEND"]
    REDIS_URL = os.environ["REDIS_URL"]
    settings.configure(
        SECRET_KEY=os.environ["SECRET_KEY"],
        INSTALLED_APPS=["django.contrib.sessions"],
        DATABASES={"default": database_from_url(os.environ["DATABASE_URL"])} if os.environ.get("DATABASE_URL") else {},
        CACHES={
            "default": {
                "BACKEND": CACHE_BACKEND,
                "LOCATION": REDIS_URL,
                "KEY_PREFIX": os.environ.get("CACHE_KEY_PREFIX", ""),
                "VERSION": int(os.environ.get("CACHE_VERSION", "1")),
            }
        },
        USE_TZ=USE_TZ,
        TIME_ZONE=TIME_ZONE,
        SESSION_COOKIE_AGE=int(os.environ.get("SESSION_COOKIE_AGE", "1209600")),
        LOGGING_CONFIG=None,
        **({"DEFAULT_HASHING_ALGORITHM": os.environ["DEFAULT_HASHING_ALGORITHM"]} if os.environ.get("DEFAULT_HASHING_ALGORITHM") else {}),
    )
    django.setup()

    import redis  # noqa: E402
    from django.contrib.sessions.backends import cache as cache_engine  # noqa: E402
    from django.contrib.sessions.backends import cached_db as cached_db_engine  # noqa: E402
    from django.contrib.sessions.backends import db as db_engine  # noqa: E402
    from django.contrib.sessions.backends import signed_cookies as signed_cookies_engine  # noqa: E402
    from django.core.cache import caches  # noqa: E402

    ENGINES = {
        "cache": cache_engine.SessionStore,
        "cached_db": cached_db_engine.SessionStore,
        "signed_cookies": signed_cookies_engine.SessionStore,
        "db": db_engine.SessionStore,
    }
    raw_redis = redis.Redis.from_url(REDIS_URL)
    _real_time = time.time

    @contextlib.contextmanager
    def overridden(req):
        saved_age = settings.SESSION_COOKIE_AGE
        try:
            if req.get("sessionCookieAge") is not None:
                settings.SESSION_COOKIE_AGE = int(req["sessionCookieAge"])
            if req.get("timestamp") is not None:
                now = float(req["timestamp"])
                time.time = lambda: now
            yield
        finally:
            time.time = _real_time
            settings.SESSION_COOKIE_AGE = saved_age

    def store(req):
        return ENGINES[req["engine"]](req.get("sessionKey"))

    def cmd_version(req):
        return {"django": django.get_version(), "python": sys.version.split()[0], "cacheBackend": CACHE_BACKEND}

    def cmd_create(req):
        s = store({"engine": req["engine"]})
        if req.get("data") is not None:
            s.update(json.loads(req["data"]))
        if "expiry" in req:
            s.set_expiry(req["expiry"])
        s.save()
        return s.session_key

    def cmd_load(req):
        s = store(req)
        data = s._session
        return {"sessionKey": s.session_key, "json": dumps(data), "modified": s.modified, "accessed": s.accessed}

    def cmd_set(req):
        s = store(req)
        for k, v in json.loads(req["items"]).items():
            s[k] = v
        s.save()
        return s.session_key

    def cmd_save(req):
        s = store(req)
        s.save(must_create=bool(req.get("mustCreate", False)))
        return s.session_key

    def cmd_cycle_key(req):
        s = store(req)
        s.cycle_key()
        return s.session_key

    def cmd_flush(req):
        s = store(req)
        s.flush()
        return s.session_key

    def cmd_delete(req):
        store({"engine": req["engine"]}).delete(req["sessionKey"])
        return None

    def cmd_exists(req):
        return bool(store({"engine": req["engine"]}).exists(req["sessionKey"]))

    def cmd_cache_key(req):
        s = store(req)
        return caches["default"].make_key(s.cache_key)

    def cmd_redis_get(req):
        value = raw_redis.get(req["key"])
        return {"value": None if value is None else b64(value), "pttl": raw_redis.pttl(req["key"])}

    def cmd_redis_set(req):
        if req.get("px") is not None:
            raw_redis.set(req["key"], unb64(req["value"]), px=int(req["px"]))
        else:
            raw_redis.set(req["key"], unb64(req["value"]))
        return None

    def cmd_clear_expired(req):
        ENGINES[req["engine"]].clear_expired()
        return None

    for _name, _fn in list(globals().items()):
        if _name.startswith("cmd_") and _name[4:] not in COMMANDS:
            COMMANDS[_name[4:]] = _fn


if __name__ == "__main__":
    # In pickle mode there are no settings to override per request.
    serve(COMMANDS, around=None if PICKLE_ONLY else overridden)
