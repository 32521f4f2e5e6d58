import { beforeAll, describe, expect, it } from 'vitest';
import {
  quorumLossClaim,
  toleranceClaims,
  type MatrixCell,
  type Mechanism,
} from '../../src/plans/quorum/matrix.ts';
import { majority } from '../../src/plans/quorum/model.ts';
import { runQuorumMatrix, type QuorumMatrixResult } from '../../src/plans/quorum/run-matrix.ts';
import { findLeftovers, NOTHING_LEFT } from '../support/leftovers.ts';

const HEARTBEAT_MS = 25;
const ELECTION_TIMEOUT_MS = 250;
/** Each question gets 8 election timeouts: an election needs 1–2, the rest is room for a loaded machine. */
const OBSERVE_MS = 8 * ELECTION_TIMEOUT_MS;
/** Each put/get attempt: 2 election timeouts, so a refused write is retried several times per cell. */
const CALL_TIMEOUT_MS = 2 * ELECTION_TIMEOUT_MS;

/**
 * The quorum matrix for 3 and 4 members, by SIGKILL and by isolation, on one cluster per size:
 * every k from 0 to n. It runs once up front; the tests look at what it observed.
 */
describe('the quorum matrix on real etcd (n = 3 and 4, kill and isolate)', () => {
  let result: QuorumMatrixResult;

  beforeAll(async () => {
    result = await runQuorumMatrix({
      sizes: [3, 4],
      mechanisms: ['kill', 'isolate'],
      heartbeatMs: HEARTBEAT_MS,
      electionTimeoutMs: ELECTION_TIMEOUT_MS,
      observeMs: OBSERVE_MS,
      callTimeoutMs: CALL_TIMEOUT_MS,
    });
  }, 300_000);

  const cellAt = (n: number, k: number, mechanism: Mechanism): MatrixCell => {
    const found = result.cells.find((c) => c.members === n && c.down === k && c.mechanism === mechanism);
    if (found === undefined) throw new Error(`no cell n=${n} k=${k} ${mechanism}`);
    return found;
  };

  it('observes every cell, and every cell matches the model', () => {
    // 3 members: k = 0..3, 4 members: k = 0..4, each by both mechanisms.
    expect(result.cells).toHaveLength(2 * (4 + 5));
    for (const cell of result.cells) {
      expect(cell.mismatches, `n=${cell.members} k=${cell.down} ${cell.mechanism}`).toEqual([]);
      expect(cell.verdict).toBe('match');
      expect(cell.observation).not.toBeNull();
      expect(cell.targets).toHaveLength(cell.down);
      // The leader is always the first member taken down.
      if (cell.down > 0) expect(cell.targets[0]).toBe(cell.leaderBefore);
      expect(cell.faultMechanism).toBe(
        cell.down === 0 ? null : cell.mechanism === 'kill' ? 'sigkill' : 'iptables-drop-ingress',
      );
    }
  });

  it('3 members, 2 killed: the write is refused, the survivor still serves the value written before', () => {
    const cell = cellAt(3, 2, 'kill');
    const o = cell.observation;
    const survivor = ['m1', 'm2', 'm3'].find((m) => !cell.targets.includes(m));
    expect(o?.reachable).toEqual([survivor]);
    expect(o?.write.ok).toBe(false);
    // Retried for the whole window, each attempt refused.
    expect(o?.write.attempts ?? 0).toBeGreaterThanOrEqual(2);
    expect(o?.linearizableRead.ok).toBe(false);
    expect(o?.serializableRead).toMatchObject({ ok: true, member: survivor });
    expect(o?.leader.present).toBe(false);
    expect(cell.sentinel).toMatch(/^n3-kill-k2#/);
  });

  it('3 members, all killed: nothing answers', () => {
    const o = cellAt(3, 3, 'kill').observation;
    expect(o?.reachable).toEqual([]);
    for (const answer of [o?.write, o?.linearizableRead, o?.serializableRead]) {
      expect(answer).toMatchObject({ ok: false, attempts: 0, lastError: 'no member reachable' });
    }
  });

  it('with one member down (the leader) a new leader is elected and takes writes', () => {
    for (const [n, mechanism] of [
      [3, 'kill'],
      [4, 'kill'],
      [3, 'isolate'],
      [4, 'isolate'],
    ] as const) {
      const cell = cellAt(n, 1, mechanism);
      expect(cell.observation?.leader.present, `${n} ${mechanism}`).toBe(true);
      expect(cell.observation?.leader.member).not.toBe(cell.leaderBefore);
      expect(cell.observation?.write.ok).toBe(true);
      expect(cell.observation?.linearizableRead.ok).toBe(true);
    }
  });

  it('4 members, 2 down: no quorum, exactly like 3 members with 2 down', () => {
    for (const mechanism of ['kill', 'isolate'] as const) {
      const o = cellAt(4, 2, mechanism).observation;
      expect(4 - 2).toBeLessThan(majority(4));
      expect(o?.write.ok).toBe(false);
      expect(o?.leader.present).toBe(false);
      expect(o?.serializableRead.ok).toBe(true);
    }
  });

  it('every leader on a minority side steps down within a few election timeouts (CheckQuorum)', () => {
    for (const cell of result.cells.filter((c) => c.mechanism === 'isolate' && c.down > 0)) {
      const stepDown = cell.observation?.stepDown;
      expect(stepDown?.member).toBe(cell.leaderBefore);
      // With a quorum left only the isolated members are on a minority side; without one, everyone is.
      expect(stepDown?.minoritySide).toEqual(
        cell.prediction?.quorum === true ? cell.targets : cell.observation?.reachable,
      );
      expect(stepDown?.steppedDown, `n=${cell.members} k=${cell.down}`).toBe(true);
      // CheckQuorum looks back one election timeout every election timeout, so within 2 × ET of the
      // cut; the time is counted from when the last rule was in place, hence no lower bound. 4 × ET
      // leaves room for a loaded machine while still failing a leader that never notices.
      expect(stepDown?.afterMs ?? Infinity).toBeLessThanOrEqual(4 * ELECTION_TIMEOUT_MS);
    }
  });

  it('isolated members still answer: 3 members, 2 isolated: writes refused, serializable read returns the earlier value', () => {
    const cell = cellAt(3, 2, 'isolate');
    expect(cell.observation?.reachable).toEqual(['m1', 'm2', 'm3']);
    expect(cell.observation?.write.ok).toBe(false);
    expect(cell.observation?.serializableRead.ok).toBe(true);
    expect(cell.observation?.linearizableRead.ok).toBe(false);
  });

  it('claims: 3 tolerates 1, 4 tolerates only 1, writes stop without quorum but data stays readable', () => {
    const claims = toleranceClaims(result.cells);
    expect(claims.map((c) => [c.name, c.verdict])).toEqual([
      ['3 members tolerate 1 down', 'held'],
      ['4 members tolerate only 1 down', 'held'],
    ]);
    const loss = quorumLossClaim(result.cells);
    expect(loss.verdict).toBe('held');
    // No-quorum cells: k = 2, 3 of 3 and k = 2, 3, 4 of 4, by both mechanisms.
    expect(loss.observed).toMatch(/^10 no-quorum cells: writes acknowledged in 0;/);
  });

  it('every acknowledged write is there after recovery, on both clusters', () => {
    expect(result.clusters.map((c) => c.members)).toEqual([3, 4]);
    for (const cluster of result.clusters) {
      expect(cluster.acknowledgedWrites?.status).toBe('ok');
      // At least each cell's sentinel and the write of each cell that kept its quorum were acknowledged.
      const own = result.cells.filter((c) => c.members === cluster.members);
      const minimum = own.length + own.filter((c) => c.observation?.write.ok === true).length;
      expect(cluster.acknowledgedWrites?.acknowledgedWrites ?? 0).toBeGreaterThanOrEqual(minimum);
    }
  });

  it('every cell recovered, every fault healed and nothing is left behind', async () => {
    for (const cell of result.cells) expect(cell.timings.recoveryMs).not.toBeNull();
    for (const cluster of result.clusters) {
      expect(cluster.faultResidue).toEqual([]);
      expect(await findLeftovers({ runId: String(cluster.environment.runId) })).toEqual(NOTHING_LEFT);
    }
  });
});
