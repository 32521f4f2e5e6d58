import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EtcdCluster } from '../../src/cluster/etcd-cluster.ts';
import type { StartedEtcdCluster } from '../../src/cluster/started-etcd-cluster.ts';
import {
  measureLeaseElectionFailover,
  type LeaseElectionFailover,
} from '../../src/run/lease-election-failover.ts';
import { RunClock } from '../../src/util/clock.ts';

const TTLS_SECONDS = [2, 4, 8];
const CANDIDATES = 3;

describe('leader election on leases (the controller-manager pattern) at TTL 2, 4 and 8 s', () => {
  let cluster: StartedEtcdCluster;
  const results: LeaseElectionFailover[] = [];
  beforeAll(async () => {
    cluster = await new EtcdCluster().withMembers(3).start();
    const clock = new RunClock();
    for (const ttlSeconds of TTLS_SECONDS) {
      results.push(
        await measureLeaseElectionFailover(cluster, { clock, ttlSeconds, candidates: CANDIDATES }),
      );
    }
  }, 180_000);
  afterAll(async () => {
    await cluster.dispose();
  });

  it('hands leadership to another candidate once the crashed leader’s lease expires', () => {
    for (const r of results) {
      expect(r.nextLeader).not.toBe(r.firstLeader);
      // etcd3 renews every TTL/3, so at the crash at least 2/3 of the TTL was left…
      expect(r.failoverMs).toBeGreaterThanOrEqual((2 / 3) * r.ttlSeconds * 1_000 - 100);
      // …and at most the TTL, plus etcd's 500 ms expiry check, plus the watch that wakes the next candidate.
      expect(r.failoverMs).toBeLessThan(r.ttlSeconds * 1_000 + 2_500);
    }
  });

  it('fails over more slowly with a longer TTL…', () => {
    const failovers = results.map((r) => r.failoverMs);
    expect(failovers[1]).toBeGreaterThan(failovers[0] ?? Infinity);
    expect(failovers[2]).toBeGreaterThan(failovers[1] ?? Infinity);
  });

  it('…but puts less keep-alive load on etcd (about candidates × 3 / TTL renewals per second)', () => {
    const loads = results.map((r) => r.keepAlivesPerSecond);
    expect(loads[1]).toBeLessThan(loads[0] ?? 0);
    expect(loads[2]).toBeLessThan(loads[1] ?? 0);
    for (const r of results) {
      const expected = (CANDIDATES * 3) / r.ttlSeconds;
      expect(r.keepAlivesPerSecond).toBeGreaterThan(expected * 0.5);
      expect(r.keepAlivesPerSecond).toBeLessThan(expected * 1.6);
    }
  });
});
