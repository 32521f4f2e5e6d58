import { describe, expect, it } from 'vitest';
import { combineVerdicts, judgeFraction, judgeQuantileAtMost } from '../../src/checks/distribution-claims.ts';
import {
  binomialCdf,
  proportionBounds,
  quantileBounds,
  quantileRanks,
  sampleQuantile,
} from '../../src/measure/confidence.ts';
import { createRng } from '../../src/workload/rng.ts';

/** Exact binomial CDF by summing the pmf (small n only), to check the continued fraction against. */
function bruteCdf(k: number, n: number, p: number): number {
  let sum = 0;
  let coefficient = 1;
  for (let i = 0; i <= k; i++) {
    if (i > 0) coefficient = (coefficient * (n - i + 1)) / i;
    sum += coefficient * p ** i * (1 - p) ** (n - i);
  }
  return sum;
}

describe('binomial CDF', () => {
  it('agrees with the summed pmf', () => {
    for (const n of [1, 2, 5, 12, 40])
      for (let k = 0; k <= n; k++)
        for (const p of [0.01, 0.2, 0.5, 0.77, 0.99])
          expect(binomialCdf(k, n, p)).toBeCloseTo(bruteCdf(k, n, p), 12);
  });

  it('handles the edges', () => {
    expect(binomialCdf(-1, 10, 0.5)).toBe(0);
    expect(binomialCdf(10, 10, 0.5)).toBe(1);
    expect(binomialCdf(3, 10, 0)).toBe(1);
    expect(binomialCdf(3, 10, 1)).toBe(0);
  });
});

describe('order-statistic bounds for quantiles', () => {
  it('uses the textbook ranks for the median', () => {
    // n = 10, 95 % one-sided: P(Bin(10, ½) ≤ 8) = 0.989 ≥ 0.95 > P(≤ 7) = 0.945 → X(9); symmetric X(2) below.
    expect(quantileRanks(10, 0.5, 0.95)).toEqual({ lowerRank: 2, upperRank: 9 });
    expect(quantileRanks(12, 0.5, 0.95)).toEqual({ lowerRank: 3, upperRank: 10 });
  });

  it('gives no bound where the samples cannot: the median from 4, p95 from fewer than 59', () => {
    expect(quantileRanks(4, 0.5, 0.95)).toEqual({ lowerRank: null, upperRank: null });
    // An upper bound for p95 needs 1 − 0.95ⁿ ≥ 0.95, i.e. n ≥ 59.
    expect(quantileRanks(58, 0.95, 0.95).upperRank).toBeNull();
    expect(quantileRanks(59, 0.95, 0.95).upperRank).toBe(59);
  });

  it('covers the true quantile at least as often as promised (simulated)', () => {
    const rng = createRng(7);
    const q = 0.5;
    const trueMedian = Math.LN2; // exponential(1)
    let upperMisses = 0;
    let lowerMisses = 0;
    const runs = 2_000;
    for (let r = 0; r < runs; r++) {
      const samples = Array.from({ length: 15 }, () => -Math.log(1 - rng.next()));
      const { lower, upper } = quantileBounds(samples, q, 0.95);
      if (upper !== null && upper < trueMedian) upperMisses++;
      if (lower !== null && lower > trueMedian) lowerMisses++;
    }
    // Each side errs ≤ 5 % (exactly 1.8 % for n = 15 by the discrete ranks); 3.5 % leaves room for chance.
    expect(upperMisses / runs).toBeLessThan(0.035);
    expect(lowerMisses / runs).toBeLessThan(0.035);
  });

  it('sample quantile is the nearest rank', () => {
    expect(sampleQuantile([5, 1, 3, 2, 4], 0.5)).toBe(3);
    expect(sampleQuantile([], 0.5)).toBeNull();
  });
});

describe('Clopper–Pearson bounds for a fraction', () => {
  it('matches known values', () => {
    // 0 of 300: the "rule of three" says ≈ 3/300; exact one-sided 95 %: 1 − 0.05^(1/300).
    expect(proportionBounds(0, 300, 0.95).upper).toBeCloseTo(1 - 0.05 ** (1 / 300), 9);
    expect(proportionBounds(12, 12, 0.95).lower).toBeCloseTo(0.05 ** (1 / 12), 9);
    const { lower, upper } = proportionBounds(7, 12, 0.95);
    expect(lower).toBeCloseTo(0.3152, 3);
    expect(upper).toBeCloseTo(0.819, 3);
  });

  it('says nothing without trials', () => {
    expect(proportionBounds(0, 0, 0.95)).toEqual({ lower: null, upper: null });
  });
});

describe('judging claims', () => {
  const elections = [1100, 1200, 1300, 2700, 1050, 1400, 2200, 1500, 1600, 1250];

  it('holds a median claim when the upper bound is under the limit', () => {
    const j = judgeQuantileAtMost(elections, 0.5, 2500, 0.95);
    expect(j.verdict).toBe('held');
    expect(j.bounds.upper).toBe(2200); // X(9) of 10
    expect(j.estimate).toBe(1300);
  });

  it('deviates when the lower bound is past the limit', () => {
    expect(judgeQuantileAtMost(elections, 0.5, 1000, 0.95).verdict).toBe('deviated');
  });

  it('is inconclusive between the bounds, and says how many samples would decide', () => {
    const j = judgeQuantileAtMost(elections, 0.5, 2000, 0.95);
    expect(j.verdict).toBe('inconclusive');
    // 2 of 10 above 2000 ms: at that share, an upper bound for the median clears 2000 ms from 11 samples on.
    expect(j.samplesToDecide).toBe(11);
    // p95 from 10 samples has no upper bound at all: inconclusive, not held.
    expect(judgeQuantileAtMost(elections, 0.95, 10_000, 0.95).verdict).toBe('inconclusive');
    expect(judgeQuantileAtMost(elections, 0.95, 10_000, 0.95).samplesToDecide).toBe(59);
  });

  it('counts an election that never finished (+∞) as above any limit', () => {
    const j = judgeQuantileAtMost([...elections.slice(0, 8), Infinity, Infinity], 0.5, 2500, 0.95);
    expect(j.bounds.upper).toBe(Infinity);
    expect(j.verdict).toBe('inconclusive');
  });

  it('judges a share with exact bounds', () => {
    expect(judgeFraction(300, 300, { min: 0.95 }, 0.95).verdict).toBe('held');
    expect(judgeFraction(0, 250, { max: 0.05 }, 0.95).verdict).toBe('held');
    expect(judgeFraction(150, 300, { min: 0.95 }, 0.95).verdict).toBe('deviated');
    const few = judgeFraction(10, 10, { min: 0.9 }, 0.95);
    expect(few.verdict).toBe('inconclusive');
    expect(few.samplesToDecide).toBe(29); // 0.9^29 < 0.05 ≤ 0.9^28
    expect(judgeFraction(0, 0, { min: 0.5 }, 0.95).verdict).toBe('inconclusive');
  });

  it('combines: any deviation deviates, then inconclusive, then held', () => {
    expect(combineVerdicts(['held', 'inconclusive', 'deviated'])).toBe('deviated');
    expect(combineVerdicts(['held', 'inconclusive'])).toBe('inconclusive');
    expect(combineVerdicts(['held'])).toBe('held');
    expect(combineVerdicts([])).toBe('held');
  });
});
