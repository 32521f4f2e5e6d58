/**
 * Reading an election back from the members' own logs: who campaigned, who voted, why votes were
 * refused (src/measure/election-rounds.ts does the explaining; this file reads the logs, and
 * reads them again while Docker is still copying the lines that matter out of the container).
 * Election trials stream the logs instead (live-raft-log.ts).
 */
import type { EtcdLogEntry, MemberRef, StartedEtcdCluster } from '../cluster/started-etcd-cluster.ts';
import { sleep } from '../util/clock.ts';
import {
  explainElectionFromLogs,
  type ElectionExplanation,
  type ElectionWindow,
  type MemberLog,
} from './election-rounds.ts';

/** How long to read the logs again for a leader the tracker has seen but the logs not yet. */
const LOG_CATCH_UP_MS = 2_000;

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
