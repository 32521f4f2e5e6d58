import type { Etcd3 } from 'etcd3';
import type { EtcdMember } from '../cluster/etcd-member.ts';
import type { StartedEtcdCluster } from '../cluster/started-etcd-cluster.ts';
import type { HostCapabilities } from '../faults/capabilities.ts';
import type { FaultKind } from '../faults/catalog.ts';
import type { FaultHandle } from '../faults/fault.ts';
import { isolate } from '../faults/network/partition.ts';
import { sleep, type RunClock } from '../util/clock.ts';
import { progress } from '../util/log.ts';
import { explainElectionFromLogs, type ElectionExplanation } from './election-rounds.ts';
import { deriveLeaderChange, LeaderTracker } from './leader-tracker.ts';
import { isElection, LiveRaftLog } from './live-raft-log.ts';
import { metricValue } from './metrics.ts';

/** How much of the survivors' logs before a trial is kept, as context for explaining the election. */
const LOG_CONTEXT_MS = 1_000;
/**
 * How long to wait for the new leader's log line once the tracker has seen the new leader:
 * Docker hands the lines over asynchronously, later on a loaded machine.
 */
const LOG_CATCH_UP_MS = 2_000;

/**
 * How the leader is taken away in a trial: SIGKILL, cgroup freeze, graceful stop (SIGTERM,
 * the leader hands over first), or network isolation from the other members (the process
 * keeps running and still answers the lab; it steps down by CheckQuorum after an election
 * timeout).
 */
export type LeaderFault = Extract<FaultKind, 'kill' | 'pause' | 'stop' | 'isolate'>;

/** Catalog kinds whose trait is to take the leader they hit (test/unit/fault-catalog.test.ts checks it). */
export const LEADER_FAULTS: readonly LeaderFault[] = ['kill', 'pause', 'stop', 'isolate'];

/** One leader-loss trial; times are ms on the run clock, `…AfterFaultMs` relative to the fault. */
export interface ElectionTrial {
  readonly trial: number;
  readonly fault: LeaderFault;
  readonly oldLeader: string;
  readonly previousTerm: number;
  /** Members that stayed up and connected: the ones that elect the next leader. */
  readonly survivors: readonly string[];
  /** When the lab asked for the fault (Docker call, signal, or iptables rules). */
  readonly faultRequestedAtMs: number;
  /**
   * The reference for every `…AfterFaultMs`: for kill, when the signal was sent; for pause,
   * when the lab asked Docker to freeze it (the freeze held within `faultSpreadMs`); for a
   * graceful stop, the request, since the leader starts handing over at once; for isolate,
   * when the lab started installing the DROP rules (each follower was cut off when its own
   * rule landed, within `faultSpreadMs` after this).
   */
  readonly faultAtMs: number;
  /**
   * How long the fault took to be fully in place after `faultAtMs`: 0 for a signal or a stop,
   * Docker's pause call for pause, the rule installation for isolate. Times after the fault
   * may be late by up to this.
   */
  readonly faultSpreadMs: number;
  /** From the members' logs: first survivor to start campaigning (pre-vote or vote). */
  readonly firstCampaignAfterFaultMs: number | undefined;
  /** From the members' logs: first survivor to log the new leader. */
  readonly logElectedAfterFaultMs: number | undefined;
  /** From the tracker: first poll showing a member following a new leader. */
  readonly trackerNewLeaderAfterFaultMs: number | undefined;
  /** From the tracker: a majority of the membership follows the new leader. */
  readonly majorityAgreesAfterFaultMs: number | undefined;
  /** First write sent after the fault that succeeded, at its return. */
  readonly firstWriteOkAfterFaultMs: number | undefined;
  /** Tracker's new-leader time minus the log's (positive: the tracker saw it later). */
  readonly trackerErrorMs: number | undefined;
  /**
   * The streamed logs' detection error: when the first line naming the new leader reached the
   * lab minus the member's own timestamp on it. Undefined when that line came before following
   * began or not at all. Optional: trials recorded before logs were streamed do not have it.
   */
  readonly logStreamErrorMs?: number | undefined;
  readonly newLeader: string | undefined;
  readonly newTerm: number | undefined;
  /**
   * Ground truth from each survivor's /metrics: `etcd_server_leader_changes_seen_total` after
   * the election minus before the fault. One clean election is exactly 1 per survivor (etcd
   * counts a change to a non-empty leader; the leaderless gap does not count). Null when the
   * member's metrics could not be read.
   */
  readonly leaderChangesSeen: Readonly<Record<string, number | null>>;
  /** `etcd_server_has_leader` was 1 on every survivor after the election. */
  readonly survivorsHaveLeader: boolean;
  /**
   * From the survivors' logs: the election's rounds (terms), who campaigned, who voted for whom
   * and why votes were refused. Always set by runElectionTrials; optional so that trials recorded
   * before it existed (older result files) still read.
   */
  readonly explanation?: ElectionExplanation;
}

