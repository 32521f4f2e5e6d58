import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { ExperimentResult } from '../../src/plans/experiment/experiment-types.ts';
import { History } from '../../src/history/history.ts';
import { writeQuorumClaimsResults } from '../../src/plans/quorum/report.ts';
import type { QuorumClaimsResult } from '../../src/plans/quorum/run-quorum-claims.ts';
import { writeResults } from '../../src/plans/experiment/report/write-results.ts';
import { writeSweepOutputs, type SweepResult } from '../../src/plans/sweep/report.ts';

// Every chart fails: rendering is slow and can throw, and result.json must be on disk by then.
vi.mock('../../src/report/render-chart.ts', () => ({
  renderChart: () => Promise.reject(new Error('chart failed')),
}));
vi.mock('../../src/plans/experiment/report/charts.ts', () => ({
  writeCharts: () => Promise.reject(new Error('chart failed')),
}));
// A sweep with no cells draws no chart; give it one to draw.
vi.mock('../../src/plans/sweep/report-charts.ts', () => ({
  sweepChartSpecs: () => ({ cells: { mark: 'point' } }),
}));

/** Only what the writers read before the charts: the result is written as it is. */
const minimal = (kind: string, payload: Record<string, unknown>) => ({
  schemaVersion: 4,
  kind,
  name: 'demo',
  title: 'A demo',
  status: 'completed',
  verdict: 'held',
  deviated: false,
  startedAt: '2026-11-30T12:00:00.000Z',
  durationMs: 1,
  environment: { etcdVersion: null, image: null },
  checks: [],
  ...payload,
});

describe('result.json is written before history, CSV and charts', () => {
  let dir: string | undefined;
  afterEach(async () => {
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  const saved = async (d: string) =>
    JSON.parse(await readFile(join(d, 'result.json'), 'utf8')) as Record<string, unknown>;

  it('an experiment whose charts fail still leaves result.json (and its history)', async () => {
    dir = await mkdtemp(join(tmpdir(), 'etcd-lab-first-'));
    const result = minimal('experiment', { steps: [] }) as unknown as ExperimentResult;
    await expect(writeResults(dir, result, new History())).rejects.toThrow('chart failed');
    expect((await saved(dir)).kind).toBe('experiment');
    expect((await readdir(dir)).sort()).toEqual(['history.jsonl', 'result.json']);
  });

  it('a sweep whose charts fail still leaves result.json (and sweep.csv)', async () => {
    dir = await mkdtemp(join(tmpdir(), 'etcd-lab-first-'));
    const result = minimal('sweep', { cells: [] }) as unknown as SweepResult;
    await expect(writeSweepOutputs(dir, result)).rejects.toThrow('chart failed');
    expect((await saved(dir)).kind).toBe('sweep');
    expect((await readdir(dir)).sort()).toEqual(['result.json', 'sweep.csv']);
  });

  it('a quorum-claims run whose charts fail still leaves result.json (and matrix.json)', async () => {
    dir = await mkdtemp(join(tmpdir(), 'etcd-lab-first-'));
    const cell = { mechanism: 'kill', members: 3, down: 1, observation: null, verdict: 'match' };
    const result = minimal('quorum-validation', {
      matrix: { cells: [cell], latency: [] },
    }) as unknown as QuorumClaimsResult;
    await expect(writeQuorumClaimsResults(dir, result, null)).rejects.toThrow('chart failed');
    expect((await saved(dir)).kind).toBe('quorum-validation');
    expect((await readdir(dir)).sort()).toEqual(['matrix.json', 'result.json']);
  });
});
