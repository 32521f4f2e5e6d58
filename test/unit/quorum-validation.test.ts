import { describe, expect, it } from 'vitest';
import type { MemberStatus } from '../../src/cluster/started-etcd-cluster.ts';
import { parseSizes, QUORUM_VALIDATE_FLAGS } from '../../src/cli/commands/quorum-validate.ts';
import {
  availabilityClaims,
  batchMeansInterval,
  exponential,
  generateFailureSchedule,
  noQuorumIntervals,
  overlapMs,
  scheduleEvents,
  studentT975,
  unavailableFromSamples,
} from '../../src/plans/quorum/availability.ts';
import {
  compareCell,
  leaderFromStatuses,
  membersToTakeDown,
  observedTolerance,
  predictCell,
  quorumLossClaim,
  slowdownClaim,
  stepDownClaim,
  toleranceClaim,
  toleranceClaims,
  type Answer,
  type CellObservation,
  type MatrixCell,
  type Mechanism,
} from '../../src/plans/quorum/matrix.ts';
import { renderMatrixGrid, renderMatrixTable } from '../../src/plans/quorum/matrix-render.ts';
import { hasQuorum, unavailability } from '../../src/plans/quorum/model.ts';
import { chartProbabilities, unavailabilityChartSpec } from '../../src/plans/quorum/report.ts';
import { quorumClaims } from '../../src/plans/quorum/run-quorum-claims.ts';
import { validateAvailabilityOptions, validateMatrixOptions } from '../../src/plans/quorum/quorum-options.ts';
import { BadInputError } from '../../src/errors.ts';
import { createRng } from '../../src/workload/rng.ts';

const answer = (ok: boolean): Answer => ({
  ok,
  member: ok ? 'm1' : null,
  afterMs: ok ? 10 : null,
  attempts: 1,
  lastError: ok ? null : 'context deadline exceeded',
});

/** An observation exactly as the model predicts (or with `override` applied). */
function observed(
  n: number,
  k: number,
  mechanism: Mechanism,
  override: Partial<CellObservation> = {},
): CellObservation {
  const p = predictCell(n, k, mechanism);
  if (p === null) throw new Error('not applicable');
  return {
    reachable: mechanism === 'kill' ? Array.from({ length: n - k }, (_, i) => `m${i + 1}`) : ['m1'],
    write: answer(p.writes),
    linearizableRead: answer(p.linearizableReads),
    serializableRead: answer(p.serializableReads),
    leader: {
      present: p.leader,
      member: p.leader ? 'm1' : null,
      term: p.leader ? 2 : null,
      afterMs: p.leader ? 5 : null,
    },
    stepDown:
      p.minorityLeaderStepsDown === null
        ? null
        : { member: 'm1', minoritySide: ['m1'], steppedDown: true, afterMs: 300 },
    ...override,
  };
}

function cell(
  n: number,
  k: number,
  mechanism: Mechanism,
  override: Partial<CellObservation> = {},
): MatrixCell {
  const prediction = predictCell(n, k, mechanism);
  if (prediction === null) {
    return {
      members: n,
      down: k,
      mechanism,
      targets: ['m1'],
      leaderBefore: 'm1',
      faultMechanism: null,
      sentinel: '',
      prediction,
      observation: null,
      verdict: 'not-applicable',
      mismatches: [],
      timings: { injectMs: null, observeMs: null, recoveryMs: 0 },
    };
  }
  const observation = observed(n, k, mechanism, override);
  const mismatches = compareCell(prediction, observation);
  return {
    members: n,
    down: k,
    mechanism,
    targets: Array.from({ length: k }, (_, i) => `m${i + 1}`),
    leaderBefore: 'm1',
    faultMechanism: k === 0 ? null : mechanism === 'kill' ? 'sigkill' : 'iptables-drop-ingress',
    sentinel: 'v',
    prediction,
    observation,
    verdict: mismatches.length === 0 ? 'match' : 'mismatch',
    mismatches,
    timings: { injectMs: 1, observeMs: 1, recoveryMs: 1 },
  };
}

const matrixFor = (n: number, mechanism: Mechanism): MatrixCell[] =>
  Array.from({ length: n + 1 }, (_, k) => cell(n, k, mechanism));

