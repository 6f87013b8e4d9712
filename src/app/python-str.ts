/**
 * Python's `str(x)` for the scalar values a JSON body or a session can hold, where a tutorial view
 * formats one (`'{} logout ok.'.format(session['user_id'])`) or Django converts a lookup value
 * (`CharField.to_python(5)` is `'5'`).
 */
import { pyFloatStr } from '../signing/py-repr.ts';
import { isPyFloat, type PyValue } from '../pyjson/types.ts';

/** `str(value)` for None, bool, int, float and str; null for containers (their repr is not needed here). */
export function pyScalarStr(value: PyValue | undefined): string | null {
  if (value === null || value === undefined) return 'None';
  switch (typeof value) {
    case 'string':
      return value;
    case 'boolean':
      return value ? 'True' : 'False';
    case 'bigint':
      return value.toString();
    case 'number':
      // An integral JS number is a Python int; anything else a float.
      return Number.isInteger(value) ? BigInt(value).toString() : pyFloatStr(value);
  }
  if (isPyFloat(value)) return pyFloatStr(value.value);
  return null;
}
