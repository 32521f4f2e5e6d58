import type { Etcd3 } from 'etcd3';
import type { StartedEtcdCluster } from '../cluster/started-etcd-cluster.ts';
import { LabTimeoutError } from '../errors.ts';
import { sleep, type RunClock } from '../util/clock.ts';

export interface LeaseExpiryOptions {
  readonly clock: RunClock;
  /** TTL asked for. etcd raises anything under its minimum (about 1.5 × election timeout). */
  readonly ttlSeconds: number;
  /** How long the holder keeps the lease alive before it "crashes". Default 1 s. */
  readonly keepAliveForMs?: number;
  /**
   * Kill the leader this long after the holder stops renewing (a leader failover while the
   * lease runs down). Undefined: no failover.
   */
  readonly killLeaderAfterMs?: number;
  /** How often the key is checked. Default 10 ms. */
  readonly pollMs?: number;
}

export interface LeaseExpiry {
  readonly requestedTtlSeconds: number;
  /** What etcd granted (it raises a TTL below its minimum). */
  readonly grantedTtlSeconds: number;
  /** Return of the holder's last successful keep-alive: the lease's last renewal. */
  readonly lastRenewAtMs: number;
  /** First poll that found the key gone. */
  readonly keyGoneAtMs: number;
  /** keyGone − lastRenew: how long the lease really lived after its last renewal. */
  readonly livedAfterRenewMs: number;
  /** livedAfterRenew − granted TTL: how late etcd removed it. */
  readonly lateByMs: number;
  readonly failover?: {
    readonly killedLeader: string;
    readonly killedAtMs: number;
    readonly newLeader: string;
    readonly newLeaderAtMs: number;
    /** keyGone − (newLeader + granted TTL): etcd restarts the TTL on a new leader. */
    readonly goneAfterNewLeaderPlusTtlMs: number;
  };
}

const KEY = 'etcd-lab/lease-expiry';

/**
 * A lease holder that crashes: grant a lease, attach a key, keep it alive, then stop renewing
 * without revoking (as a dead process would) and watch for the key to disappear. Optionally
 * kill the leader meanwhile: a new leader gives every lease a fresh TTL (unless lease
 * checkpointing covers it), so the key outlives its TTL.
 */
export async function measureLeaseExpiry(
  cluster: StartedEtcdCluster,
  options: LeaseExpiryOptions,
): Promise<LeaseExpiry> {
  const { clock, ttlSeconds, keepAliveForMs = 1_000, pollMs = 10 } = options;
  const holder = cluster.client({ retries: true });
  const lease = holder.lease(ttlSeconds, { autoKeepAlive: true });
  lease.on('lost', () => undefined); // expected: the holder gives the lease up on purpose
  const id = await lease.grant();
  await lease.put(KEY).value('held');
  const granted = await holder.leaseClient.leaseTimeToLive({ ID: id });
  await sleep(keepAliveForMs);
  await lease.keepaliveOnce();
  const lastRenewAtMs = clock.now();
  lease.release(); // stop renewing, do not revoke: what a crashed holder does

  type Failover = Omit<NonNullable<LeaseExpiry['failover']>, 'goneAfterNewLeaderPlusTtlMs'>;
  const failoverDone: Promise<Failover | undefined> =
    options.killLeaderAfterMs === undefined
      ? Promise.resolve(undefined)
      : (async () => {
          await sleep(options.killLeaderAfterMs ?? 0);
          const { leader } = await cluster.waitForStableLeader();
          const killed = await cluster.kill(leader);
          const next = await cluster.waitForStableLeader({ pollMs: 10 });
          const newLeaderAtMs = clock.now();
          await cluster.start(leader);
          return {
            killedLeader: leader.name,
            killedAtMs: clock.fromPerformanceNow(killed.signalledAt),
            newLeader: next.leader.name,
            newLeaderAtMs,
          };
        })();

  const grantedTtlSeconds = Number(granted.grantedTTL);
  const keyGoneAtMs = await waitForKeyGone(
    cluster,
    clock,
    pollMs,
    lastRenewAtMs + 10 * grantedTtlSeconds * 1_000 + 30_000,
  );
  const failover = await failoverDone;
  const livedAfterRenewMs = keyGoneAtMs - lastRenewAtMs;
  const result: LeaseExpiry = {
    requestedTtlSeconds: ttlSeconds,
    grantedTtlSeconds,
    lastRenewAtMs,
    keyGoneAtMs,
    livedAfterRenewMs,
    lateByMs: livedAfterRenewMs - grantedTtlSeconds * 1_000,
  };
  const f = failover as LeaseExpiry['failover'];
  if (!f) return result;
  return {
    ...result,
    failover: {
      ...f,
      goneAfterNewLeaderPlusTtlMs: keyGoneAtMs - (f.newLeaderAtMs + grantedTtlSeconds * 1_000),
    },
  };
}

async function waitForKeyGone(
  cluster: StartedEtcdCluster,
  clock: RunClock,
  pollMs: number,
  deadlineMs: number,
) {
  const readers = new Map<string, Etcd3>();
  for (;;) {
    // Ask every running member (serializable: a member without a leader still answers);
    // the key is gone once any member has applied the revocation.
    for (const member of cluster.members.filter((m) => m.isUp)) {
      let reader = readers.get(member.name);
      if (!reader) {
        reader = cluster.memberClient(member, { callTimeoutMs: 500 });
        readers.set(member.name, reader);
      }
      try {
        const value = await reader.get(KEY).serializable(true).string();
        if (value === null) return clock.now();
      } catch {
        // a member being killed or restarted
      }
    }
    if (clock.now() > deadlineMs) throw new LabTimeoutError('the lease key never disappeared');
    await sleep(pollMs);
  }
}
