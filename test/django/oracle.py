"""Django as a test oracle: a long-lived process that answers JSON-line requests with what
*Django's own code* does.

Run with Debian's interpreter; the Django version is whatever `import django` finds
(the system's 3.2, or 4.2/5.2 through PYTHONPATH, see test/django/README.md):

    /usr/bin/python3 test/django/oracle.py

Protocol: JSON lines, one request and one answer per line, in order (the loop is
test/python/jsonlines_server.py's; it documents the framing, errors and "batch"). Session dicts and signed objects travel as *Python json text* (a string), so `1.0` vs `1`,
integers beyond 2**53, NaN/Infinity and key order survive the trip. Output is ASCII JSON, so
lone surrogates survive too.

Settings are configured once in-process; per-request values (SECRET_KEY, fallbacks,
DEFAULT_HASHING_ALGORITHM) are set on `django.conf.settings` for the duration of the request
and restored afterwards. `time.time` is frozen where a request gives a timestamp.
"""

import contextlib
import json
import logging
import random
import struct
import sys
import time
import warnings
from pathlib import Path

# The shared JSON-lines loop lives in test/python (no Django in it, so importing it before
# settings.configure() below is safe). Appended, so nothing there can shadow an installed module.
sys.path.append(str(Path(__file__).resolve().parent.parent / "python"))
from jsonlines_server import dumps, serve  # noqa: E402

import django  # noqa: E402
from django.conf import settings  # noqa: E402

DEFAULT_SECRET_KEY = "django-oracle-default-secret-key"

settings.configure(
    SECRET_KEY=DEFAULT_SECRET_KEY,
    INSTALLED_APPS=["django.contrib.sessions"],
    USE_TZ=True,
    LOGGING_CONFIG=None,
)
# Imported after configure(): these modules read settings at import or construction time.
from django.core import signing  # noqa: E402
from django.contrib.sessions.backends.base import SessionBase  # noqa: E402

VERSION = django.VERSION[:2]
HAS_FALLBACKS = VERSION >= (4, 1)
# Setting DEFAULT_HASHING_ALGORITHM warns about its own deprecation in 3.2; that is expected here.
warnings.simplefilter("ignore")

_real_time = time.time


# --- Captured warnings of django.security.SuspiciousSession -------------------------------------

class _Capture(logging.Handler):
    def __init__(self):
        super().__init__(level=logging.DEBUG)
        self.messages = []

    def emit(self, record):
        self.messages.append(record.getMessage())


_capture = _Capture()
_suspicious = logging.getLogger("django.security.SuspiciousSession")
_suspicious.addHandler(_capture)
_suspicious.setLevel(logging.DEBUG)
_suspicious.propagate = False  # keep stderr clean; the warnings are reported in the response


# --- Per-request settings and time ---------------------------------------------------------------

_MISSING = object()


@contextlib.contextmanager
def overridden(req):
    """Apply the request's SECRET_KEY / SECRET_KEY_FALLBACKS / DEFAULT_HASHING_ALGORITHM and
    frozen time, restoring everything afterwards."""
    changes = {"SECRET_KEY": req.get("secretKey", DEFAULT_SECRET_KEY)}
    if req.get("fallbackKeys") is not None:
        if not HAS_FALLBACKS:
            raise ValueError("SECRET_KEY_FALLBACKS does not exist before Django 4.1")
        changes["SECRET_KEY_FALLBACKS"] = list(req["fallbackKeys"])
    elif HAS_FALLBACKS:
        changes["SECRET_KEY_FALLBACKS"] = []
    if req.get("hashingAlgorithm") is not None:
        if VERSION >= (4, 0):
            raise ValueError("DEFAULT_HASHING_ALGORITHM was removed in Django 4.0")
        changes["DEFAULT_HASHING_ALGORITHM"] = req["hashingAlgorithm"]
    elif VERSION < (4, 0):
        changes["DEFAULT_HASHING_ALGORITHM"] = "sha256"
    saved = {name: getattr(settings, name, _MISSING) for name in changes}
    now = req.get("timestamp")
    try:
        for name, value in changes.items():
            setattr(settings, name, value)
        if now is not None:
            time.time = lambda: float(now)
        yield
    finally:
        time.time = _real_time
        for name, value in saved.items():
            if value is _MISSING:
                delattr(settings, name)
            else:
                setattr(settings, name, value)


def session_store(req):
    """A SessionBase subclass whose class name (and so key salt) the request chooses.

    Django derives the salt from the class: `"django.contrib.sessions." + __qualname__` for the
    signed format, `"django.contrib.sessions" + __name__` for 3.2's legacy hash. `keySalt`
    overrides the signed-format salt outright, as a subclass overriding `key_salt` would."""
    name = req.get("className", "SessionStore")
    attrs = {"__qualname__": name}
    if req.get("keySalt") is not None:
        salt = req["keySalt"]
        attrs["key_salt"] = property(lambda self: salt)
    cls = type(name, (SessionBase,), attrs)
    return cls()


