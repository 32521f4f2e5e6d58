import { describe, expect, it } from 'vitest';

import {
  compareWindows,
  longestUnavailability,
  summarizeLatencies,
  summarizeOperations,
  timeSeries,
  unavailabilityWindows,
} from '../../src/measure/latency-stats.ts';
import type { TimedOutcome } from '../../src/measure/latency-stats.ts';

// HDR with 3 significant digits: a reported percentile is within 0.1% of the exact value.
function expectWithinHdrPrecision(actual: number | null, expected: number): void {
  expect(actual).not.toBeNull();
  expect(Math.abs((actual ?? NaN) - expected)).toBeLessThanOrEqual(expected * 1e-3);
}

function op(
  startMs: number,
  endMs: number,
  outcome: TimedOutcome['outcome'] = 'ok',
  errorClass?: string,
): TimedOutcome {
  return errorClass === undefined ? { startMs, endMs, outcome } : { startMs, endMs, outcome, errorClass };
}

const oneToThousand = Array.from({ length: 1000 }, (_, i) => i + 1);

describe('summarizeLatencies', () => {
  it('matches the exact percentiles of 1..1000 ms within HDR precision', () => {
    const summary = summarizeLatencies(oneToThousand);
    expect(summary.count).toBe(1000);
    expectWithinHdrPrecision(summary.p50, 500);
    expectWithinHdrPrecision(summary.p90, 900);
    expectWithinHdrPrecision(summary.p99, 990);
    expectWithinHdrPrecision(summary.p999, 999);
  });

  it('reports exact min, max, mean and population stddev', () => {
    const summary = summarizeLatencies(oneToThousand);
    expect(summary.min).toBe(1);
    expect(summary.max).toBe(1000);
    expect(summary.mean).toBeCloseTo(500.5, 9);
    // Population stddev of 1..n is sqrt((n^2 - 1) / 12).
    expect(summary.stddev).toBeCloseTo(Math.sqrt((1000 * 1000 - 1) / 12), 9);
    expect(summary.stddev).toBeCloseTo(288.67, 2);
  });

  it('does not depend on input order', () => {
    const reversed = summarizeLatencies([...oneToThousand].reverse());
    expect(reversed).toEqual(summarizeLatencies(oneToThousand));
  });

  it('follows HDR percentile semantics on a skewed distribution', () => {
    const samples = [
      ...Array.from<number>({ length: 990 }).fill(10),
      ...Array.from<number>({ length: 10 }).fill(500),
    ];
    const summary = summarizeLatencies(samples);
    // 99% of samples are <= 10 ms, so p99 is still 10 ms; p99.9 falls in the slow tail.
    expectWithinHdrPrecision(summary.p50, 10);
    expectWithinHdrPrecision(summary.p99, 10);
    expectWithinHdrPrecision(summary.p999, 500);
    expect(summary.max).toBe(500);
  });

  it('keeps sub-millisecond resolution by recording microseconds', () => {
    const summary = summarizeLatencies([0.25, 0.5, 0.75, 1]);
    expect(summary.p50).toBe(0.5);
    expect(summary.p999).toBe(1);
    expect(summary.min).toBe(0.25);
  });

  it('returns count 0 and null fields for empty input', () => {
    expect(summarizeLatencies([])).toEqual({
      count: 0,
      min: null,
      max: null,
      mean: null,
      stddev: null,
      p50: null,
      p90: null,
      p99: null,
      p999: null,
    });
  });

  it('rejects negative and non-finite samples', () => {
    expect(() => summarizeLatencies([1, -1])).toThrow(RangeError);
    expect(() => summarizeLatencies([Number.NaN])).toThrow(RangeError);
  });
});

