/** A seeded pseudo-random number generator: the same seed and stream give the same sequence. */
export interface Rng {
  /** Uniform in [0, 1). */
  next(): number;
  /** Uniform integer in [0, n). */
  int(n: number): number;
}

// SplitMix32-style finaliser: spreads nearby (seed, stream) pairs over unrelated states.
function mix32(value: number): number {
  let z = value | 0;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

/**
 * Mulberry32, seeded from `seed` and `stream` (e.g. a client index), so each client of a
 * run has its own independent, reproducible sequence.
 */
export function createRng(seed: number, stream = 0): Rng {
  let state = mix32(mix32(seed) ^ mix32(stream + 0x9e3779b9));
  const next = (): number => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
  return { next, int: (n) => Math.floor(next() * n) };
}
