/** Small statistics for benchmark rounds. */

export function median(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** Spread of rounds around their median, as a fraction: (max - min) / median. */
export function spread(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  return (Math.max(...xs) - Math.min(...xs)) / median(xs);
}

/** `xs` rotated left by `by` (for varying the order of measurements between rounds). */
export function rotate<T>(xs: readonly T[], by: number): T[] {
  const n = xs.length;
  if (n === 0) return [];
  const k = ((by % n) + n) % n;
  return [...xs.slice(k), ...xs.slice(0, k)];
}