describe('summarizeOperations', () => {
  // 50 ok writes, one every 20 ms, each taking 5 ms: 0-5, 20-25, ..., 980-985.
  const schedule = Array.from({ length: 50 }, (_, i) => op(i * 20, i * 20 + 5));

  it('computes throughput over an explicit window', () => {
    const summary = summarizeOperations(schedule, { fromMs: 0, toMs: 1000 });
    expect(summary.throughput).toBeCloseTo(50, 9);
    expect(summary.outcomes).toEqual({ ok: 50, fail: 0, indeterminate: 0 });
    expect(summary.latency.count).toBe(50);
    expect(summary.latency.mean).toBeCloseTo(5, 9);
  });

  it('computes throughput over first start .. last end without a window', () => {
    const summary = summarizeOperations(schedule);
    expect(summary.fromMs).toBe(0);
    expect(summary.toMs).toBe(985);
    expect(summary.throughput).toBeCloseTo(50 / 0.985, 9);
  });

  it('selects operations by the time they returned, half-open window', () => {
    // Ends at 505, 525, ..., 985 fall in [500, 1000): 25 ops; the op ending at 485 does not.
    const summary = summarizeOperations(schedule, { fromMs: 500, toMs: 1000 });
    expect(summary.outcomes.ok).toBe(25);
    expect(summary.throughput).toBeCloseTo(50, 9);
    const endingAtBoundary = summarizeOperations([op(0, 100), op(50, 200)], { fromMs: 0, toMs: 100 });
    expect(endingAtBoundary.outcomes.ok).toBe(0);
  });

  it('counts fail and indeterminate separately by error class, excluding them from latency', () => {
    const ops = [
      op(0, 10),
      op(0, 20),
      op(0, 1000, 'fail', 'Unavailable'),
      op(0, 30, 'fail', 'Unavailable'),
      op(0, 40, 'fail', 'PermissionDenied'),
      op(0, 900, 'indeterminate', 'DeadlineExceeded'),
      op(0, 50, 'indeterminate', 'Unavailable'),
      op(0, 60, 'indeterminate'),
    ];
    const summary = summarizeOperations(ops);
    expect(summary.outcomes).toEqual({ ok: 2, fail: 3, indeterminate: 3 });
    expect(summary.errors.fail).toEqual({ Unavailable: 2, PermissionDenied: 1 });
    expect(summary.errors.indeterminate).toEqual({ DeadlineExceeded: 1, Unavailable: 1, unknown: 1 });
    expect(summary.latency.count).toBe(2);
    expect(summary.latency.max).toBe(20);
  });

  it('returns null throughput and empty latency when nothing was recorded', () => {
    const summary = summarizeOperations([]);
    expect(summary.throughput).toBeNull();
    expect(summary.latency.count).toBe(0);
    expect(summary.latency.p99).toBeNull();
    expect(summarizeOperations([], { fromMs: 0, toMs: 1000 }).throughput).toBe(0);
  });
});

