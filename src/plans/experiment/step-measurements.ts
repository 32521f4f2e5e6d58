import { PEER_PORT } from '../../cluster/etcd-options.ts';
import type { StartedEtcdCluster } from '../../cluster/started-etcd-cluster.ts';
import { connectRtts } from '../../faults/network/netns-rtt.ts';
import type { OperationRecord } from '../../history/operation-record.ts';
import { metricValue } from '../../measure/metrics.ts';
import { sleep, type RunClock } from '../../util/clock.ts';

/** Measurements taken around one fault step, beyond what the workload and the tracker record. */

const PEER_RTT_METRIC = 'etcd_network_peer_round_trip_time_seconds';

/** One member's view of one peer's round trip over a fault window, from etcd's own /metrics. */
export interface PeerRttSample {
  readonly from: string;
  readonly to: string;
  /** Observations etcd made during the window (its prober publishes a smoothed RTT every 30 s when healthy). */
  readonly samples: number;
  /** Mean of those observations, null without any. */
  readonly meanMs: number | null;
}

export interface PeerRttObservation {
  /** etcd's metric, per directed pair that involves a target. */
  readonly etcdMetric: readonly PeerRttSample[];
  /** The lab's own probe at the end of the window: TCP connect from another member to the target's peer port. */
  readonly labProbeMedianMs: number | null;
}

/** Each member's /metrics text, by member name; members that do not answer are left out. */
export async function scrapeMetrics(cluster: StartedEtcdCluster): Promise<Map<string, string>> {
  const texts = await Promise.all(
    cluster.members.map(async (m) => [m.name, await cluster.metrics(m, 2_000).catch(() => null)] as const),
  );
  return new Map(texts.filter((t): t is readonly [string, string] => t[1] !== null));
}

/** Peer RTT over a window from two scrapes of etcd's metrics, plus the lab's direct probe. */
export async function observePeerRtt(
  cluster: StartedEtcdCluster,
  targets: readonly string[],
  before: ReadonlyMap<string, string>,
): Promise<PeerRttObservation> {
  const after = await scrapeMetrics(cluster);
  const etcdMetric: PeerRttSample[] = [];
  for (const from of cluster.members) {
    for (const to of cluster.members) {
      if (from === to || (!targets.includes(from.name) && !targets.includes(to.name))) continue;
      const [b, a] = [before.get(from.name), after.get(from.name)];
      if (b === undefined || a === undefined) continue;
      // etcd labels the series with the peer's member ID in hex.
      const labels = { To: to.memberIdHex };
      const samples =
        metricValue(a, `${PEER_RTT_METRIC}_count`, labels) -
        metricValue(b, `${PEER_RTT_METRIC}_count`, labels);
      const sum =
        metricValue(a, `${PEER_RTT_METRIC}_sum`, labels) - metricValue(b, `${PEER_RTT_METRIC}_sum`, labels);
      const valid = Number.isFinite(samples) && samples > 0;
      etcdMetric.push({
        from: from.name,
        to: to.name,
        samples: valid ? samples : 0,
        meanMs: valid ? (sum / samples) * 1000 : null,
      });
    }
  }
  const target = cluster.members.find((m) => targets.includes(m.name) && m.pid !== 0);
  const prober = cluster.members.find((m) => !targets.includes(m.name) && m.pid !== 0);
  let labProbeMedianMs: number | null = null;
  if (target && prober) {
    const probed = await connectRtts(prober.pid, target.ip, PEER_PORT, { count: 5 }).catch(() => null);
    const sorted = [...(probed?.rttsMs ?? [])].sort((x, y) => x - y);
    labProbeMedianMs = sorted[Math.floor(sorted.length / 2)] ?? null;
  }
  return { etcdMetric, labProbeMedianMs };
}

/**
 * How long a member brought back takes to catch up: from the heal until its applied index
 * reaches what the leader had committed at the heal. Null when it did not within `timeoutMs`.
 */
export async function measureCatchUp(
  cluster: StartedEtcdCluster,
  member: string,
  clock: RunClock,
  healedAtMs: number,
  timeoutMs: number,
): Promise<number | null> {
  const deadline = clock.now() + timeoutMs;
  let goal: number | undefined;
  while (clock.now() < deadline) {
    if (goal === undefined) {
      const statuses = await cluster.status(500);
      const leaderId = statuses.find((s) => s.ok && s.member !== member && s.leaderId !== '0');
      const leader = statuses.find((s) => s.ok && leaderId?.ok && s.memberId === leaderId.leaderId);
      if (leader?.ok) goal = leader.raftIndex;
    }
    if (goal !== undefined) {
      const status = await cluster.memberStatus(member, 500);
      if (status.ok && status.raftAppliedIndex >= goal) return clock.now() - healedAtMs;
    }
    await sleep(25);
  }
  return null;
}

export type KindOfInterest = 'all' | 'put' | 'get' | 'serializableGet';

export interface SuccessRatio {
  readonly ok: number;
  readonly total: number;
  /** ok / total, null without operations. */
  readonly ratio: number | null;
}

/**
 * Share of operations (as callers saw them) that succeeded, per kind, among those that both
 * started and finished inside the window (pure). An operation still out when the window
 * closes is left out: a retry that succeeds only after the heal says nothing about the fault.
 */
export function successByKind(
  operations: readonly OperationRecord[],
  window: { readonly fromMs: number; readonly toMs: number },
): Record<KindOfInterest, SuccessRatio> {
  const inWindow = operations.filter((o) => o.startMs >= window.fromMs && o.endMs <= window.toMs);
  const tally = (pick: (o: OperationRecord) => boolean): SuccessRatio => {
    const chosen = inWindow.filter(pick);
    const ok = chosen.filter((o) => o.outcome === 'ok').length;
    return { ok, total: chosen.length, ratio: chosen.length === 0 ? null : ok / chosen.length };
  };
  return {
    all: tally(() => true),
    put: tally((o) => o.kind === 'put'),
    get: tally((o) => o.kind === 'get' && o.consistency !== 'serializable'),
    serializableGet: tally((o) => o.kind === 'get' && o.consistency === 'serializable'),
  };
}