describe('predictCell', () => {
  it('writes, linearizable reads and a leader iff n − k ≥ majority, for n = 1..7 and both mechanisms', () => {
    for (let n = 1; n <= 7; n++) {
      for (let k = 0; k <= n; k++) {
        for (const mechanism of ['kill', 'isolate'] as const) {
          const p = predictCell(n, k, mechanism);
          if (p === null) continue;
          const quorum = n - k >= Math.floor(n / 2) + 1;
          expect(p).toMatchObject({ quorum, writes: quorum, linearizableReads: quorum, leader: quorum });
        }
      }
    }
  });

  it('3 members: k=2 by kill leaves one member that still serves serializable reads; k=3 leaves none', () => {
    expect(predictCell(3, 2, 'kill')).toMatchObject({ writes: false, serializableReads: true });
    expect(predictCell(3, 3, 'kill')).toMatchObject({ writes: false, serializableReads: false });
  });

  it('isolated members still answer, so serializable reads work at every k', () => {
    for (let k = 0; k <= 4; k++) expect(predictCell(4, k, 'isolate')?.serializableReads).toBe(true);
  });

  it('predicts the isolated leader steps down only for isolation with k ≥ 1', () => {
    expect(predictCell(3, 0, 'isolate')?.minorityLeaderStepsDown).toBeNull();
    expect(predictCell(3, 1, 'isolate')?.minorityLeaderStepsDown).toBe(true);
    expect(predictCell(3, 1, 'kill')?.minorityLeaderStepsDown).toBeNull();
  });

  it('a 1-member cluster cannot be isolated from anyone: not applicable; by kill it is simply down', () => {
    expect(predictCell(1, 1, 'isolate')).toBeNull();
    expect(predictCell(1, 0, 'isolate')).toMatchObject({ writes: true });
    expect(predictCell(1, 1, 'kill')).toMatchObject({
      writes: false,
      serializableReads: false,
      leader: false,
    });
  });

  it('4 members: only 1 may be down, like 3', () => {
    expect(predictCell(4, 1, 'kill')?.writes).toBe(true);
    expect(predictCell(4, 2, 'kill')?.writes).toBe(false);
    expect(hasQuorum(4, 2)).toBe(false);
  });
});

describe('membersToTakeDown', () => {
  const names = ['m1', 'm2', 'm3', 'm4', 'm5', 'm6', 'm7', 'm10'];

  it('takes the leader first, then followers in numeric name order', () => {
    expect(membersToTakeDown(names.slice(0, 5), 'm3', 0)).toEqual([]);
    expect(membersToTakeDown(names.slice(0, 5), 'm3', 1)).toEqual(['m3']);
    expect(membersToTakeDown(names.slice(0, 5), 'm3', 3)).toEqual(['m3', 'm1', 'm2']);
    expect(membersToTakeDown(names, 'm1', 8)).toEqual(['m1', 'm2', 'm3', 'm4', 'm5', 'm6', 'm7', 'm10']);
  });

  it('rejects a leader that is not a member and a k out of range', () => {
    expect(() => membersToTakeDown(['m1'], 'm9', 1)).toThrow(RangeError);
    expect(() => membersToTakeDown(['m1', 'm2'], 'm1', 3)).toThrow(RangeError);
    expect(() => membersToTakeDown(['m1', 'm2'], 'm1', -1)).toThrow(RangeError);
  });
});

describe('leaderFromStatuses', () => {
  const status = (member: string, memberId: string, leaderId: string, raftTerm = 5): MemberStatus => ({
    member,
    ok: true,
    memberId,
    leaderId,
    raftTerm,
    raftIndex: 10,
    raftAppliedIndex: 10,
    isLearner: false,
    errors: [],
  });
  const down = (member: string): MemberStatus => ({ member, ok: false, error: 'stopped' });

  it('finds a leader that a majority of all members follows in its term', () => {
    expect(leaderFromStatuses([status('m1', '1', '1'), status('m2', '2', '1'), down('m3')], 3)).toEqual({
      member: 'm1',
      term: 5,
    });
  });

  it('does not count a leader only it and a minority believe in (a cut-off leader that has not noticed)', () => {
    expect(
      leaderFromStatuses([status('m1', '1', '1'), status('m2', '2', '0'), status('m3', '3', '0')], 3),
    ).toBeNull();
    expect(
      leaderFromStatuses([status('m1', '1', '1'), status('m2', '2', '1'), down('m3'), down('m4')], 4),
    ).toBeNull();
  });

  it('does not count followers naming a dead leader, nor followers in another term', () => {
    expect(leaderFromStatuses([down('m1'), status('m2', '2', '1'), status('m3', '3', '1')], 3)).toBeNull();
    expect(
      leaderFromStatuses([status('m1', '1', '1', 5), status('m2', '2', '1', 4), down('m3')], 3),
    ).toBeNull();
  });

  it('a 1-member cluster leads itself', () => {
    expect(leaderFromStatuses([status('m1', '1', '1')], 1)).toEqual({ member: 'm1', term: 5 });
    expect(leaderFromStatuses([down('m1')], 1)).toBeNull();
  });
});

