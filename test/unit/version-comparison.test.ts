import { mkdtempSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readComparedRuns } from '../../src/cli/commands/compare.ts';
import { matrixExitCode } from '../../src/cli/commands/run.ts';
import { EXIT } from '../../src/cli/exit-codes.ts';
import { versionElectionChartSpec } from '../../src/plans/experiment/report/charts.ts';
import type { ExperimentResult } from '../../src/plans/experiment/run-experiment.ts';
import {
  compareVersionLabels,
  compareVersions,
  comparisonProblem,
  renderVersionComparison,
} from '../../src/plans/experiment/report/version-comparison.ts';

/** A leader kill as the runner records it: only the fields the comparison reads. */
function killStep(electedAfterMs: number, rounds: number, stallMs: number) {
  return {
    step: { fault: 'kill', target: 'leader', at: 0 },
    fault: { injectedAtMs: 1_000, injectionLatencyMs: 0, targets: ['m1'] },
    leaderTargeted: true,
    leaderBefore: { name: 'm1', term: 2 },
    leaderChange: { majorityAgreesAtMs: 1_000 + electedAfterMs, newTerm: 2 + rounds },
    election: {
      newTerm: 2 + rounds,
      rounds: Array.from({ length: rounds }, () => ({ refusals: [], campaigns: [] })),
      refusals: { 'log-not-up-to-date': 0, 'in-lease': rounds - 1, 'already-voted': 0, other: 0 },
    },
    writeStall: { durationMs: stallMs, startRelativeToFaultMs: 0 },
  };
}

function summary(p99: number, ok: number, fail: number) {
  return { latency: { p99 }, outcomes: { ok, fail, indeterminate: 0 } };
}

function run(
  version: string,
  options: {
    readonly verdict?: string;
    readonly name?: string;
    readonly preVote?: boolean;
    readonly image?: string;
    readonly steps?: ReturnType<typeof killStep>[];
    readonly startedAt?: string;
    readonly load?: number;
  } = {},
): ExperimentResult {
  const verdict = options.verdict ?? 'held';
  return {
    kind: 'experiment',
    name: options.name ?? 'leader-loss',
    title: 'Leader loss under steady write load',
    status: 'completed',
    verdict,
    startedAt: options.startedAt ?? '2026-12-01T05:20:01.000Z',
    environment: {
      host: { loadAverage: { start: [options.load ?? 2.04, 1, 1] } },
      etcdVersion: version,
      image: options.image ?? `etcd-lab/etcd:${version}`,
      imageId: `sha256:${options.image ?? version}`,
      etcdProvenance: { source: 'debian-package' },
      preVote: options.preVote ?? false,
      electionTimeoutMs: 1000,
    },
    steps: options.steps ?? [killStep(1_200, 1, 1_150), killStep(2_600, 2, 2_500)],
    workload: { baseline: summary(4, 100, 0), duringFault: summary(900, 90, 10) },
    linearizability: { status: 'ok' },
    acknowledgedWrites: { status: 'ok' },
    checks: [
      {
        name: 'time to a new leader p50',
        expected: '≤ 4000 ms',
        observed: `${version}: 1200 ms`,
        verdict,
        statistics: {
          samples: 2,
          confidence: 0.95,
          estimate: 1_200,
          lower: 900,
          upper: 2_600,
          samplesToDecide: null,
        },
      },
    ],
  } as unknown as ExperimentResult;
}