describe('timeSeries', () => {
  it('assigns each operation to the bucket in which it returned', () => {
    const ops = [
      op(0, 10), // bucket 0
      op(20, 250), // started in bucket 0, returned in bucket 2
      op(50, 100), // exactly on the boundary: bucket 1
      op(110, 150, 'fail'), // bucket 1
      op(120, 199.5, 'indeterminate'), // bucket 1
      op(300, 390), // bucket 3
    ];
    const series = timeSeries(ops, { bucketMs: 100, fromMs: 0 });
    expect(series.map((b) => b.startMs)).toEqual([0, 100, 200, 300]);
    expect(series.map((b) => [b.ok, b.failed, b.indeterminate])).toEqual([
      [1, 0, 0],
      [1, 1, 1],
      [1, 0, 0],
      [1, 0, 0],
    ]);
    expect(series[2]?.max).toBe(230);
    expect(series[1]?.max).toBe(50);
    expect(series[0]?.throughput).toBeCloseTo(10, 9);
  });

  it('gives buckets without ok operations null latencies and zero throughput', () => {
    const series = timeSeries([op(0, 50), op(100, 150, 'fail'), op(300, 320)], { bucketMs: 100, fromMs: 0 });
    expect(series).toHaveLength(4);
    for (const index of [1, 2]) {
      expect(series[index]).toMatchObject({ ok: 0, throughput: 0, p50: null, p99: null, max: null });
    }
    expect(series[1]?.failed).toBe(1);
    expectWithinHdrPrecision(series[3]?.p50 ?? null, 20);
  });

  it('computes per-bucket percentiles and throughput', () => {
    // Bucket [0, 100): 10 ok ops with latencies 1..10 ms; bucket [100, 200): 5 ok ops of 40 ms.
    const ops = [
      ...Array.from({ length: 10 }, (_, i) => op(50, 51 + i)),
      ...Array.from({ length: 5 }, () => op(110, 150)),
    ];
    const series = timeSeries(ops, { bucketMs: 100, fromMs: 0, toMs: 200 });
    expect(series).toHaveLength(2);
    expectWithinHdrPrecision(series[0]?.p50 ?? null, 5);
    expectWithinHdrPrecision(series[0]?.p99 ?? null, 10);
    expect(series[0]?.throughput).toBeCloseTo(100, 9);
    expectWithinHdrPrecision(series[1]?.p50 ?? null, 40);
    expect(series[1]?.throughput).toBeCloseTo(50, 9);
  });

  it('drops operations returning at or after an explicit toMs and clips the last bucket', () => {
    const ops = [op(0, 10), op(100, 140), op(100, 150), op(100, 160)];
    const series = timeSeries(ops, { bucketMs: 100, fromMs: 0, toMs: 150 });
    expect(series).toHaveLength(2);
    expect(series[1]?.ok).toBe(1);
    // One op in a 50 ms clipped bucket is 20 ops/s.
    expect(series[1]?.throughput).toBeCloseTo(20, 9);
  });

  it('defaults to the earliest start and includes the last completion', () => {
    const series = timeSeries([op(1000, 1010), op(1050, 1200)], { bucketMs: 100 });
    expect(series.map((b) => b.startMs)).toEqual([1000, 1100, 1200]);
    expect(series[2]?.ok).toBe(1);
    expect(timeSeries([])).toEqual([]);
  });

  it('uses 100 ms buckets by default and rejects non-positive bucket sizes', () => {
    expect(timeSeries([op(0, 350)], { fromMs: 0 })).toHaveLength(4);
    expect(() => timeSeries([op(0, 1)], { bucketMs: 0 })).toThrow(RangeError);
  });
});

describe('unavailability', () => {
  // Writes succeed every 10 ms until the fault at t=1000; every write returning in (1000, 1700) fails
  // or is indeterminate; successes resume at 1700 and continue to 2000.
  const faultAtMs = 1000;
  const history: TimedOutcome[] = [];
  for (let endMs = 10; endMs <= 2000; endMs += 10) {
    const outcome = endMs > 1000 && endMs < 1700 ? (endMs % 20 === 0 ? 'fail' : 'indeterminate') : 'ok';
    history.push(op(endMs - 4, endMs, outcome, outcome === 'ok' ? undefined : 'Unavailable'));
  }
  // Shuffled so the functions cannot rely on input order.
  const shuffled = history
    .filter((_, i) => i % 2 === 0)
    .concat(history.filter((_, i) => i % 2 === 1).reverse());

  it('finds the 700 ms gap after the fault and the trailing gap, longest first', () => {
    const windows = unavailabilityWindows(shuffled, { fromMs: 0, toMs: 2200, minGapMs: 50 });
    expect(windows).toEqual([
      { startMs: 1000, endMs: 1700, durationMs: 700 },
      { startMs: 2000, endMs: 2200, durationMs: 200 },
    ]);
  });

  it('includes the leading gap from fromMs to the first success', () => {
    const windows = unavailabilityWindows(history, { fromMs: -100, toMs: 2000, minGapMs: 100 });
    expect(windows).toEqual([
      { startMs: 1000, endMs: 1700, durationMs: 700 },
      { startMs: -100, endMs: 10, durationMs: 110 },
    ]);
  });

  it('reports every positive gap when minGapMs is 0, sorted by duration then start', () => {
    const windows = unavailabilityWindows(history, { fromMs: 0, toMs: 2000 });
    // 100 successes up to 1000 and 31 from 1700 to 2000: 130 gaps between them plus the leading one.
    expect(windows).toHaveLength(131);
    expect(windows[0]?.durationMs).toBe(700);
    expect(windows[1]).toEqual({ startMs: 0, endMs: 10, durationMs: 10 });
    expect(windows.at(-1)).toEqual({ startMs: 1990, endMs: 2000, durationMs: 10 });
  });

  it('treats a window without successes as one gap', () => {
    const failing = [op(0, 100, 'fail'), op(0, 200, 'indeterminate')];
    expect(unavailabilityWindows(failing, { fromMs: 0, toMs: 500 })).toEqual([
      { startMs: 0, endMs: 500, durationMs: 500 },
    ]);
  });

  it('locates the longest gap relative to the fault', () => {
    expect(longestUnavailability(shuffled, { fromMs: 0, toMs: 2000, faultAtMs })).toEqual({
      durationMs: 700,
      startMs: 1000,
      startRelativeToFaultMs: 0,
    });
    expect(longestUnavailability(history, { fromMs: 0, toMs: 2000, faultAtMs: 1005 })).toMatchObject({
      startRelativeToFaultMs: -5,
    });
  });

  it('returns null when there is no gap at all', () => {
    expect(longestUnavailability([op(0, 100)], { fromMs: 100, toMs: 100, faultAtMs: 50 })).toBeNull();
  });
});