describe('compareCell', () => {
  it('is empty when the observation is what the model predicts', () => {
    for (let k = 0; k <= 5; k++) {
      for (const mechanism of ['kill', 'isolate'] as const) {
        const p = predictCell(5, k, mechanism);
        if (p !== null) expect(compareCell(p, observed(5, k, mechanism))).toEqual([]);
      }
    }
  });

  it('names each disagreement with predicted and observed', () => {
    const p = predictCell(3, 2, 'kill');
    if (p === null) throw new Error('unreachable');
    const o = observed(3, 2, 'kill', {
      write: answer(true),
      leader: { present: true, member: 'm3', term: 9, afterMs: 1 },
    });
    expect(compareCell(p, o)).toEqual([
      'writes: predicted refused, observed acknowledged',
      'leader: predicted absent, observed present',
    ]);
  });

  it('flags an isolated leader that never stepped down', () => {
    const p = predictCell(3, 1, 'isolate');
    if (p === null) throw new Error('unreachable');
    const o = observed(3, 1, 'isolate', {
      stepDown: { member: 'm1', minoritySide: ['m1'], steppedDown: false, afterMs: null },
    });
    expect(compareCell(p, o)).toEqual(['isolated leader: predicted steps down, observed stays leader']);
  });
});

describe('claims from the matrix', () => {
  it('3 tolerates 1 and 4 tolerates only 1 hold on matrices that follow the model', () => {
    const cells = [...matrixFor(3, 'kill'), ...matrixFor(3, 'isolate'), ...matrixFor(4, 'kill')];
    expect(observedTolerance(cells, 3, 'kill')).toBe(1);
    expect(observedTolerance(cells, 4, 'kill')).toBe(1);
    const claims = toleranceClaims(cells);
    expect(claims.map((c) => [c.name, c.verdict])).toEqual([
      ['3 members tolerate 1 down', 'held'],
      ['4 members tolerate only 1 down', 'held'],
    ]);
    expect(claims[0]?.observed).toBe(
      'kill: writes + leader at k=0,1, none at k=2,3; isolate: writes + leader at k=0,1, none at k=2,3',
    );
  });

  it('deviates when 4 members kept writing with 2 down', () => {
    const cells = matrixFor(4, 'kill').map((c) =>
      c.down === 2
        ? cell(4, 2, 'kill', {
            write: answer(true),
            leader: { present: true, member: 'm3', term: 3, afterMs: 1 },
          })
        : c,
    );
    expect(observedTolerance(cells, 4, 'kill')).toBe(2);
    expect(toleranceClaim(cells, 4, 1, true).verdict).toBe('deviated');
  });

  it('deviates when a cell inside the tolerance failed', () => {
    const cells = matrixFor(5, 'kill').map((c) =>
      c.down === 1 ? cell(5, 1, 'kill', { write: answer(false) }) : c,
    );
    expect(observedTolerance(cells, 5, 'kill')).toBe(0);
    expect(toleranceClaim(cells, 5, 2).verdict).toBe('deviated');
  });

  it('is inconclusive for a size that was not run, or run only partly', () => {
    expect(toleranceClaim(matrixFor(3, 'kill'), 7, 3).verdict).toBe('inconclusive');
    expect(toleranceClaim(matrixFor(3, 'kill').slice(0, 2), 3, 1).verdict).toBe('inconclusive');
  });

  it('a 1-member isolation matrix (k=1 not applicable) leaves the kill result to decide', () => {
    const cells = [...matrixFor(1, 'kill'), ...matrixFor(1, 'isolate')];
    expect(cells.find((c) => c.mechanism === 'isolate' && c.down === 1)?.verdict).toBe('not-applicable');
    expect(observedTolerance(cells, 1, 'kill')).toBe(0);
  });

  it('quorum loss: held when writes stop and serializable reads return the earlier value', () => {
    const cells = [...matrixFor(3, 'kill'), ...matrixFor(3, 'isolate')];
    const claim = quorumLossClaim(cells);
    expect(claim.verdict).toBe('held');
    // k=2,3 by kill and by isolation; k=3 by kill leaves nobody to read from.
    expect(claim.observed).toBe(
      '4 no-quorum cells: writes acknowledged in 0; serializable read returned the earlier value in 3 of 3 cells with a member answering',
    );
  });

  it('quorum loss: deviated when a no-quorum cell acknowledged a write or lost the data', () => {
    const written = matrixFor(3, 'kill').map((c) =>
      c.down === 2 ? cell(3, 2, 'kill', { write: answer(true) }) : c,
    );
    expect(quorumLossClaim(written).verdict).toBe('deviated');
    const unreadable = matrixFor(3, 'kill').map((c) =>
      c.down === 2 ? cell(3, 2, 'kill', { serializableRead: answer(false) }) : c,
    );
    expect(quorumLossClaim(unreadable).verdict).toBe('deviated');
    expect(quorumLossClaim(unreadable).observed).toContain('not in n=3 k=2 kill');
  });

  it('step-down: median and max of the observed times; deviated when one stayed leader', () => {
    const cells = matrixFor(3, 'isolate');
    expect(stepDownClaim(cells, 250)).toMatchObject({
      verdict: 'held',
      observed:
        '3 of 3 isolation cells: every minority-side leader stepped down, after 300 ms median, 300 ms max',
    });
    const stuck = cells.map((c) =>
      c.down === 1
        ? cell(3, 1, 'isolate', {
            stepDown: { member: 'm1', minoritySide: ['m1'], steppedDown: false, afterMs: null },
          })
        : c,
    );
    expect(stepDownClaim(stuck, 250).verdict).toBe('deviated');
    expect(stepDownClaim(matrixFor(3, 'kill'), 250).verdict).toBe('inconclusive');
  });

  it('slowdown: held when the largest size has higher p50 and lower throughput than the smallest', () => {
    const size = (members: number, p50: number, throughput: number) => ({
      members,
      openLoop: { latency: { p50, p99: p50 * 3 }, outcomes: { ok: 100, fail: 0, indeterminate: 0 } },
      closedLoop: { throughput },
    });
    expect(slowdownClaim([size(7, 4, 900), size(1, 1, 3000), size(3, 2, 2000)]).verdict).toBe('held');
    expect(slowdownClaim([size(1, 1, 3000), size(7, 0.5, 900)]).verdict).toBe('deviated');
    expect(slowdownClaim([size(1, 1, 3000), size(7, 4, 3100)]).verdict).toBe('deviated');
    expect(slowdownClaim([size(3, 1, 3000)]).verdict).toBe('inconclusive');
    expect(slowdownClaim([size(1, 1, 3000), size(3, 2, 2000)]).observed).toBe(
      'n=1: p50 1.00 ms, p99 3.00 ms, 3000 writes/s closed-loop; n=3: p50 2.00 ms, p99 6.00 ms, 2000 writes/s closed-loop',
    );
  });

  it('quorumClaims: one mismatching cell makes the run deviate', () => {
    const settings = {
      heartbeatMs: 25,
      electionTimeoutMs: 250,
      preVote: true,
      observeMs: 3000,
      callTimeoutMs: 1000,
      latencyLoad: null,
    };
    const cluster = {
      members: 3,
      environment: {},
      acknowledgedWrites: {
        status: 'ok' as const,
        keysChecked: 1,
        keysSkipped: 0,
        acknowledgedWrites: 1,
        violations: [],
        message: 'all 1 acknowledged writes on 1 keys accounted for',
      },
      faultResidue: [],
      wallTimeMs: 1,
    };
    const good = { cells: matrixFor(3, 'kill'), clusters: [cluster], latency: [], settings, wallTimeMs: 1 };
    const claims = quorumClaims(good, null);
    expect(claims.every((c) => c.verdict === 'held')).toBe(true);
    expect(claims.map((c) => c.name)).toContain('every acknowledged write is there after recovery');
    const bad = {
      ...good,
      cells: good.cells.map((c) => (c.down === 2 ? cell(3, 2, 'kill', { write: answer(true) }) : c)),
    };
    const first = quorumClaims(bad, null)[0];
    expect(first?.verdict).toBe('deviated');
    expect(first?.observed).toContain('n=3 k=2 kill (writes: predicted refused, observed acknowledged)');
  });
});

