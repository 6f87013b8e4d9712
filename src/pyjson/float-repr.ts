/**
 * Python's `repr(float)` and `str(int)` for JS numbers.
 *
 * Python and V8 both produce the shortest digit string that round-trips, so only the layout
 * differs: Python switches to exponent form when the decimal exponent is < -4 or >= 16 (JS: < -6
 * or >= 21), always writes the exponent sign and at least two exponent digits (`1e-07`, `1e+16`),
 * and marks integral floats with `.0`.
 */

/** Python `repr(n)` for a float (as `json.dumps` writes it: NaN/Infinity as bare words). */
export function pyFloatRepr(n: number): string {
  const abs = n < 0 ? -n : n;
  // In [1e-4, 1e16) both languages print plain decimals from the same shortest digits. The bounds
  // are exact: a double below double(1e-4) cannot have "0.0001" as its shortest repr (that string
  // names double(1e-4)), and 1e16 is exactly representable.
  if (abs >= 1e-4 && abs < 1e16) {
    const s = String(n);
    return Number.isInteger(n) ? s + '.0' : s;
  }
  if (n !== n) return 'NaN';
  if (abs === Infinity) return n > 0 ? 'Infinity' : '-Infinity';
  if (n === 0) return 1 / n < 0 ? '-0.0' : '0.0';
  // Exponent form. toExponential() without an argument yields the shortest round-trip digits,
  // e.g. "1.2345678901234568e+17", "5e-324", "1e-7".
  const s = n.toExponential();
  const e = s.indexOf('e');
  // s[e + 1] is the sign; pad a one-digit exponent to two digits as Python does.
  return s.length - e === 3 ? s.slice(0, e + 2) + '0' + s.slice(e + 2) : s;
}

/**
 * Python `str(int(n))` for an integral JS number: exact digits, never an exponent
 * (`1e21` → 22 digits, `2 ** 64` → `18446744073709551616`).
 * `-0` is not an int in Python's eyes; the caller writes it as the float `-0.0`.
 */
export function pyIntRepr(n: number): string {
  // Beyond 2^53 String() prints the shortest round-trip digits padded with zeros
  // (2**64 -> "18446744073709552000"); Python prints the double's exact value.
  return n <= Number.MAX_SAFE_INTEGER && n >= -Number.MAX_SAFE_INTEGER ? String(n) : BigInt(n).toString();
}
