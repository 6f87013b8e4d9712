#!/usr/bin/env python3
"""Oracle for the pyjson differential tests: Python's own json module, as Django uses it.

Reads requests, one JSON object per line, on stdin; writes answers, one JSON object per line, on
stdout (every line is json.dumps output, so ASCII and newline-free):

  {"op": "generate", "seed": S, "count": N}
      -> N groups of lines, each {"kind": K, "raw": TEXT, "expected": TEXT} or the same with
         "error": ERR instead of "expected"; K is "canonical", "noisy" or "mutated":
         the canonical dumps of a random value, a noisy re-spelling of the same value
         (whitespace, escapes, number spellings, duplicate keys), and sometimes a mutated
         (usually broken) copy. "expected" is json.dumps(json.loads(raw)) as Django writes it.
  {"op": "roundtrip", "text": TEXT}
      -> {"expected": json.dumps(json.loads(TEXT))} or {"error": ERR}
  {"op": "int_of_float", "text": FLOAT_LITERAL}
      -> {"expected": json.dumps(int(float(FLOAT_LITERAL)))}: how Python writes an integral float
         that a program turned into an int, i.e. what an integral JS number must become.

ERR is {"type": exception class name, "msg": message, "pos": position or null}.
Only the standard library is used; Django is not needed.
"""
import json
import random
import struct
import sys


def django_dumps(value):
    """What django.core.signing.JSONSerializer.dumps writes (before the latin-1 encode)."""
    return json.dumps(value, separators=(",", ":"))


def roundtrip(text):
    try:
        return {"expected": django_dumps(json.loads(text))}
    except json.JSONDecodeError as e:
        return {"error": {"type": "JSONDecodeError", "msg": e.msg, "pos": e.pos}}
    except (ValueError, RecursionError) as e:
        return {"error": {"type": type(e).__name__, "msg": str(e), "pos": None}}


# ---------------------------------------------------------------- random values

SPECIAL_FLOATS = [
    0.0, -0.0, 1.0, -1.0, 0.5, 0.1, 1e16, 1e15, 9999999999999998.0, 1e-4, 1e-5, 1e-7, 0.0001,
    0.00009999999999999999, 5e-324, -5e-324, 2.2250738585072014e-308, 1.7976931348623157e308,
    123456789012345678.0, 1e21, 1e22, 1e100, 1.5e300, 2.0 ** 53, 2.0 ** 53 + 2, 2.0 ** 63,
    float("nan"), float("inf"), float("-inf"), 3.141592653589793, 1 / 3, 100.0, 1e-300,
]
SPECIAL_INTS = [
    0, 1, -1, 2 ** 31, 2 ** 32, 2 ** 53 - 1, 2 ** 53, 2 ** 53 + 1, -(2 ** 53) + 1, -(2 ** 53),
    -(2 ** 53) - 1, 2 ** 63, 2 ** 64, -(2 ** 64), 10 ** 15, 10 ** 16, 10 ** 21, 10 ** 30,
    999999999999999, 1000000000000000, 9007199254740993,
]
INDEX_LIKE_KEYS = ["0", "1", "10", "123", "01", "-1", "1.5", "4294967294", "4294967295",
                   "9007199254740993", "1e3", " 1", "00"]
TRICKY_CHARS = ['"', "\\", "/", "\b", "\f", "\n", "\r", "\t", "\x00", "\x1f", "\x7f", "\x80",
                "\xe9", "\xff", "\u2028", "\u2029", "\ufeff", "\uffff", "\ud800", "\udbff",
                "\udc00", "\udfff", "\U0001f600", "\U0010ffff", "'", "<", "&"]


def rand_char(r):
    k = r.random()
    if k < 0.55:
        return chr(r.randint(0x20, 0x7E))
    if k < 0.65:
        return r.choice(TRICKY_CHARS)
    if k < 0.72:
        return chr(r.randint(0x00, 0x1F))
    if k < 0.82:
        return chr(r.randint(0x7F, 0xFF))
    if k < 0.9:
        return chr(r.randint(0x100, 0xFFFF))  # BMP, surrogates included (lone)
    if k < 0.95:
        return chr(r.randint(0xD800, 0xDFFF))
    return chr(r.randint(0x10000, 0x10FFFF))


