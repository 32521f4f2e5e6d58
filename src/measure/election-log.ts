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

/** Pre-vote (etcd's --pre-vote: a trial round that does not raise the term) or the real vote. */
export type VotePhase = 'pre-vote' | 'vote';

/** The last entry of a member's raft log, as etcd prints it: `[logterm: T, index: I]`. */
export interface LogPosition {
  readonly term: number;
  readonly index: number;
}

interface VoteEventBase {
  /** The member whose log has the line. */
  readonly member: string;
  /** Wall-clock ms, as etcd logged it. */
  readonly tsMs: number;
  readonly phase: VotePhase;
  /**
   * The logging member's own term, as printed ("at term N"). For a pre-vote that is one below
   * the term campaigned for (a pre-candidate asks for its term + 1 without raising its own);
   * a voter that ignores a request also prints its own, older term.
   */
  readonly term: number;
}

/**
 * A vote-related line from etcd's raft log. Peers are member IDs in hex as etcd logs them;
 * a voter's `votedForHex` is '0' when it had not voted in its term.
 */
export type RaftVoteEvent =
  /** `<c> [logterm: T, index: I] sent MsgVote request to <v> at term N` */
  | (VoteEventBase & { readonly kind: 'request'; readonly toHex: string; readonly log: LogPosition })
  /**
   * `<v> [logterm: T, index: I, vote: X] cast|rejected MsgVote for|from <c> [logterm: …] at term N`, and
   * `<v> […] ignored MsgVote from <c> […] at term N: lease is not expired (remaining ticks: K)`.
   */
  | (VoteEventBase & {
      readonly kind: 'cast' | 'rejected' | 'ignored-in-lease';
      readonly candidateHex: string;
      readonly voterLog: LogPosition;
      readonly candidateLog: LogPosition;
      readonly votedForHex: string;
      /** ignored-in-lease: election ticks left before the voter would stop trusting its leader. */
      readonly remainingTicks?: number;
    })
  /** `<v> [term: N] ignored a MsgVote message with lower term from <c> [term: M]` (etcd's raft source; not seen in the lab's runs). */
  | (VoteEventBase & {
      readonly kind: 'ignored-lower-term';
      readonly candidateHex: string;
      readonly candidateTerm: number;
    })
  /** The candidate's side: `<c> received MsgVoteResp [rejection ]from <v> at term N` (includes its own vote). */
  | (VoteEventBase & { readonly kind: 'response'; readonly fromHex: string; readonly granted: boolean });

const VOTE_TYPE = '(MsgVote|MsgPreVote)';
const POSITION = String.raw`\[logterm: (\d+), index: (\d+)`;
const REQUEST = new RegExp(String.raw`^\S+ ${POSITION}\] sent ${VOTE_TYPE} request to (\S+) at term (\d+)`);
const ANSWER = new RegExp(
  String.raw`^\S+ ${POSITION}, vote: (\S+)\] (cast|rejected|ignored) ${VOTE_TYPE} (?:for|from) (\S+) ${POSITION}\] at term (\d+)(?:: lease is not expired \(remaining ticks: (\d+)\))?`,
);
const LOWER_TERM = new RegExp(
  String.raw`^\S+ \[term: (\d+)\] ignored a ${VOTE_TYPE} message with lower term from (\S+) \[term: (\d+)\]`,
);
const RESPONSE = /^\S+ received (MsgVoteResp|MsgPreVoteResp)( rejection)? from (\S+) at term (\d+)/;

const phaseOf = (messageType: string): VotePhase => (messageType.startsWith('MsgPre') ? 'pre-vote' : 'vote');

/**
 * Extracts vote requests, answers (granted, rejected, ignored inside the leader lease) and the
 * answers a candidate received from etcd's raft log lines. Wording checked against etcd 3.4.23's
 * own logs; the same raft code logs them in 3.5 and 3.6.
 */
export function voteEvents(member: string, entries: readonly EtcdLogEntry[]): RaftVoteEvent[] {
  const events: RaftVoteEvent[] = [];
  for (const entry of entries) {
    const base = { member, tsMs: entry.tsMs };
    const request = REQUEST.exec(entry.msg);
    if (request) {
      const [, logTerm, logIndex, type, to, term] = request;
      events.push({
        ...base,
        kind: 'request',
        phase: phaseOf(type ?? ''),
        term: Number(term),
        toHex: to ?? '',
        log: { term: Number(logTerm), index: Number(logIndex) },
      });
      continue;
    }
    const answer = ANSWER.exec(entry.msg);
    if (answer) {
      const [, voterTerm, voterIndex, vote, verb, type, candidate, candTerm, candIndex, term, ticks] = answer;
      // An "ignored" line without the lease clause is not a shape etcd logs; skip rather than guess.
      if (verb === 'ignored' && ticks === undefined) continue;
      events.push({
        ...base,
        kind: verb === 'ignored' ? 'ignored-in-lease' : (verb as 'cast' | 'rejected'),
        phase: phaseOf(type ?? ''),
        term: Number(term),
        candidateHex: candidate ?? '',
        voterLog: { term: Number(voterTerm), index: Number(voterIndex) },
        candidateLog: { term: Number(candTerm), index: Number(candIndex) },
        votedForHex: vote ?? '0',
        ...(ticks === undefined ? {} : { remainingTicks: Number(ticks) }),
      });
      continue;
    }
    const lower = LOWER_TERM.exec(entry.msg);
    if (lower) {
      const [, term, type, candidate, candidateTerm] = lower;
      events.push({
        ...base,
        kind: 'ignored-lower-term',
        phase: phaseOf(type ?? ''),
        term: Number(term),
        candidateHex: candidate ?? '',
        candidateTerm: Number(candidateTerm),
      });
      continue;
    }
    const response = RESPONSE.exec(entry.msg);
    if (response) {
      const [, type, rejection, from, term] = response;
      events.push({
        ...base,
        kind: 'response',
        phase: phaseOf(type ?? ''),
        term: Number(term),
        fromHex: from ?? '',
        granted: rejection === undefined,
      });
    }
  }
  return events;
}
