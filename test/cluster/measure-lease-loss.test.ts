import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EtcdCluster } from '../../src/cluster/etcd-cluster.ts';
import type { StartedEtcdCluster } from '../../src/cluster/started-etcd-cluster.ts';
import { measureClientLeaseLoss } from '../../src/measure/lease-loss.ts';
import { RunClock } from '../../src/util/clock.ts';

const ELECTION_TIMEOUT_MS = 1_000;
const TTL_SECONDS = 2;
const TTL_MS = TTL_SECONDS * 1_000;
/** etcd's lessor looks for expired leases every 500 ms. */
const REVOKE_CHECK_MS = 500;
const NOISE_MS = 500;

describe('when the lease holder learns its lease is lost (whole cluster frozen)', () => {
  let cluster: StartedEtcdCluster;
  const clock = new RunClock();
  beforeAll(async () => {
    cluster = await new EtcdCluster()
      .withMembers(3)
      .withEtcdOptions({ heartbeatMs: 100, electionTimeoutMs: ELECTION_TIMEOUT_MS })
      .start();
  });
  afterAll(async () => {
    await cluster.dispose();
  });

  it('frozen for longer than 2 × TTL: the holder hears "lost" only after 2 × TTL without an answer', async () => {
    const loss = await measureClientLeaseLoss(cluster, { clock, ttlSeconds: TTL_SECONDS });
    console.log(
      `[figure] lease lost, frozen ${loss.unfrozenAtMs - loss.frozenAtMs} ms: ${JSON.stringify(loss)}`,
    );
    expect(loss.grantedTtlSeconds).toBe(TTL_SECONDS);
    expect(loss.lostAtMs).toBeDefined();
    // etcd3 declares the lease lost while the cluster is still frozen…
    expect(loss.lostAtMs ?? Infinity).toBeLessThan(loss.unfrozenAtMs);
    // …but not before 2 × TTL since the last answered keep-alive (its reconnect check), and
    // at most one more stream timeout (TTL) plus its 100 ms retry delay later.
    expect(loss.lostAfterLastKeepAliveMs ?? 0).toBeGreaterThan(2 * TTL_MS);
    expect(loss.lostAfterLastKeepAliveMs ?? Infinity).toBeLessThan(3 * TTL_MS + NOISE_MS);
    expect(loss.keepAliveFailures).toBeGreaterThanOrEqual(1);
    expect(loss.renewedAfterUnfreeze).toBe(false);
    // Nobody could expire it while frozen; once thawed, the leader revokes it at its next check.
    expect(loss.keyGoneAtMs).toBeDefined();
    expect((loss.keyGoneAtMs ?? Infinity) - loss.unfrozenAtMs).toBeLessThan(
      REVOKE_CHECK_MS + ELECTION_TIMEOUT_MS + NOISE_MS,
    );
  });

  it('frozen for 1.5 × TTL: the lease has expired on the thawed leader and the holder cannot renew it', async () => {
    await cluster.waitForStableLeader();
    const loss = await measureClientLeaseLoss(cluster, {
      clock,
      ttlSeconds: TTL_SECONDS,
      freezeMs: 1.5 * TTL_MS,
    });
    console.log(
      `[figure] lease lost, frozen ${loss.unfrozenAtMs - loss.frozenAtMs} ms: ${JSON.stringify(loss)}`,
    );
    expect(loss.keyGoneAtMs).toBeDefined();
    expect(loss.lostAtMs).toBeDefined();
    expect(loss.renewedAfterUnfreeze).toBe(false);
  });
});
