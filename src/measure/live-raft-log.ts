/**
 * The members' logs as etcd writes them, for election trials: each line parsed as it arrives,
 * carrying both the member's own timestamp and when the lab received it. Reading the logs after
 * a trial gives the same times, but only later (and Docker sometimes hands the last lines over
 * late, see election-explain.ts); streamed, "elected leader" is known within milliseconds of
 * etcd writing it, and how many is measured: arrival minus the member's timestamp.
 */
import { parseEtcdLog, type EtcdLogEntry } from '../cluster/etcd-log.ts';
import type { EtcdMember } from '../cluster/etcd-member.ts';
import { MemberLogFile, type FollowedMemberLog } from '../cluster/member-log-file.ts';
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

/**
 * Where a member's streamed lines came from: the log file etcd writes beside its memory data
 * dir, read straight from the host, or Docker's follow stream (a disk data dir, or a file that
 * could not be read), which dockerd delays while it is busy, as when it tears a killed member down.
 */
export type LogStreamSource = 'log file' | 'docker';

export class LiveRaftLog {
  private readonly entries = new Map<string, EtcdLogEntry[]>();
  private readonly arrivals = new Map<EtcdLogEntry, number>();

  private constructor(
    private readonly members: readonly EtcdMember[],
    private readonly followers: readonly FollowedMemberLog[],
    private readonly clock: RunClock,
    /** Per followed member, where its lines came from. */
    readonly sources: readonly LogStreamSource[],
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
    const settled = await Promise.allSettled(members.map((m) => followMember(m, options.sinceWallMs)));
    const failed = settled.find((s) => s.status === 'rejected');
    if (failed !== undefined) {
      // What did open is closed (a file keeps an fd and an inotify watch), then the first cause.
      for (const s of settled) if (s.status === 'fulfilled') s.value.log.close();
      throw failed.reason;
    }
    const opened = settled.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
    const followers = opened.map((o) => o.log);
    const live = new LiveRaftLog(
      members,
      followers,
      options.clock,
      opened.map((o) => o.source),
    );
    members.forEach((member, i) => {
      const own: EtcdLogEntry[] = [];
      live.entries.set(member.name, own);
      const follower = followers[i] as FollowedMemberLog;
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

  /** Where the followed members' lines came from, as one word ("mixed" when they differ). */
  get source(): LogStreamSource | 'mixed' {
    const [first, ...rest] = this.sources;
    return first === undefined || rest.some((s) => s !== first) ? 'mixed' : first;
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

/** The member's log file when it has one the lab can read, else Docker's stream. */
async function followMember(
  member: EtcdMember,
  sinceWallMs: number,
): Promise<{ log: FollowedMemberLog; source: LogStreamSource }> {
  if (member.hostLogFile !== undefined) {
    try {
      return { log: MemberLogFile.follow(member.hostLogFile, { sinceWallMs }), source: 'log file' };
    } catch {
      // not there or not readable (a member started by an older lab): Docker has the log too
    }
  }
  return {
    log: await MemberLogFollower.follow(member.container, member.name, { sinceWallMs }),
    source: 'docker',
  };
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