describe('matrix rendering', () => {
  const cells = [...matrixFor(3, 'kill'), cell(3, 2, 'isolate', { write: answer(true) })];

  it('renders one table row per cell, marking disagreements with the model', () => {
    const lines = renderMatrixTable(cells).split('\n');
    expect(lines).toHaveLength(2 + cells.length);
    expect(lines[2]).toBe('| kill | 3 | 0 | – | yes | yes | yes | yes | yes | – | match |');
    expect(lines[4]).toBe('| kill | 3 | 2 | m1, m2 | no | no | no | yes | no | – | match |');
    expect(lines[6]).toBe(
      '| isolate | 3 | 2 | m1, m2 | no | **yes** (model: no) | no | yes | no | yes, 300 ms | **MISMATCH**: writes: predicted refused, observed acknowledged |',
    );
  });

  it('renders an n × k grid per mechanism', () => {
    expect(renderMatrixGrid(cells, 'kill').split('\n')).toEqual([
      '| n \\ k down | 0 | 1 | 2 | 3 |',
      '| --- | --- | --- | --- | --- |',
      '| 3 | W | W | · | · |',
    ]);
    expect(renderMatrixGrid(cells, 'isolate').split('\n')[2]).toBe('| 3 |  |  | W! |  |');
    expect(renderMatrixGrid([cell(1, 1, 'isolate')], 'isolate').split('\n')[2]).toBe('| 1 |  | n/a |');
  });
});