def loads_text(text):
    return json.loads(text)


# Exactly what Django's JSONSerializer produces (before the latin-1 encode).
dumps_text = dumps


# --- Commands -----------------------------------------------------------------------------------

def cmd_version(req):
    return {
        "django": django.get_version(),
        "python": "%d.%d.%d" % sys.version_info[:3],
        "hasFallbacks": HAS_FALLBACKS,
    }


def cmd_encode(req):
    data = loads_text(req["session"])
    with overridden(req):
        return session_store(req).encode(data)


def cmd_decode(req):
    with overridden(req):
        store = session_store(req)
        del _capture.messages[:]
        result = store.decode(req["sessionData"])
        warnings_logged = list(_capture.messages)
    return {"json": dumps_text(result), "warnings": warnings_logged}


def cmd_signing_dumps(req):
    obj = loads_text(req["obj"])
    with overridden(req):
        kwargs = {"compress": bool(req.get("compress", False))}
        if req.get("key") is not None:
            kwargs["key"] = req["key"]
        if req.get("salt") is not None:
            kwargs["salt"] = req["salt"]
        return signing.dumps(obj, **kwargs)


def cmd_signing_loads(req):
    with overridden(dict(req, fallbackKeys=None)):
        kwargs = {}
        if req.get("key") is not None:
            kwargs["key"] = req["key"]
        if req.get("salt") is not None:
            kwargs["salt"] = req["salt"]
        if req.get("maxAge") is not None:
            kwargs["max_age"] = req["maxAge"]
        if req.get("fallbackKeys") is not None:
            if not HAS_FALLBACKS:
                raise ValueError("signing.loads has no fallback_keys before Django 4.1")
            kwargs["fallback_keys"] = list(req["fallbackKeys"])
        return dumps_text(signing.loads(req["s"], **kwargs))


def make_signer(req):
    kwargs = {}
    for wire, arg in (("key", "key"), ("salt", "salt"), ("sep", "sep"), ("algorithm", "algorithm")):
        if req.get(wire) is not None:
            kwargs[arg] = req[wire]
    if req.get("fallbackKeys") is not None:
        if not HAS_FALLBACKS:
            raise ValueError("Signer has no fallback_keys before Django 4.1")
        kwargs["fallback_keys"] = list(req["fallbackKeys"])
    cls = signing.TimestampSigner if req.get("timestamped") else signing.Signer
    return cls(**kwargs)


def cmd_sign(req):
    with overridden(dict(req, fallbackKeys=None)):
        return make_signer(req).sign(req["value"])


def cmd_unsign(req):
    with overridden(dict(req, fallbackKeys=None)):
        signer = make_signer(req)
        if req.get("timestamped") and req.get("maxAge") is not None:
            return signer.unsign(req["value"], max_age=req["maxAge"])
        return signer.unsign(req["value"])


def cmd_random_sessions(req):
    rng = random.Random(req["seed"])
    return [{"json": dumps_text(random_session(rng))} for _ in range(int(req["n"]))]


COMMANDS = {
    "version": cmd_version,
    "encode": cmd_encode,
    "decode": cmd_decode,
    "signing_dumps": cmd_signing_dumps,
    "signing_loads": cmd_signing_loads,
    "sign": cmd_sign,
    "unsign": cmd_unsign,
    "random_sessions": cmd_random_sessions,
}


# --- Random session dicts -------------------------------------------------------------------------
# Shaped to hit every corner of Python's json and of the codec: escapes, surrogates, float repr,
# big ints, key order JS would change, and payloads on both sides of the "compress only if it
# saves 2 bytes" rule.

SPECIAL_FLOATS = [
    1.0, -1.0, 2.0, 0.0, -0.0, 0.1, 0.5, 1.5, 1e16, 1e15, 1e17, 1e-7, 1e-5, 1e-4, 5e-324,
    2.2250738585072014e-308, 1.7976931348623157e308, 123456789012345678.0, 9007199254740993.0,
    1e22, 1e21, 1e100, -1e-300, 3.141592653589793, float("nan"), float("inf"), float("-inf"),
]
SPECIAL_INTS = [
    0, 1, -1, 2**31 - 1, -(2**31), 2**32, 2**53 - 1, 2**53, 2**53 + 1, -(2**53) - 1,
    2**63 - 1, 2**63, -(2**63), 2**64 - 1, 2**64, 2**64 + 1, -(2**64), 10**30, -(10**40) - 7,
]
INT_LIKE_KEYS = ["0", "1", "2", "10", "01", "-1", "007", "4294967294", "4294967295", "9007199254740993", "1.5", "1e3"]
SESSION_KEYS = [
    "_auth_user_id", "_auth_user_backend", "_auth_user_hash", "_session_expiry", "_csrftoken",
    "django_language", "cart", "messages", "testcookie",
]
WORDS = ["lorem", "ipsum", "dolor", "sit", "amet", "session", "django", "koa", "\u00e9t\u00e9", "na\u00efve"]
CONTROL_CHARS = [chr(c) for c in range(0x20)] + ["\x7f", "\x80", "\x9f", "\xa0", "\xad"]
SPECIAL_CHARS = ['"', "\\", "/", "\u2028", "\u2029", "\ufeff", "\ufffe", "\uffff", "\u0300", "<", ">", "&", "'"]


