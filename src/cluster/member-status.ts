import type { Etcd3 } from 'etcd3';
import { LabTimeoutError } from '../errors.ts';
import { sleep } from '../util/clock.ts';
import type { EtcdMember, MemberRef } from './etcd-member.ts';

/** One member's answer to a status call (or why it gave none). */
export type MemberStatus =
  | {
      readonly member: string;
      readonly ok: true;
      readonly memberId: string;
      /** "0" when the member knows of no leader. */
      readonly leaderId: string;
      readonly raftTerm: number;
      readonly raftIndex: number;
      readonly raftAppliedIndex: number;
      readonly isLearner: boolean;
      readonly errors: readonly string[];
    }
  | { readonly member: string; readonly ok: false; readonly error: string };

export interface StableLeader {
  readonly leader: EtcdMember;
  readonly term: number;
}

export interface WaitOptions {
  readonly timeoutMs?: number;
  /** Only these members need to agree (e.g. the majority side of a partition). Default: all running members. */
  readonly members?: readonly MemberRef[];
  /** Poll interval. Default 50 ms. */
  readonly pollMs?: number;
}

/** Asks one member for its status through `client`, with a deadline; any failure is a "not ok" answer. */
export async function queryMemberStatus(
  client: Etcd3,
  member: EtcdMember,
  timeoutMs: number,
): Promise<MemberStatus> {
  if (!member.isUp) return { member: member.name, ok: false, error: member.state };
  try {
    const status = await client.maintenance.status({ deadline: Date.now() + timeoutMs });
    return {
      member: member.name,
      ok: true,
      memberId: status.header.member_id,
      leaderId: status.leader,
      raftTerm: Number(status.raftTerm),
      raftIndex: Number(status.raftIndex),
      raftAppliedIndex: Number(status.raftAppliedIndex),
      isLearner: status.isLearner,
      errors: status.errors ?? [],
    };
  } catch (error) {
    return { member: member.name, ok: false, error: (error as Error).message };
  }
}

/** What the waits below need from a cluster (a StartedEtcdCluster is one). */
export interface StatusSource {
  readonly members: readonly EtcdMember[];
  member(ref: MemberRef): EtcdMember;
  memberById(memberId: string): EtcdMember | undefined;
  memberStatus(ref: MemberRef, timeoutMs?: number): Promise<MemberStatus>;
}

const scopeOf = (cluster: StatusSource, options: WaitOptions): EtcdMember[] =>
  options.members?.map((m) => cluster.member(m)) ?? cluster.members.filter((m) => m.isUp);

/**
 * Waits until every member in scope answers, all name the same leader (one of them) in the
 * same term, on two polls in a row. Returns that leader.
 */
export async function waitForStableLeader(
  cluster: StatusSource,
  options: WaitOptions = {},
): Promise<StableLeader> {
  const { timeoutMs = 30_000, pollMs = 50 } = options;
  const deadline = Date.now() + timeoutMs;
  let previous: string | undefined;
  let last: MemberStatus[] = [];
  for (;;) {
    const scope = scopeOf(cluster, options);
    last = await Promise.all(scope.map((m) => cluster.memberStatus(m, Math.min(1_000, timeoutMs))));
    const agreed = agreement(last);
    const leader = agreed && cluster.memberById(agreed.leaderId);
    if (agreed && leader && scope.includes(leader)) {
      const key = `${agreed.leaderId}@${agreed.term}`;
      if (key === previous) return { leader, term: agreed.term };
      previous = key;
    } else {
      previous = undefined;
    }
    if (Date.now() > deadline) {
      throw new LabTimeoutError(
        `no stable leader within ${timeoutMs} ms; last statuses: ${JSON.stringify(last.map(summary))}`,
      );
    }
    await sleep(pollMs);
  }
}

/** Waits until all running members (or those in scope) have applied the same raft index (caught up). */
export async function waitForConvergence(cluster: StatusSource, options: WaitOptions = {}): Promise<number> {
  const { timeoutMs = 30_000, pollMs = 50 } = options;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const statuses = await Promise.all(scopeOf(cluster, options).map((m) => cluster.memberStatus(m)));
    const applied = statuses.map((s) => (s.ok ? s.raftAppliedIndex : -1));
    const first = applied[0];
    if (first !== undefined && first >= 0 && applied.every((index) => index === first)) return first;
    if (Date.now() > deadline) {
      throw new LabTimeoutError(
        `members did not converge within ${timeoutMs} ms: ${JSON.stringify(statuses.map(summary))}`,
      );
    }
    await sleep(pollMs);
  }
}

function agreement(statuses: readonly MemberStatus[]): { leaderId: string; term: number } | undefined {
  const first = statuses[0];
  if (!first?.ok || first.leaderId === '0') return undefined;
  for (const s of statuses) {
    if (!s.ok || s.leaderId !== first.leaderId || s.raftTerm !== first.raftTerm) return undefined;
  }
  return { leaderId: first.leaderId, term: first.raftTerm };
}

const summary = (s: MemberStatus) =>
  s.ok ? { member: s.member, leader: s.leaderId, term: s.raftTerm, applied: s.raftAppliedIndex } : s;
