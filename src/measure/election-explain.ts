/**
 * Reading an election back from the members' own logs: who campaigned, who voted, why votes were
 * refused (src/measure/election-rounds.ts does the explaining; this file reads the logs, and
 * reads them again while Docker is still copying the lines that matter out of the container).
 */
import type { EtcdMember } from '../cluster/etcd-member.ts';
import type { EtcdLogEntry, MemberRef, StartedEtcdCluster } from '../cluster/started-etcd-cluster.ts';
import { sleep, type RunClock } from '../util/clock.ts';
import { raftEvents, type RaftLogEvent } from './election-log.ts';
import {
  explainElectionFromLogs,
  type ElectionExplanation,
  type ElectionWindow,
  type MemberLog,
} from './election-rounds.ts';

const LOG_CATCH_UP_MS = 2_000;

/**
 * The survivors' raft events after the fault with a term above the old one, on the run clock,
 * and the log lines they came from. Under load the new leader's line was sometimes missing from
 * the container log when first read (the log is copied out of the container asynchronously), so
 * when the tracker has seen a new leader the logs are read again until the line shows up, or
 * LOG_CATCH_UP_MS passes (leaving the log-based times undefined).
 */
export async function electionEvents(
  cluster: StartedEtcdCluster,
  survivors: readonly EtcdMember[],
  options: { clock: RunClock; sinceMs: number; afterTerm: number; expectElected: boolean },
): Promise<{ events: (RaftLogEvent & { atMs: number })[]; logs: MemberLog[] }> {
  const deadline = performance.now() + LOG_CATCH_UP_MS;
  for (;;) {
    const logs = await memberLogs(cluster, survivors);
    const events = logs
      .flatMap((l) => raftEvents(l.member, l.entries))
      .map((e) => ({ ...e, atMs: options.clock.fromWall(e.tsMs) }))
      // etcd logs whole milliseconds: allow 1 ms of rounding before the fault.
      .filter((e) => e.atMs >= options.sinceMs - 1 && e.term > options.afterTerm);
    const elected = events.some((e) => e.kind === 'elected' || e.kind === 'leader');
    if (elected || !options.expectElected || performance.now() > deadline) return { events, logs };
    await sleep(100);
  }
}

/** Every given member's log lines with its name and raft ID, for {@link explainElectionFromLogs}. */
export async function memberLogs(
  cluster: StartedEtcdCluster,
  members: readonly MemberRef[],
): Promise<MemberLog[]> {
  return Promise.all(
    members.map(async (ref) => {
      const member = cluster.member(ref);
      const entries: EtcdLogEntry[] = await cluster.logEntries(member);
      return { member: member.name, idHex: member.memberIdHex, entries };
    }),
  );
}

export interface ExplainElectionOptions extends ElectionWindow {
  /**
   * Whose logs to read. Default: every member. Leave out an old leader that still runs cut off
   * from the others (isolation): it keeps campaigning on its own, in terms nobody else is in.
   */
  readonly members?: readonly MemberRef[];
}

/**
 * Explains the election after a fault that took the leader away, from the members' own logs:
 * rounds (terms), campaigns, votes, refusals with their reasons, the winner and a one-line
 * summary. Times are wall-clock ms, as in etcd's logs (`RunClock.toWall` converts run time).
 * When `electedAtWallMs` is given and the logs do not show a leader yet (Docker copies a
 * container's log asynchronously), they are read again for up to 2 s.
 */
export async function explainElection(
  cluster: StartedEtcdCluster,
  options: ExplainElectionOptions,
): Promise<ElectionExplanation> {
  const { members = cluster.members, ...window } = options;
  const deadline = performance.now() + LOG_CATCH_UP_MS;
  for (;;) {
    const explanation = explainElectionFromLogs(await memberLogs(cluster, members), window);
    if (
      explanation.newTerm !== undefined ||
      window.electedAtWallMs === undefined ||
      performance.now() > deadline
    ) {
      return explanation;
    }
    await sleep(100);
  }
}
