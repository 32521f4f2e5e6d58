/**
 * The members' logs as etcd writes them, for election trials: each line parsed as it arrives,
 * carrying both the member's own timestamp and when the lab received it. Reading the logs after
 * a trial gives the same times, but only later (and Docker sometimes hands the last lines over
 * late, see election-explain.ts); streamed, "elected leader" is known within milliseconds of
 * etcd writing it, and how many is measured: arrival minus the member's timestamp.
 */
import { parseEtcdLog, type EtcdLogEntry } from '../cluster/etcd-log.ts';
import type { EtcdMember } from '../cluster/etcd-member.ts';
import { MemberLogFollower } from '../cluster/member-log-follower.ts';
import { sleep, type RunClock } from '../util/clock.ts';
import { steadyWall } from '../util/wall-clock-steps.ts';
import { raftEvents, type RaftLogEvent } from './election-log.ts';
import type { MemberLog } from './election-round-types.ts';

/** A raft event on the run clock, with when its line reached the lab. */
export type ArrivedRaftEvent = RaftLogEvent & {
  /** The member's timestamp on the run clock. */
  readonly atMs: number;
  /** When the line arrived, on the run clock; undefined for lines already written when following began. */
  readonly arrivedAtMs: number | undefined;
};

export class LiveRaftLog {
  private readonly entries = new Map<string, EtcdLogEntry[]>();
  private readonly arrivals = new Map<EtcdLogEntry, number>();

  private constructor(
    private readonly members: readonly EtcdMember[],
    private readonly followers: readonly MemberLogFollower[],
    private readonly clock: RunClock,
  ) {}

  /**
   * Follows `members`' logs from `sinceWallMs` (lines written before it are left out; those
   * between it and now come at once, without an arrival time).
   */
  static async follow(
    members: readonly EtcdMember[],
    options: { readonly clock: RunClock; readonly sinceWallMs: number },
  ): Promise<LiveRaftLog> {
    const followedAtPerfMs = performance.now();
    const followers = await Promise.all(
      members.map((m) => MemberLogFollower.follow(m.container, m.name, { sinceWallMs: options.sinceWallMs })),
    );
    const live = new LiveRaftLog(members, followers, options.clock);
    members.forEach((member, i) => {
      const own: EtcdLogEntry[] = [];
      live.entries.set(member.name, own);
      const follower = followers[i] as MemberLogFollower;
      const take = (line: string, arrivedAtPerfMs: number | undefined): void => {
        for (const parsed of parseEtcdLog(line)) {
          const entry = { ...parsed, tsMs: steadyWall(parsed.tsMs) };
          own.push(entry);
          // A line in the backlog Docker replays first did not arrive "now": no arrival time.
          if (arrivedAtPerfMs !== undefined && arrivedAtPerfMs > followedAtPerfMs) {
            live.arrivals.set(entry, options.clock.fromPerformanceNow(arrivedAtPerfMs));
          }
        }
      };
      for (const line of follower.received) take(line, undefined);
      follower.onLine(take);
    });
    return live;
  }

  /** Each followed member's lines so far, for explainElectionFromLogs. */
  memberLogs(): MemberLog[] {
    return this.members.map((m) => ({
      member: m.name,
      idHex: m.memberIdHex,
      entries: [...(this.entries.get(m.name) ?? [])],
    }));
  }

  /** The raft events so far with a term above `afterTerm`, at or after `sinceMs` (run clock). */
  events(sinceMs: number, afterTerm: number): ArrivedRaftEvent[] {
    return this.members.flatMap((m) =>
      eventsWithArrival(m.name, this.entries.get(m.name) ?? [], this.arrivals, this.clock).filter(
        // etcd logs whole milliseconds: allow 1 ms of rounding before the fault.
        (e) => e.atMs >= sinceMs - 1 && e.term > afterTerm,
      ),
    );
  }

  /**
   * Waits until some member logged a new leader (elected or became leader) above `afterTerm`,
   * or `timeoutMs` passes; returns the events then.
   */
  async waitForElected(sinceMs: number, afterTerm: number, timeoutMs: number): Promise<ArrivedRaftEvent[]> {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const events = this.events(sinceMs, afterTerm);
      if (events.some(isElection) || performance.now() > deadline) return events;
      await sleep(5);
    }
  }

  close(): void {
    for (const follower of this.followers) follower.close();
  }
}

export const isElection = (e: RaftLogEvent): boolean => e.kind === 'elected' || e.kind === 'leader';

function eventsWithArrival(
  member: string,
  entries: readonly EtcdLogEntry[],
  arrivals: ReadonlyMap<EtcdLogEntry, number>,
  clock: RunClock,
): ArrivedRaftEvent[] {
  // raftEvents keeps no reference to the entry, so parse line by line to pair each with its arrival.
  return entries.flatMap((entry) =>
    raftEvents(member, [entry]).map((event) => ({
      ...event,
      atMs: clock.fromWall(event.tsMs),
      arrivedAtMs: arrivals.get(entry),
    })),
  );
}