describe('failure schedule', () => {
  it('exponential samples have the requested mean', () => {
    const rng = createRng(7);
    const samples = Array.from({ length: 20_000 }, () => exponential(rng, 1000));
    const mean = samples.reduce((a, b) => a + b, 0) / samples.length;
    // Standard error of the mean is 1000/√20000 ≈ 7 ms; 5 standard errors.
    expect(Math.abs(mean - 1000)).toBeLessThan(35);
    expect(Math.min(...samples)).toBeGreaterThanOrEqual(0);
  });

  it('is reproducible from the seed and differs between seeds', () => {
    const options = { members: 3, mttfMs: 3000, mttrMs: 1000, durationMs: 60_000, seed: 1 };
    expect(generateFailureSchedule(options)).toEqual(generateFailureSchedule(options));
    expect(generateFailureSchedule({ ...options, seed: 2 })).not.toEqual(generateFailureSchedule(options));
  });

  it('keeps intervals disjoint, ordered and inside the run', () => {
    const { downIntervals } = generateFailureSchedule({
      members: 5,
      mttfMs: 2000,
      mttrMs: 1000,
      durationMs: 30_000,
      seed: 3,
    });
    for (const intervals of downIntervals) {
      intervals.forEach((i, index) => {
        expect(i.fromMs).toBeGreaterThanOrEqual(0);
        expect(i.toMs).toBeLessThanOrEqual(30_000);
        expect(i.toMs).toBeGreaterThan(i.fromMs);
        expect(i.fromMs).toBeGreaterThan(intervals[index - 1]?.toMs ?? -1);
      });
    }
  });

  it('over a long run each member is down about p = MTTR / (MTTF + MTTR) of the time', () => {
    const durationMs = 20_000_000;
    const { downIntervals } = generateFailureSchedule({
      members: 3,
      mttfMs: 3000,
      mttrMs: 1000,
      durationMs,
      seed: 11,
    });
    for (const intervals of downIntervals) {
      // ~5000 cycles per member: the fraction's standard error is well under 0.01.
      expect(overlapMs(intervals, { fromMs: 0, toMs: durationMs }) / durationMs).toBeCloseTo(0.25, 1);
    }
  });

  it('and the time without quorum approaches the binomial model', () => {
    const durationMs = 20_000_000;
    const schedule = generateFailureSchedule({ members: 3, mttfMs: 3000, mttrMs: 1000, durationMs, seed: 5 });
    const lost = overlapMs(noQuorumIntervals(schedule.downIntervals, { fromMs: 0, toMs: durationMs }), {
      fromMs: 0,
      toMs: durationMs,
    });
    // 3p²q + p³ at p = 0.25 is 0.15625.
    expect(unavailability(3, 0.25)).toBeCloseTo(0.15625, 12);
    expect(Math.abs(lost / durationMs - 0.15625)).toBeLessThan(0.01);
  });

  it('lists fail and repair events in time order, no repair at the very end', () => {
    const events = scheduleEvents({
      durationMs: 100,
      downIntervals: [
        [{ fromMs: 10, toMs: 20 }],
        [
          { fromMs: 0, toMs: 15 },
          { fromMs: 90, toMs: 100 },
        ],
      ],
    });
    expect(events).toEqual([
      { atMs: 0, member: 1, action: 'fail' },
      { atMs: 10, member: 0, action: 'fail' },
      { atMs: 15, member: 1, action: 'repair' },
      { atMs: 20, member: 0, action: 'repair' },
      { atMs: 90, member: 1, action: 'fail' },
    ]);
  });

  it('rejects bad parameters', () => {
    expect(() =>
      generateFailureSchedule({ members: 0, mttfMs: 1, mttrMs: 1, durationMs: 1, seed: 1 }),
    ).toThrow(RangeError);
    expect(() =>
      generateFailureSchedule({ members: 3, mttfMs: 0, mttrMs: 1, durationMs: 1, seed: 1 }),
    ).toThrow('failure schedule: mttfMs (mean time to failure) must be a finite number of ms > 0, got 0');
  });
});

