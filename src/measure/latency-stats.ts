import { build } from 'hdr-histogram-js';
import type { Histogram } from 'hdr-histogram-js';

/** One recorded operation; times are milliseconds on a single monotonic run clock. */
export interface TimedOutcome {
  readonly startMs: number;
  readonly endMs: number;
  readonly outcome: 'ok' | 'fail' | 'indeterminate';
  readonly errorClass?: string;
}

/**
 * Latency distribution in milliseconds. All fields except `count` are null when there are no samples.
 *
 * count/min/max/mean/stddev are exact (stddev is the population standard deviation). Percentiles come
 * from an HDR histogram of microsecond values with 3 significant digits: each is the HDR "value at
 * percentile", i.e. the highest value equivalent (within 3 significant digits) to the recorded value
 * at or below which that percentage of samples fall. It may therefore exceed the exact value, and
 * even `max`, by up to ~0.1%.
 */
export interface LatencySummary {
  readonly count: number;
  readonly min: number | null;
  readonly max: number | null;
  readonly mean: number | null;
  readonly stddev: number | null;
  readonly p50: number | null;
  readonly p90: number | null;
  readonly p99: number | null;
  readonly p999: number | null;
}

export interface OutcomeCounts {
  readonly ok: number;
  readonly fail: number;
  readonly indeterminate: number;
}

export interface OperationsSummary {
  /** Latency of ok operations only. */
  readonly latency: LatencySummary;
  /** ok operations per second over the window; null when the window has zero length. */
  readonly throughput: number | null;
  readonly fromMs: number | null;
  readonly toMs: number | null;
  readonly outcomes: OutcomeCounts;
  /** Counts keyed by errorClass ('unknown' when absent), fail and indeterminate kept apart. */
  readonly errors: {
    readonly fail: Readonly<Record<string, number>>;
    readonly indeterminate: Readonly<Record<string, number>>;
  };
}

export interface TimeWindow {
  readonly fromMs: number;
  readonly toMs: number;
}

export interface TimeBucket {
  readonly startMs: number;
  readonly ok: number;
  readonly failed: number;
  readonly indeterminate: number;
  /** ok operations per second within this bucket. */
  readonly throughput: number;
  readonly p50: number | null;
  readonly p99: number | null;
  readonly max: number | null;
}

export interface TimeSeriesOptions {
  readonly bucketMs?: number;
  readonly fromMs?: number;
  readonly toMs?: number;
}

export interface UnavailabilityWindow {
  readonly startMs: number;
  readonly endMs: number;
  readonly durationMs: number;
}

export interface UnavailabilityOptions {
  readonly fromMs: number;
  readonly toMs: number;
  /** Only gaps at least this long are reported; default 0 (zero-length gaps are never reported). */
  readonly minGapMs?: number;
}

export interface LongestUnavailability {
  readonly durationMs: number;
  readonly startMs: number;
  /** Negative when the gap began before the fault (the last success preceded it). */
  readonly startRelativeToFaultMs: number;
}

/** Ratios other/baseline; null when either side is missing or the baseline is zero. */
export interface WindowComparison {
  readonly p50: number | null;
  readonly p99: number | null;
  readonly p999: number | null;
  readonly max: number | null;
  readonly mean: number | null;
  /** Present only when both inputs are operation summaries. */
  readonly throughput?: number | null;
}

const US_PER_MS = 1000;
const UNKNOWN_ERROR_CLASS = 'unknown';

function newHistogram(): Histogram {
  // 64-bit (Float64) counts: pure JS, so no wasm initialisation is needed.
  return build({
    bitBucketSize: 64,
    useWebAssembly: false,
    autoResize: true,
    lowestDiscernibleValue: 1,
    numberOfSignificantValueDigits: 3,
  });
}

function assertFiniteNonNegative(value: number, what: string): void {
  if (!Number.isFinite(value) || value < 0) {
    throw new RangeError(`${what} must be a finite non-negative number, got ${value}`);
  }
}

export function summarizeLatencies(samplesMs: readonly number[]): LatencySummary {
  const count = samplesMs.length;
  if (count === 0) {
    return {
      count: 0,
      min: null,
      max: null,
      mean: null,
      stddev: null,
      p50: null,
      p90: null,
      p99: null,
      p999: null,
    };
  }
  const histogram = newHistogram();
  let min = Infinity;
  let max = -Infinity;
  // Welford's algorithm: numerically stable single pass.
  let mean = 0;
  let m2 = 0;
  let n = 0;
  for (const sample of samplesMs) {
    assertFiniteNonNegative(sample, 'latency sample');
    histogram.recordValue(Math.round(sample * US_PER_MS));
    if (sample < min) min = sample;
    if (sample > max) max = sample;
    n += 1;
    const delta = sample - mean;
    mean += delta / n;
    m2 += delta * (sample - mean);
  }
  const atPercentile = (p: number): number => histogram.getValueAtPercentile(p) / US_PER_MS;
  return {
    count,
    min,
    max,
    mean,
    stddev: Math.sqrt(m2 / n),
    p50: atPercentile(50),
    p90: atPercentile(90),
    p99: atPercentile(99),
    p999: atPercentile(99.9),
  };
}

