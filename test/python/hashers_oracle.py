#!/usr/bin/env python3
"""Oracle for the password-hasher differential tests: Django's own django.contrib.auth.hashers.

Usage: hashers_oracle.py HASHER_PATH...
    The dotted paths become PASSWORD_HASHERS (the first is the default hasher). Run it with the
    Django under test on sys.path (Debian's 3.2 system-wide, or PYTHONPATH=.cache/django/<v>/...).

Reads requests, one JSON object per line, on stdin; writes one answer line per request, in order:

  {"op": "info"}
      -> {"ok": {"django": VERSION, "argon2_cffi": VERSION, "argon2_hash_len": N, "bcrypt": VERSION}}
  {"op": "make", "password": P, "salt": S or null, "hasher": ALGORITHM}
      -> {"ok": make_password(P, S, ALGORITHM)}  (a bcrypt salt is passed as bytes, as gensalt's)
  {"op": "encode", "hasher": ALGORITHM, "password": P, "salt": S or null, "params": {...}}
      -> {"ok": ENCODED}: what Django writes with other work factors than the class defaults:
         pbkdf2_*: {"iterations"}; scrypt: {"n", "r", "p"}; bcrypt*: {"rounds", "prefix"}
         (prefix "2a", "2b" or "2y"); argon2: {"type": "ID"|"I"|"D", "version", "time_cost",
         "memory_cost", "parallelism", "hash_len"} through argon2-cffi's hash_secret.
  {"op": "check", "password": P or null, "encoded": E, "preferred": ALGORITHM or "default"}
      -> {"ok": {"correct": BOOL, "setter": BOOL}}: check_password with a setter that records
         whether Django asked for a re-hash.
  {"op": "must_update", "hasher": ALGORITHM, "encoded": E} -> {"ok": get_hasher(A).must_update(E)}
  {"op": "identify", "encoded": E} -> {"ok": identify_hasher(E).algorithm}
  {"op": "usable", "encoded": E or null} -> {"ok": is_password_usable(E)}

Any request may carry "hashers": [PATH, ...] to run under that PASSWORD_HASHERS instead (Django's
override_settings, which also resets the hasher caches), e.g. with a cheap default hasher so that
the fake-runtime hashing of unknown hashes costs little.

Any exception is answered as {"error": {"type": CLASS NAME, "message": TEXT}}; the tests only
compare *whether* Django raised, since Python's exception classes have no TypeScript twins.
"""
import json
import sys
import warnings

import django
from django.conf import settings

warnings.simplefilter("ignore")  # 4.2 warns on every deprecated legacy hasher it builds
settings.configure(PASSWORD_HASHERS=sys.argv[1:])
django.setup()

import argon2  # noqa: E402
import bcrypt  # noqa: E402
from django.contrib.auth import hashers  # noqa: E402
from django.test.utils import override_settings  # noqa: E402

ARGON2_TYPES = {"ID": argon2.low_level.Type.ID, "I": argon2.low_level.Type.I, "D": argon2.low_level.Type.D}


def info(_):
    return {
        "django": django.get_version(),
        "argon2_cffi": argon2.__version__,
        "argon2_hash_len": argon2.DEFAULT_HASH_LENGTH,
        "bcrypt": bcrypt.__version__,
    }


def make(req):
    salt = req.get("salt")
    if salt is not None and req["hasher"] in ("bcrypt", "bcrypt_sha256"):
        salt = salt.encode("ascii")
    return hashers.make_password(req["password"], salt, req["hasher"])


def encode(req):
    name, password, salt, params = req["hasher"], req["password"], req.get("salt"), req["params"]
    hasher = hashers.get_hasher(name)
    if name in ("pbkdf2_sha256", "pbkdf2_sha1"):
        return hasher.encode(password, salt or hasher.salt(), params["iterations"])
    if name == "scrypt":
        return hasher.encode(password, salt or hasher.salt(), params["n"], params["r"], params["p"])
    if name in ("bcrypt", "bcrypt_sha256"):
        prefix = params.get("prefix", "2b")
        generated = bcrypt.gensalt(params["rounds"], b"2b")
        return hasher.encode(password, generated.replace(b"$2b$", ("$%s$" % prefix).encode(), 1))
    if name == "argon2":
        data = argon2.low_level.hash_secret(
            password.encode(),
            (salt or hasher.salt()).encode(),
            time_cost=params["time_cost"],
            memory_cost=params["memory_cost"],
            parallelism=params["parallelism"],
            hash_len=params["hash_len"],
            type=ARGON2_TYPES[params["type"]],
            version=params["version"],
        )
        return "argon2" + data.decode("ascii")
    raise ValueError("no custom encode for %r" % name)


def check(req):
    calls = []
    correct = hashers.check_password(
        req["password"], req["encoded"], setter=calls.append, preferred=req.get("preferred", "default")
    )
    return {"correct": correct, "setter": bool(calls)}


OPS = {
    "info": info,
    "make": make,
    "encode": encode,
    "check": check,
    "must_update": lambda req: hashers.get_hasher(req["hasher"]).must_update(req["encoded"]),
    "identify": lambda req: hashers.identify_hasher(req["encoded"]).algorithm,
    "usable": lambda req: hashers.is_password_usable(req["encoded"]),
}


def main():
    for line in sys.stdin:
        if not line.strip():
            continue
        req = json.loads(line)
        try:
            if "hashers" in req:
                with override_settings(PASSWORD_HASHERS=req["hashers"]):
                    answer = {"ok": OPS[req["op"]](req)}
            else:
                answer = {"ok": OPS[req["op"]](req)}
        except Exception as e:  # noqa: BLE001 - every failure is an answer
            answer = {"error": {"type": type(e).__name__, "message": str(e)}}
        sys.stdout.write(json.dumps(answer) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
