import { describe, expect, it } from 'vitest';
import type { FaultRecord } from '../../src/faults/fault.ts';
import type { ExperimentResult } from '../../src/plans/experiment/experiment-types.ts';
import { lateAndNotRun } from '../../src/plans/experiment/report/write-results.ts';
import { previousOccurrences } from '../../src/plans/experiment/run-method.ts';
import { validateExperiment, type FaultStep } from '../../src/plans/experiment/spec.ts';
import { effectiveAt } from '../../src/plans/experiment/step-timing.ts';

function method(steps: readonly Record<string, unknown>[]): readonly FaultStep[] {
  const spec = validateExperiment({
    name: 'x',
    title: 'X',
    cluster: { members: 3 },
    workload: { ratePerSecond: 10, durationMs: 60_000 },
    method: steps,
    hypothesis: {},
  });
  if (spec.kind !== 'fault') throw new Error('expected a fault experiment');
  return spec.method;
}

describe('repetitions of a step run one after the other', () => {
  it('chains each repetition to the one before it, and nothing else', () => {
    const steps = method([
      { fault: 'kill', target: 'leader', at: 1_000, for: 1_000, repeat: { times: 3, everyMs: 5_000 } },
      { fault: 'kill', target: 'follower', at: 2_000, for: 1_000 },
      { fault: 'kill', target: 'leader', at: 30_000, for: 2_000 },
      { fault: 'kill', target: 'leader', at: 40_000, for: 1_000 },
      { load: 'traffic', clients: 2, at: 3_000, for: 1_000, repeat: { times: 2, everyMs: 5_000 } },
    ]);
    expect(steps.map((s) => `${s.fault} ${String('target' in s ? s.target : '')} ${s.at}`)).toEqual([
      'kill leader 1000',
      'kill leader 6000',
      'kill leader 11000',
      'kill follower 2000',
      'kill leader 30000',
      'kill leader 40000',
      'traffic  3000',
      'traffic  8000',
    ]);
    // The same step written twice by hand is a repetition too; another target or another `for`
    // is another step, and extra load (no member to bring back) never waits.
    expect(previousOccurrences(steps)).toEqual([
      undefined,
      0,
      1,
      undefined,
      undefined,
      2,
      undefined,
      undefined,
    ]);
  });
});

describe('when a step took effect', () => {
  const record = (extra: Partial<FaultRecord>): FaultRecord => ({
    faultId: 'f',
    description: { fault: 'kill' },
    mechanism: 'm',
    targets: ['m1'],
    injectedAtMs: 1_000,
    injectionLatencyMs: 900,
    healedAtMs: null,
    healLatencyMs: null,
    healError: null,
    endedBy: null,
    details: {},
    ...extra,
  });
  const [kill, delay] = method([
    { fault: 'kill', target: 'leader', at: 1_000, for: 1_000 },
    { fault: 'delay', target: 'leader', at: 1_000, for: 1_000, delayMs: 50 },
  ]);

  it('a kill: the signal it reported, else (older results) the start of its injection', () => {
    expect(effectiveAt(record({ tookEffectAtMs: 1_700 }), kill!)).toBe(1_700);
    expect(effectiveAt(record({ tookEffectAtMs: null }), kill!)).toBe(1_000);
    expect(effectiveAt(record({}), kill!)).toBe(1_000);
  });

  it('a network fault: once it is fully in place', () => {
    expect(effectiveAt(record({ tookEffectAtMs: null }), delay!)).toBe(1_900);
  });
});

describe('the report says which steps went in late and which did not run', () => {
  const result = (startedLateMs: readonly number[], notRun: ExperimentResult['notRun']) =>
    ({
      steps: startedLateMs.map((late) => ({ startedLateMs: late })),
      notRun,
    }) as unknown as ExperimentResult;

  it('names steps a second or more late, and every step not run with its reason', () => {
    const lines = lateAndNotRun(
      result([0, 400, 2_500], [{ index: 3, at: 47_000, reason: 'it would not end inside the workload' }]),
    );
    expect(lines.join('\n')).toContain('step 3 by 2500.0 ms');
    expect(lines.join('\n')).not.toContain('step 2 by');
    expect(lines.join('\n')).toContain(
      'Not run (1 of 4 steps): the step planned at 47000.0 ms — it would not end inside the workload',
    );
  });

  it('says nothing when every step went in on time', () => {
    expect(lateAndNotRun(result([0, 999], []))).toEqual([]);
    expect(lateAndNotRun(result([], undefined))).toEqual([]);
  });
});
