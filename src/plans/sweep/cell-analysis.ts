import {
  longestUnavailability,
  summarizeOperations,
  type TimedOutcome,
} from '../../measure/latency-stats.ts';
import type { QuietWindowResult, QuietWindowSample } from './cell-result.ts';

/** The counters read at one window boundary: each member's leader changes and the highest term. */
export interface CounterReading {
  /** Run-clock time of the reading. */
  readonly atMs: number;
  /** Each member's leader-change counter; null for a member whose metrics could not be read. */
  readonly changes: Readonly<Record<string, number | null>>;
  readonly term: number | null;
}

/** Each member's counter increase; null where either reading is missing. */
export function differences(
  before: Readonly<Record<string, number | null>>,
  after: Readonly<Record<string, number | null>>,
): Record<string, number | null> {
  return Object.fromEntries(
    Object.entries(after).map(([name, value]) => {
      const earlier = before[name];
      return [name, value === null || earlier === null || earlier === undefined ? null : value - earlier];
    }),
  );
}

/** The largest of the values that are known; null if none is. */
export const largest = (values: Readonly<Record<string, number | null>>): number | null => {
  const present = Object.values(values).filter((v): v is number => v !== null);
  return present.length === 0 ? null : Math.max(...present);
};

/** Leader changes and term increase between two readings. */
export function changesBetween(
  start: CounterReading,
  end: CounterReading,
): { deltas: Record<string, number | null>; leaderChanges: number | null; termIncrease: number | null } {
  const deltas = differences(start.changes, end.changes);
  const termIncrease = start.term === null || end.term === null ? null : end.term - start.term;
  return { deltas, leaderChanges: largest(deltas), termIncrease };
}

/**
 * The quiet windows' figures (pure), from the readings at every window boundary (the first
 * before the load started) and the write load's records. Windows of `windowMs` from `startedMs`.
 */
export function summarizeQuietWindows(
  readings: readonly CounterReading[],
  records: readonly TimedOutcome[],
  { startedMs, windowMs, windowCount }: { startedMs: number; windowMs: number; windowCount: number },
): QuietWindowResult {
  const totalMs = windowCount * windowMs;
  const windows = readings.slice(1).map((end, i): QuietWindowSample => {
    const start = readings[i] ?? end;
    const { deltas, leaderChanges, termIncrease } = changesBetween(start, end);
    const fromMs = i === 0 ? startedMs : start.atMs;
    return {
      window: i + 1,
      fromMs,
      toMs: end.atMs,
      leaderChanges,
      leaderChangesByMember: deltas,
      termIncrease,
      writeP99Ms: summarizeOperations(records, { fromMs, toMs: end.atMs }).latency.p99,
    };
  });
  // Totals from the first and last readings: a counter that could not be read at a window's
  // boundary (etcd busy electing) leaves that window unknown, not the whole observation.
  const whole = changesBetween(
    readings[0] ?? { atMs: 0, changes: {}, term: null },
    readings.at(-1) ?? readings[0]!,
  );
  const span = { fromMs: startedMs, toMs: startedMs + totalMs };
  const writes = summarizeOperations(records, span);
  return {
    windowMs,
    observedMs: totalMs,
    windows,
    leaderChanges: whole.leaderChanges,
    leaderChangesPerMinute: whole.leaderChanges === null ? null : whole.leaderChanges / (totalMs / 60_000),
    windowsWithLeaderChanges: windows.filter((w) => w.leaderChanges !== null && w.leaderChanges > 0).length,
    termIncrease: whole.termIncrease,
    writes: {
      p50Ms: writes.latency.p50,
      p99Ms: writes.latency.p99,
      throughput: writes.throughput,
      ...writes.outcomes,
    },
    longestWriteGapMs:
      longestUnavailability(records, { ...span, faultAtMs: span.fromMs })?.durationMs ?? null,
  };
}
