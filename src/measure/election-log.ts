import type { EtcdLogEntry } from '../cluster/started-etcd-cluster.ts';

/** A raft role change or leader notice, from a member's own log (ground truth for elections). */
export interface RaftLogEvent {
  readonly member: string;
  /** Wall-clock ms, as etcd logged it. */
  readonly tsMs: number;
  readonly kind: 'pre-candidate' | 'candidate' | 'leader' | 'follower' | 'elected' | 'lost' | 'campaign';
  readonly term: number;
  /** For elected/lost: the leader's member ID in hex, as etcd logs it. */
  readonly leaderIdHex?: string;
}

const BECAME = /^\S+ became (pre-candidate|candidate|leader|follower) at term (\d+)/;
const ELECTED = /raft\.node: \S+ (elected|lost) leader (\S+) at term (\d+)/;
const CAMPAIGN = /^\S+ is starting a new election at term (\d+)/;

/** Extracts raft role changes from etcd's log lines (same wording in 3.4–3.6). */
export function raftEvents(member: string, entries: readonly EtcdLogEntry[]): RaftLogEvent[] {
  const events: RaftLogEvent[] = [];
  for (const entry of entries) {
    const became = BECAME.exec(entry.msg);
    if (became?.[1] && became[2]) {
      events.push({
        member,
        tsMs: entry.tsMs,
        kind: became[1] as RaftLogEvent['kind'],
        term: Number(became[2]),
      });
      continue;
    }
    const elected = ELECTED.exec(entry.msg);
    if (elected?.[1] && elected[2] && elected[3]) {
      events.push({
        member,
        tsMs: entry.tsMs,
        kind: elected[1] as 'elected' | 'lost',
        term: Number(elected[3]),
        leaderIdHex: elected[2],
      });
      continue;
    }
    const campaign = CAMPAIGN.exec(entry.msg);
    if (campaign?.[1]) events.push({ member, tsMs: entry.tsMs, kind: 'campaign', term: Number(campaign[1]) });
  }
  return events;
}
