/**
 * Time-compressed availability: a seeded schedule of member failures and repairs with exponential
 * up and down times (MTTF, MTTR scaled to seconds), the time a cluster spends without quorum under
 * it, and a batch-means confidence interval for that fraction. Pure, so the statistics are tested
 * on their own.
 */
import type { Check } from '../../checks/check.ts';
import { createRng, type Rng } from '../../workload/rng.ts';
import { formatProbability, toleratedFailures, unavailability } from './model.ts';

/** [fromMs, toMs) on the run's clock. */
export interface Interval {
  readonly fromMs: number;
  readonly toMs: number;
}

export interface FailureScheduleOptions {
  readonly members: number;
  readonly mttfMs: number;
  readonly mttrMs: number;
  readonly durationMs: number;
  readonly seed: number;
}

/** Each member's down intervals, clipped to [0, durationMs). */
export interface FailureSchedule {
  readonly durationMs: number;
  readonly downIntervals: readonly (readonly Interval[])[];
}

/** An exponentially distributed duration with the given mean (inverse-CDF sampling). */
export function exponential(rng: Rng, meanMs: number): number {
  // 1 - u is in (0, 1], so the log is finite.
  return -meanMs * Math.log(1 - rng.next());
}

/**
 * Each member alternates up (exponential, mean MTTF) and down (exponential, mean MTTR),
 * independently, from its own random stream. Members start in the stationary state — down with
 * probability p = MTTR / (MTTF + MTTR) — so a short run is not biased by everyone starting up
 * (memorylessness makes the remaining time in the first state exponential too).
 */
export function generateFailureSchedule(options: FailureScheduleOptions): FailureSchedule {
  const { members, mttfMs, mttrMs, durationMs, seed } = options;
  // Programmatic callers get the option's own name; the CLI checks its flags before this runs.
  if (!Number.isInteger(members) || members < 1)
    throw new RangeError(`failure schedule: members must be an integer >= 1, got ${members}`);
  for (const [name, meaning, value] of [
    ['mttfMs', 'mean time to failure', mttfMs],
    ['mttrMs', 'mean time to repair', mttrMs],
    ['durationMs', 'run length', durationMs],
  ] as const) {
    if (!(Number.isFinite(value) && value > 0))
      throw new RangeError(
        `failure schedule: ${name} (${meaning}) must be a finite number of ms > 0, got ${value}`,
      );
  }
  const p = mttrMs / (mttfMs + mttrMs);
  const downIntervals = Array.from({ length: members }, (_, i) => {
    const rng = createRng(seed, i);
    let down = rng.next() < p;
    let at = 0;
    const intervals: Interval[] = [];
    while (at < durationMs) {
      const length = exponential(rng, down ? mttrMs : mttfMs);
      if (down) intervals.push({ fromMs: at, toMs: Math.min(durationMs, at + length) });
      at += length;
      down = !down;
    }
    return intervals;
  });
  return { durationMs, downIntervals };
}

/** Member state changes in time order: what the runner executes. */
export function scheduleEvents(
  schedule: FailureSchedule,
): { readonly atMs: number; readonly member: number; readonly action: 'fail' | 'repair' }[] {
  return schedule.downIntervals
    .flatMap((intervals, member) =>
      intervals.flatMap((i) => [
        { atMs: i.fromMs, member, action: 'fail' as const },
        ...(i.toMs < schedule.durationMs ? [{ atMs: i.toMs, member, action: 'repair' as const }] : []),
      ]),
    )
    .sort((a, b) => a.atMs - b.atMs || a.member - b.member);
}

/**
 * Intervals within `window` during which more than toleratedFailures(n) members are down at once,
 * from each member's down intervals (a sweep over the interval ends).
 */
export function noQuorumIntervals(
  downIntervals: readonly (readonly Interval[])[],
  window: Interval,
): Interval[] {
  const n = downIntervals.length;
  const tolerated = toleratedFailures(n);
  const edges = downIntervals
    .flat()
    .map((i) => ({ fromMs: Math.max(window.fromMs, i.fromMs), toMs: Math.min(window.toMs, i.toMs) }))
    .filter((i) => i.fromMs < i.toMs)
    .flatMap((i) => [
      { atMs: i.fromMs, delta: 1 },
      { atMs: i.toMs, delta: -1 },
    ])
    // Ends before starts at the same instant: touching intervals do not overlap.
    .sort((a, b) => a.atMs - b.atMs || a.delta - b.delta);
  const out: Interval[] = [];
  let down = 0;
  let openedAt: number | null = null;
  for (const edge of edges) {
    down += edge.delta;
    if (down > tolerated && openedAt === null) openedAt = edge.atMs;
    else if (down <= tolerated && openedAt !== null) {
      if (edge.atMs > openedAt) out.push({ fromMs: openedAt, toMs: edge.atMs });
      openedAt = null;
    }
  }
  return out;
}

/** Total length of (disjoint) intervals inside `window`. */
export function overlapMs(intervals: readonly Interval[], window: Interval): number {
  return intervals.reduce(
    (sum, i) => sum + Math.max(0, Math.min(i.toMs, window.toMs) - Math.max(i.fromMs, window.fromMs)),
    0,
  );
}

