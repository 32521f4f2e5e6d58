import { describe, expect, it } from 'vitest';
import { seededRandom } from '../../src/faults/targets.ts';
import { electionModel, summarizeElectionTrials } from '../../src/measure/election-summary.ts';
import type { ElectionTrial } from '../../src/measure/election-trial.ts';
import { latencyPercentiles } from '../../src/measure/latency-stats.ts';

function trial(
  n: number,
  campaignMs: number | undefined,
  overrides: Partial<ElectionTrial> = {},
): ElectionTrial {
  return {
    trial: n,
    fault: 'kill',
    oldLeader: 'm1',
    previousTerm: n + 1,
    survivors: ['m2', 'm3'],
    faultRequestedAtMs: 1_000 * n,
    faultAtMs: 1_000 * n + 1,
    faultSpreadMs: 0,
    firstCampaignAfterFaultMs: campaignMs,
    logElectedAfterFaultMs: campaignMs === undefined ? undefined : campaignMs + 3,
    trackerNewLeaderAfterFaultMs: campaignMs === undefined ? undefined : campaignMs + 10,
    majorityAgreesAfterFaultMs: campaignMs === undefined ? undefined : campaignMs + 12,
    firstWriteOkAfterFaultMs: campaignMs === undefined ? undefined : campaignMs + 20,
    trackerErrorMs: campaignMs === undefined ? undefined : 7,
    newLeader: campaignMs === undefined ? undefined : 'm2',
    newTerm: campaignMs === undefined ? undefined : n + 2,
    leaderChangesSeen: { m2: 1, m3: 1 },
    survivorsHaveLeader: true,
    ...overrides,
  };
}

// Percentiles come from an HDR histogram with 3 significant digits: within 0.1% of exact.
function expectHdr(actual: number | null | undefined, expected: number): void {
  expect(actual).not.toBeNull();
  expect(Math.abs((actual ?? NaN) - expected)).toBeLessThanOrEqual(Math.abs(expected) * 1e-3 + 1e-9);
}

describe('electionModel', () => {
  it('puts the first campaign in [ET − HB, 2·ET)', () => {
    expect(electionModel(100, 10, 2).windowMs).toEqual([90, 200]);
    expect(electionModel(1_000, 100, 4).windowMs).toEqual([900, 2_000]);
  });

  it('gives the median of the first of k uniform timers: ET·(2 − 0.5^(1/k))', () => {
    // k = 1: the median of U(ET, 2ET) is 1.5·ET.
    expect(electionModel(1_000, 100, 1).firstTimeoutMedianMs).toBeCloseTo(1_500, 9);
    // k = 2: (1 − x)² = 1/2 → x = 1 − 1/√2.
    expect(electionModel(100, 10, 2).firstTimeoutMedianMs).toBeCloseTo(100 * (2 - Math.SQRT1_2), 9);
    expect(electionModel(100, 10, 2).firstTimeoutMeanMs).toBeCloseTo(100 + 100 / 3, 9);
    expect(electionModel(100, 10, 2).medianAfterFaultMs).toBeCloseTo(100 * (2 - Math.SQRT1_2) - 5, 9);
    // More survivors: the first timer fires earlier, approaching ET.
    expect(electionModel(100, 10, 4).firstTimeoutMedianMs).toBeLessThan(
      electionModel(100, 10, 2).firstTimeoutMedianMs,
    );
  });

  it('agrees with a simulation of k uniform timers', () => {
    const random = seededRandom(42); // deterministic, so the test never flakes
    const k = 2;
    const firsts = Array.from({ length: 20_000 }, () =>
      Math.min(...Array.from({ length: k }, () => 100 + 100 * random())),
    );
    const [median] = latencyPercentiles(firsts, [50]);
    // The sample median's standard error here is about 0.3 ms.
    expect(Math.abs((median ?? NaN) - electionModel(100, 10, k).firstTimeoutMedianMs)).toBeLessThan(1.5);
  });

  it('rejects a survivor count that is not a positive whole number', () => {
    expect(() => electionModel(100, 10, 0)).toThrow(RangeError);
    expect(() => electionModel(100, 10, 1.5)).toThrow(RangeError);
  });
});