describe('noQuorumIntervals', () => {
  const window = { fromMs: 0, toMs: 100 };

  it('3 members: no quorum only while two or more are down at once', () => {
    const down = [[{ fromMs: 10, toMs: 50 }], [{ fromMs: 30, toMs: 70 }], [{ fromMs: 60, toMs: 80 }]];
    // Two down in 30..50 and 60..70.
    expect(noQuorumIntervals(down, window)).toEqual([
      { fromMs: 30, toMs: 50 },
      { fromMs: 60, toMs: 70 },
    ]);
  });

  it('touching intervals do not overlap; intervals are clipped to the window', () => {
    const down = [[{ fromMs: 0, toMs: 40 }], [{ fromMs: 40, toMs: 90 }], [{ fromMs: 80, toMs: 200 }]];
    expect(noQuorumIntervals(down, { fromMs: 0, toMs: 100 })).toEqual([{ fromMs: 80, toMs: 90 }]);
    expect(noQuorumIntervals([[{ fromMs: 150, toMs: 160 }]], window)).toEqual([]);
  });

  it('1 member: no quorum whenever it is down; 4 members need two down', () => {
    expect(noQuorumIntervals([[{ fromMs: 5, toMs: 9 }]], window)).toEqual([{ fromMs: 5, toMs: 9 }]);
    const four = [[{ fromMs: 0, toMs: 20 }], [{ fromMs: 10, toMs: 30 }], [], []];
    expect(noQuorumIntervals(four, window)).toEqual([{ fromMs: 10, toMs: 20 }]);
  });
});

describe('probe samples', () => {
  it('each sample holds until the next; adjacent unavailable samples merge', () => {
    const samples = [
      { atMs: 0, available: true },
      { atMs: 100, available: false },
      { atMs: 200, available: false },
      { atMs: 300, available: true },
      { atMs: 400, available: false },
    ];
    expect(unavailableFromSamples(samples, 450)).toEqual([
      { fromMs: 100, toMs: 300 },
      { fromMs: 400, toMs: 450 },
    ]);
    expect(unavailableFromSamples([], 100)).toEqual([]);
  });
});

