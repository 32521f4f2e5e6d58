import { describe, expect, it } from 'vitest';
import type { EtcdOptions } from '../../src/cluster/etcd-options.ts';
import { BadInputError } from '../../src/errors.ts';
import { cellRow, csvField, spuriousElectionBoundaries, toCsv } from '../../src/plans/sweep/report.ts';
import { planResume, type FinishedCell } from '../../src/plans/sweep/results-dir.ts';
import type { CellResult } from '../../src/plans/sweep/run-cell.ts';
import { estimateCellMs, formatDuration, remainingMs } from '../../src/plans/sweep/run-sweep.ts';
import {
  expandConfigurations,
  listSweepFiles,
  loadSweep,
  planCells,
  validateSweep,
  type SweepCell,
} from '../../src/plans/sweep/spec.ts';
import { evaluateExpectations, judge } from '../../src/plans/sweep/verdicts.ts';

const valid = {
  name: 'x',
  title: 'X',
  configurations: [
    { heartbeatMs: 10, electionTimeoutMs: 100, preVote: false },
    { heartbeatMs: 10, electionTimeoutMs: 100, preVote: true },
  ],
  fault: { kind: 'partition-and-heal', isolationMs: 1_000 },
};
const withPatch = (patch: Record<string, unknown>) => ({ ...valid, ...patch });

function invalidMessage(raw: unknown): string {
  try {
    validateSweep(raw);
  } catch (error) {
    expect(error).toBeInstanceOf(BadInputError);
    return (error as Error).message;
  }
  throw new Error('the sweep was accepted');
}

describe('sweep specs', () => {
  it('accepts every sweep shipped in lab/sweeps/', async () => {
    expect([...listSweepFiles().keys()]).toEqual(expect.arrayContaining(['pre-vote', 'tuning-rule']));
    for (const name of listSweepFiles().keys()) {
      const { spec } = await loadSweep(name);
      expect(spec.name).toBe(name);
    }
  });

  it('fills in defaults', () => {
    const spec = validateSweep(valid);
    expect(spec.cluster).toEqual({ members: 3, dataDir: 'memory' });
    expect(spec.conditions).toEqual([{ kind: 'none' }]);
    expect(spec.trials).toBe(5);
    expect(spec.load).toEqual({ ratePerSecond: 100, clients: 4, valueBytes: 64 });
    expect(spec.fault).toMatchObject({ target: 'follower' });
  });

  it.each([
    ['a missing title', { title: undefined }, /title/],
    ['an unknown fault', { fault: { kind: 'explode' } }, /fault\.kind/],
    ['an unknown etcd option', { configurations: [{ heartbeat: 10 }] }, /configurations\.0/],
    ['both matrix and configurations', { matrix: { heartbeatMs: [10] } }, /matrix: give either/],
    [
      'a heartbeat too close to the election timeout',
      { configurations: [{ heartbeatMs: 30, electionTimeoutMs: 100 }] },
      /configurations\.0: electionTimeoutMs \(100\) must be at least 5 × heartbeatMs/,
    ],
    [
      'an isolation too short for an election timer to fire',
      { fault: { kind: 'partition-and-heal', isolationMs: 150 } },
      /fault\.isolationMs: 150 ms is shorter than 2 × electionTimeoutMs \(200 ms\)/,
    ],
    ['too many members', { cluster: { members: 8 } }, /cluster\.members/],
    [
      'a fault on a 1-member cluster',
      { cluster: { members: 1 } },
      /cluster\.members: fault partition-and-heal needs at least 3/,
    ],
    [
      'a target member the cluster does not have',
      { fault: { kind: 'partition-and-heal', isolationMs: 1_000, target: 'm4' } },
      /fault\.target: no member m4 in a 3-member cluster/,
    ],
    [
      'an odd round-trip time',
      { conditions: [{ kind: 'rtt', rttMs: 15 }] },
      /conditions\.0\.rttMs: must be even/,
    ],
    [
      'jitter larger than the delay',
      { conditions: [{ kind: 'rtt', rttMs: 20, jitterMs: 11 }] },
      /conditions\.0\.jitterMs: at most rttMs\/2/,
    ],
    [
      'more CPUs than the host has',
      { conditions: [{ kind: 'cpu', cpus: 1_000 }] },
      /conditions\.0: cpus must be/,
    ],
    [
      'the same condition twice',
      { conditions: [{ kind: 'none' }, { kind: 'none' }] },
      /conditions\.1: the same/,
    ],
    [
      'the same configuration twice',
      { configurations: [{ heartbeatMs: 10 }, { heartbeatMs: 10 }] },
      /configurations\.1: the same etcd options/,
    ],
    [
      'an expectation that selects nothing',
      { expectations: [{ name: 'e', where: { heartbeatMs: 99 }, termJumpOnHeal: { min: 1 } }] },
      /expectations\.0\.where: selects no cell/,
    ],
    [
      'an expectation without a check',
      { expectations: [{ name: 'e', where: { preVote: true } }] },
      /expectations\.0: no check/,
    ],
    [
      'an election check without a leader fault',
      { expectations: [{ name: 'e', electionMedianMs: { max: 500 } }] },
      /expectations\.0\.electionMedianMs: needs fault leader-kill/,
    ],
    [
      'an empty range',
      { expectations: [{ name: 'e', termJumpOnHeal: {} }] },
      /termJumpOnHeal: give min, max/,
    ],
  ])('rejects %s, naming the field', (_what, patch, message) => {
    expect(invalidMessage(withPatch(patch))).toMatch(message);
  });

  it('rejects every combination of a matrix that etcd would refuse', () => {
    const message = invalidMessage({
      ...valid,
      configurations: undefined,
      matrix: { heartbeatMs: [10, 25], electionTimeoutMs: [100, 250] },
    });
    expect(message).toMatch(
      /matrix \(combination 3\): electionTimeoutMs \(100\) must be at least 5 × heartbeatMs \(25\)/,
    );
    expect(message).not.toMatch(/combination [124]\b/);
  });
});

