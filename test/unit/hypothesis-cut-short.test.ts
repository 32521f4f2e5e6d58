import { describe, expect, it } from 'vitest';
import { runVerdict } from '../../src/checks/check.ts';
import type { StepResult } from '../../src/plans/experiment/experiment-types.ts';
import { checkHypothesis } from '../../src/plans/experiment/hypothesis.ts';
import { validateExperiment, type FaultExperimentSpec } from '../../src/plans/experiment/spec.ts';
import type { RunStatus } from '../../src/run/results-envelope.ts';

function spec(hypothesis: Record<string, unknown>, method: unknown[]): FaultExperimentSpec {
  const validated = validateExperiment({
    name: 'x',
    title: 'X',
    cluster: { members: 3 },
    workload: { ratePerSecond: 100, durationMs: 60_000 },
    method,
    hypothesis,
  });
  if (validated.kind !== 'fault') throw new Error('expected a fault experiment');
  return validated;
}

/** A kill of the leader at 1 s; `electedAfterMs` null: no new leader before the run ended. */
function killStep(electedAfterMs: number | null): StepResult {
  return {
    step: { fault: 'kill', target: 'leader', at: 1_000, for: 1_000 },
    fault: { targets: ['m1'], mechanism: 'docker-kill', injectedAtMs: 1_000, injectionLatencyMs: 0 },
    leaderTargeted: true,
    leaderChange: electedAfterMs === null ? null : { majorityAgreesAtMs: 1_000 + electedAfterMs },
    leaderChangesInWindow: 0,
    writeStall: null,
    vsBaseline: null,
    success: null,
    loadSuccess: null,
    catchUpMs: undefined,
    load: null,
  } as unknown as StepResult;
}

/** A burst of 100 operations that saw these outcomes. */
function burstStep(ok: number, fail: number): StepResult {
  return {
    step: { fault: 'burst', operations: 100, clients: 8, at: 1_000 },
    fault: { targets: [], mechanism: 'lab-clients', injectedAtMs: 1_000, injectionLatencyMs: 0 },
    leaderTargeted: false,
    leaderChange: null,
    leaderChangesInWindow: 0,
    writeStall: null,
    vsBaseline: null,
    success: null,
    loadSuccess: null,
    catchUpMs: undefined,
    load: { outcomes: { ok, fail, indeterminate: 0 }, fromMs: 1_000, toMs: 2_000 },
  } as unknown as StepResult;
}

const check = (
  s: FaultExperimentSpec,
  steps: readonly StepResult[],
  status: RunStatus,
  recoveryMs: number | null = 100,
) => checkHypothesis(s, steps, null, recoveryMs, null, { baselineLatenciesMs: [] }, status);

const kill = [{ fault: 'kill', target: 'leader', at: 1_000, for: 1_000 }];
const recovery = spec({ maxRecoveryMs: 1_000 }, kill);

describe('checks of a run that did not complete', () => {
  it('a recovery never waited for is inconclusive when aborted or failed, deviated only when completed', () => {
    expect(check(recovery, [], 'completed', null)[0]?.verdict).toBe('deviated');
    for (const status of ['aborted', 'failed'] as const) {
      const [recovered] = check(recovery, [], status, null);
      expect(recovered).toMatchObject({
        verdict: 'inconclusive',
        why: `not measured: the run was ${status} first`,
      });
      // Nothing measured deviated, so the run is inconclusive, not deviated.
      expect(runVerdict(status, recovered === undefined ? [] : [recovered])).toBe('inconclusive');
    }
    // A recovery measured past its limit still deviates when the run was aborted.
    expect(check(recovery, [], 'aborted', 5_000)[0]?.verdict).toBe('deviated');
  });

  const elections = spec({ election: { p50: 2_000, withinOneRound: 0.9 } }, kill);

  it('elections still under way when the run stopped are not known to be slow', () => {
    const steps = Array.from({ length: 12 }, () => killStep(null));
    const completed = check(elections, steps, 'completed');
    expect(completed.map((c) => c.verdict)).toEqual(['deviated', 'deviated']);
    const aborted = check(elections, steps, 'aborted');
    expect(aborted.map((c) => c.verdict)).toEqual(['inconclusive', 'inconclusive']);
    expect(aborted[0]?.why).toBe('12 of the samples not finished when the run was aborted: not known');
    expect(aborted[1]?.why).toBe('12 elections not finished when the run was aborted: not known');
    expect(runVerdict('aborted', aborted)).toBe('inconclusive');
  });

  it('slow elections the run did measure still deviate, whatever the unfinished ones would have been', () => {
    const steps = [...Array.from({ length: 12 }, () => killStep(10_000)), killStep(null)];
    const aborted = check(elections, steps, 'aborted');
    expect(aborted.map((c) => c.verdict)).toEqual(['deviated', 'deviated']);
    expect(runVerdict('aborted', aborted)).toBe('deviated');
  });

  const bursts = spec({ burstsSucceed: true }, [{ load: 'burst', operations: 100, at: 1_000 }]);

  it('a burst cut short with no failure is inconclusive; one with a failure deviates', () => {
    expect(check(bursts, [burstStep(50, 0)], 'completed')[0]?.verdict).toBe('deviated');
    expect(check(bursts, [burstStep(50, 0)], 'aborted')[0]).toMatchObject({
      verdict: 'inconclusive',
      why: '50 operations not finished when the run was aborted: not known',
    });
    expect(check(bursts, [burstStep(50, 1)], 'aborted')[0]?.verdict).toBe('deviated');
    expect(check(bursts, [burstStep(100, 0)], 'aborted')[0]?.verdict).toBe('held');
  });
});
