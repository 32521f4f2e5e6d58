import type { EtcdMember } from '../cluster/etcd-member.ts';
import type { MemberStatus, StartedEtcdCluster } from '../cluster/started-etcd-cluster.ts';
import { sleep, type RunClock } from '../util/clock.ts';

/** One poll of one member: whom it follows, in which term, on the run clock. */
export interface LeaderObservation {
  readonly atMs: number;
  readonly member: string;
  /** Member ID of the leader this member knows, "0" for none, undefined if it did not answer. */
  readonly leaderId: string | undefined;
  readonly term: number | undefined;
}

export interface LeaderTrackerOptions {
  /** Time between two polls of one member. Default 20 ms. */
  readonly intervalMs?: number;
  /** Deadline of one status call; a paused or cut-off member counts as not answering. Default 200 ms. */
  readonly statusTimeoutMs?: number;
}

/**
 * Polls every member's status on its own loop and records whom each member follows and in
 * which term, timestamped on the run clock. Only changes are kept, plus the first answer
 * after silence, so a long run stays small.
 */
export class LeaderTracker {
  private readonly intervalMs: number;
  private readonly statusTimeoutMs: number;
  private readonly recorded: LeaderObservation[] = [];
  private readonly lastByMember = new Map<string, string>();
  private running: Promise<void>[] = [];
  private stopped = true;
  polls = 0;

  constructor(
    private readonly cluster: StartedEtcdCluster,
    private readonly clock: RunClock,
    options: LeaderTrackerOptions = {},
  ) {
    this.intervalMs = options.intervalMs ?? 20;
    this.statusTimeoutMs = options.statusTimeoutMs ?? 200;
  }

  get observations(): readonly LeaderObservation[] {
    return this.recorded;
  }

  start(): this {
    if (!this.stopped) return this;
    this.stopped = false;
    this.running = this.cluster.members.map((member) => this.pollLoop(member));
    return this;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all(this.running);
    this.running = [];
  }

  private async pollLoop(member: EtcdMember): Promise<void> {
    while (!this.stopped) {
      const startedAt = this.clock.now();
      const status: MemberStatus = member.isUp
        ? await this.cluster.memberStatus(member, this.statusTimeoutMs)
        : { member: member.name, ok: false, error: member.state };
      // Stamped when the answer arrived: that is when the lab knew (detection time). The state
      // itself held somewhere inside the call, so this is late by at most the call's duration.
      const atMs = this.clock.now();
      this.polls += 1;
      this.record({
        atMs,
        member: member.name,
        leaderId: status.ok ? status.leaderId : undefined,
        term: status.ok ? status.raftTerm : undefined,
      });
      const spent = this.clock.now() - startedAt;
      if (spent < this.intervalMs) await sleep(this.intervalMs - spent);
    }
  }

  private record(observation: LeaderObservation): void {
    const key = `${observation.leaderId ?? '-'}@${observation.term ?? '-'}`;
    if (this.lastByMember.get(observation.member) === key) return;
    this.lastByMember.set(observation.member, key);
    this.recorded.push(observation);
  }
}

/** What the tracker saw of one leader change after a fault. */
export interface LeaderChange {
  readonly previousLeaderId: string;
  /** First poll after the fault in which some member no longer follows the old leader (or no leader). */
  readonly leaderLostAtMs: number | undefined;
  /** First poll in which some member follows a new leader in a higher term. */
  readonly newLeaderAtMs: number | undefined;
  /** First time a majority of the cluster's members follow the same new leader in the same term. */
  readonly majorityAgreesAtMs: number | undefined;
  readonly newLeaderId: string | undefined;
  readonly newTerm: number | undefined;
}

/**
 * Derives the leader change that followed `sinceMs` from tracker observations (pure).
 * `clusterSize` is the voting membership; the majority is counted against it, not against
 * the members that still answer.
 */
export function deriveLeaderChange(
  observations: readonly LeaderObservation[],
  options: {
    readonly sinceMs: number;
    readonly previousLeaderId: string;
    readonly previousTerm: number;
    readonly clusterSize: number;
  },
): LeaderChange {
  const { sinceMs, previousLeaderId, previousTerm, clusterSize } = options;
  const majority = Math.floor(clusterSize / 2) + 1;
  const sorted = observations.filter((o) => o.atMs >= sinceMs).sort((a, b) => a.atMs - b.atMs);
  // Each member's state at the start of the window: its last observation before it.
  const current = new Map<string, LeaderObservation>();
  for (const o of observations) if (o.atMs < sinceMs) current.set(o.member, o);

  let leaderLostAtMs: number | undefined;
  let newLeaderAtMs: number | undefined;
  let majorityAgreesAtMs: number | undefined;
  let newLeaderId: string | undefined;
  let newTerm: number | undefined;
  for (const o of sorted) {
    current.set(o.member, o);
    const followsNew = o.leaderId !== undefined && o.leaderId !== '0' && (o.term ?? 0) > previousTerm;
    if (
      leaderLostAtMs === undefined &&
      o.leaderId !== undefined &&
      (o.leaderId !== previousLeaderId || followsNew)
    ) {
      leaderLostAtMs = o.atMs;
    }
    if (newLeaderAtMs === undefined && followsNew) {
      newLeaderAtMs = o.atMs;
      leaderLostAtMs ??= o.atMs;
    }
    if (majorityAgreesAtMs === undefined && followsNew) {
      const agreeing = [...current.values()].filter((c) => c.leaderId === o.leaderId && c.term === o.term);
      if (agreeing.length >= majority) {
        majorityAgreesAtMs = o.atMs;
        newLeaderId = o.leaderId;
        newTerm = o.term;
      }
    }
  }
  return { previousLeaderId, leaderLostAtMs, newLeaderAtMs, majorityAgreesAtMs, newLeaderId, newTerm };
}

/** A leadership a majority of the membership agreed on, and when the tracker first saw the agreement. */
export interface AgreedLeadership {
  readonly leaderId: string;
  readonly term: number;
  readonly agreedAtMs: number;
}

/**
 * Every leadership (leader, term) that a majority of the voting membership followed at
 * some moment, in the order the agreements appeared (pure). Counting them in a window
 * counts leader changes, including those no fault asked for.
 */
export function agreedLeaderships(
  observations: readonly LeaderObservation[],
  clusterSize: number,
): AgreedLeadership[] {
  const majority = Math.floor(clusterSize / 2) + 1;
  const current = new Map<string, LeaderObservation>();
  const seen = new Set<string>();
  const agreed: AgreedLeadership[] = [];
  for (const o of [...observations].sort((a, b) => a.atMs - b.atMs)) {
    current.set(o.member, o);
    if (o.leaderId === undefined || o.leaderId === '0' || o.term === undefined) continue;
    const key = `${o.leaderId}@${o.term}`;
    if (seen.has(key)) continue;
    const agreeing = [...current.values()].filter((c) => c.leaderId === o.leaderId && c.term === o.term);
    if (agreeing.length >= majority) {
      seen.add(key);
      agreed.push({ leaderId: o.leaderId, term: o.term, agreedAtMs: o.atMs });
    }
  }
  return agreed;
}