export interface ElectionTrialOptions {
  readonly trials: number;
  readonly fault?: LeaderFault;
  readonly clock: RunClock;
  /** Tracker poll interval per member. Default 10 ms. */
  readonly trackerIntervalMs?: number;
  /** Give up on one trial's election after this long. Default 10 × election timeout + 5 s. */
  readonly trialTimeoutMs?: number;
  readonly signal?: AbortSignal;
  readonly onTrial?: (trial: ElectionTrial) => void;
  /** For 'isolate': host capabilities, if already probed (probed once per process otherwise). */
  readonly caps?: HostCapabilities;
  /**
   * Runs before each trial, once the member taken away in the previous one is back: e.g. to put
   * a network condition back on a killed member (it restarts in a new network namespace).
   */
  readonly beforeTrial?: (trial: number) => Promise<void>;
  /** One line per trial; default: the lab's stderr progress. */
  readonly onProgress?: (line: string) => void;
}

/**
 * Takes the leader away `trials` times on one cluster, each time measuring campaign start,
 * election (from logs and from the tracker), majority agreement and the first successful
 * write; then brings the member back and waits for a stable, caught-up cluster before the
 * next trial. Reusing one cluster keeps trials fast.
 */
export async function runElectionTrials(
  cluster: StartedEtcdCluster,
  options: ElectionTrialOptions,
): Promise<ElectionTrial[]> {
  const { trials, fault = 'kill', clock } = options;
  const electionTimeoutMs = Number(cluster.describe().electionTimeoutMs);
  const trialTimeoutMs = options.trialTimeoutMs ?? 10 * electionTimeoutMs + 5_000;
  const tracker = new LeaderTracker(cluster, clock, { intervalMs: options.trackerIntervalMs ?? 10 }).start();
  const results: ElectionTrial[] = [];
  try {
    for (let trial = 1; trial <= trials; trial++) {
      options.signal?.throwIfAborted();
      await options.beforeTrial?.(trial);
      const { leader, term } = await cluster.waitForStableLeader({ timeoutMs: trialTimeoutMs });
      await cluster.waitForConvergence({ timeoutMs: trialTimeoutMs });
      // Let a few heartbeats pass so every follower's election timer starts from a fresh heartbeat.
      await sleep(Math.max(50, electionTimeoutMs / 2));
      const survivors = cluster.members.filter((m) => m !== leader && m.isUp);
      const changesBefore = await leaderChangesSeen(cluster, survivors);
      // The survivors' logs, streamed from a little before the fault: the election's lines arrive as written.
      const live = await LiveRaftLog.follow(survivors, { clock, sinceWallMs: Date.now() - LOG_CONTEXT_MS });
      const probe = new WriteProbe(cluster, survivors, clock, electionTimeoutMs);

      const faultRequestedAtMs = clock.now();
      let faultAtMs = faultRequestedAtMs;
      let faultSpreadMs = 0;
      const startProbe = (atRunMs: number, spreadMs = 0) => {
        faultAtMs = atRunMs;
        faultSpreadMs = spreadMs;
        // Only writes sent once the fault is fully in place count: before, the old leader may still commit.
        probe.start(faultAtMs + spreadMs);
      };
      let isolation: FaultHandle | undefined;
      try {
        if (fault === 'kill') {
          await cluster.kill(leader, { onSignalled: (at) => startProbe(clock.fromPerformanceNow(at)) });
        } else if (fault === 'pause') {
          // The freeze takes hold somewhere between the request and Docker's answer (tens of ms
          // under load, long enough for followers to campaign before the answer): measure from
          // the request, and record the answer's delay as the uncertainty.
          const requestedAt = performance.now();
          const { frozenAt } = await cluster.pause(leader);
          startProbe(clock.fromPerformanceNow(requestedAt), frozenAt - requestedAt);
        } else if (fault === 'isolate') {
          isolation = await isolate(leader.name).inject({
            cluster,
            clock,
            ...(options.caps === undefined ? {} : { caps: options.caps }),
          });
          startProbe(isolation.injectedAtMs, isolation.injectionLatencyMs);
        } else {
          // A graceful stop starts handing over at once and returns only when the member has exited.
          startProbe(clock.now());
          await cluster.stop(leader);
        }

        const deadline = faultAtMs + trialTimeoutMs;
        const changeSince = () =>
          deriveLeaderChange(tracker.observations, {
            sinceMs: faultAtMs,
            previousLeaderId: leader.memberId,
            previousTerm: term,
            clusterSize: cluster.members.length,
          });
        let change = changeSince();
        while (
          (change.majorityAgreesAtMs === undefined || probe.firstOkAtMs === undefined) &&
          clock.now() < deadline
        ) {
          await sleep(10);
          change = changeSince();
        }
        await probe.stop();
        const after = await settledLeaderMetrics(cluster, survivors, 2 * electionTimeoutMs + 1_000);

        // The tracker saw a new leader: its "elected" line is in some survivor's log, even if
        // Docker's log copier has not handed it over yet.
        const events =
          change.newLeaderId !== undefined
            ? await live.waitForElected(faultAtMs, term, LOG_CATCH_UP_MS)
            : live.events(faultAtMs, term);
        const logs = live.memberLogs();
        const explanation = explainElectionFromLogs(logs, {
          faultAtWallMs: clock.toWall(faultAtMs),
          previousTerm: term,
          ...(change.newLeaderAtMs === undefined
            ? {}
            : { electedAtWallMs: clock.toWall(change.newLeaderAtMs) }),
        });
        const firstCampaign = min(
          events
            .filter((e) => ['pre-candidate', 'candidate', 'campaign'].includes(e.kind))
            .map((e) => e.atMs),
        );
        const elections = events.filter(isElection).sort((a, b) => a.atMs - b.atMs);
        const logElected = elections[0]?.atMs;
        const firstElectionLine = elections[0];
        const relative = (t: number | undefined) => (t === undefined ? undefined : t - faultAtMs);
        const result: ElectionTrial = {
          trial,
          fault,
          oldLeader: leader.name,
          previousTerm: term,
          survivors: survivors.map((m) => m.name),
          faultRequestedAtMs,
          faultAtMs,
          faultSpreadMs,
          firstCampaignAfterFaultMs: relative(firstCampaign),
          logElectedAfterFaultMs: relative(logElected),
          trackerNewLeaderAfterFaultMs: relative(change.newLeaderAtMs),
          majorityAgreesAfterFaultMs: relative(change.majorityAgreesAtMs),
          firstWriteOkAfterFaultMs: relative(probe.firstOkAtMs),
          trackerErrorMs:
            change.newLeaderAtMs !== undefined && logElected !== undefined
              ? change.newLeaderAtMs - logElected
              : undefined,
          logStreamErrorMs:
            firstElectionLine?.arrivedAtMs === undefined
              ? undefined
              : firstElectionLine.arrivedAtMs - firstElectionLine.atMs,
          newLeader:
            change.newLeaderId === undefined ? undefined : cluster.memberById(change.newLeaderId)?.name,
          newTerm: change.newTerm,
          leaderChangesSeen: Object.fromEntries(
            survivors.map((m) => {
              const before = changesBefore.get(m.name);
              const now = after.changes.get(m.name);
              return [m.name, before === undefined || now === undefined ? null : now - before];
            }),
          ),
          survivorsHaveLeader: after.allHaveLeader,
          explanation,
        };
        results.push(result);
        options.onTrial?.(result);
        (options.onProgress ?? progress)(
          `trial ${trial}/${trials}: ${fault} ${leader.name} → ${result.newLeader ?? '?'} elected after ${result.majorityAgreesAfterFaultMs?.toFixed(0) ?? '?'} ms (${explanation.summary})`,
        );
      } finally {
        live.close();
        await probe.stop();
        await bringBack(cluster, leader, fault, isolation);
      }
    }
  } finally {
    await tracker.stop();
  }
  return results;
}