describe('batch-means confidence interval', () => {
  it('uses Student t quantiles (normal beyond 30 degrees of freedom)', () => {
    expect(studentT975(1)).toBe(12.706);
    expect(studentT975(9)).toBe(2.262);
    expect(studentT975(30)).toBe(2.042);
    expect(studentT975(200)).toBe(1.96);
    expect(() => studentT975(0)).toThrow(RangeError);
  });

  it('by hand: 4 batches with fractions 0, 0.5, 0.5, 1', () => {
    // Batches of 25 ms: down 0, 12.5, 12.5 and 25 ms.
    const intervals = [
      { fromMs: 25, toMs: 37.5 },
      { fromMs: 50, toMs: 62.5 },
      { fromMs: 75, toMs: 100 },
    ];
    const ci = batchMeansInterval(intervals, { fromMs: 0, toMs: 100 }, 4);
    // mean 0.5; sample sd = √((0.25+0+0+0.25)/3) = 0.4082; half width = 3.182 · 0.4082 / 2 = 0.6495.
    expect(ci.mean).toBeCloseTo(0.5, 12);
    expect(ci.halfWidth).toBeCloseTo((3.182 * Math.sqrt(0.5 / 3)) / 2, 12);
    expect(ci.low).toBe(0);
    expect(ci.high).toBe(1);
    expect(ci.method).toBe('batch means, 4 batches of 0.0 s, 95% Student t');
  });

  it('is a point when every batch is the same', () => {
    const intervals = Array.from({ length: 10 }, (_, b) => ({ fromMs: b * 1000, toMs: b * 1000 + 200 }));
    const ci = batchMeansInterval(intervals, { fromMs: 0, toMs: 10_000 }, 10);
    expect(ci.mean).toBeCloseTo(0.2, 12);
    expect(ci.low).toBeCloseTo(0.2, 12);
    expect(ci.high).toBeCloseTo(0.2, 12);
    expect(ci.halfWidth).toBeCloseTo(0, 12);
  });

  it('covers the true fraction in about 95% of simulated runs', () => {
    // 200 independent 3-member runs of 400 s with MTTF 3 s, MTTR 1 s (model: 0.15625).
    let covered = 0;
    for (let seed = 1; seed <= 200; seed++) {
      const schedule = generateFailureSchedule({
        members: 3,
        mttfMs: 3000,
        mttrMs: 1000,
        durationMs: 400_000,
        seed,
      });
      const window = { fromMs: 0, toMs: 400_000 };
      const ci = batchMeansInterval(noQuorumIntervals(schedule.downIntervals, window), window, 10);
      if (ci.low <= 0.15625 && 0.15625 <= ci.high) covered += 1;
    }
    // Binomial(200, 0.95) lies in [180, 199] with probability > 0.999.
    expect(covered).toBeGreaterThanOrEqual(180);
  });

  it('rejects fewer than 2 batches and an empty window', () => {
    expect(() => batchMeansInterval([], { fromMs: 0, toMs: 10 }, 1)).toThrow(RangeError);
    expect(() => batchMeansInterval([], { fromMs: 5, toMs: 5 }, 4)).toThrow(RangeError);
  });

  it('availability claims: the model at the planned p and at the executed p, each inside its interval', () => {
    const ci = { mean: 0.2, low: 0.1, high: 0.3, halfWidth: 0.1, batches: 10, method: 'm' };
    // unavailability(3, 0.25) = 0.156 is inside [0.1, 0.3]; unavailability(3, 0.1) = 0.028 is not.
    const [planned, probed] = availabilityClaims(3, { p: 0.25, interval: ci }, { p: 0.1, interval: ci });
    expect(planned?.verdict).toBe('held');
    expect(probed?.verdict).toBe('deviated');
    expect(planned?.expected).toBe("model at p = 0.250: 1.56e-1, inside the planned schedule's 95% interval");
    expect(probed?.observed).toBe('probed fraction 2.00e-1 (95% interval 1.00e-1..3.00e-1; m)');
  });
});