describe('sweep cells', () => {
  it('multiplies a matrix out, first key slowest, bare values as one-value dimensions', () => {
    expect(
      expandConfigurations({
        matrix: {
          heartbeatMs: [10, 20],
          electionTimeoutMs: 200,
          preVote: [false, true],
          extraFlags: [['--a=1'], []],
        },
      }),
    ).toEqual([
      { heartbeatMs: 10, electionTimeoutMs: 200, preVote: false, extraFlags: ['--a=1'] },
      { heartbeatMs: 10, electionTimeoutMs: 200, preVote: false, extraFlags: [] },
      { heartbeatMs: 10, electionTimeoutMs: 200, preVote: true, extraFlags: ['--a=1'] },
      { heartbeatMs: 10, electionTimeoutMs: 200, preVote: true, extraFlags: [] },
      { heartbeatMs: 20, electionTimeoutMs: 200, preVote: false, extraFlags: ['--a=1'] },
      { heartbeatMs: 20, electionTimeoutMs: 200, preVote: false, extraFlags: [] },
      { heartbeatMs: 20, electionTimeoutMs: 200, preVote: true, extraFlags: ['--a=1'] },
      { heartbeatMs: 20, electionTimeoutMs: 200, preVote: true, extraFlags: [] },
    ]);
  });

  it('makes one cell per configuration and condition, conditions varying fastest', () => {
    const cells = planCells(
      validateSweep(withPatch({ conditions: [{ kind: 'none' }, { kind: 'rtt', rttMs: 20, jitterMs: 5 }] })),
    );
    expect(cells.map((c) => [c.index, c.etcdOptions.preVote, c.condition.kind])).toEqual([
      [1, false, 'none'],
      [2, false, 'rtt'],
      [3, true, 'none'],
      [4, true, 'rtt'],
    ]);
    expect(cells[1]?.label).toBe('hb 10 / et 100 / pre-vote off / rtt +20 ms ±10');
    expect(new Set(cells.map((c) => c.cellId)).size).toBe(4);
    expect(new Set(cells.map((c) => c.seed)).size).toBe(4);
  });

  it('hashes cells by content: key order does not matter, any measured setting does', () => {
    const base = planCells(validateSweep(valid));
    const reordered = planCells(
      validateSweep({
        fault: valid.fault,
        configurations: [
          { preVote: false, electionTimeoutMs: 100, heartbeatMs: 10 },
          { electionTimeoutMs: 100, preVote: true, heartbeatMs: 10 },
        ],
        title: 'another title',
        name: 'x',
      }),
    );
    expect(reordered.map((c) => c.cellHash)).toEqual(base.map((c) => c.cellHash));
    for (const patch of [
      { trials: 6 },
      { seed: 2 },
      { quietWindowMs: 1_000 },
      { quietWindows: 3 },
      { load: { ratePerSecond: 50 } },
    ]) {
      const changed = planCells(validateSweep(withPatch(patch)));
      expect(
        changed.map((c) => c.cellId),
        JSON.stringify(patch),
      ).toEqual(base.map((c) => c.cellId));
      expect(changed[0]?.cellHash, JSON.stringify(patch)).not.toBe(base[0]?.cellHash);
    }
    const otherOptions = planCells(
      validateSweep(withPatch({ configurations: [{ heartbeatMs: 11, electionTimeoutMs: 100 }] })),
    );
    expect(otherOptions[0]?.cellId).not.toBe(base[0]?.cellId);
  });
});