def random_char(rng):
    kind = rng.random()
    if kind < 0.45:
        return chr(rng.randint(0x20, 0x7e))
    if kind < 0.55:
        return rng.choice(CONTROL_CHARS)
    if kind < 0.62:
        return rng.choice(SPECIAL_CHARS)
    if kind < 0.75:
        return chr(rng.randint(0xa0, 0xff))
    if kind < 0.87:  # BMP outside surrogates
        c = rng.randint(0x100, 0xfffd)
        return chr(c) if not 0xd800 <= c <= 0xdfff else "\u20ac"
    if kind < 0.95:  # astral
        return chr(rng.randint(0x10000, 0x10ffff))
    return chr(rng.randint(0xd800, 0xdfff))  # lone surrogate, as Python str allows


def random_text(rng, length):
    return "".join(random_char(rng) for _ in range(length))


def random_string(rng, budget):
    kind = rng.random()
    if kind < 0.3:
        return rng.choice(WORDS + SESSION_KEYS + ["", " ", "a"])
    if kind < 0.65:
        return random_text(rng, rng.randint(0, min(budget, 40)))
    if kind < 0.8:  # compressible
        unit = rng.choice(WORDS) + rng.choice(["", " ", ",", "\n"])
        return unit * rng.randint(1, max(1, budget // max(1, len(unit))))
    if kind < 0.9:  # incompressible ASCII
        return "".join(chr(rng.randint(0x21, 0x7e)) for _ in range(rng.randint(0, budget)))
    return random_text(rng, rng.randint(0, max(1, budget // 6)))  # incompressible, escape-heavy


def random_float(rng):
    kind = rng.random()
    if kind < 0.4:
        return rng.choice(SPECIAL_FLOATS)
    if kind < 0.6:
        return float(rng.randint(-(10**6), 10**6))  # integral floats must stay "x.0"
    if kind < 0.8:
        return rng.uniform(-1, 1) * 10 ** rng.randint(-30, 30)
    # arbitrary bit pattern
    bits = rng.getrandbits(64).to_bytes(8, "little")
    return struct.unpack("<d", bits)[0]


def random_int(rng):
    kind = rng.random()
    if kind < 0.35:
        return rng.choice(SPECIAL_INTS)
    if kind < 0.7:
        return rng.randint(-1000, 1000)
    sign = rng.choice([1, -1])
    return sign * rng.getrandbits(rng.randint(1, 200))


def random_key(rng, budget):
    kind = rng.random()
    if kind < 0.25:
        return rng.choice(INT_LIKE_KEYS)
    if kind < 0.35:
        return str(rng.randint(0, 10**rng.randint(1, 12)))
    if kind < 0.5:
        return rng.choice(SESSION_KEYS)
    return random_string(rng, min(budget, 30))


def random_value(rng, depth, budget):
    kind = rng.random()
    if depth > 0 and kind < 0.12:
        return random_dict(rng, depth - 1, budget // 2)
    if depth > 0 and kind < 0.22:
        return [random_value(rng, depth - 1, budget // 4) for _ in range(rng.randint(0, 6))]
    if kind < 0.3:
        return rng.choice([None, True, False])
    if kind < 0.5:
        return random_int(rng)
    if kind < 0.65:
        return random_float(rng)
    return random_string(rng, budget)


def random_dict(rng, depth, budget, min_keys=0):
    d = {}
    for _ in range(rng.randint(min_keys, 8)):
        d[random_key(rng, budget)] = random_value(rng, depth, budget)
    return d


MAX_SESSION_JSON = 12000


def random_session(rng):
    """A random session dict whose json text is at most ~12 KB."""
    while True:
        session = random_session_unbounded(rng)
        if len(dumps_text(session)) <= MAX_SESSION_JSON:
            return session


def random_session_unbounded(rng):
    size = rng.random()
    if size < 0.05:
        return {}
    if size < 0.35:
        budget = 60
    elif size < 0.85:
        budget = 600
    else:
        budget = 8000
    session = random_dict(rng, rng.randint(0, 4), budget, min_keys=1)
    if budget >= 8000:  # one big payload, repetitive or random, to reach ~10 KB
        key = rng.choice(["blob", "cart", "messages", "10"])
        if rng.random() < 0.5:
            session[key] = (rng.choice(WORDS) + " ") * rng.randint(200, 1600)
        else:
            session[key] = "".join(chr(rng.randint(0x21, 0x7e)) for _ in range(rng.randint(2000, 9000)))
    return session


# --- Main loop ------------------------------------------------------------------------------------

if __name__ == "__main__":
    serve(COMMANDS)