/** A probe result: at `atMs` the cluster did (or did not) have a leader with a majority behind it. */
export interface ProbeSample {
  readonly atMs: number;
  readonly available: boolean;
}

/**
 * Probe samples as intervals without quorum: each sample holds until the next one (the last until
 * `endMs`). Samples must be in time order.
 */
export function unavailableFromSamples(samples: readonly ProbeSample[], endMs: number): Interval[] {
  const out: Interval[] = [];
  samples.forEach((s, i) => {
    if (s.available) return;
    const toMs = samples[i + 1]?.atMs ?? endMs;
    const last = out.at(-1);
    if (last !== undefined && last.toMs === s.atMs) out[out.length - 1] = { fromMs: last.fromMs, toMs };
    else if (toMs > s.atMs) out.push({ fromMs: s.atMs, toMs });
  });
  return out;
}

/** Two-sided 97.5% quantiles of Student's t for 1..30 degrees of freedom (for 95% intervals). */
const T_975 = [
  12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.16, 2.145, 2.131,
  2.12, 2.11, 2.101, 2.093, 2.086, 2.08, 2.074, 2.069, 2.064, 2.06, 2.056, 2.052, 2.048, 2.045, 2.042,
];

/** t quantile for a 95% two-sided interval; the normal 1.96 beyond 30 degrees of freedom. */
export function studentT975(degreesOfFreedom: number): number {
  if (!Number.isInteger(degreesOfFreedom) || degreesOfFreedom < 1) {
    throw new RangeError(`degrees of freedom must be an integer >= 1, got ${degreesOfFreedom}`);
  }
  return T_975[degreesOfFreedom - 1] ?? 1.96;
}

export interface ConfidenceInterval {
  readonly mean: number;
  readonly low: number;
  readonly high: number;
  readonly halfWidth: number;
  readonly batches: number;
  readonly method: string;
}

/**
 * 95% batch-means interval for a time fraction: the run is cut into B equal batches, each batch's
 * fraction is one observation, and mean ± t(B−1) · s / √B is the interval (s: sample standard
 * deviation of the batch fractions). It treats batches as independent, which holds when a batch is
 * much longer than one failure/repair cycle; the interval is clipped to [0, 1].
 */
export function batchMeansInterval(
  intervals: readonly Interval[],
  window: Interval,
  batches: number,
): ConfidenceInterval {
  if (!Number.isInteger(batches) || batches < 2)
    throw new RangeError(`batches must be an integer >= 2, got ${batches}`);
  const span = window.toMs - window.fromMs;
  if (!(span > 0))
    throw new RangeError(`window must have a positive length, got ${window.fromMs}..${window.toMs}`);
  const width = span / batches;
  const fractions = Array.from({ length: batches }, (_, b) => {
    const from = window.fromMs + b * width;
    return overlapMs(intervals, { fromMs: from, toMs: from + width }) / width;
  });
  const mean = fractions.reduce((a, b) => a + b, 0) / batches;
  const variance = fractions.reduce((a, f) => a + (f - mean) ** 2, 0) / (batches - 1);
  const halfWidth = (studentT975(batches - 1) * Math.sqrt(variance)) / Math.sqrt(batches);
  return {
    mean,
    low: Math.max(0, mean - halfWidth),
    high: Math.min(1, mean + halfWidth),
    halfWidth,
    batches,
    method: `batch means, ${batches} batches of ${(width / 1000).toFixed(1)} s, 95% Student t`,
  };
}

/**
 * Two checks of the binomial model against a run:
 * - the schedule as planned: the model at p = MTTR / (MTTF + MTTR) lies inside the 95% interval of
 *   the planned schedule's time without quorum (the random process itself follows the model);
 * - the cluster as probed: the model at the per-member down fraction the run really had (kills and
 *   restarts take the lab a second or two, which lengthens every outage) lies inside the 95%
 *   interval of the probed time without a leader.
 */
export function availabilityClaims(
  n: number,
  planned: { readonly p: number; readonly interval: ConfidenceInterval },
  probed: { readonly p: number; readonly interval: ConfidenceInterval },
): Check[] {
  const f = (x: number): string => formatProbability(Math.min(1, Math.max(0, x)));
  const check = (name: string, p: number, what: string, interval: ConfidenceInterval): Check => {
    const predicted = unavailability(n, p);
    return {
      name,
      expected: `model at p = ${p.toFixed(3)}: ${f(predicted)}, inside the ${what}'s 95% interval`,
      observed: `${what} ${f(interval.mean)} (95% interval ${f(interval.low)}..${f(interval.high)}; ${interval.method})`,
      verdict: predicted >= interval.low && predicted <= interval.high ? 'held' : 'deviated',
    };
  };
  return [
    check(
      `${n} members, random failures as planned: time without quorum matches the model`,
      planned.p,
      'planned schedule',
      planned.interval,
    ),
    check(
      `${n} members, random failures on the cluster: time without a leader matches the model`,
      probed.p,
      'probed fraction',
      probed.interval,
    ),
  ];
}