describe('resuming a results directory', () => {
  const cells = planCells(validateSweep(valid));
  const [first, second] = cells as [SweepCell, SweepCell];
  const finishedAs = (cell: SweepCell, patch: Partial<FinishedCell> = {}): FinishedCell => ({
    sweep: 'x',
    cellId: cell.cellId,
    cellHash: cell.cellHash,
    label: cell.label,
    ...patch,
  });

  it('runs everything in an empty directory', () => {
    expect(planResume('x', cells, [])).toEqual({ toRun: cells, reused: [], conflicts: [] });
  });

  it('keeps finished cells whose hash matches and runs the rest', () => {
    const plan = planResume('x', cells, [finishedAs(first)]);
    expect(plan.reused).toEqual([first]);
    expect(plan.toRun).toEqual([second]);
    expect(plan.conflicts).toEqual([]);
  });

  it('refuses a cell measured with different settings, another sweep’s cell, and a cell no longer planned', () => {
    expect(planResume('x', cells, [finishedAs(first, { cellHash: 'different' })]).conflicts).toEqual([
      expect.stringMatching(/was measured with different settings/),
    ]);
    expect(planResume('x', cells, [finishedAs(first, { sweep: 'y' })]).conflicts).toEqual([
      expect.stringMatching(/belongs to sweep "y"/),
    ]);
    expect(planResume('x', cells, [finishedAs(first, { cellId: 'gone' })]).conflicts).toEqual([
      expect.stringMatching(/cell gone .* is not part of this sweep/),
    ]);
  });
});

describe('sweep progress estimate', () => {
  const cells = planCells(validateSweep(valid));

  it('scales the a-priori estimate by how the finished cells compared with theirs', () => {
    const estimate = estimateCellMs(cells[0] as SweepCell);
    // isolation 1 s + observe max(2 s, 10 × 100 ms) + settling, per trial, on top of start and window.
    expect(estimate).toBe(8_000 + 200 + 5_000 + 5 * (1_000 + 2_000 + 200 + 2_000));
    const windows = planCells(validateSweep(withPatch({ quietWindows: 4 })))[0] as SweepCell;
    expect(estimateCellMs(windows) - estimate).toBe(3 * 5_000);
    expect(remainingMs(cells, [])).toBe(2 * estimate);
    expect(remainingMs(cells.slice(1), [{ estimatedMs: estimate, actualMs: 2 * estimate }])).toBe(
      2 * estimate,
    );
  });

  it('formats durations for progress lines', () => {
    expect(formatDuration(4_400)).toBe('4 s');
    expect(formatDuration(125_000)).toBe('2 min 5 s');
    expect(formatDuration(3_725_000)).toBe('1 h 2 min');
  });
});