def rand_string(r):
    n = r.choice([0, 1, 1, 2, 3, 5, 8, 13, 30])
    return "".join(rand_char(r) for _ in range(n))


def rand_float(r):
    k = r.random()
    if k < 0.3:
        return r.choice(SPECIAL_FLOATS) * r.choice([1, 1, -1])
    if k < 0.55:  # any bit pattern: NaNs, infinities, subnormals, huge and tiny
        return struct.unpack("<d", r.getrandbits(64).to_bytes(8, "little"))[0]
    if k < 0.65:  # subnormal
        bits = r.getrandbits(52) | (r.getrandbits(1) << 63)
        return struct.unpack("<d", bits.to_bytes(8, "little"))[0]
    if k < 0.8:  # human-looking decimals
        return round(r.uniform(-1e6, 1e6), r.randint(0, 8))
    if k < 0.9:  # integral floats
        return float(r.randint(-(10 ** 18), 10 ** 18))
    return r.choice([1.0, 1.5, 2.5, 9.999, 1.2345678901234567]) * 10.0 ** r.randint(-30, 30)


def rand_int(r):
    k = r.random()
    if k < 0.3:
        return r.choice(SPECIAL_INTS) * r.choice([1, -1])
    if k < 0.6:
        return r.randint(-1000, 1000)
    if k < 0.8:
        return r.randint(-(2 ** 64), 2 ** 64)
    if k < 0.995:
        return r.randint(-(2 ** 300), 2 ** 300)
    return r.choice([10 ** 4299, -(10 ** 4299), 10 ** 4300 - 1])  # at Python's digit limit


def rand_key(r):
    k = r.random()
    if k < 0.5:
        return rand_string(r)
    if k < 0.7:
        return r.choice(INDEX_LIKE_KEYS)
    if k < 0.8:
        return r.randint(-5, 200)  # int keys: "1" and 1 may collide -> duplicate keys in the text
    if k < 0.85:
        return r.choice([True, False, None])
    if k < 0.9:
        return rand_float(r)
    return r.choice(["a", "b", "__proto__", "constructor", "toString", "hasOwnProperty", "", "1"])


def rand_value(r, depth=0):
    k = r.random()
    if depth < 4 and k < 0.35:
        if r.random() < 0.5:
            return [rand_value(r, depth + 1) for _ in range(r.randint(0, 6))]
        d = {}
        for _ in range(r.randint(0, 7)):
            d[rand_key(r)] = rand_value(r, depth + 1)
        return d
    k = r.random()
    if k < 0.05:
        return None
    if k < 0.1:
        return r.random() < 0.5
    if k < 0.35:
        return rand_int(r)
    if k < 0.65:
        return rand_float(r)
    return rand_string(r)


# ---------------------------------------------------------------- non-canonical spellings


def ws(r):
    if r.random() < 0.7:
        return ""
    return "".join(r.choice(" \t\n\r") for _ in range(r.randint(1, 3)))


def noisy_string(r, s):
    out = ['"']
    for ch in s:
        cp = ord(ch)
        k = r.random()
        if cp > 0xFFFF:
            if k < 0.5:
                out.append(ch)  # raw astral char
            else:
                cp -= 0x10000
                for unit in (0xD800 | (cp >> 10), 0xDC00 | (cp & 0x3FF)):
                    out.append(hex_escape(r, unit))
        elif k < 0.3 or ch in '"\\' or cp < 0x20 or 0xD800 <= cp <= 0xDFFF:
            # Surrogates are always escaped: a raw lone surrogate next to another would be two
            # code points in Python but indistinguishable from one astral char in JS (UTF-16).
            short = {'"': '\\"', "\\": "\\\\", "/": "\\/", "\b": "\\b", "\f": "\\f",
                     "\n": "\\n", "\r": "\\r", "\t": "\\t"}.get(ch)
            out.append(short if short and r.random() < 0.5 else hex_escape(r, cp))
        else:
            out.append(ch)  # raw, including DEL, latin-1 and the rest of the BMP
    out.append('"')
    return "".join(out)


def hex_escape(r, unit):
    h = "%04x" % unit
    return "\\u" + (h.upper() if r.random() < 0.5 else h)


