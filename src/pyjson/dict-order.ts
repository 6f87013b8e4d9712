import { PY_KEY_ORDER, type PyDict, type PyValue } from './types.ts';

/** What a dict may carry when the parser recorded its Python key order. */
interface OrderedDict extends PyDict {
  [PY_KEY_ORDER]?: unknown;
}

/**
 * Return the keys of a dict in Python order: the order recorded in `PY_KEY_ORDER` (for keys still
 * present as own enumerable properties), then any other own enumerable keys in JS order.
 * Without a recorded order this is just `Object.keys`.
 *
 * Limitation: a recorded key that was deleted and then set again keeps its recorded position,
 * where a Python dict would move it to the end. JS cannot tell the two histories apart.
 */
export function pyDictKeys(dict: PyDict): string[] {
  const order = (dict as OrderedDict)[PY_KEY_ORDER];
  const keys = Object.keys(dict);
  if (order === undefined || !Array.isArray(order)) return keys;
  const present = new Set(keys);
  const result: string[] = [];
  for (const key of order as unknown[]) {
    if (typeof key === 'string' && present.delete(key)) result.push(key);
  }
  // Whatever is left was added after parsing (or never recorded): JS order, which for string
  // keys is insertion order.
  for (const key of keys) if (present.has(key)) result.push(key);
  return result;
}

/** Copy a parsed dict into a `Map` in Python key order (shallow; values are shared). */
export function pyDictToMap(dict: PyDict): Map<string, PyValue> {
  const map = new Map<string, PyValue>();
  for (const key of pyDictKeys(dict)) map.set(key, dict[key] as PyValue);
  return map;
}