describe('sweep CSV', () => {
  it('quotes fields with commas, quotes, line breaks or edge spaces, and nothing else', () => {
    expect(csvField('plain')).toBe('plain');
    expect(csvField('a,b')).toBe('"a,b"');
    expect(csvField('say "hi"')).toBe('"say ""hi"""');
    expect(csvField('two\nlines')).toBe('"two\nlines"');
    expect(csvField(' padded')).toBe('" padded"');
    expect(csvField(null)).toBe('');
    expect(csvField(undefined)).toBe('');
    expect(csvField(3)).toBe('3');
    expect(csvField(2.5)).toBe('2.500');
    expect(csvField(false)).toBe('false');
  });

  it('writes a header and one row per cell with CRLF line ends', () => {
    expect(
      toCsv([
        { a: 1, b: 'x,y' },
        { a: 2, b: null },
      ]),
    ).toBe('a,b\r\n1,"x,y"\r\n2,\r\n');
  });

  it('flattens a cell into a row with the ratios the charts use', () => {
    const cell = planCells(
      validateSweep(withPatch({ conditions: [{ kind: 'rtt', rttMs: 20, jitterMs: 0 }] })),
    )[0];
    const result = fakeCellResult(cell as SweepCell, { termJumps: [3, 5] });
    const row = cellRow(result);
    expect(row).toMatchObject({
      heartbeat_ms: 10,
      election_timeout_ms: 100,
      added_rtt_ms: 20,
      rtt_over_heartbeat: 2,
      election_timeout_over_rtt: 5,
      heartbeat_over_rtt: 0.5,
      follows_tuning_rule: false,
      quiet_windows: 1,
      quiet_observed_s: 30,
      quiet_leader_changes_per_min: 2,
      heal_term_jump_min: 3,
      heal_term_jump_max: 5,
      quiet_leader_changes: 1,
      condition_mechanism: 'nfq-delay-ingress',
    });
  });
});

describe('etcd options a sweep varies, in the report', () => {
  // Every etcd option a matrix can vary, each with two values: the cells differ in each of them.
  const varied = validateSweep({
    name: 'x',
    title: 'X',
    matrix: {
      heartbeatMs: 10,
      electionTimeoutMs: [100, 200],
      snapshotCount: [1_000, 2_000],
      quotaBackendBytes: [1_073_741_824, 4_294_967_296],
      leaseCheckpoint: [false, true],
      preVote: [false, true],
      extraFlags: [['--max-txn-ops=256'], []],
    },
    conditions: [{ kind: 'rtt', rttMs: 20, jitterMs: 0 }],
    fault: { kind: 'none' },
  });
  const cells = planCells(varied);
  const results = cells.map((cell) => fakeCellResult(cell, { termJumps: [] }));

  it('has a CSV column for every option a sweep can vary', () => {
    const columns: Record<keyof EtcdOptions, string> = {
      heartbeatMs: 'heartbeat_ms',
      electionTimeoutMs: 'election_timeout_ms',
      preVote: 'pre_vote',
      snapshotCount: 'snapshot_count',
      quotaBackendBytes: 'quota_backend_bytes',
      leaseCheckpoint: 'lease_checkpoint',
      extraFlags: 'extra_flags',
    };
    for (const [i, cell] of cells.entries()) {
      const row = cellRow(results[i] as CellResult);
      const o = cell.etcdOptions;
      expect(row).toMatchObject({
        [columns.heartbeatMs]: o.heartbeatMs,
        [columns.electionTimeoutMs]: o.electionTimeoutMs,
        [columns.preVote]: o.preVote,
        [columns.snapshotCount]: o.snapshotCount,
        [columns.quotaBackendBytes]: o.quotaBackendBytes,
        [columns.leaseCheckpoint]: o.leaseCheckpoint,
        [columns.extraFlags]: o.extraFlags?.join(' '),
      });
    }
    // Unset: lease checkpointing is etcd's off, the quota left empty (etcd's own default).
    const plain = planCells(validateSweep(withPatch({})))[0] as SweepCell;
    expect(cellRow(fakeCellResult(plain, { termJumps: [] }))).toMatchObject({
      lease_checkpoint: false,
      quota_backend_bytes: undefined,
    });
  });

  it('labels each cell with every varied option, so no two cells share a label', () => {
    expect(cells[0]?.label).toBe(
      'hb 10 / et 100 / pre-vote off / snap 1000 / quota 1073741824 / lease checkpoint off / --max-txn-ops=256 / rtt +20 ms',
    );
    expect(new Set(cells.map((c) => c.label)).size).toBe(cells.length);
  });

  it('keeps cells that differ in quota or lease checkpointing in separate series', () => {
    const series = spuriousElectionBoundaries(results).map((b) => b.series);
    // One series per combination of everything but the election timeout.
    expect(series).toHaveLength(cells.length / 2);
    expect(series).toContain(
      'heartbeat 0.5 × RTT, rtt +20 ms, pre-vote on, snap 2000, quota 4294967296, lease checkpoint on',
    );
    for (const b of spuriousElectionBoundaries(results)) expect(b.points).toHaveLength(2);
  });
});

