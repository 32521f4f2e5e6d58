import type { Campaign, Etcd3, Lease } from 'etcd3';
import type { StartedEtcdCluster } from '../cluster/started-etcd-cluster.ts';
import type { ExclusivityResult, Tenure } from '../checks/exclusivity/index.ts';
import { isolate } from '../faults/network/partition.ts';
import { LabTimeoutError } from '../errors.ts';
import { sleep, type RunClock } from '../util/clock.ts';
import { metricValue } from '../measure/metrics.ts';

export interface LeaseElectionOptions {
  readonly clock: RunClock;
  /** Session (lease) TTL of each candidate, in seconds. */
  readonly ttlSeconds: number;
  /** Number of candidates campaigning (like kube-controller-manager replicas). Default 3. */
  readonly candidates?: number;
  /** How long keep-alive load is measured while one leader holds the election. Default 3 s. */
  readonly loadWindowMs?: number;
  /**
   * What happens to the elected candidate. 'crash' (default): its process dies — its lease is no
   * longer renewed and it believes nothing any more. 'isolate': its process keeps running but is
   * cut off from etcd — each candidate's client talks to one follower of the moment (candidate i
   * to follower i mod (n − 1)) and the holder's member is isolated — so it keeps believing it
   * leads until etcd3 tells it it lost (see `LeaseElectionFailover.tenures`).
   */
  readonly holderFault?: 'crash' | 'isolate';
}

export interface LeaseElectionFailover {
  readonly ttlSeconds: number;
  readonly candidates: number;
  readonly firstLeader: string;
  readonly nextLeader: string;
  /** From the leader's crash (its client gone, no resign) to another candidate being elected. */
  readonly failoverMs: number;
  /** Lease renewals etcd performed per second while the election was steady (all candidates). */
  readonly keepAlivesPerSecond: number;
  readonly holderFault?: 'crash' | 'isolate';
  /**
   * Each candidate's belief that it leads, on the run's clock: from etcd3's 'elected' callback to
   * its 'error' callback (the campaign's lease lost: 'lost'), the crash of its process, or the
   * end of the measurement ('run-end'). An isolated holder's tenure stays open (lostMs null) if
   * etcd3 has not told it by then. Absent in older results.
   */
  readonly tenures?: readonly Tenure[];
  /** The exclusivity checker's answer on `tenures` (added by the runner; absent in older results). */
  readonly exclusivity?: ExclusivityResult;
}

/**
 * The controller-manager pattern: K candidates campaign through etcd's election API, each
 * with its own session lease. The elected one "crashes" (its client is closed without
 * resigning, so its lease simply stops being renewed); the time until another candidate is
 * elected is the failover time. Before the crash, the renewals etcd counts show the load
 * the keep-alives put on it. Shorter TTL: faster failover, more load.
 */
