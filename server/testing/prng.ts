/** Tiny deterministic PRNG (xorshift32) for fuzz tests, so a failing case can be replayed. */
export function prng(seed: number): () => number {
  let x = seed || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
}
