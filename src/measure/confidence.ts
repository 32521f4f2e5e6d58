/**
 * Confidence bounds for what the lab measures over repetitions: quantiles of a random
 * process (election time, write stall, latency) and success fractions. Pure functions,
 * distribution-free where it matters: elections have a long multi-round tail, so no normal
 * approximation is assumed anywhere.
 *
 * Every bound here is one-sided at `confidence` (e.g. 0.95): the lower bound is below the
 * true value with probability ≥ confidence, and so is the upper bound above it. A claim
 * judged on the side it names therefore errs with probability ≤ 1 − confidence.
 */

/** ln Γ(x) for x > 0 (Lanczos, g = 7, n = 9): enough for binomial coefficients up to n ≈ 10⁷. */
export function logGamma(x: number): number {
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - logGamma(1 - x);
  const g = 7;
  const c = [
    0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
    12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
  ];
  const z = x - 1;
  let a = c[0] ?? 1;
  const t = z + g + 0.5;
  for (let i = 1; i < g + 2; i++) a += (c[i] ?? 0) / (z + i);
  return 0.5 * Math.log(2 * Math.PI) + (z + 0.5) * Math.log(t) - t + Math.log(a);
}

/** P(X ≤ k) for X ~ Binomial(n, p) = I₁₋ₚ(n − k, k + 1), the regularized incomplete beta function. */
export function binomialCdf(k: number, n: number, p: number): number {
  if (k < 0) return 0;
  if (k >= n) return 1;
  if (p <= 0) return 1;
  if (p >= 1) return 0;
  return regularizedBeta(1 - p, n - k, k + 1);
}

/** Iₓ(a, b) by Lentz's continued fraction (Numerical Recipes' betacf), with the symmetry for convergence. */
export function regularizedBeta(x: number, a: number, b: number): number {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const logFront = logGamma(a + b) - logGamma(a) - logGamma(b) + a * Math.log(x) + b * Math.log1p(-x);
  if (x < (a + 1) / (a + b + 2)) return (Math.exp(logFront) * betaContinuedFraction(x, a, b)) / a;
  return 1 - (Math.exp(logFront) * betaContinuedFraction(1 - x, b, a)) / b;
}

function betaContinuedFraction(x: number, a: number, b: number): number {
  const tiny = 1e-300;
  let c = 1;
  let d = 1 - ((a + b) * x) / (a + 1);
  if (Math.abs(d) < tiny) d = tiny;
  d = 1 / d;
  let h = d;
  for (let m = 1; m <= 10_000; m++) {
    const m2 = 2 * m;
    let aa = (m * (b - m) * x) / ((a + m2 - 1) * (a + m2));
    d = 1 + aa * d;
    if (Math.abs(d) < tiny) d = tiny;
    c = 1 + aa / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    h *= d * c;
    aa = (-(a + m) * (a + b + m) * x) / ((a + m2) * (a + m2 + 1));
    d = 1 + aa * d;
    if (Math.abs(d) < tiny) d = tiny;
    c = 1 + aa / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    const delta = d * c;
    h *= delta;
    if (Math.abs(delta - 1) < 1e-14) break;
  }
  return h;
}

export interface Bounds {
  /** One-sided lower bound at the confidence; null when the samples cannot give one. */
  readonly lower: number | null;
  /** One-sided upper bound at the confidence; null when the samples cannot give one. */
  readonly upper: number | null;
}

/**
 * Order-statistic bounds for the q-quantile (0 < q < 1) of a continuous distribution from
 * n independent samples. With X(1) ≤ … ≤ X(n) sorted, P(X(u) ≥ ξq) = P(Bin(n, q) ≤ u − 1):
 * the upper bound is the smallest order statistic with that probability ≥ confidence, the
 * lower bound the largest X(l) with P(Bin(n, q) ≥ l) ≥ confidence. Too few samples for a
 * side (e.g. an upper bound for the median from 4 samples at 95 %) leave it null: "cannot
 * say", never a made-up number.
 */
export function quantileBounds(samples: readonly number[], q: number, confidence: number): Bounds {
  const sorted = [...samples].sort((a, b) => a - b);
  const n = sorted.length;
  const { lowerRank, upperRank } = quantileRanks(n, q, confidence);
  return {
    lower: lowerRank === null ? null : (sorted[lowerRank - 1] ?? null),
    upper: upperRank === null ? null : (sorted[upperRank - 1] ?? null),
  };
}

/** The 1-based ranks quantileBounds uses for n samples (null: no such rank). */
export function quantileRanks(
  n: number,
  q: number,
  confidence: number,
): { lowerRank: number | null; upperRank: number | null } {
  // Upper: the smallest u with P(Bin(n, q) ≤ u − 1) ≥ confidence (the CDF grows with u).
  const upper = firstTrue(1, n, (u) => binomialCdf(u - 1, n, q) >= confidence);
  // Lower: the largest l with P(Bin(n, q) ≥ l) = 1 − P(Bin ≤ l − 1) ≥ confidence (shrinks with l).
  const beyond = firstTrue(1, n, (l) => 1 - binomialCdf(l - 1, n, q) < confidence);
  const lower = beyond === null ? n : beyond - 1;
  return { lowerRank: lower >= 1 ? lower : null, upperRank: upper };
}

/** The smallest i in [from, to] where a monotone predicate turns true; null if it never does. */
function firstTrue(from: number, to: number, predicate: (i: number) => boolean): number | null {
  if (from > to || !predicate(to)) return null;
  let lo = from;
  let hi = to;
  while (lo < hi) {
    const mid = Math.floor((lo + hi) / 2);
    if (predicate(mid)) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/**
 * Clopper–Pearson (exact) one-sided bounds for a success probability from k successes in n
 * trials. Conservative: its true coverage is at least the confidence for every p.
 */
export function proportionBounds(k: number, n: number, confidence: number): Bounds {
  if (n === 0) return { lower: null, upper: null };
  const alpha = 1 - confidence;
  // lower: the p at which P(X ≥ k) = alpha; upper: the p at which P(X ≤ k) = alpha.
  const lower = k === 0 ? 0 : bisect((p) => 1 - binomialCdf(k - 1, n, p) - alpha);
  const upper = k === n ? 1 : bisect((p) => alpha - binomialCdf(k, n, p));
  return { lower, upper };
}

/** Root of an increasing function on [0, 1]. */
function bisect(f: (p: number) => number): number {
  let lo = 0;
  let hi = 1;
  for (let i = 0; i < 60; i++) {
    const mid = (lo + hi) / 2;
    if (f(mid) < 0) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

/** Nearest-rank sample quantile (the value reports print next to the bounds). */
export function sampleQuantile(samples: readonly number[], q: number): number | null {
  if (samples.length === 0) return null;
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] ?? null;
}
