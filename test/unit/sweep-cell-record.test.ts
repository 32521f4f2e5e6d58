import { describe, expect, it } from 'vitest';
import type { TimedOutcome } from '../../src/measure/latency-stats.ts';
import { summarizeQuietWindows, type CounterReading } from '../../src/plans/sweep/cell-analysis.ts';
import { cellRecord, type CellMeasurements } from '../../src/plans/sweep/cell-result.ts';
import { CELL_SCHEMA_VERSION, planCells, validateSweep } from '../../src/plans/sweep/spec.ts';

const cell = planCells(
  validateSweep({
    name: 'x',
    title: 'X',
    configurations: [{ heartbeatMs: 10, electionTimeoutMs: 100, preVote: false }],
    conditions: [{ kind: 'rtt', rttMs: 20, jitterMs: 5 }],
    fault: { kind: 'partition-and-heal', isolationMs: 1_000 },
  }),
)[0]!;

const measured: CellMeasurements = {
  startedAt: '2025-01-01T00:00:00.000Z',
  durationMs: 1_000,
  loadAverage: { start: [1, 2, 3], end: [4, 5, 6] },
  environment: { etcdVersion: '3.5.0' },
  mechanisms: { condition: 'nfq-delay-ingress', fault: null },
  conditionFaults: [],
  quiet: null,
  elections: null,
  heals: [],
  incomplete: null,
};

describe('a cell record', () => {
  // cells/<cellId>.json is what a resumed sweep reads back: its fields and their order are fixed.
  it('has the record format of CELL_SCHEMA_VERSION 2, field for field and in order', () => {
    const record = cellRecord('x', cell, measured);
    expect(CELL_SCHEMA_VERSION).toBe(2);
    expect(Object.keys(record)).toEqual([
      'schemaVersion',
      'sweep',
      'cellId',
      'cellHash',
      'index',
      'label',
      'etcdOptions',
      'condition',
      'fault',
      'trials',
      'seed',
      'startedAt',
      'durationMs',
      'loadAverage',
      'environment',
      'mechanisms',
      'conditionFaults',
      'quiet',
      'elections',
      'heals',
      'incomplete',
    ]);
    expect(record).toMatchObject({
      schemaVersion: 2,
      sweep: 'x',
      cellId: cell.cellId,
      cellHash: cell.cellHash,
      trials: cell.trials,
      seed: cell.seed,
      ...measured,
    });
  });
});

describe('quiet windows from counter readings', () => {
  const ok = (endMs: number, latencyMs = 5): TimedOutcome => ({
    startMs: endMs - latencyMs,
    endMs,
    outcome: 'ok',
  });
  // Writes every 100 ms over two 1 s windows from 1_000 ms, with a 400 ms gap in the second.
  const records = [
    ...Array.from({ length: 10 }, (_, i) => ok(1_050 + i * 100)),
    ...Array.from({ length: 10 }, (_, i) => ok(2_050 + i * 100)).filter(
      (r) => r.endMs < 2_400 || r.endMs > 2_700,
    ),
  ];

  it('counts leader changes and term per window and over the whole observation', () => {
    const readings: CounterReading[] = [
      { atMs: 990, changes: { m1: 3, m2: 3 }, term: 4 },
      { atMs: 2_000, changes: { m1: 3, m2: 3 }, term: 4 },
      { atMs: 3_000, changes: { m1: 5, m2: 4 }, term: 7 },
    ];
    const quiet = summarizeQuietWindows(readings, records, {
      startedMs: 1_000,
      windowMs: 1_000,
      windowCount: 2,
    });
    expect(quiet.windows.map((w) => [w.window, w.fromMs, w.toMs, w.leaderChanges, w.termIncrease])).toEqual([
      [1, 1_000, 2_000, 0, 0],
      [2, 2_000, 3_000, 2, 3],
    ]);
    expect(quiet.windows[1]?.leaderChangesByMember).toEqual({ m1: 2, m2: 1 });
    expect(quiet).toMatchObject({
      windowMs: 1_000,
      observedMs: 2_000,
      leaderChanges: 2,
      leaderChangesPerMinute: 60,
      windowsWithLeaderChanges: 1,
      termIncrease: 3,
    });
    expect(quiet.writes.ok).toBe(records.length);
    expect(quiet.longestWriteGapMs).toBeGreaterThanOrEqual(400);
  });

  it('leaves a window unknown, not the whole observation, when a boundary could not be read', () => {
    const readings: CounterReading[] = [
      { atMs: 990, changes: { m1: 3 }, term: 4 },
      { atMs: 2_000, changes: { m1: null }, term: null },
      { atMs: 3_000, changes: { m1: 4 }, term: 5 },
    ];
    const quiet = summarizeQuietWindows(readings, records, {
      startedMs: 1_000,
      windowMs: 1_000,
      windowCount: 2,
    });
    expect(quiet.windows.map((w) => [w.leaderChanges, w.termIncrease])).toEqual([
      [null, null],
      [null, null],
    ]);
    expect(quiet.leaderChanges).toBe(1);
    expect(quiet.termIncrease).toBe(1);
    expect(quiet.windowsWithLeaderChanges).toBe(0);
  });
});