describe('sweep expectations', () => {
  const spec = validateSweep(
    withPatch({
      expectations: [
        { name: 'no pre-vote: election', where: { preVote: false }, termJumpOnHeal: { min: 1 } },
        { name: 'pre-vote: none', where: { preVote: true }, termJumpOnHeal: { max: 0 } },
      ],
    }),
  );
  const cells = planCells(spec) as [SweepCell, SweepCell];

  it('judges every trial against the range; a missing value is inconclusive, never held', () => {
    expect(judge({ min: 1 }, [2, 3])).toBe('held');
    expect(judge({ min: 1 }, [2, 0])).toBe('deviated');
    expect(judge({ min: 0, max: 0 }, [0])).toBe('held');
    expect(judge({ max: 0 }, [0, null])).toBe('inconclusive');
    expect(judge({ max: 0 }, [])).toBe('inconclusive');
  });

  it('applies each expectation only to the cells its where selects', () => {
    const verdicts = evaluateExpectations(spec.expectations, [
      { cell: cells[0], result: fakeCellResult(cells[0], { termJumps: [5, 4] }) },
      { cell: cells[1], result: fakeCellResult(cells[1], { termJumps: [0, 1] }) },
    ]);
    expect(verdicts.map((v) => [v.expectation, v.cellId, v.observed, v.verdict])).toEqual([
      ['no pre-vote: election', cells[0].cellId, '5, 4', 'held'],
      ['pre-vote: none', cells[1].cellId, '0, 1', 'deviated'],
    ]);
    // Each is one of the lab's Checks, named by expectation, cell and measure (one JUnit case each).
    expect(verdicts[0]?.name).toBe(
      `no pre-vote: election [${cells[0].label}] term jump on heal (each trial)`,
    );
  });
});

describe('where spurious elections start', () => {
  // RTT 100 ms fixed, heartbeat 50 ms, election timeout 2.5 … 20 × RTT.
  const spec = validateSweep({
    name: 'x',
    title: 'X',
    matrix: { heartbeatMs: 50, electionTimeoutMs: [250, 300, 500, 1_000, 2_000] },
    conditions: [{ kind: 'rtt', rttMs: 100, jitterMs: 50 }],
    fault: { kind: 'none' },
    quietWindowMs: 30_000,
    quietWindows: 2,
  });
  const cells = planCells(spec);
  const boundaryOf = (changes: number[][]) =>
    spuriousElectionBoundaries(
      cells.map((cell, i) => fakeCellResult(cell, { termJumps: [], quietChanges: changes[i] ?? [0] })),
    );

  it('names the lowest ET/RTT from which on no cell saw a leader change, with the rate below it', () => {
    const [boundary] = boundaryOf([
      [3, 1],
      [0, 1],
      [0, 0],
      [0, 0],
      [0, 0],
    ]);
    expect(boundary).toMatchObject({
      series: 'heartbeat 0.5 × RTT, rtt +100 ms ±100',
      quietFromRatio: 5,
      highestRatioWithChanges: 3,
      monotonic: true,
    });
    expect(boundary?.points.map((p) => p.perMinute)).toEqual([4, 1, 0, 0, 0]);
    // 0 changes in 3 cells × 1 min: below 3/3 = 1 per minute at 95 %.
    expect(boundary?.summary).toBe(
      'heartbeat 0.5 × RTT, rtt +100 ms ±100: spurious leader changes only below ET/RTT = 5: at 2.5 (4 in 1 min, 4/min), 3 (1 in 1 min, 1/min); none at ET/RTT ≥ 5 (0 in 3 min over 3 cells: below 1/min at 95 %)',
    );
  });

  it('says so when a quiet cell sits among noisy ones, when none is quiet, and when all are', () => {
    expect(boundaryOf([[1], [0], [2], [0], [0]])[0]).toMatchObject({ quietFromRatio: 10, monotonic: false });
    expect(boundaryOf([[1], [0], [2], [0], [0]])[0]?.summary).toMatch(/not monotonic/);
    expect(boundaryOf([[1], [1], [1], [1], [1]])[0]).toMatchObject({
      quietFromRatio: null,
      highestRatioWithChanges: 20,
    });
    expect(boundaryOf([[0], [0], [0], [0], [0]])[0]?.summary).toMatch(
      /: no spurious leader change at ET\/RTT ≥ 2\.5 \(0 in 2\.5 min over 5 cells: below 1\.2\/min at 95 %\)$/,
    );
  });

  it('leaves out cells without an added RTT: there is no ratio to place them at', () => {
    const none = planCells(validateSweep({ ...spec, conditions: [{ kind: 'none' }] }));
    expect(spuriousElectionBoundaries(none.map((c) => fakeCellResult(c, { termJumps: [] })))).toEqual([]);
  });

  it('selects cells by ET/RTT and HB/RTT and checks the rate per minute', () => {
    const keepsRule = validateSweep({
      ...spec,
      expectations: [
        {
          name: 'keeping the rule: no spurious elections',
          where: { electionTimeoutOverRtt: { min: 10 }, heartbeatOverRtt: { min: 0.5, max: 1.5 } },
          spuriousLeaderChangesPerMinute: { max: 0 },
        },
      ],
    });
    const verdicts = evaluateExpectations(
      keepsRule.expectations,
      cells.map((cell, i) => ({
        cell,
        result: fakeCellResult(cell, { termJumps: [], quietChanges: i === 4 ? [0, 1] : [0, 0] }),
      })),
    );
    expect(verdicts.map((v) => [v.label, v.observed, v.verdict])).toEqual([
      [cells[3]?.label, '0', 'held'],
      [cells[4]?.label, '1', 'deviated'],
    ]);
    expect(
      invalidMessage({
        ...keepsRule,
        expectations: [{ ...keepsRule.expectations[0], where: { electionTimeoutOverRtt: { min: 50 } } }],
      }),
    ).toMatch(/expectations\.0\.where: selects no cell/);
  });
});