describe('compareWindows', () => {
  it('returns other/baseline ratios', () => {
    const baseline = summarizeLatencies(oneToThousand);
    const slower = summarizeLatencies(oneToThousand.map((v) => v * 2));
    const ratios = compareWindows(baseline, slower);
    expect(ratios.max).toBeCloseTo(2, 9);
    expect(ratios.mean).toBeCloseTo(2, 9);
    // Both sides carry HDR error of up to 0.1%.
    expect(Math.abs((ratios.p50 ?? NaN) - 2)).toBeLessThan(0.005);
    expect(Math.abs((ratios.p99 ?? NaN) - 2)).toBeLessThan(0.005);
    expect(Math.abs((ratios.p999 ?? NaN) - 2)).toBeLessThan(0.005);
    expect('throughput' in ratios).toBe(false);
  });

  it('compares throughput when both sides are operation summaries', () => {
    const baselineOps = Array.from({ length: 100 }, (_, i) => op(i * 10, i * 10 + 2));
    const degradedOps = Array.from({ length: 25 }, (_, i) => op(i * 40, i * 40 + 8));
    const baseline = summarizeOperations(baselineOps, { fromMs: 0, toMs: 1000 });
    const degraded = summarizeOperations(degradedOps, { fromMs: 0, toMs: 1000 });
    const ratios = compareWindows(baseline, degraded);
    expect(ratios.throughput).toBeCloseTo(0.25, 9);
    expect(ratios.mean).toBeCloseTo(4, 9);
  });

  it('yields null for missing sides or a zero baseline, and 0 for a collapsed other side', () => {
    const baseline = summarizeLatencies([1, 2, 3]);
    const empty = summarizeLatencies([]);
    expect(compareWindows(baseline, empty)).toEqual({
      p50: null,
      p99: null,
      p999: null,
      max: null,
      mean: null,
    });
    expect(compareWindows(empty, baseline).p99).toBeNull();
    expect(compareWindows(summarizeLatencies([0, 0]), baseline).mean).toBeNull();

    const healthy = summarizeOperations([op(0, 5), op(10, 15)], { fromMs: 0, toMs: 1000 });
    const outage = summarizeOperations([op(0, 900, 'indeterminate')], { fromMs: 0, toMs: 1000 });
    const ratios = compareWindows(healthy, outage);
    expect(ratios.throughput).toBe(0);
    expect(ratios.p50).toBeNull();
    expect(compareWindows(outage, healthy).throughput).toBeNull();
  });
});
