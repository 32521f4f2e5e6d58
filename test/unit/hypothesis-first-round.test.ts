import { describe, expect, it } from 'vitest';
import type { StepResult } from '../../src/plans/experiment/experiment-types.ts';
import { checkHypothesis } from '../../src/plans/experiment/hypothesis.ts';
import { validateExperiment, type FaultExperimentSpec } from '../../src/plans/experiment/spec.ts';
import type { ElectionExplanation, ElectionRound } from '../../src/measure/election-round-types.ts';
import type { RunStatus } from '../../src/run/results-envelope.ts';

function spec(wonInFirstRound: number): FaultExperimentSpec {
  const validated = validateExperiment({
    name: 'x',
    title: 'X',
    cluster: { members: 3, etcd: { preVote: true } },
    workload: { ratePerSecond: 100, durationMs: 60_000 },
    method: [
      { fault: 'kill', target: 'leader', at: 1_000, for: 1_000, repeat: { times: 12, everyMs: 4_000 } },
    ],
    hypothesis: { election: { wonInFirstRound } },
  });
  if (validated.kind !== 'fault') throw new Error('expected a fault experiment');
  return validated;
}

const round = (term: number, outcome: ElectionRound['outcome']): ElectionRound => ({
  term,
  startedAfterFaultMs: 1_100,
  campaigns: [],
  votes: [],
  refusals: [],
  outcome,
  ...(outcome === 'won' ? { winner: 'm2', wonAfterFaultMs: 1_200 } : {}),
});

/** A leader kill whose election the logs explain as these rounds (null: no explanation at all). */
function killStep(rounds: readonly ElectionRound[] | null, elected = true): StepResult {
  const election: ElectionExplanation | null =
    rounds === null
      ? null
      : ({
          previousTerm: 2,
          newTerm: elected ? 2 + Math.max(1, rounds.length) : undefined,
          rounds,
          preVote: true,
        } as unknown as ElectionExplanation);
  return {
    step: { fault: 'kill', target: 'leader', at: 1_000, for: 1_000 },
    fault: { targets: ['m1'], mechanism: 'sigkill', injectedAtMs: 1_000, injectionLatencyMs: 0 },
    leaderTargeted: true,
    leaderChange: elected ? { majorityAgreesAtMs: 2_300 } : null,
    election,
    leaderChangesInWindow: 0,
    writeStall: null,
  } as unknown as StepResult;
}

const oneRound = () => killStep([round(3, 'won')]);
const twoRounds = () => killStep([round(3, 'split-vote'), round(4, 'won')]);
const judge = (min: number, steps: StepResult[], status: RunStatus = 'completed') => {
  const checks = checkHypothesis(spec(min), steps, null, null, null, { baselineLatenciesMs: [] }, status);
  expect(checks).toHaveLength(1);
  return checks[0];
};

describe('election.wonInFirstRound: the share of elections won in the first term campaigned for', () => {
  it('12 of 12 first-round wins hold "≥ 60 %" (Clopper–Pearson lower bound 0.05^(1/12) ≈ 77.9 %)', () => {
    const c = judge(0.6, Array.from({ length: 12 }, oneRound));
    expect(c?.verdict).toBe('held');
    expect(c?.statistics?.lower).toBeCloseTo(0.05 ** (1 / 12), 6);
    expect(c?.observed).toMatch(/^12\/12, 95 % bounds/);
  });

  it('11 of 12 still hold 60 %; 10 of 12 cannot tell (lower bound ≈ 53 %) and say how many kills would', () => {
    const eleven = [...Array.from({ length: 11 }, oneRound), twoRounds()];
    expect(judge(0.6, eleven)?.verdict).toBe('held');
    const ten = [...Array.from({ length: 10 }, oneRound), twoRounds(), twoRounds()];
    const c = judge(0.6, ten);
    expect(c?.verdict).toBe('inconclusive');
    expect(c?.statistics?.samplesToDecide).toBeGreaterThan(12);
  });

  it('mostly multi-round elections deviate', () => {
    const steps = [...Array.from({ length: 2 }, oneRound), ...Array.from({ length: 10 }, twoRounds)];
    expect(judge(0.6, steps)?.verdict).toBe('deviated');
  });

  it('a leaderless end of a completed run counts as not won in the first round', () => {
    const steps = [
      ...Array.from({ length: 2 }, oneRound),
      ...Array.from({ length: 10 }, () => killStep([], false)),
    ];
    expect(judge(0.6, steps)?.verdict).toBe('deviated');
  });

  it('elections the logs cannot tell count against "held" and for "deviated"', () => {
    // 11 told first-round wins and one unexplained: at worst 11/12, still held.
    expect(judge(0.6, [...Array.from({ length: 11 }, oneRound), killStep(null)])?.verdict).toBe('held');
    // 2 wins, 10 unexplained: neither side is known.
    const unknown = judge(0.6, [
      ...Array.from({ length: 2 }, oneRound),
      ...Array.from({ length: 10 }, () => killStep(null)),
    ]);
    expect(unknown?.verdict).toBe('inconclusive');
    expect(unknown?.observed).toContain('10 not told by the logs');
    expect(unknown?.why).toBe("10 elections not told by the members' logs");
    // A leader the lab saw but no member logged a campaign for is not known either.
    expect(
      judge(
        0.6,
        Array.from({ length: 12 }, () => killStep([])),
      )?.verdict,
    ).toBe('inconclusive');
  });

  it('elections still under way when a run was aborted are not known', () => {
    const steps = [
      ...Array.from({ length: 2 }, oneRound),
      ...Array.from({ length: 10 }, () => killStep([], false)),
    ];
    expect(judge(0.6, steps, 'aborted')?.verdict).toBe('inconclusive');
  });

  it('the share is validated like the other shares', () => {
    expect(() => spec(1.5)).toThrow(/wonInFirstRound/);
  });
});