export async function measureLeaseElectionFailover(
  cluster: StartedEtcdCluster,
  options: LeaseElectionOptions,
): Promise<LeaseElectionFailover> {
  const { clock, ttlSeconds, candidates = 3, loadWindowMs = 3_000, holderFault = 'crash' } = options;
  const electionName = `etcd-lab/election-${Date.now().toString(36)}`;
  const clients: Etcd3[] = [];
  const campaigns: Campaign[] = [];
  const electedAt = new Map<string, number>();
  const endedAt = new Map<string, { atMs: number; by: 'lost' | 'run-end' }>();
  const tenures = (): Tenure[] =>
    [...electedAt].map(([candidate, acquiredMs]) => {
      const end = endedAt.get(candidate);
      return { candidate, acquiredMs, lostMs: end?.atMs ?? null, ...(end ? { endedBy: end.by } : {}) };
    });
  // Isolated: candidates talk to the followers of the moment only. Isolating etcd's leader would
  // also move leadership, and a new leader extends every lease by its TTL (the lessor's
  // promotion), which would measure that election rather than the holder's belief.
  const leader = holderFault === 'isolate' ? (await cluster.waitForStableLeader()).leader.name : '';
  const members = cluster.members.map((m) => m.name).filter((name) => name !== leader);
  let healIsolation: (() => Promise<void>) | undefined;
  try {
    for (let i = 1; i <= candidates; i++) {
      const name = `candidate-${i}`;
      // Each candidate is its own process in real life: its own client and session lease.
      const member = members[(i - 1) % members.length];
      const client =
        holderFault === 'isolate' && member !== undefined
          ? cluster.memberClient(member, { retries: true })
          : cluster.client({ retries: true });
      clients.push(client);
      const campaign = client.election(electionName, ttlSeconds).campaign(name);
      campaigns.push(campaign);
      campaign.on('elected', () => electedAt.set(name, clock.now()));
      // etcd3 says a campaign lost its lease this way (the crashed candidate's ends this way too).
      campaign.on('error', () => {
        if (electedAt.has(name) && !endedAt.has(name)) endedAt.set(name, { atMs: clock.now(), by: 'lost' });
      });
    }
    const first = await waitFor(() => [...electedAt.keys()][0], clock, 30_000, 'no candidate was elected');

    const renewedBefore = await renewedTotal(cluster);
    const windowStart = clock.now();
    await sleep(loadWindowMs);
    const keepAlivesPerSecond =
      ((await renewedTotal(cluster)) - renewedBefore) / ((clock.now() - windowStart) / 1_000);

    const crashed = Number(first.split('-')[1]) - 1;
    const crashedAt = clock.now();
    if (holderFault === 'isolate') {
      const handle = await isolate(members[crashed % members.length] ?? 'm1').inject({ cluster, clock });
      healIsolation = () => handle.heal();
    } else {
      crash(campaigns[crashed]);
      clients[crashed]?.close();
      endedAt.set(first, { atMs: crashedAt, by: 'run-end' }); // its process is gone: no belief left
    }
    const next = await waitFor(
      () => [...electedAt.keys()].find((name) => name !== first),
      clock,
      ttlSeconds * 1_000 + 30_000,
      `no candidate took over within ${ttlSeconds} s + 30 s`,
    );
    if (holderFault === 'isolate') {
      // etcd3 gives up on a lease 2 × TTL after its last renewal, checked when a keep-alive
      // stream has been silent for a TTL: the holder hears it lost within about 3 × TTL.
      await waitFor(() => endedAt.get(first), clock, 4 * ttlSeconds * 1_000 + 5_000, '').catch(
        () => undefined,
      );
    }
    const endMs = clock.now();
    for (const candidate of electedAt.keys())
      if (!endedAt.has(candidate) && !(holderFault === 'isolate' && candidate === first))
        endedAt.set(candidate, { atMs: endMs, by: 'run-end' });
    return {
      ttlSeconds,
      candidates,
      firstLeader: first,
      nextLeader: next,
      failoverMs: (electedAt.get(next) ?? NaN) - crashedAt,
      keepAlivesPerSecond,
      holderFault,
      tenures: tenures(),
    };
  } finally {
    await healIsolation?.().catch(() => undefined);
    // Closing an etcd3 client does not stop its leases' keep-alive timers (they reconnect),
    // so end every session explicitly or the next measurement counts its renewals too.
    for (const campaign of campaigns) crash(campaign);
    await Promise.all(campaigns.map((campaign) => cancelWatches(campaign)));
    for (const client of clients) client.close();
  }
}

/**
 * A candidate still waiting for its turn has a watch open (etcd3's campaign waits for the keys
 * ahead of it to be deleted) that nothing public cancels. Closing the client does not end it:
 * etcd3's watch manager reopens the stream on a closed client every backoff, forever, and that
 * timer keeps the process alive after the run. So each watch is cancelled first (2 s at most).
 */
async function cancelWatches(campaign: Campaign): Promise<void> {
  // The campaign's namespace (the election's prefix) has its own watch manager.
  const manager = (
    campaign as unknown as {
      namespace?: { watchManager?: { watchers?: { cancel(): Promise<void> }[] } };
    }
  ).namespace?.watchManager;
  await Promise.all(
    [...(manager?.watchers ?? [])].map((watcher) =>
      Promise.race([watcher.cancel(), sleep(2_000)]).catch(() => undefined),
    ),
  );
}

/**
 * A crashed process stops renewing its session lease and never resigns. etcd3 keeps the
 * campaign's lease private; releasing it stops the keep-alives without a revoke.
 */
function crash(campaign: Campaign | undefined): void {
  (campaign as unknown as { lease?: Lease } | undefined)?.lease?.release();
}

/** Lease renewals counted by every member (only the leader renews, so the sum is the cluster's). */
async function renewedTotal(cluster: StartedEtcdCluster): Promise<number> {
  const texts = await Promise.all(cluster.members.filter((m) => m.isUp).map((m) => cluster.metrics(m)));
  return texts.reduce((sum, text) => sum + (metricValue(text, 'etcd_debugging_lease_renewed_total') || 0), 0);
}

async function waitFor<T>(
  probe: () => T | undefined,
  clock: RunClock,
  timeoutMs: number,
  message: string,
): Promise<T> {
  const deadline = clock.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (clock.now() > deadline) throw new LabTimeoutError(message);
    await sleep(5);
  }
}
