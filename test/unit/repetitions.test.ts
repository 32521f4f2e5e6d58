import { describe, expect, it } from 'vitest';
import type { ExperimentResult } from '../../src/plans/experiment/run-experiment.ts';
import {
  describeSpread,
  renderRepetitionSummary,
  spreadOf,
  summarizeRepetitions,
} from '../../src/plans/experiment/report/repetitions.ts';

/** A leader kill step as the runner records it: only the fields the summary reads. */
function killStep(electedAfterMs: number | undefined, termBefore: number, newTerm: number) {
  return {
    step: { fault: 'kill', target: 'leader', at: 0 },
    fault: { injectedAtMs: 1_000, injectionLatencyMs: 0, targets: ['m1'] },
    leaderTargeted: true,
    leaderBefore: { name: 'm1', term: termBefore },
    leaderChange:
      electedAfterMs === undefined ? null : { majorityAgreesAtMs: 1_000 + electedAfterMs, newTerm },
  };
}

function run(verdict: string, estimate: number, steps: ReturnType<typeof killStep>[]): ExperimentResult {
  return {
    status: 'completed',
    verdict,
    environment: { etcdVersion: '3.4.23' },
    steps,
    checks: [
      {
        name: 'time to a new leader p50',
        expected: '≤ 2000 ms',
        observed: '',
        verdict,
        statistics: { samples: 3, confidence: 0.95, estimate, lower: null, upper: null, samplesToDecide: 4 },
      },
      { name: 'every acknowledged write survives', expected: 'none lost', observed: '', verdict: 'held' },
    ],
  } as unknown as ExperimentResult;
}

describe('a summary of repeated runs', () => {
  const summary = summarizeRepetitions('leader-loss', [
    run('held', 1_200, [killStep(1_100, 3, 4), killStep(1_300, 4, 5)]),
    run('inconclusive', 1_500, [killStep(3_100, 5, 7), killStep(undefined, 7, 7)]),
  ]);

  it('counts verdicts per run and per check', () => {
    expect(summary.verdicts).toEqual({ held: 1, inconclusive: 1 });
    expect(summary.checks.map((c) => [c.name, c.verdicts])).toEqual([
      ['time to a new leader p50', { held: 1, inconclusive: 1 }],
      ['every acknowledged write survives', { held: 2 }],
    ]);
  });

  it('spreads statistical estimates, and counts missing bounds as unbounded', () => {
    const check = summary.checks[0];
    expect(check?.estimate).toEqual({ count: 2, median: 1_200, min: 1_200, max: 1_500, unfinished: 0 });
    expect(check?.upperBound?.unfinished).toBe(2);
    expect(summary.checks[1]?.estimate).toBeNull();
  });

  it('pools every election of every run, an unfinished one as +∞, with term jumps', () => {
    expect(summary.elections).toEqual({ count: 4, median: 1_300, min: 1_100, max: 3_100, unfinished: 1 });
    expect(summary.termJumps).toEqual({ '1': 2, '2': 1, none: 1 });
    expect(renderRepetitionSummary(summary).join('\n')).toContain('term jump per election: 1 2, 2 1, none 1');
  });

  it('describes a spread as median and range', () => {
    expect(describeSpread(spreadOf([3, 1, 2]))).toBe('2 ms (1 ms–3 ms)');
    expect(describeSpread(spreadOf([0.5]), 'share')).toBe('50.0 %');
    expect(describeSpread(spreadOf([]))).toBe('n/a');
  });
});
