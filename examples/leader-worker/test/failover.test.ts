import { performance } from 'node:perf_hooks';
import { describe, expect } from 'vitest';
import type { EtcdFixture, FaultHandle } from 'etcd-lab';
import { createEtcdTest } from 'etcd-lab/vitest';
import { overlapMs } from '../src/tenures.ts';
import { Pool, report, waitFor } from './pool.ts';

// The configuration every bound below is derived from.
const HEARTBEAT_MS = 50;
const ELECTION_TIMEOUT_MS = 500;
const LEASE_TTL_SECONDS = 2;
const TTL_MS = LEASE_TTL_SECONDS * 1_000;
// etcd's lessor looks for expired leases every 500 ms (a constant in etcd, not a setting).
const LESSOR_CHECK_MS = 500;

/**
 * A lease nobody renews any more expires at most a TTL after the fault, is revoked within a lessor
 * check, and the revocation (a Raft commit) reaches the waiting candidates' watches within an
 * election timeout.
 */
const RESUME_BOUND_MS = TTL_MS + LESSOR_CHECK_MS + ELECTION_TIMEOUT_MS;
/**
 * Losing the etcd leader adds an election (two rounds of randomized timeouts: 4 × ET) and the new
 * leader's grace for every lease (etcd extends each lease by an election timeout on promotion).
 */
const RESUME_AFTER_LEADER_LOSS_BOUND_MS = 4 * ELECTION_TIMEOUT_MS + ELECTION_TIMEOUT_MS + RESUME_BOUND_MS;

/**
 * When the fault took effect, on performance.now()'s clock: the bounds below count from there,
 * not from the call, which under load can take a second or more before a kill's signal goes out
 * (a kill reports that instant; a freeze or a partition is in place when the call returns).
 */
function tookEffect(etcd: EtcdFixture, fault: FaultHandle): number {
  return etcd.clock.toPerformanceNow(fault.tookEffectAtMs ?? fault.injectedAtMs + fault.injectionLatencyMs);
}

// One cluster for the file; each test's faults are healed (and the members checked for residue)
// when the test ends.
const test = createEtcdTest({
  members: 3,
  etcdOptions: { heartbeatMs: HEARTBEAT_MS, electionTimeoutMs: ELECTION_TIMEOUT_MS },
});

describe('exactly one worker runs the job', () => {
  test('the etcd leader under the active worker is killed: it stops, another takes over in time', async ({
    etcd,
    cluster,
    faults,
  }) => {
    const leader = await cluster.leader();
    await using pool = await Pool.start(cluster, leader, {
      leaseTtlSeconds: LEASE_TTL_SECONDS,
      election: 'kill',
    });
    const killed = await faults.kill(leader);
    const faultAtMs = tookEffect(etcd, killed);
    const next = await pool.nextTenure(faultAtMs, 2 * RESUME_AFTER_LEADER_LOSS_BOUND_MS);
    await waitFor(() => !pool.holder.active, TTL_MS, 'the old holder to stop');
    await killed.heal();
    report('leader kill', pool, faultAtMs, next, RESUME_AFTER_LEADER_LOSS_BOUND_MS);

    expect(pool.holder.tenures[0]!.endMs! - faultAtMs).toBeLessThanOrEqual(TTL_MS);
    expect(next.startMs - faultAtMs).toBeLessThanOrEqual(RESUME_AFTER_LEADER_LOSS_BOUND_MS);
    expect(overlapMs(pool.tenures, performance.now())).toBe(0);
  });

  test('the member the active worker talks to is paused: it stops, another takes over in time', async ({
    etcd,
    cluster,
    faults,
  }) => {
    await cluster.waitForConvergence();
    const [member] = await cluster.followers();
    await using pool = await Pool.start(cluster, member!, {
      leaseTtlSeconds: LEASE_TTL_SECONDS,
      election: 'pause',
    });
    const paused = await faults.pause(member!);
    const faultAtMs = tookEffect(etcd, paused);
    const next = await pool.nextTenure(faultAtMs, 2 * RESUME_BOUND_MS);
    await paused.heal();
    report('pause', pool, faultAtMs, next, RESUME_BOUND_MS);

    expect(pool.holder.tenures[0]!.endedBy).toBe('fenced');
    expect(pool.holder.tenures[0]!.endMs! - faultAtMs).toBeLessThanOrEqual(TTL_MS);
    expect(next.startMs - faultAtMs).toBeLessThanOrEqual(RESUME_BOUND_MS);
    expect(overlapMs(pool.tenures, performance.now())).toBe(0);
  });

  test('the member the active worker talks to is partitioned off: it stops, another takes over in time', async ({
    etcd,
    cluster,
    faults,
  }) => {
    await cluster.waitForConvergence();
    const [member] = await cluster.followers();
    await using pool = await Pool.start(cluster, member!, {
      leaseTtlSeconds: LEASE_TTL_SECONDS,
      election: 'isolate',
    });
    const isolated = await faults.isolate(member!);
    const faultAtMs = tookEffect(etcd, isolated);
    const next = await pool.nextTenure(faultAtMs, 2 * RESUME_BOUND_MS);
    await isolated.heal();
    report('partition', pool, faultAtMs, next, RESUME_BOUND_MS);

    expect(pool.holder.tenures[0]!.endedBy).toBe('fenced');
    expect(pool.holder.tenures[0]!.endMs! - faultAtMs).toBeLessThanOrEqual(TTL_MS);
    expect(next.startMs - faultAtMs).toBeLessThanOrEqual(RESUME_BOUND_MS);
    expect(overlapMs(pool.tenures, performance.now())).toBe(0);
  });

  test('without its own deadline a worker keeps working after its lease is gone: the overlap shows it', async ({
    etcd,
    cluster,
    faults,
  }) => {
    await cluster.waitForConvergence();
    const [member] = await cluster.followers();
    await using pool = await Pool.start(cluster, member!, {
      leaseTtlSeconds: LEASE_TTL_SECONDS,
      election: 'unfenced',
      fencing: false,
    });
    const paused = await faults.pause(member!);
    const faultAtMs = tookEffect(etcd, paused);
    const next = await pool.nextTenure(faultAtMs, 2 * RESUME_BOUND_MS);
    // etcd3 reports the lease lost some time after it expired in etcd (up to 2 × TTL after the
    // last keepalive): until then the old holder works on next to the new one.
    await waitFor(() => !pool.holder.active, 3 * TTL_MS, 'the old holder to see its lease lost');
    await paused.heal();
    report('pause, no deadline', pool, faultAtMs, next, RESUME_BOUND_MS);

    expect(pool.holder.tenures[0]!.endedBy).toBe('lease-lost');
    expect(overlapMs(pool.tenures, performance.now())).toBeGreaterThan(0);
  });
});
