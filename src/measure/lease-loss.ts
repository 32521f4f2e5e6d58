import type { Etcd3 } from 'etcd3';
import type { StartedEtcdCluster } from '../cluster/started-etcd-cluster.ts';
import { LabTimeoutError } from '../errors.ts';
import { sleep, type RunClock } from '../util/clock.ts';

export interface LeaseLossOptions {
  readonly clock: RunClock;
  /** TTL asked for (etcd raises anything under its minimum, about 1.5 × election timeout). */
  readonly ttlSeconds: number;
  /** How long the holder keeps the lease alive normally before the freeze. Default 1.5 s. */
  readonly keepAliveForMs?: number;
  /**
   * How long every member stays frozen. Default 3 × TTL + 2 s: past the point where etcd3
   * gives up (it declares the lease lost only once a reconnect attempt finds the last
   * successful keep-alive more than 2 × TTL ago).
   */
  readonly freezeMs?: number;
  /** How long after the unfreeze to wait for the key to go. Default TTL + 10 s. */
  readonly afterUnfreezeMs?: number;
}

/** When a lease holder learned its lease was lost while the whole cluster was frozen. */
export interface LeaseLoss {
  readonly requestedTtlSeconds: number;
  readonly grantedTtlSeconds: number;
  /** Every member frozen (the last pause returned). */
  readonly frozenAtMs: number;
  readonly unfrozenAtMs: number;
  /** The holder's last keep-alive answered by etcd before the freeze (etcd3's 'keepaliveSucceeded'). */
  readonly lastKeepAliveAtMs: number;
  /** A keep-alive succeeded after the unfreeze: the lease outlived the freeze. */
  readonly renewedAfterUnfreeze: boolean;
  /** etcd3's Lease emitted 'lost'; undefined if it never did within the wait. */
  readonly lostAtMs: number | undefined;
  /** lost − last keep-alive: how long the holder went on believing it held the lease. */
  readonly lostAfterLastKeepAliveMs: number | undefined;
  /** The error 'lost' carried (class: message). */
  readonly lostError: string | undefined;
  /** 'keepaliveFailed' events between the freeze and 'lost': the client's silent retries. */
  readonly keepAliveFailures: number;
  /** First serializable read, after the unfreeze, that found the key gone. */
  readonly keyGoneAtMs: number | undefined;
}

const KEY = 'etcd-lab/lease-loss';

/**
 * Client side of a lease: the holder keeps renewing (etcd3's automatic keep-alive, every
 * TTL/3) while every member is frozen, so no renewal is answered and nobody can expire the
 * lease either. Measures when the holder's Lease object emits 'lost', relative to its last
 * successful keep-alive and to the TTL; then unfreezes and watches for the key to go.
 */
export async function measureClientLeaseLoss(
  cluster: StartedEtcdCluster,
  options: LeaseLossOptions,
): Promise<LeaseLoss> {
  const { clock, ttlSeconds, keepAliveForMs = 1_500 } = options;
  const freezeMs = options.freezeMs ?? 3 * ttlSeconds * 1_000 + 2_000;
  const afterUnfreezeMs = options.afterUnfreezeMs ?? ttlSeconds * 1_000 + 10_000;
  const holder = cluster.client({ retries: true });
  const lease = holder.lease(ttlSeconds, { autoKeepAlive: true });
  let lastKeepAliveAtMs = clock.now();
  let lostAtMs: number | undefined;
  let lostError: string | undefined;
  let keepAliveFailures = 0;
  let frozen = false;
  let unfrozen = false;
  let renewedAfterUnfreeze = false;
  lease.on('keepaliveSucceeded', () => {
    if (unfrozen) renewedAfterUnfreeze = true;
    else if (!frozen) lastKeepAliveAtMs = clock.now();
  });
  lease.on('keepaliveFailed', () => {
    if (frozen && lostAtMs === undefined) keepAliveFailures += 1;
  });
  lease.on('lost', (error: Error) => {
    lostAtMs ??= clock.now();
    lostError ??= `${error.constructor.name}: ${error.message}`;
  });
  await lease.grant();
  await lease.put(KEY).value('held');
  const granted = await holder.leaseClient.leaseTimeToLive({ ID: await lease.grant() });
  const grantedTtlSeconds = Number(granted.grantedTTL);
  await sleep(keepAliveForMs);

  const members = cluster.members.filter((m) => m.isUp);
  let frozenAtMs = NaN;
  let unfrozenAtMs = NaN;
  try {
    // All at once: a cluster frozen member by member would hold an election in between.
    await Promise.all(members.map((m) => cluster.pause(m)));
    frozen = true;
    frozenAtMs = clock.now();
    const thawAt = frozenAtMs + freezeMs;
    while (clock.now() < thawAt) await sleep(10);
  } finally {
    await Promise.all(members.filter((m) => m.state === 'paused').map((m) => cluster.unpause(m)));
    unfrozenAtMs = clock.now();
    unfrozen = true;
  }

  const keyGoneAtMs = await waitForKeyGone(cluster, clock, unfrozenAtMs + afterUnfreezeMs).catch(
    (error: unknown) => {
      if (error instanceof LabTimeoutError) return undefined;
      throw error;
    },
  );
  // 'lost' may come only after the unfreeze (etcd answers the next keep-alive: not found).
  const lostDeadline = clock.now() + 2 * ttlSeconds * 1_000 + 2_000;
  while (lostAtMs === undefined && clock.now() < lostDeadline) await sleep(10);
  lease.release();
  holder.close();
  return {
    requestedTtlSeconds: ttlSeconds,
    grantedTtlSeconds,
    frozenAtMs,
    unfrozenAtMs,
    lastKeepAliveAtMs,
    renewedAfterUnfreeze,
    lostAtMs,
    lostAfterLastKeepAliveMs: lostAtMs === undefined ? undefined : lostAtMs - lastKeepAliveAtMs,
    lostError,
    keepAliveFailures,
    keyGoneAtMs,
  };
}

async function waitForKeyGone(
  cluster: StartedEtcdCluster,
  clock: RunClock,
  deadlineMs: number,
): Promise<number> {
  const readers: Etcd3[] = cluster.members.map((m) => cluster.memberClient(m, { callTimeoutMs: 500 }));
  try {
    for (;;) {
      for (const reader of readers) {
        try {
          if ((await reader.get(KEY).serializable(true).string()) === null) return clock.now();
        } catch {
          // a member still waking up
        }
      }
      if (clock.now() > deadlineMs) throw new LabTimeoutError('the lease key never disappeared');
      await sleep(10);
    }
  } finally {
    for (const reader of readers) reader.close();
  }
}
