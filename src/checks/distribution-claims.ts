import {
  proportionBounds,
  quantileBounds,
  quantileRanks,
  sampleQuantile,
  type Bounds,
} from '../measure/confidence.ts';

import { combineVerdicts, type Verdict } from './check.ts';

// The verdict type and its combination live with the Check type; re-exported for the judges' callers.
export { combineVerdicts, type Verdict };

export interface Judgement {
  readonly verdict: Verdict;
  /** The point estimate (sample quantile or observed fraction); null without samples. */
  readonly estimate: number | null;
  /** One-sided bounds at `confidence` (null: too few samples for that side). */
  readonly bounds: Bounds;
  readonly samples: number;
  readonly confidence: number;
  /**
   * Inconclusive only: how many samples in all would decide, if the share seen so far stayed
   * the same (a planning figure, not a promise); null when no number would, e.g. an estimate
   * exactly at the limit.
   */
  readonly samplesToDecide: number | null;
}

const MAX_PLANNED_SAMPLES = 100_000;

/** Candidate sample counts for "how many would decide": every count at first, then ~10 % steps. */
function* growingCounts(from: number): Generator<number> {
  let n = from + 1;
  while (n <= MAX_PLANNED_SAMPLES) {
    yield n;
    n = n < 100 ? n + 1 : Math.ceil(n * 1.1);
  }
}

/** "The q-quantile is at most `limit`", judged by order-statistic bounds. */
export function judgeQuantileAtMost(
  samples: readonly number[],
  q: number,
  limit: number,
  confidence: number,
): Judgement {
  const bounds = quantileBounds(samples, q, confidence);
  const verdict: Verdict =
    bounds.upper !== null && bounds.upper <= limit
      ? 'held'
      : bounds.lower !== null && bounds.lower > limit
        ? 'deviated'
        : 'inconclusive';
  const n = samples.length;
  let samplesToDecide: number | null = null;
  if (verdict === 'inconclusive') {
    // With the same share of samples above the limit, when would a bound clear it?
    const above = n === 0 ? 0 : samples.filter((s) => s > limit).length / n;
    for (const m of growingCounts(n)) {
      const { lowerRank, upperRank } = quantileRanks(m, q, confidence);
      const aboveCount = Math.round(above * m);
      // X(u) ≤ limit ⇔ at least u samples ≤ limit; X(l) > limit ⇔ fewer than l samples ≤ limit.
      const decides =
        (upperRank !== null && m - aboveCount >= upperRank) ||
        (lowerRank !== null && m - aboveCount < lowerRank);
      if (decides) {
        samplesToDecide = m;
        break;
      }
    }
  }
  return { verdict, estimate: sampleQuantile(samples, q), bounds, samples: n, confidence, samplesToDecide };
}

export interface FractionRange {
  readonly min?: number | undefined;
  readonly max?: number | undefined;
}

function fractionVerdict(bounds: Bounds, range: FractionRange): Verdict {
  const { lower, upper } = bounds;
  if (lower === null || upper === null) return 'inconclusive';
  if ((range.min !== undefined && upper < range.min) || (range.max !== undefined && lower > range.max))
    return 'deviated';
  if ((range.min === undefined || lower >= range.min) && (range.max === undefined || upper <= range.max))
    return 'held';
  return 'inconclusive';
}

/** "The success probability is within [min, max]", judged by Clopper–Pearson bounds on k of n. */
export function judgeFraction(k: number, n: number, range: FractionRange, confidence: number): Judgement {
  const bounds = proportionBounds(k, n, confidence);
  const verdict = fractionVerdict(bounds, range);
  let samplesToDecide: number | null = null;
  if (verdict === 'inconclusive') {
    const share = n === 0 ? null : k / n;
    for (const m of growingCounts(n)) {
      // Without any sample, assume the claim's own side: how many would confirm it at best?
      const assumed = share ?? (range.min !== undefined ? 1 : 0);
      if (
        fractionVerdict(proportionBounds(Math.round(assumed * m), m, confidence), range) !== 'inconclusive'
      ) {
        samplesToDecide = m;
        break;
      }
    }
  }
  return { verdict, estimate: n === 0 ? null : k / n, bounds, samples: n, confidence, samplesToDecide };
}