/**
 * Values at arbitrary percentiles (0–100) of non-negative samples, from the same HDR histogram
 * as {@link summarizeLatencies} (so within ~0.1% of exact); null for each when there are none.
 */
export function latencyPercentiles(
  samplesMs: readonly number[],
  percentiles: readonly number[],
): (number | null)[] {
  if (samplesMs.length === 0) return percentiles.map(() => null);
  const histogram = newHistogram();
  for (const sample of samplesMs) {
    assertFiniteNonNegative(sample, 'latency sample');
    histogram.recordValue(Math.round(sample * US_PER_MS));
  }
  return percentiles.map((p) => histogram.getValueAtPercentile(p) / US_PER_MS);
}

function latencyMs(op: TimedOutcome): number {
  return op.endMs - op.startMs;
}

function assertWindow(fromMs: number, toMs: number): void {
  if (!Number.isFinite(fromMs) || !Number.isFinite(toMs) || toMs < fromMs) {
    throw new RangeError(`invalid window [${fromMs}, ${toMs}]`);
  }
}

// Loops rather than Math.min(...xs): spreading a large run's operations overflows the call stack.
function minOf(values: Iterable<number>): number {
  let min = Infinity;
  for (const value of values) if (value < min) min = value;
  return min;
}

function maxOf(values: Iterable<number>): number {
  let max = -Infinity;
  for (const value of values) if (value > max) max = value;
  return max;
}

function increment(counts: Map<string, number>, key: string): void {
  counts.set(key, (counts.get(key) ?? 0) + 1);
}

/**
 * Summarises operations. With a window, only operations that returned (endMs) in [fromMs, toMs) are
 * counted and throughput is over the window; without one, all operations count and throughput is
 * over first startMs .. last endMs.
 */
export function summarizeOperations(ops: readonly TimedOutcome[], window?: TimeWindow): OperationsSummary {
  if (window !== undefined) assertWindow(window.fromMs, window.toMs);
  const selected =
    window === undefined ? ops : ops.filter((op) => op.endMs >= window.fromMs && op.endMs < window.toMs);

  let fromMs: number | null = window?.fromMs ?? null;
  let toMs: number | null = window?.toMs ?? null;
  if (window === undefined && selected.length > 0) {
    fromMs = minOf(selected.map((op) => op.startMs));
    toMs = maxOf(selected.map((op) => op.endMs));
  }

  const okLatencies: number[] = [];
  const failErrors = new Map<string, number>();
  const indeterminateErrors = new Map<string, number>();
  let fail = 0;
  let indeterminate = 0;
  for (const op of selected) {
    switch (op.outcome) {
      case 'ok':
        okLatencies.push(latencyMs(op));
        break;
      case 'fail':
        fail += 1;
        increment(failErrors, op.errorClass ?? UNKNOWN_ERROR_CLASS);
        break;
      case 'indeterminate':
        indeterminate += 1;
        increment(indeterminateErrors, op.errorClass ?? UNKNOWN_ERROR_CLASS);
        break;
    }
  }

  const spanMs = fromMs !== null && toMs !== null ? toMs - fromMs : 0;
  return {
    latency: summarizeLatencies(okLatencies),
    throughput: spanMs > 0 ? okLatencies.length / (spanMs / 1000) : null,
    fromMs,
    toMs,
    outcomes: { ok: okLatencies.length, fail, indeterminate },
    // fromEntries defines own properties, so an errorClass like '__proto__' cannot touch the prototype.
    errors: { fail: Object.fromEntries(failErrors), indeterminate: Object.fromEntries(indeterminateErrors) },
  };
}

/**
 * Buckets operations by the time they returned (endMs). Buckets start at fromMs (default: earliest
 * startMs) and cover [startMs, startMs + bucketMs). With an explicit toMs, operations returning at or
 * after toMs are dropped and the last bucket's throughput uses its clipped width; by default the
 * series extends to include the last endMs.
 */
