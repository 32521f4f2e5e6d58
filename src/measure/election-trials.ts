import type { Etcd3 } from 'etcd3';
import type { EtcdMember } from '../cluster/etcd-member.ts';
import type { StartedEtcdCluster } from '../cluster/started-etcd-cluster.ts';
import { sleep, type RunClock } from '../util/clock.ts';
import { progress } from '../util/log.ts';
import { raftEvents } from './election-log.ts';
import { deriveLeaderChange, LeaderTracker } from './leader-tracker.ts';

/** How the leader is taken away in a trial. */
export type LeaderFault = 'kill' | 'pause' | 'stop';

/** One leader-loss trial; times are ms on the run clock, `…AfterFaultMs` relative to the fault. */
export interface ElectionTrial {
  readonly trial: number;
  readonly fault: LeaderFault;
  readonly oldLeader: string;
  readonly previousTerm: number;
  /** When the lab asked Docker to apply the fault. */
  readonly faultRequestedAtMs: number;
  /**
   * The reference for every `…AfterFaultMs`: for kill and pause, when Docker reported the
   * process dead or frozen (the leader kept working until then); for a graceful stop, the
   * request, since the leader starts handing over at once.
   */
  readonly faultAtMs: number;
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
  readonly newLeader: string | undefined;
  readonly newTerm: number | undefined;
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
      const { leader, term } = await cluster.waitForStableLeader({ timeoutMs: trialTimeoutMs });
      await cluster.waitForConvergence({ timeoutMs: trialTimeoutMs });
      // Let a few heartbeats pass so every follower's election timer starts from a fresh heartbeat.
      await sleep(Math.max(50, electionTimeoutMs / 2));
      const survivors = cluster.members.filter((m) => m !== leader && m.isUp);
      const probe = new WriteProbe(cluster, survivors, clock, electionTimeoutMs);

      const faultRequestedAtMs = clock.now();
      let faultAtMs = faultRequestedAtMs;
      const startProbe = (atPerformanceMs: number) => {
        faultAtMs = clock.fromPerformanceNow(atPerformanceMs);
        probe.start(faultAtMs);
      };
      if (fault === 'kill') await cluster.kill(leader, { onSignalled: startProbe });
      else if (fault === 'pause') startProbe((await cluster.pause(leader)).frozenAt);
      else {
        // A graceful stop starts handing over at once and returns only when the member has exited.
        startProbe(performance.now());
        await cluster.stop(leader);
      }

      const deadline = faultAtMs + trialTimeoutMs;
      let change = deriveLeaderChange(tracker.observations, {
        sinceMs: faultAtMs,
        previousLeaderId: leader.memberId,
        previousTerm: term,
        clusterSize: cluster.members.length,
      });
      while (
        (change.majorityAgreesAtMs === undefined || probe.firstOkAtMs === undefined) &&
        clock.now() < deadline
      ) {
        await sleep(10);
        change = deriveLeaderChange(tracker.observations, {
          sinceMs: faultAtMs,
          previousLeaderId: leader.memberId,
          previousTerm: term,
          clusterSize: cluster.members.length,
        });
      }
      await probe.stop();

      const events = (
        await Promise.all(survivors.map(async (m) => raftEvents(m.name, await cluster.logEntries(m))))
      )
        .flat()
        .map((e) => ({ ...e, atMs: clock.fromWall(e.tsMs) }))
        // etcd logs whole milliseconds: allow 1 ms of rounding before the fault.
        .filter((e) => e.atMs >= faultAtMs - 1 && e.term > term);
      const firstCampaign = min(
        events.filter((e) => ['pre-candidate', 'candidate', 'campaign'].includes(e.kind)).map((e) => e.atMs),
      );
      const logElected = min(
        events.filter((e) => e.kind === 'elected' || e.kind === 'leader').map((e) => e.atMs),
      );
      const relative = (t: number | undefined) => (t === undefined ? undefined : t - faultAtMs);
      const result: ElectionTrial = {
        trial,
        fault,
        oldLeader: leader.name,
        previousTerm: term,
        faultRequestedAtMs,
        faultAtMs,
        firstCampaignAfterFaultMs: relative(firstCampaign),
        logElectedAfterFaultMs: relative(logElected),
        trackerNewLeaderAfterFaultMs: relative(change.newLeaderAtMs),
        majorityAgreesAfterFaultMs: relative(change.majorityAgreesAtMs),
        firstWriteOkAfterFaultMs: relative(probe.firstOkAtMs),
        trackerErrorMs:
          change.newLeaderAtMs !== undefined && logElected !== undefined
            ? change.newLeaderAtMs - logElected
            : undefined,
        newLeader:
          change.newLeaderId === undefined ? undefined : cluster.memberById(change.newLeaderId)?.name,
        newTerm: change.newTerm,
      };
      results.push(result);
      options.onTrial?.(result);
      progress(
        `trial ${trial}/${trials}: ${fault} ${leader.name} → ${result.newLeader ?? '?'} elected after ${result.majorityAgreesAfterFaultMs?.toFixed(0) ?? '?'} ms`,
      );
      await bringBack(cluster, leader, fault);
    }
  } finally {
    await tracker.stop();
  }
  return results;
}

async function bringBack(cluster: StartedEtcdCluster, member: EtcdMember, fault: LeaderFault): Promise<void> {
  if (fault === 'pause') await cluster.unpause(member);
  else await cluster.start(member);
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

  start(faultAtMs: number): void {
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
                  sentAt >= faultAtMs &&
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

  async stop(): Promise<void> {
    this.stopped = true;
    await this.loop;
    await Promise.all(this.inFlight);
    for (const client of this.clients) client.close();
  }
}