/** A cell result as runCell would return it, with only what these tests look at filled in. */
function fakeCellResult(
  cell: SweepCell,
  { termJumps, quietChanges = [1] }: { termJumps: number[]; quietChanges?: number[] },
): CellResult {
  const windowMs = 30_000;
  const windows = quietChanges.map((leaderChanges, i) => ({
    window: i + 1,
    fromMs: i * windowMs,
    toMs: (i + 1) * windowMs,
    leaderChanges,
    leaderChangesByMember: { m1: leaderChanges },
    termIncrease: leaderChanges,
    writeP99Ms: 9,
  }));
  const leaderChanges = quietChanges.reduce((a, b) => a + b, 0);
  return {
    schemaVersion: 2,
    sweep: 'x',
    cellId: cell.cellId,
    cellHash: cell.cellHash,
    index: cell.index,
    label: cell.label,
    etcdOptions: cell.etcdOptions,
    condition: cell.condition,
    fault: cell.fault,
    trials: termJumps.length,
    seed: cell.seed,
    startedAt: '2025-01-01T00:00:00.000Z',
    durationMs: 1_000,
    loadAverage: { start: [1, 1, 1], end: [1, 1, 1] },
    environment: {},
    mechanisms: {
      condition: cell.condition.kind === 'rtt' ? 'nfq-delay-ingress' : null,
      fault: 'iptables-drop-ingress',
    },
    conditionFaults: [],
    quiet: {
      windowMs,
      observedMs: windows.length * windowMs,
      windows,
      leaderChanges,
      leaderChangesPerMinute: leaderChanges / ((windows.length * windowMs) / 60_000),
      windowsWithLeaderChanges: quietChanges.filter((c) => c > 0).length,
      termIncrease: leaderChanges,
      writes: { p50Ms: 2, p99Ms: 9, throughput: 100, ok: 100, fail: 0, indeterminate: 0 },
      longestWriteGapMs: 20,
    },
    elections: null,
    heals: termJumps.map((termJump, i) => ({
      trial: i + 1,
      isolated: 'm2',
      leaderBefore: 'm1',
      termBeforeHeal: 2,
      isolatedCampaignTerm: 2 + termJump,
      leaderAfter: 'm1',
      termAfter: 2 + termJump,
      termJump,
      leaderChangesOnHeal: termJump > 0 ? 1 : 0,
      leaderChangesByMember: {},
      writeStallAfterHealMs: 10,
      isolation: {
        faultId: 'isolate-m2',
        description: { fault: 'partition' },
        mechanism: 'iptables-drop-ingress',
        targets: ['m2'],
        injectedAtMs: 0,
        injectionLatencyMs: 5,
        healedAtMs: 1_000,
        healLatencyMs: 5,
        healError: null,
        endedBy: 'heal',
        details: {},
      },
    })),
    incomplete: null,
  };
}