export function timeSeries(ops: readonly TimedOutcome[], options: TimeSeriesOptions = {}): TimeBucket[] {
  const bucketMs = options.bucketMs ?? 100;
  if (!Number.isFinite(bucketMs) || bucketMs <= 0) {
    throw new RangeError(`bucketMs must be a positive finite number, got ${bucketMs}`);
  }
  const fromMs = options.fromMs ?? (ops.length > 0 ? minOf(ops.map((op) => op.startMs)) : undefined);
  if (fromMs === undefined) return [];

  let bucketCount: number;
  let limitMs: number;
  if (options.toMs !== undefined) {
    assertWindow(fromMs, options.toMs);
    bucketCount = Math.ceil((options.toMs - fromMs) / bucketMs);
    limitMs = options.toMs;
  } else {
    if (ops.length === 0) return [];
    const lastEndMs = maxOf(ops.map((op) => op.endMs));
    if (lastEndMs < fromMs) return [];
    bucketCount = Math.floor((lastEndMs - fromMs) / bucketMs) + 1;
    limitMs = fromMs + bucketCount * bucketMs;
  }

  const okLatencies: number[][] = Array.from({ length: bucketCount }, () => []);
  const failed = new Array<number>(bucketCount).fill(0);
  const indeterminate = new Array<number>(bucketCount).fill(0);
  for (const op of ops) {
    if (op.endMs < fromMs || op.endMs >= limitMs) continue;
    // Clamp guards against floating-point rounding at the upper edge.
    const index = Math.min(Math.floor((op.endMs - fromMs) / bucketMs), bucketCount - 1);
    if (op.outcome === 'ok') okLatencies[index]?.push(latencyMs(op));
    else if (op.outcome === 'fail') failed[index] = (failed[index] ?? 0) + 1;
    else indeterminate[index] = (indeterminate[index] ?? 0) + 1;
  }

  return okLatencies.map((latencies, index) => {
    const startMs = fromMs + index * bucketMs;
    const widthMs = Math.min(bucketMs, limitMs - startMs);
    const summary = summarizeLatencies(latencies);
    return {
      startMs,
      ok: latencies.length,
      failed: failed[index] ?? 0,
      indeterminate: indeterminate[index] ?? 0,
      throughput: widthMs > 0 ? latencies.length / (widthMs / 1000) : 0,
      p50: summary.p50,
      p99: summary.p99,
      max: summary.max,
    };
  });
}

/**
 * Gaps between consecutive successful completions (ok endMs) within [fromMs, toMs], including the
 * leading gap from fromMs and the trailing gap to toMs. Longest first; ties by earlier start.
 */
export function unavailabilityWindows(
  ops: readonly TimedOutcome[],
  options: UnavailabilityOptions,
): UnavailabilityWindow[] {
  const { fromMs, toMs } = options;
  const minGapMs = options.minGapMs ?? 0;
  assertWindow(fromMs, toMs);
  const successEndsMs = ops
    .filter((op) => op.outcome === 'ok' && op.endMs >= fromMs && op.endMs <= toMs)
    .map((op) => op.endMs)
    .sort((a, b) => a - b);
  const boundariesMs = [fromMs, ...successEndsMs, toMs];

  const windows: UnavailabilityWindow[] = [];
  for (let i = 1; i < boundariesMs.length; i += 1) {
    const startMs = boundariesMs[i - 1] ?? fromMs;
    const endMs = boundariesMs[i] ?? toMs;
    const durationMs = endMs - startMs;
    if (durationMs > 0 && durationMs >= minGapMs) windows.push({ startMs, endMs, durationMs });
  }
  return windows.sort((a, b) => b.durationMs - a.durationMs || a.startMs - b.startMs);
}

/** The single longest gap in successful completions over [fromMs, toMs], located relative to the fault. */
export function longestUnavailability(
  ops: readonly TimedOutcome[],
  options: TimeWindow & { readonly faultAtMs: number },
): LongestUnavailability | null {
  const longest = unavailabilityWindows(ops, { fromMs: options.fromMs, toMs: options.toMs })[0];
  if (longest === undefined) return null;
  return {
    durationMs: longest.durationMs,
    startMs: longest.startMs,
    startRelativeToFaultMs: longest.startMs - options.faultAtMs,
  };
}

function ratio(baseline: number | null, other: number | null): number | null {
  if (baseline === null || other === null || baseline === 0) return null;
  return other / baseline;
}

function isOperationsSummary(value: LatencySummary | OperationsSummary): value is OperationsSummary {
  return 'latency' in value;
}

/**
 * Ratios other/baseline. Accepts latency summaries or operation summaries; throughput is compared
 * only when both sides are operation summaries. A zero `other` yields 0 (e.g. throughput collapsed),
 * a zero or missing baseline yields null.
 */
export function compareWindows(
  baseline: LatencySummary | OperationsSummary,
  other: LatencySummary | OperationsSummary,
): WindowComparison {
  const base = isOperationsSummary(baseline) ? baseline.latency : baseline;
  const cmp = isOperationsSummary(other) ? other.latency : other;
  const latencyRatios = {
    p50: ratio(base.p50, cmp.p50),
    p99: ratio(base.p99, cmp.p99),
    p999: ratio(base.p999, cmp.p999),
    max: ratio(base.max, cmp.max),
    mean: ratio(base.mean, cmp.mean),
  };
  if (isOperationsSummary(baseline) && isOperationsSummary(other)) {
    return { ...latencyRatios, throughput: ratio(baseline.throughput, other.throughput) };
  }
  return latencyRatios;
}