describe('a version comparison', () => {
  it('orders versions numerically, oldest first, names after versions', () => {
    expect(['3.5.30', 'etcd:x', '3.10.0', '3.4.23', '3.5.16'].sort(compareVersionLabels)).toEqual([
      '3.4.23',
      '3.5.16',
      '3.5.30',
      '3.10.0',
      'etcd:x',
    ]);
  });

  it('has a column per version, every run of a version in its column', () => {
    const c = compareVersions([
      { result: run('3.5.30', { preVote: true, steps: [killStep(1_100, 1, 1_000)] }) },
      { result: run('3.4.23') },
      {
        result: run('3.4.23', { verdict: 'inconclusive', startedAt: '2026-12-01T05:40:00.000Z', load: 3.5 }),
      },
    ]);
    expect(c.columns.map((col) => [col.label, col.summary.runs, col.preVote])).toEqual([
      ['3.4.23', 2, 'false'],
      ['3.5.30', 1, 'true'],
    ]);
    const [old, neu] = c.columns;
    expect(old?.summary.verdicts).toEqual({ held: 1, inconclusive: 1 });
    expect(old?.summary.rounds?.byRounds).toEqual({ '1': 2, '2': 2 });
    expect(old?.writeStalls).toEqual({ count: 4, median: 1_150, min: 1_150, max: 2_500, unfinished: 0 });
    expect(old?.observed).toBeNull();
    expect(old?.started).toEqual({ first: '2026-12-01T05:20:01.000Z', last: '2026-12-01T05:40:00.000Z' });
    expect([old?.loadAtStart?.min, old?.loadAtStart?.max]).toEqual([2.04, 3.5]);
    expect(neu?.observed).toEqual({ 'time to a new leader p50': '3.5.30: 1200 ms' });
    expect(neu?.okDuringFaults?.median).toBeCloseTo(0.9);
    expect(neu?.linearizable).toEqual({ ok: 1 });
  });

  it('keeps one version from two images apart, labelled by image', () => {
    const c = compareVersions([
      { result: run('3.4.23', { image: 'etcd-lab/etcd:local' }) },
      { result: run('3.4.23') },
    ]);
    expect(c.columns.map((col) => col.label).sort()).toEqual([
      '3.4.23 (etcd-lab/etcd:3.4.23)',
      '3.4.23 (etcd-lab/etcd:local)',
    ]);
  });

  it('renders one markdown table with a column per version and a row per check and figure', () => {
    const md = renderVersionComparison(
      compareVersions([{ result: run('3.5.30', { preVote: true }) }, { result: run('3.4.23') }]),
    );
    const lines = md.split('\n');
    expect(lines[0]).toBe('# Leader loss under steady write load — etcd 3.4.23 vs 3.5.30');
    expect(md).toContain('| | etcd 3.4.23 | etcd 3.5.30 |');
    expect(md).toContain('| pre-vote | false | true |');
    expect(md).toContain(
      '| runs started (UTC); host load at the start | 2026-12-01 05:20; load 2.0 | 2026-12-01 05:20; load 2.0 |',
    );
    expect(md).toContain('| time to a new leader p50 (≤ 4000 ms) | ✓ 3.4.23: 1200 ms | ✓ 3.5.30: 1200 ms |');
    expect(md).toContain('| time to a new leader | 2 elections: 1200 ms (1200 ms–2600 ms) |');
    expect(md).toContain(
      '| rounds per election (from the logs) | (2 explained): 1 round 1, 2 rounds 1; refused votes: in-lease 1 (in 1 elections) |',
    );
    expect(md).toContain('| operations ok during faults | 90.0 % | 90.0 % |');
    // Every table row has as many cells as the header.
    const rows = lines.filter((l) => l.startsWith('| '));
    for (const row of rows) expect(row.split(' | ').length, row).toBe(3);
  });

  it('draws every election of every version on one chart', () => {
    const runs = [{ result: run('3.4.23') }, { result: run('3.5.30') }];
    const spec = versionElectionChartSpec(compareVersions(runs), runs) as { data: { values: unknown[] } };
    expect(spec.data.values).toHaveLength(4);
    expect(spec.data.values[0]).toEqual({ version: 'etcd 3.4.23', ms: 1_200, rounds: '1 round' });
  });

  it('refuses nothing to compare and results of different experiments', () => {
    expect(comparisonProblem([])).toBe('no experiment results to compare');
    expect(
      comparisonProblem([
        { result: run('3.4.23'), directory: 'a' },
        { result: run('3.5.30', { name: 'quorum-loss' }), directory: 'b' },
      ]),
    ).toBe('results of different experiments cannot stand side by side: leader-loss (a), quorum-loss (b)');
  });
});

describe('compare reads results directories', () => {
  it('a results directory, or a directory of them (what run --etcd a,b writes)', async () => {
    const root = mkdtempSync(join(tmpdir(), 'etcd-lab-compare-'));
    for (const v of ['3.4.23', '3.5.30']) {
      mkdirSync(join(root, 'matrix', `etcd-${v}`), { recursive: true });
      writeFileSync(join(root, 'matrix', `etcd-${v}`, 'result.json'), JSON.stringify(run(v)));
    }
    mkdirSync(join(root, 'single'));
    writeFileSync(join(root, 'single', 'result.json'), JSON.stringify(run('3.5.16')));
    const runs = await readComparedRuns([join(root, 'matrix'), join(root, 'single')]);
    expect(runs.map((r) => [r.result.environment.etcdVersion, r.directory])).toEqual([
      ['3.4.23', join(root, 'matrix', 'etcd-3.4.23')],
      ['3.5.30', join(root, 'matrix', 'etcd-3.5.30')],
      ['3.5.16', join(root, 'single')],
    ]);
  });

  it('refuses, naming the argument: no directory, no results, not an experiment', async () => {
    const root = mkdtempSync(join(tmpdir(), 'etcd-lab-compare-'));
    await expect(readComparedRuns([join(root, 'nope')])).rejects.toThrow(/nope: not a directory/);
    await expect(readComparedRuns([root])).rejects.toThrow(
      /: no result\.json in it or in its subdirectories$/,
    );
    writeFileSync(join(root, 'result.json'), JSON.stringify({ kind: 'sweep' }));
    await expect(readComparedRuns([root])).rejects.toThrow(
      /result\.json: not an experiment's result \(kind "sweep"/,
    );
    writeFileSync(join(root, 'result.json'), '{');
    await expect(readComparedRuns([root])).rejects.toThrow(/result\.json: not readable JSON/);
    expect(readFileSync(join(root, 'result.json'), 'utf8')).toBe('{');
  });
});

describe('the exit code of a version matrix', () => {
  it('is the worst run’s: interrupted, lab failure, deviated, inconclusive, held', () => {
    expect(matrixExitCode([EXIT.ok, EXIT.ok])).toBe(EXIT.ok);
    expect(matrixExitCode([EXIT.ok, EXIT.inconclusive])).toBe(EXIT.inconclusive);
    expect(matrixExitCode([EXIT.inconclusive, EXIT.deviated, EXIT.ok])).toBe(EXIT.deviated);
    expect(matrixExitCode([EXIT.deviated, EXIT.labFailure])).toBe(EXIT.labFailure);
    expect(matrixExitCode([EXIT.labFailure, EXIT.interrupted])).toBe(EXIT.interrupted);
  });
});
