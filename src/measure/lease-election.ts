import type { Campaign, Etcd3, Lease } from 'etcd3';
import type { StartedEtcdCluster } from '../cluster/started-etcd-cluster.ts';
import { LabTimeoutError } from '../errors.ts';
import { sleep, type RunClock } from '../util/clock.ts';
import { metricValue } from './metrics.ts';

export interface LeaseElectionOptions {
  readonly clock: RunClock;
  /** Session (lease) TTL of each candidate, in seconds. */
  readonly ttlSeconds: number;
  /** Number of candidates campaigning (like kube-controller-manager replicas). Default 3. */
  readonly candidates?: number;
  /** How long keep-alive load is measured while one leader holds the election. Default 3 s. */
  readonly loadWindowMs?: number;
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
  const { clock, ttlSeconds, candidates = 3, loadWindowMs = 3_000 } = options;
  const electionName = `etcd-lab/election-${Date.now().toString(36)}`;
  const clients: Etcd3[] = [];
  const campaigns: Campaign[] = [];
  const electedAt = new Map<string, number>();
  try {
    for (let i = 1; i <= candidates; i++) {
      const name = `candidate-${i}`;
      // Each candidate is its own process in real life: its own client and session lease.
      const client = cluster.client({ retries: true });
      clients.push(client);
      const campaign = client.election(electionName, ttlSeconds).campaign(name);
      campaigns.push(campaign);
      campaign.on('elected', () => electedAt.set(name, clock.now()));
      campaign.on('error', () => undefined); // the crashed candidate's campaign ends this way
    }
    const first = await waitFor(() => [...electedAt.keys()][0], clock, 30_000, 'no candidate was elected');

    const renewedBefore = await renewedTotal(cluster);
    const windowStart = clock.now();
    await sleep(loadWindowMs);
    const keepAlivesPerSecond =
      ((await renewedTotal(cluster)) - renewedBefore) / ((clock.now() - windowStart) / 1_000);

    const crashed = Number(first.split('-')[1]) - 1;
    const crashedAt = clock.now();
    crash(campaigns[crashed]);
    clients[crashed]?.close();
    const next = await waitFor(
      () => [...electedAt.keys()].find((name) => name !== first),
      clock,
      ttlSeconds * 1_000 + 30_000,
      `no candidate took over within ${ttlSeconds} s + 30 s`,
    );
    return {
      ttlSeconds,
      candidates,
      firstLeader: first,
      nextLeader: next,
      failoverMs: (electedAt.get(next) ?? NaN) - crashedAt,
      keepAlivesPerSecond,
    };
  } finally {
    // Closing an etcd3 client does not stop its leases' keep-alive timers (they reconnect),
    // so end every session explicitly or the next measurement counts its renewals too.
    for (const campaign of campaigns) crash(campaign);
    for (const client of clients) client.close();
  }
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