def noisy_float(r, f):
    if f != f:
        return "NaN"
    if f in (float("inf"), float("-inf")):
        return "Infinity" if f > 0 else "-Infinity"
    spelling = r.choice(["%.17g", "%.20e", "%.25g", "%r", "%rE", "%r0", "%.3e"])
    if spelling == "%r":
        text = repr(f)
    elif spelling == "%rE":
        text = repr(f).replace("e", "E")
    elif spelling == "%r0":
        text = repr(f)
        text = text.replace("e", "0e") if "e" in text and "." in text else text + ("0" if "." in text else "")
    else:
        text = spelling % f
        if float(text) != f:  # %.3e loses digits: fall back to a lossless spelling
            text = "%.17e" % f
    if "e" in text and r.random() < 0.5:
        mant, exp = text.split("e")
        sign = exp[0] if exp[0] in "+-" else ""
        digits = exp.lstrip("+-")
        if sign == "+" and r.random() < 0.5:
            sign = ""
        text = mant + r.choice("eE") + sign + "0" * r.randint(0, 2) + digits
    if "." not in text and "e" not in text.lower():
        text += r.choice([".0", ".000", "e0", "E+00"])
    return text


def noisy(r, v):
    if v is None or v is True or v is False:
        return json.dumps(v)
    if isinstance(v, int):
        if v == 0 and r.random() < 0.3:
            return "-0"
        return str(v)
    if isinstance(v, float):
        return noisy_float(r, v)
    if isinstance(v, str):
        return noisy_string(r, v)
    if isinstance(v, list):
        return "[" + ws(r) + ",".join(ws(r) + noisy(r, x) + ws(r) for x in v) + "]"
    parts = []
    for key, value in v.items():
        if not isinstance(key, str):  # json.dumps spells int/float/bool/None keys like values
            key = json.dumps(key)
        if r.random() < 0.1:  # an earlier duplicate: the last one must win, in the first one's place
            parts.append(ws(r) + noisy_string(r, key) + ws(r) + ":" + ws(r) + noisy(r, rand_value(r, 3)) + ws(r))
        parts.append(ws(r) + noisy_string(r, key) + ws(r) + ":" + ws(r) + noisy(r, value) + ws(r))
    return "{" + ws(r) + ",".join(parts) + "}"


MUTATION_CHARS = ['"', "\\", ",", ":", "[", "]", "{", "}", "-", ".", "e", "E", "0", "1", " ", "\n",
                  "\x00", "\x1f", "u", "N", "I", "n", "t", "f", "+", "\ufeff", "\x7f", "a"]


def mutate(r, text):
    k = r.random()
    if not text:
        return r.choice(MUTATION_CHARS)
    i = r.randrange(len(text))
    if k < 0.3:
        return text[:i]
    if k < 0.55:
        return text[:i] + text[i + 1:]
    if k < 0.8:
        return text[:i] + r.choice(MUTATION_CHARS) + text[i:]
    return text[:i] + r.choice(MUTATION_CHARS) + text[i + 1:]


def generate(seed, count, emit):
    r = random.Random(seed)
    for _ in range(count):
        value = rand_value(r)
        canonical = django_dumps(value)
        emit({"kind": "canonical", "raw": canonical, **roundtrip(canonical)})
        variant = ws(r) + noisy(r, value) + ws(r)
        emit({"kind": "noisy", "raw": variant, **roundtrip(variant)})
        if r.random() < 0.5:
            broken = mutate(r, r.choice([canonical, variant]))
            emit({"kind": "mutated", "raw": broken, **roundtrip(broken)})


def main():
    out = sys.stdout
    emit = lambda obj: out.write(json.dumps(obj) + "\n")
    for line in sys.stdin:
        if not line.strip():
            continue
        req = json.loads(line)
        if req["op"] == "generate":
            generate(req["seed"], req["count"], emit)
        elif req["op"] == "roundtrip":
            emit(roundtrip(req["text"]))
        elif req["op"] == "int_of_float":
            emit({"expected": django_dumps(int(float(req["text"])))})
        else:
            raise SystemExit("unknown op: %r" % req["op"])
    out.flush()


if __name__ == "__main__":
    main()