async function bringBack(
  cluster: StartedEtcdCluster,
  member: EtcdMember,
  fault: LeaderFault,
  isolation: FaultHandle | undefined,
): Promise<void> {
  if (fault === 'isolate') await isolation?.heal();
  else if (member.state === 'paused') await cluster.unpause(member);
  else if (member.state === 'stopped') await cluster.start(member);
}

const LEADER_CHANGES = 'etcd_server_leader_changes_seen_total';
const HAS_LEADER = 'etcd_server_has_leader';

/** Each member's leader-change counter; members whose metrics cannot be read are left out. */
async function leaderChangesSeen(
  cluster: StartedEtcdCluster,
  members: readonly EtcdMember[],
): Promise<Map<string, number>> {
  const read = await Promise.all(
    members.map(async (m) => {
      try {
        const value = metricValue(await cluster.metrics(m), LEADER_CHANGES);
        return Number.isNaN(value) ? undefined : ([m.name, value] as const);
      } catch {
        return undefined;
      }
    }),
  );
  return new Map(read.filter((entry) => entry !== undefined));
}

/**
 * Reads the leader metrics once every member reports a leader (or at the deadline): in a
 * larger cluster the majority the trial waited for need not include every survivor yet.
 */
async function settledLeaderMetrics(
  cluster: StartedEtcdCluster,
  members: readonly EtcdMember[],
  timeoutMs: number,
): Promise<{ changes: Map<string, number>; allHaveLeader: boolean }> {
  const deadlineMs = performance.now() + timeoutMs;
  for (;;) {
    const texts = await Promise.all(members.map((m) => cluster.metrics(m).catch(() => '')));
    const allHaveLeader = texts.every((text) => metricValue(text, HAS_LEADER) === 1);
    if (allHaveLeader || performance.now() > deadlineMs) {
      const changes = new Map<string, number>();
      members.forEach((m, i) => {
        const value = metricValue(texts[i] ?? '', LEADER_CHANGES);
        if (!Number.isNaN(value)) changes.set(m.name, value);
      });
      return { changes, allHaveLeader };
    }
    await sleep(20);
  }
}

