import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EtcdCluster } from '../../src/cluster/etcd-cluster.ts';
import type { StartedEtcdCluster } from '../../src/cluster/started-etcd-cluster.ts';
import { measureLeaseExpiry } from '../../src/measure/lease-expiry.ts';
import { RunClock } from '../../src/util/clock.ts';

const HEARTBEAT_MS = 100;
const ELECTION_TIMEOUT_MS = 1_000;
/** etcd's lessor looks for expired leases every 500 ms, so a key may outlive its TTL by that much. */
const REVOKE_CHECK_MS = 500;
const NOISE_MS = 300;

describe('lease expiry when the holder stops renewing (no revoke)', () => {
  let cluster: StartedEtcdCluster;
  const clock = new RunClock();
  beforeAll(async () => {
    cluster = await new EtcdCluster()
      .withMembers(3)
      .withEtcdOptions({ heartbeatMs: HEARTBEAT_MS, electionTimeoutMs: ELECTION_TIMEOUT_MS })
      .start();
  });
  afterAll(async () => {
    await cluster.dispose();
  });

  it('removes the key a TTL after the last renewal, late by at most the revoke check interval', async () => {
    const expiry = await measureLeaseExpiry(cluster, { clock, ttlSeconds: 2 });
    expect(expiry.grantedTtlSeconds).toBe(2);
    expect(expiry.livedAfterRenewMs).toBeGreaterThanOrEqual(2_000 - 50);
    expect(expiry.lateByMs).toBeLessThan(REVOKE_CHECK_MS + NOISE_MS);
  });

  it('raises a TTL below its minimum (1.5 × election timeout, in whole seconds) and honours the raised one', async () => {
    const minimumSeconds = Math.ceil((((3 * ELECTION_TIMEOUT_MS) / HEARTBEAT_MS / 2) * HEARTBEAT_MS) / 1_000);
    const expiry = await measureLeaseExpiry(cluster, { clock, ttlSeconds: 1 });
    expect(expiry.requestedTtlSeconds).toBe(1);
    expect(expiry.grantedTtlSeconds).toBe(minimumSeconds);
    expect(expiry.livedAfterRenewMs).toBeGreaterThanOrEqual(minimumSeconds * 1_000 - 50);
  });

  it('restarts the TTL on a new leader: the key lives until new leader + TTL + one election timeout', async () => {
    const expiry = await measureLeaseExpiry(cluster, { clock, ttlSeconds: 2, killLeaderAfterMs: 1_000 });
    const failover = expiry.failover;
    expect(failover).toBeDefined();
    // Without failover it would be gone ~2 s after the last renewal; now it is much later.
    expect(expiry.livedAfterRenewMs).toBeGreaterThan(2_000 + ELECTION_TIMEOUT_MS);
    // The new leader extends every lease by its election timeout when it takes over.
    expect(failover?.goneAfterNewLeaderPlusTtlMs).toBeGreaterThan(ELECTION_TIMEOUT_MS - NOISE_MS);
    expect(failover?.goneAfterNewLeaderPlusTtlMs).toBeLessThan(
      ELECTION_TIMEOUT_MS + REVOKE_CHECK_MS + NOISE_MS,
    );
  });
});
