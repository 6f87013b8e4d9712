"""The request loop every JSON-lines oracle shares (test/django/oracle.py, store_oracle.py,
engines_oracle.py; the Node side is test/support/json-lines-oracle.ts).

Protocol: one JSON object per line each way, answered in order.
  request:  {"id": ..., "cmd": NAME, ...params}      batch: {"id": ..., "cmd": "batch", "requests": [...]}
  response: {"id": ..., "ok": true, "result": ...}
            {"id": ..., "ok": false, "error": {"type": PYTHON CLASS NAME, "message": TEXT}}
A batch answers {"ok": true, "result": [one {ok, result} / {ok: false, error} per request]}. A line
that is not JSON is answered with id null and error type ProtocolError. Output is ASCII JSON, so lone
surrogates survive the trip.

This module imports nothing from Django, so an oracle may import it before settings.configure().
From a script outside test/python, put this folder on sys.path first (see test/django/oracle.py).
"""
import json
import sys


def dumps(value):
    """Compact json text: what Django's JSONSerializer writes before its latin-1 step."""
    return json.dumps(value, separators=(",", ":"))


def error_of(exc):
    """An exception as the wire reports it: {"type": class name, "message": str(exc)}."""
    return {"type": type(exc).__name__, "message": str(exc)}


def handle(commands, req, around=None):
    """Answer one request (or a batch) with `commands[req["cmd"]](req)`. `around(req)`, when given,
    is a context manager entered for each command (per-request settings, frozen time); what it
    raises is reported like what the command raises."""
    cmd = req.get("cmd")
    if cmd == "batch":
        return {"ok": True, "result": [handle(commands, r, around) for r in req["requests"]]}
    fn = commands.get(cmd)
    try:
        if fn is None:
            raise KeyError("unknown command %r" % (cmd,))
        if around is None:
            return {"ok": True, "result": fn(req)}
        with around(req):
            return {"ok": True, "result": fn(req)}
    except Exception as exc:  # reported to the client, which decides whether it was expected
        return {"ok": False, "error": error_of(exc)}


def serve(commands, around=None, stdin=None, stdout=None):
    """Answer requests from stdin until EOF, one flushed line each."""
    stdin = sys.stdin if stdin is None else stdin
    out = sys.stdout if stdout is None else stdout
    for line in stdin:
        if not line.strip():
            continue
        try:
            req = json.loads(line)
        except ValueError as exc:
            resp = {"id": None, "ok": False, "error": {"type": "ProtocolError", "message": str(exc)}}
        else:
            resp = handle(commands, req, around)
            resp["id"] = req.get("id")
        out.write(dumps(resp))
        out.write("\n")
        out.flush()
