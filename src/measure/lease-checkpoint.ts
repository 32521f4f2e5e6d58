import type { Etcd3 } from 'etcd3';
import type { StartedEtcdCluster } from '../cluster/started-etcd-cluster.ts';
import { LabTimeoutError } from '../errors.ts';
import { sleep, type RunClock } from '../util/clock.ts';

/**
 * etcd's lessor checkpoints a lease's remaining TTL every 5 minutes, and only leases whose
 * remaining TTL exceeds those 5 minutes. The interval is fixed in every etcd the lab runs
 * (3.4.23, 3.5.16, 3.5.30): defaultLeaseCheckpointInterval in lease/lessor.go. No flag or
 * config-file key sets it (--experimental-enable-lease-checkpoint and …-persist only turn
 * checkpointing on); only Go code can, through etcdserver's ServerConfig.LeaseCheckpointInterval,
 * as etcd's integration tests do (docs/plans/etcd-versions-from-debian.md §0.1). A measurement
 * therefore needs a TTL above 300 s and a failover more than 300 s after the grant. (The name
 * says 3.4, where the lab first measured it; 3.5 is the same.)
 */
export const ETCD_34_LEASE_CHECKPOINT_INTERVAL_MS = 300_000;

export interface LeaseCheckpointOptions {
  readonly clock: RunClock;
  /** Must exceed the checkpoint interval (a fixed 300 s) for a checkpoint to be scheduled. Default 330 s. */
  readonly ttlSeconds?: number;
  /** Kill the leader this long after the grant: past the first checkpoint. Default 305 s. */
  readonly killLeaderAfterMs?: number;
  /** Wait for the key to go (up to the original deadline + 30 s) instead of only reading the TTL. Default true. */
  readonly waitForExpiry?: boolean;
}

export interface LeaseCheckpointResult {
  readonly grantedTtlSeconds: number;
  /** The grant returned (the holder then crashed: no keep-alive, no revoke). */
  readonly grantedAtMs: number;
  readonly killedLeader: string;
  readonly killedAtMs: number;
  readonly newLeader: string;
  readonly newLeaderAtMs: number;
  /** What the new leader says is left (LeaseTimeToLive right after the failover). */
  readonly remainingTtlAfterFailoverSeconds: number;
  /** What would be left had the lease kept its original deadline. */
  readonly originalRemainingSeconds: number;
  /** First poll that found the key gone; undefined when not waited for or not gone by the deadline. */
  readonly keyGoneAtMs: number | undefined;
  /** keyGone − (grant + TTL): how much later than its original deadline the key went. */
  readonly goneAfterOriginalDeadlineMs: number | undefined;
}

const KEY = 'etcd-lab/lease-checkpoint';

/**
 * Does a lease keep its deadline across a leader failover? Grant a long lease, let the holder
 * crash at once, kill the leader after the first checkpoint, and ask the new leader what is
 * left. Without checkpointing the new leader restarts the full TTL; with it, the remaining
 * TTL as of the last checkpoint (so the key still outlives its original deadline by the time
 * since that checkpoint plus the election timeout every lease gets on promotion).
 */
export async function measureLeaseCheckpoint(
  cluster: StartedEtcdCluster,
  options: LeaseCheckpointOptions,
): Promise<LeaseCheckpointResult> {
  const { clock, ttlSeconds = 330, killLeaderAfterMs = 305_000, waitForExpiry = true } = options;
  const holder = cluster.client({ retries: true });
  const granted = await holder.leaseClient.leaseGrant({ TTL: ttlSeconds });
  const grantedAtMs = clock.now();
  await holder.put(KEY).value('held').lease(granted.ID);
  const grantedTtlSeconds = Number(granted.TTL);

  await sleep(killLeaderAfterMs - (clock.now() - grantedAtMs));
  const { leader } = await cluster.waitForStableLeader();
  const killed = await cluster.kill(leader);
  const next = await cluster.waitForStableLeader({ pollMs: 10 });
  const newLeaderAtMs = clock.now();
  const ttl = await cluster
    .memberClient(next.leader, { retries: true })
    .leaseClient.leaseTimeToLive({ ID: granted.ID });
  await cluster.start(leader);

  const originalDeadlineMs = grantedAtMs + grantedTtlSeconds * 1_000;
  const keyGoneAtMs = waitForExpiry
    ? await waitForKeyGone(holder, clock, originalDeadlineMs + 30_000)
    : undefined;
  holder.close();
  return {
    grantedTtlSeconds,
    grantedAtMs,
    killedLeader: leader.name,
    killedAtMs: clock.fromPerformanceNow(killed.signalledAt),
    newLeader: next.leader.name,
    newLeaderAtMs,
    remainingTtlAfterFailoverSeconds: Number(ttl.TTL),
    originalRemainingSeconds: (originalDeadlineMs - newLeaderAtMs) / 1_000,
    keyGoneAtMs,
    goneAfterOriginalDeadlineMs: keyGoneAtMs === undefined ? undefined : keyGoneAtMs - originalDeadlineMs,
  };
}

async function waitForKeyGone(
  client: Etcd3,
  clock: RunClock,
  deadlineMs: number,
): Promise<number | undefined> {
  for (;;) {
    try {
      if ((await client.get(KEY).string()) === null) return clock.now();
    } catch (error) {
      if (error instanceof LabTimeoutError) throw error;
    }
    if (clock.now() > deadlineMs) return undefined;
    await sleep(100);
  }
}
