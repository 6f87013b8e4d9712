"""Django's side of bench/codec.ts: times `SessionStore().encode(d)` / `.decode(s)` of the real
`django.contrib.sessions.backends.db.SessionStore`, in this one process, on request.

Run with Debian's interpreter; the Django series is whatever `import django` finds (the system's
3.2, or 4.2/5.2 through PYTHONPATH, see test/django/README.md). bench/codec.ts starts it and keeps
it waiting on stdin between rounds, so the Node and Python rounds interleave and never overlap.

Protocol: one JSON object per line each way.
  {"cmd": "setup", "secretKey": str, "sessions": {name: python json text}, "data": {name: session_data}}
      -> {"django": version, "python": version, "encoded": {name: SessionStore().encode(d)},
          "decoded": {name: json.dumps(SessionStore().decode(data[name]), separators=(",", ":"))}}
      (the last two let the caller check that both sides do the same work on the same bytes)
  {"cmd": "round", "op": "encode"|"decode"|<step>, "name": str, "n": int}
      -> {"cpu": seconds, "wall": seconds} for n calls in a loop (timeit-style: a bare for loop
         over a bound method, the cyclic GC disabled during the loop as timeit does, which
         favours Django)
      The steps, to set our steps against: "json_dumps" (the JSONSerializer's
      json.dumps(d, separators=(",", ":")).encode("latin-1")), "json_loads" (json.loads of that
      text), "zlib_compress" (zlib.compress of those bytes), "zlib_decompress" (of its output).
"""

import gc
import json
import zlib
import platform
import sys
import time

import django
from django.conf import settings


def setup(req):
    settings.configure(
        SECRET_KEY=req["secretKey"],
        INSTALLED_APPS=["django.contrib.sessions"],
        LOGGING_CONFIG=None,
    )
    django.setup()
    # After setup(): the db backend imports its model.
    from django.contrib.sessions.backends.db import SessionStore

    store = SessionStore()
    dicts = {name: json.loads(text) for name, text in req["sessions"].items()}
    data = dict(req["data"])
    return store, dicts, data, {
        "django": django.get_version(),
        "python": platform.python_version(),
        "encoded": {name: store.encode(d) for name, d in dicts.items()},
        "decoded": {
            name: json.dumps(store.decode(s), separators=(",", ":")) for name, s in data.items()
        },
    }


def steps(dicts):
    """Django's own steps, one (function, argument) per op and session name."""
    table = {}
    for name, d in dicts.items():
        data = json.dumps(d, separators=(",", ":")).encode("latin-1")
        table[("json_dumps", name)] = (lambda d: json.dumps(d, separators=(",", ":")).encode("latin-1"), d)
        table[("json_loads", name)] = (json.loads, data.decode("latin-1"))
        table[("zlib_compress", name)] = (zlib.compress, data)
        table[("zlib_decompress", name)] = (zlib.decompress, zlib.compress(data))
    return table


def timed(fn, arg, n):
    loop = range(n)
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        cpu0, wall0 = time.process_time(), time.perf_counter()
        for _ in loop:
            fn(arg)
        wall1, cpu1 = time.perf_counter(), time.process_time()
    finally:
        if gc_was_enabled:
            gc.enable()
    return {"cpu": cpu1 - cpu0, "wall": wall1 - wall0}


def main():
    store = dicts = data = table = None
    for line in sys.stdin:
        req = json.loads(line)
        if req["cmd"] == "setup":
            store, dicts, data, result = setup(req)
            table = steps(dicts)
        elif req["cmd"] == "round":
            if req["op"] == "encode":
                result = timed(store.encode, dicts[req["name"]], req["n"])
            elif req["op"] == "decode":
                result = timed(store.decode, data[req["name"]], req["n"])
            else:
                fn, arg = table[(req["op"], req["name"])]
                result = timed(fn, arg, req["n"])
        else:
            raise ValueError("unknown command %r" % req["cmd"])
        sys.stdout.write(json.dumps(result) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
