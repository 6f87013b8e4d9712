/**
 * mulberry32: a small seeded PRNG for tests, fuzzing and benchmarks, so a failing run (or a
 * benchmark's data) can be replayed from its seed. Not for anything secret: keys use `crypto`.
 */

/** Uniform 32-bit unsigned integers. */
export function mulberry32Uint32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
}

/** Uniform floats in [0, 1) (the 32-bit integers above divided by 2^32). */
export function mulberry32(seed: number): () => number {
  const next = mulberry32Uint32(seed);
  return () => next() / 4294967296;
}