const min = (values: readonly number[]): number | undefined =>
  values.length === 0 ? undefined : Math.min(...values);

/**
 * Sends a small write every few milliseconds (open loop, not waiting for answers), rotating
 * over the surviving members, and remembers when the first write *sent after the fault*
 * returned successfully. Open loop matters: a single write stuck behind the dead leader
 * would otherwise hide the moment the new leader starts taking writes, and a short deadline
 * to avoid that would, on a loaded machine, time out writes that were about to succeed.
 */
class WriteProbe {
  firstOkAtMs: number | undefined;
  private stopped = false;
  private loop: Promise<void> = Promise.resolve();
  private readonly inFlight = new Set<Promise<void>>();
  private readonly clients: Etcd3[];
  private static readonly SEND_EVERY_MS = 5;
  private static readonly MAX_IN_FLIGHT = 400;

  constructor(
    cluster: StartedEtcdCluster,
    survivors: readonly EtcdMember[],
    private readonly clock: RunClock,
    electionTimeoutMs: number,
  ) {
    const callTimeoutMs = 2 * electionTimeoutMs + 1_000;
    this.clients = survivors.map((m) => cluster.memberClient(m, { callTimeoutMs }));
  }

  /** Starts sending; only writes sent at or after `countFromMs` can be the first ok one. */
  start(countFromMs: number): void {
    this.loop = (async () => {
      let i = 0;
      while (!this.stopped && this.firstOkAtMs === undefined) {
        const client = this.clients[i++ % this.clients.length];
        if (!client) return;
        if (this.inFlight.size < WriteProbe.MAX_IN_FLIGHT) {
          const sentAt = this.clock.now();
          const write = client
            .put('etcd-lab/election-probe')
            .value(String(sentAt))
            .then(
              () => {
                const returnedAt = this.clock.now();
                if (
                  sentAt >= countFromMs &&
                  (this.firstOkAtMs === undefined || returnedAt < this.firstOkAtMs)
                ) {
                  this.firstOkAtMs = returnedAt;
                }
              },
              () => undefined, // expected while there is no leader
            )
            .finally(() => this.inFlight.delete(write));
          this.inFlight.add(write);
        }
        await sleep(WriteProbe.SEND_EVERY_MS);
      }
    })();
  }

  /** Idempotent. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    await this.loop;
    await Promise.all(this.inFlight);
    for (const client of this.clients) client.close();
  }
}