describe('options', () => {
  it('parses sizes as ranges and lists', () => {
    expect(parseSizes('1-7')).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(parseSizes('3,4')).toEqual([3, 4]);
    expect(parseSizes('1-3,5,3')).toEqual([1, 2, 3, 5]);
    for (const bad of ['0', '8', '3-2', 'a', '', '1-9', '2,'])
      expect(() => parseSizes(bad)).toThrow(/sizes from 1 to 7/);
  });

  it('matrix options: bad sizes, mechanisms and timing are refused naming the field', () => {
    const ok = { sizes: [3], mechanisms: ['kill'] as const };
    expect(validateMatrixOptions(ok)).toMatchObject({
      observeMs: 3000,
      callTimeoutMs: 1000,
      electionTimeoutMs: 250,
    });
    expect(() => validateMatrixOptions({ ...ok, sizes: [] })).toThrow(BadInputError);
    expect(() => validateMatrixOptions({ ...ok, sizes: [8] })).toThrow(/sizes/);
    expect(() => validateMatrixOptions({ ...ok, sizes: [3, 3] })).toThrow(/twice/);
    expect(() => validateMatrixOptions({ ...ok, mechanisms: ['pause' as Mechanism] })).toThrow(/mechanisms/);
    expect(() => validateMatrixOptions({ ...ok, electionTimeoutMs: 50 })).toThrow(/electionTimeoutMs/);
    expect(() => validateMatrixOptions({ ...ok, observeMs: 0 })).toThrow(/observeMs/);
    expect(() =>
      validateMatrixOptions({
        ...ok,
        latencyLoad: { ratePerSecond: 0, clients: 1, durationMs: 1, closedLoopClients: 1 },
      }),
    ).toThrow(/latencyLoad.ratePerSecond/);
  });

  it('availability options: refused naming the field', () => {
    const ok = { mttfMs: 30_000, mttrMs: 10_000, durationMs: 60_000 };
    expect(() => validateAvailabilityOptions(ok)).not.toThrow();
    expect(() => validateAvailabilityOptions({ ...ok, members: 8 })).toThrow(/members/);
    expect(() => validateAvailabilityOptions({ ...ok, mttrMs: 0 })).toThrow(/mttr/);
    expect(() => validateAvailabilityOptions({ ...ok, batches: 1 })).toThrow(/batches/);
  });

  it('quorum-validate: a refused option names the flag the user typed, not the field', () => {
    const refusal = (run: () => unknown): string => {
      try {
        run();
      } catch (error) {
        expect(error).toBeInstanceOf(BadInputError);
        return (error as Error).message;
      }
      throw new Error('expected a refusal');
    };
    const availability = { mttfMs: 30_000, mttrMs: 10_000, durationMs: 60_000 };
    const flags = QUORUM_VALIDATE_FLAGS;
    const cases: [() => unknown, RegExp][] = [
      [() => validateAvailabilityOptions({ ...availability, mttfMs: 0 }, flags), /^--mttf: .*got 0$/],
      [() => validateAvailabilityOptions({ ...availability, mttrMs: Infinity }, flags), /^--mttr: /],
      [() => validateAvailabilityOptions({ ...availability, durationMs: -1 }, flags), /^--availability: /],
      [
        () => validateAvailabilityOptions({ ...availability, members: 8 }, flags),
        /^--availability-members: /,
      ],
      [
        () => validateAvailabilityOptions({ ...availability, electionTimeoutMs: 50 }, flags),
        /^--election-timeout-ms \(50\) must be at least 5 × --heartbeat-ms \(25\)/,
      ],
      [() => validateMatrixOptions({ sizes: [8], mechanisms: ['kill'] }, flags), /^--sizes: /],
      [
        () => validateMatrixOptions({ sizes: [3], mechanisms: ['kill'], observeMs: 0 }, flags),
        /^--observe-ms: /,
      ],
    ];
    for (const [run, says] of cases) {
      const message = refusal(run);
      expect(message).toMatch(says);
      expect(message).not.toMatch(
        /mttfMs|mttrMs|durationMs|observeMs|electionTimeoutMs|heartbeatMs|(^|\s)members:/,
      );
      expect(message).not.toContain('\n');
    }
  });
});

describe('model chart', () => {
  it('spans 1e-4 .. 0.5 increasing, and plots the model for every size', () => {
    const ps = chartProbabilities();
    expect(ps[0]).toBe(0.0001);
    expect(ps.at(-1)).toBe(0.5);
    ps.forEach((p, i) => expect(p).toBeGreaterThan(ps[i - 1] ?? 0));
    const spec = unavailabilityChartSpec([1, 3, 4], [0.01]) as {
      data: { values: { n: string; unavailability: number }[] };
    };
    expect(spec.data.values).toEqual([
      { p: 0.01, n: '1', unavailability: 0.01, even: false },
      { p: 0.01, n: '3', unavailability: unavailability(3, 0.01), even: false },
      { p: 0.01, n: '4', unavailability: unavailability(4, 0.01), even: true },
    ]);
  });
});