describe('summarizeElectionTrials', () => {
  const campaigns = [95, 110, 120, 130, 140, 150, 160, 170, 180, 250];
  const trials = campaigns.map((c, i) => trial(i + 1, c));

  it('gives min / median / p95 / max of every measured interval', () => {
    const summary = summarizeElectionTrials(trials, { electionTimeoutMs: 100, heartbeatMs: 10 });
    expect(summary.trials).toBe(10);
    expect(summary.faults).toEqual(['kill']);
    const c = summary.firstCampaign;
    expect([c.count, c.min, c.max]).toEqual([10, 95, 250]);
    expectHdr(c.median, 140);
    expectHdr(c.p95, 250);
    expect(summary.logElected.min).toBe(98);
    expect(summary.logElected.max).toBe(253);
    expectHdr(summary.trackerDetection.median, 150);
    expectHdr(summary.majorityAgrees.median, 152);
    expect(summary.firstWriteOk.max).toBe(270);
    expect([summary.trackerError.count, summary.trackerError.min, summary.trackerError.max]).toEqual([
      10, 7, 7,
    ]);
    expectHdr(summary.trackerError.median, 7);
  });

  it('reports the share of trials inside the model window and puts the model next to it', () => {
    const summary = summarizeElectionTrials(trials, { electionTimeoutMs: 100, heartbeatMs: 10 });
    expect(summary.model.survivors).toBe(2);
    expect(summary.model.windowMs).toEqual([90, 200]);
    // 250 is outside [90, 200); the other nine are inside.
    expect(summary.campaignInsideWindow).toBeCloseTo(0.9, 9);
    expect(summary.electedInsideWindow).toBeCloseTo(0.9, 9);
  });

  it('leaves out trials without a value and keeps signed tracker errors', () => {
    const summary = summarizeElectionTrials(
      [trial(1, 120, { trackerErrorMs: -2 }), trial(2, undefined), trial(3, 150, { trackerErrorMs: 12 })],
      { electionTimeoutMs: 100, heartbeatMs: 10 },
    );
    expect(summary.firstCampaign.count).toBe(2);
    expect(summary.trackerError.min).toBe(-2);
    expect(summary.trackerError.max).toBeCloseTo(12, 1);
    expect(summary.campaignInsideWindow).toBe(1);
  });

  it('sums up where the trials went phase by phase, leaving out trials recorded without it', () => {
    const phases = (restore: number) => ({ prepare: 100, election: 150, record: 40, restore });
    const summary = summarizeElectionTrials(
      [
        trial(1, 120, { turnaroundMs: phases(900) }),
        trial(2, 130),
        trial(3, 140, { turnaroundMs: phases(1_500) }),
      ],
      { electionTimeoutMs: 100, heartbeatMs: 10 },
    );
    expect(summary.turnaround.restore.count).toBe(2);
    expectHdr(summary.turnaround.restore.min, 900);
    expectHdr(summary.turnaround.restore.max, 1_500);
    expectHdr(summary.turnaround.prepare.median, 100);
    expect(summary.turnaround.election.count).toBe(2);
  });

  it('counts clean elections and leader presence from the metrics ground truth', () => {
    const summary = summarizeElectionTrials(
      [
        trial(1, 120),
        trial(2, 130, { leaderChangesSeen: { m2: 2, m3: 1 } }),
        trial(3, 140, { leaderChangesSeen: { m2: 1, m3: null }, survivorsHaveLeader: false }),
        trial(4, 150, { leaderChangesSeen: {} }),
      ],
      { electionTimeoutMs: 100, heartbeatMs: 10 },
    );
    expect(summary.cleanElections).toBe(1);
    expect(summary.survivorsHaveLeader).toBe(3);
  });

  it('has empty distributions and no shares when there are no trials', () => {
    const summary = summarizeElectionTrials([], { electionTimeoutMs: 1_000, heartbeatMs: 100, survivors: 4 });
    expect(summary.firstCampaign).toEqual({ count: 0, min: null, median: null, p95: null, max: null });
    expect(summary.trackerError.count).toBe(0);
    expect(summary.campaignInsideWindow).toBeNull();
    expect(summary.model.survivors).toBe(4);
  });
});
