import type { EtcdMember } from '../cluster/etcd-member.ts';
import type { StartedEtcdCluster } from '../cluster/started-etcd-cluster.ts';
import type { HostCapabilities } from '../faults/capabilities.ts';
import { createFault } from '../faults/catalog.ts';
import type { FaultHandle } from '../faults/fault.ts';
import { explainElectionFromLogs } from '../measure/election-rounds.ts';
import type { ElectionTrial, LeaderFault } from '../measure/election-trial.ts';
import { deriveLeaderChange, LeaderTracker } from '../measure/leader-tracker.ts';
import { isElection, LiveRaftLog } from '../measure/live-raft-log.ts';
import { metricValue } from '../measure/metrics.ts';
import { sleep, type RunClock } from '../util/clock.ts';
import { progress } from '../util/log.ts';
import { WriteProbe } from './write-probe.ts';

export { LEADER_FAULTS, type ElectionTrial, type LeaderFault } from '../measure/election-trial.ts';

/** How much of the survivors' logs before a trial is kept, as context for explaining the election. */
const LOG_CONTEXT_MS = 1_000;
/**
 * How long to wait for the new leader's log line once the tracker has seen the new leader:
 * Docker hands the lines over asynchronously, later on a loaded machine.
 */
const LOG_CATCH_UP_MS = 2_000;

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
  /** Host capabilities for the fault's check, if already probed (probed once per process otherwise). */
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
  const tracker = new LeaderTracker(cluster, clock, { intervalMs: options.trackerIntervalMs ?? 10 });
  const results: ElectionTrial[] = [];
  // Each trial's write probe finishes in the background (its last writes wait out their deadline);
  // all of them are done before this returns.
  const probesDraining: Promise<void>[] = [];
  try {
    for (let trial = 1; trial <= trials; trial++) {
      options.signal?.throwIfAborted();
      const phases = new PhaseClock();
      await options.beforeTrial?.(trial);
      tracker.start(); // polls through the prepare, so it knows every member's state before the fault
      const { leader, term } = await cluster.waitForStableLeader({ timeoutMs: trialTimeoutMs });
      await cluster.waitForConvergence({ timeoutMs: trialTimeoutMs });
      const survivors = cluster.members.filter((m) => m !== leader && m.isUp);
      // Let a few heartbeats pass so every follower's election timer starts from a fresh heartbeat,
      // meanwhile reading the survivors' leader-change counters and opening their log streams
      // (from a little before the fault: the election's lines arrive as written).
      const [changesBefore, live] = await Promise.all([
        leaderChangesSeen(cluster, survivors),
        LiveRaftLog.follow(survivors, { clock, sinceWallMs: Date.now() - LOG_CONTEXT_MS }),
        sleep(Math.max(50, electionTimeoutMs / 2)),
      ]);
      const probe = new WriteProbe(cluster, survivors, clock, electionTimeoutMs);

      const prepareMs = phases.lap();
      const faultRequestedAtMs = clock.now();
      let faultAtMs = faultRequestedAtMs;
      let faultSpreadMs = 0;
      const startProbe = (atRunMs: number, spreadMs = 0) => {
        faultAtMs = atRunMs;
        faultSpreadMs = spreadMs;
        // Only writes sent once the fault is fully in place count: before, the old leader may still commit.
        probe.start(faultAtMs + spreadMs);
      };
      // The fault comes from the catalog, like an experiment's step: the same kill, freeze, stop
      // or isolation, healed by its own undo. A kill or stop reports the instant it took effect
      // (the signal) before Docker's teardown returns, so the probe starts at the fault, not after;
      // and the election is watched from then on while Docker tears the container down (0.2 s,
      // up to 2 s on this host), which the heal waits for (`injecting`).
      let handle: FaultHandle | undefined;
      let injecting: Promise<FaultHandle> | undefined;
      let probeStarted = false;
      let measured: Omit<ElectionTrial, 'turnaroundMs'> | undefined;
      let electionMs = 0;
      let recordMs = 0;
      try {
        let tookEffect: () => void = () => undefined;
        const tookEffectSeen = new Promise<void>((resolve) => (tookEffect = resolve));
        injecting = createFault(fault, { target: leader.name }).inject({
          cluster,
          clock,
          ...(options.caps === undefined ? {} : { caps: options.caps }),
          onTookEffect: (atRunMs) => {
            probeStarted = true;
            startProbe(atRunMs);
            tookEffect();
          },
        });
        await Promise.race([injecting, tookEffectSeen]);
        if (!probeStarted) {
          handle = await injecting;
          // A freeze or an isolation is in place somewhere between the request and its answer
          // (tens of ms under load, long enough for followers to campaign before the answer):
          // measure from the request, and record the rest as the uncertainty.
          startProbe(handle.injectedAtMs, handle.injectionLatencyMs);
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
        electionMs = phases.lap();
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
        measured = {
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
          logStreamSource: live.source,
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
        recordMs = phases.lap();
        // The teardown is over before the heal (counted in the restore); its failure fails the trial.
        handle ??= await injecting;
      } finally {
        live.close();
        await probe.stop();
        probesDraining.push(probe.drained());
        // The trial failed before it had the handle: heal what the injection left, if it finished.
        handle ??= await injecting?.catch(() => undefined);
        // The tracker (a status call per member every 10 ms) is only needed from the next trial's
        // prepare on; polling through the restore slowed Docker's start of the killed member on
        // this 2-core host from 0.85 s to 1.0–1.4 s (npm run bench -- elections).
        await tracker.stop();
        await bringBack(cluster, handle, trialTimeoutMs);
      }
      const restoreMs = phases.lap();
      const result: ElectionTrial = {
        ...measured,
        turnaroundMs: { prepare: prepareMs, election: electionMs, record: recordMs, restore: restoreMs },
      };
      results.push(result);
      options.onTrial?.(result);
      (options.onProgress ?? progress)(
        `trial ${trial}/${trials}: ${fault} ${leader.name} → ${result.newLeader ?? '?'} elected after ${result.majorityAgreesAfterFaultMs?.toFixed(0) ?? '?'} ms (${result.explanation?.summary ?? ''})`,
      );
    }
  } finally {
    await tracker.stop();
    await Promise.all(probesDraining);
  }
  return results;
}

/**
 * Heals the trial's fault and waits until every member serves and has caught up: the catalog's
 * heal starts a killed or stopped member without waiting for it (in an experiment a majority
 * may be down), while the next trial, or whoever reuses the cluster, needs it back.
 */
async function bringBack(
  cluster: StartedEtcdCluster,
  handle: FaultHandle | undefined,
  timeoutMs: number,
): Promise<void> {
  await handle?.heal();
  // Polled often: the restarted member answers about 150 ms after Docker started it.
  await cluster.waitForConvergence({ timeoutMs, pollMs: 10 });
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

/** Wall time in laps: each lap() is the ms since the previous one (or since construction). */
class PhaseClock {
  private last = performance.now();
  lap(): number {
    const now = performance.now();
    const ms = now - this.last;
    this.last = now;
    return ms;
  }
}

const min = (values: readonly number[]): number | undefined =>
  values.length === 0 ? undefined : Math.min(...values);
