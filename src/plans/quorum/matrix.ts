/**
 * The quorum matrix as data: what the model predicts for an n-member cluster with k members taken
 * down (by SIGKILL or by network isolation), what was observed on real etcd, where the two differ,
 * and the claims derived from a whole matrix. Pure: no I/O, so every rule here is unit-tested.
 */
import type { Check } from '../../checks/check.ts';
import type { MemberStatus } from '../../cluster/started-etcd-cluster.ts';
import type { FaultKind } from '../../faults/catalog.ts';
import { hasQuorum, majority } from './model.ts';

/**
 * How members are taken down, as fault kinds of the catalog (src/faults/catalog.ts): `kill`
 * (SIGKILL, they answer nobody) or `isolate` (cut off from their peers, they still answer the lab).
 */
export type Mechanism = Extract<FaultKind, 'kill' | 'isolate'>;
export const MECHANISMS: readonly Mechanism[] = ['kill', 'isolate'];

export interface CellPrediction {
  readonly quorum: boolean;
  /** A put is acknowledged by some reachable member. */
  readonly writes: boolean;
  /** A linearizable get (ReadIndex, needs the leader and a quorum) answers with the value written before. */
  readonly linearizableReads: boolean;
  /** A serializable get (served from the member's own store) answers with the value written before. */
  readonly serializableReads: boolean;
  /** See {@link leaderFromStatuses}. */
  readonly leader: boolean;
  /** Isolation only (k ≥ 1): the leader, isolated first, stops calling itself leader (CheckQuorum). */
  readonly minorityLeaderStepsDown: boolean | null;
}

/**
 * The model's prediction, or null when the cell cannot be produced: a 1-member cluster has no peer
 * to be cut off from, so isolating its only member changes nothing (it stays its own majority).
 * With isolation every member still answers the lab and holds the data written before, so
 * serializable reads work at every k; with kill they work while one member is alive.
 */
export function predictCell(n: number, k: number, mechanism: Mechanism): CellPrediction | null {
  if (mechanism === 'isolate' && n === 1 && k > 0) return null;
  const quorum = hasQuorum(n, k);
  return {
    quorum,
    writes: quorum,
    linearizableReads: quorum,
    serializableReads: mechanism === 'kill' ? n - k >= 1 : true,
    leader: quorum,
    minorityLeaderStepsDown: mechanism === 'isolate' && k >= 1 ? true : null,
  };
}

/**
 * Which members to take down for k: the leader first, then followers in name order. Taking the
 * leader first makes every cell with a quorum left elect a new leader (so "leader exists" is an
 * election observed, not a leftover) and makes every isolation cell strand a leader on the
 * minority side.
 */
export function membersToTakeDown(memberNames: readonly string[], leader: string, k: number): string[] {
  if (!memberNames.includes(leader)) throw new RangeError(`leader ${leader} is not one of the members`);
  if (!Number.isInteger(k) || k < 0 || k > memberNames.length) {
    throw new RangeError(`k must be an integer in [0, ${memberNames.length}], got ${String(k)}`);
  }
  const followers = memberNames.filter((m) => m !== leader).sort(byMemberNumber);
  return [leader, ...followers].slice(0, k);
}

const byMemberNumber = (a: string, b: string): number =>
  Number(a.replace(/\D/g, '')) - Number(b.replace(/\D/g, '')) || a.localeCompare(b);

/**
 * "A leader exists" from one round of member statuses: some member L that answered says it is the
 * leader (its leader ID is its own), and at least majority(n) of the members that answered —
 * L included — name L as leader in L's term. A cut-off leader that has not yet noticed, or members
 * still naming a dead leader, therefore do not count. Returns the leader's name and term, or null.
 */
export function leaderFromStatuses(
  statuses: readonly MemberStatus[],
  n: number,
): { readonly member: string; readonly term: number } | null {
  for (const s of statuses) {
    if (!s.ok || s.leaderId === '0' || s.leaderId !== s.memberId) continue;
    const followers = statuses.filter(
      (o) => o.ok && o.leaderId === s.memberId && o.raftTerm === s.raftTerm,
    ).length;
    if (followers >= majority(n)) return { member: s.member, term: s.raftTerm };
  }
  return null;
}

/** One question asked of the reachable members during a cell (a write, or a read). */
export interface Answer {
  /** Some member answered as required (a put acknowledged; a read returning the value written before). */
  readonly ok: boolean;
  /** Who answered, and how long after the observation began. */
  readonly member: string | null;
  readonly afterMs: number | null;
  readonly attempts: number;
  /** Why the last attempt did not count (an error, or a read returning another value). */
  readonly lastError: string | null;
}

export interface CellObservation {
  /** Members the lab could send requests to (kill: the survivors; isolation: all). */
  readonly reachable: readonly string[];
  readonly write: Answer;
  readonly linearizableRead: Answer;
  readonly serializableRead: Answer;
  readonly leader: {
    readonly present: boolean;
    readonly member: string | null;
    readonly term: number | null;
    readonly afterMs: number | null;
  };
  /**
   * Isolation with k ≥ 1: the former leader (isolated first) and the members on a minority side
   * (the isolated ones, plus the rest when they are fewer than a majority). `steppedDown`: none of
   * them called itself leader any more, `afterMs` after the cut was in place. Members that are cut
   * off one by one may elect a short-lived leader among themselves while the rules go in; it must
   * step down too, so the wait covers every minority-side member, not only the former leader.
   */
  readonly stepDown: {
    readonly member: string;
    readonly minoritySide: readonly string[];
    readonly steppedDown: boolean;
    readonly afterMs: number | null;
  } | null;
}

export type CellVerdict = 'match' | 'mismatch' | 'not-applicable';

export interface MatrixCell {
  readonly members: number;
  readonly down: number;
  readonly mechanism: Mechanism;
  /** Members taken down, leader first. */
  readonly targets: readonly string[];
  readonly leaderBefore: string;
  /** The fault's recorded mechanism (e.g. sigkill, iptables-drop-ingress); null when nothing was injected. */
  readonly faultMechanism: string | null;
  /** The value written just before the fault, which every read should return. */
  readonly sentinel: string;
  readonly prediction: CellPrediction | null;
  readonly observation: CellObservation | null;
  readonly verdict: CellVerdict;
  readonly mismatches: readonly string[];
  readonly timings: {
    readonly injectMs: number | null;
    readonly observeMs: number | null;
    /** Heal until a stable leader on all members and all caught up; null when that did not happen in time. */
    readonly recoveryMs: number | null;
  };
}

const yesNo = (value: boolean, yes: string, no: string): string => (value ? yes : no);

/** Every way the observation differs from the prediction, in words; empty when they agree. */
export function compareCell(prediction: CellPrediction, observation: CellObservation): string[] {
  const out: string[] = [];
  const check = (what: string, predicted: boolean, observed: boolean, yes: string, no: string): void => {
    if (predicted !== observed) {
      out.push(`${what}: predicted ${yesNo(predicted, yes, no)}, observed ${yesNo(observed, yes, no)}`);
    }
  };
  check('writes', prediction.writes, observation.write.ok, 'acknowledged', 'refused');
  check(
    'linearizable read',
    prediction.linearizableReads,
    observation.linearizableRead.ok,
    'served',
    'refused',
  );
  check(
    'serializable read',
    prediction.serializableReads,
    observation.serializableRead.ok,
    'served',
    'refused',
  );
  check('leader', prediction.leader, observation.leader.present, 'present', 'absent');
  if (prediction.minorityLeaderStepsDown !== null) {
    check(
      'isolated leader',
      prediction.minorityLeaderStepsDown,
      observation.stepDown?.steppedDown ?? false,
      'steps down',
      'stays leader',
    );
  }
  return out;
}

// ---------------------------------------------------------------- claims

const cellsOf = (cells: readonly MatrixCell[], n: number, mechanism: Mechanism): MatrixCell[] =>
  cells.filter((c) => c.members === n && c.mechanism === mechanism).sort((a, b) => a.down - b.down);

const isObservedAvailable = (c: MatrixCell): boolean =>
  c.observation !== null && c.observation.write.ok && c.observation.leader.present;

/**
 * The most members that could be down with writes acknowledged and a leader present, given that
 * every smaller k also had both; null when the cells for n do not start at k = 0 or none was observed.
 */
export function observedTolerance(
  cells: readonly MatrixCell[],
  n: number,
  mechanism: Mechanism,
): number | null {
  const own = cellsOf(cells, n, mechanism).filter((c) => c.observation !== null);
  if (own[0]?.down !== 0) return null;
  let tolerated = -1;
  for (const cell of own) {
    if (cell.down !== tolerated + 1 || !isObservedAvailable(cell)) break;
    tolerated = cell.down;
  }
  return tolerated;
}

function describeRun(cells: readonly MatrixCell[], n: number, mechanism: Mechanism): string {
  const own = cellsOf(cells, n, mechanism).filter((c) => c.observation !== null);
  const ok = own.filter(isObservedAvailable).map((c) => c.down);
  const refused = own.filter((c) => !isObservedAvailable(c)).map((c) => c.down);
  return `${mechanism}: writes + leader at k=${ok.join(',') || 'none'}, none at k=${refused.join(',') || 'none'}`;
}

/**
 * "n tolerates t": with t members down writes still work and a leader exists, with t+1 they do not —
 * for every mechanism run on n. `only` words the even-size claim ("4 tolerates only 1").
 */
export function toleranceClaim(
  cells: readonly MatrixCell[],
  n: number,
  tolerated: number,
  only = false,
): Check {
  const name = `${n} members tolerate ${only ? 'only ' : ''}${tolerated} down`;
  const expected = `writes and a leader with ${tolerated} down, neither with ${tolerated + 1}`;
  const mechanisms = MECHANISMS.filter((m) => cellsOf(cells, n, m).length > 0);
  if (mechanisms.length === 0) return { name, expected, observed: `n=${n} not run`, verdict: 'inconclusive' };
  const complete = mechanisms.every((m) => {
    const own = cellsOf(cells, n, m);
    return own.length === n + 1 && own.every((c) => c.verdict === 'not-applicable' || c.observation !== null);
  });
  const held = mechanisms.every((m) => observedTolerance(cells, n, m) === tolerated);
  return {
    name,
    expected,
    observed: mechanisms.map((m) => describeRun(cells, n, m)).join('; '),
    verdict: !complete ? 'inconclusive' : held ? 'held' : 'deviated',
  };
}

/** The tolerance claims the issue names, for whichever of these sizes were run. */
export function toleranceClaims(cells: readonly MatrixCell[]): Check[] {
  const sizes = new Set(cells.map((c) => c.members));
  return [
    { n: 3, t: 1, only: false },
    { n: 4, t: 1, only: true },
    { n: 5, t: 2, only: false },
    { n: 7, t: 3, only: false },
  ]
    .filter(({ n }) => sizes.has(n))
    .map(({ n, t, only }) => toleranceClaim(cells, n, t, only));
}

/**
 * Without quorum writes stop, but the data written before stays readable with serializable reads
 * wherever a member still answers.
 */
export function quorumLossClaim(cells: readonly MatrixCell[]): Check {
  const name = 'without quorum writes stop, data written before stays readable (serializable)';
  const expected =
    'every no-quorum cell: writes refused; serializable read returns the value written before where a member answers';
  const lost = cells.filter((c) => c.observation !== null && !hasQuorum(c.members, c.down));
  if (lost.length === 0)
    return { name, expected, observed: 'no no-quorum cell observed', verdict: 'inconclusive' };
  const written = lost.filter((c) => c.observation?.write.ok === true);
  const answering = lost.filter((c) => (c.observation?.reachable.length ?? 0) > 0);
  const unreadable = answering.filter((c) => c.observation?.serializableRead.ok !== true);
  const label = (c: MatrixCell): string => `n=${c.members} k=${c.down} ${c.mechanism}`;
  const observed =
    `${lost.length} no-quorum cells: writes acknowledged in ${written.length}` +
    `${written.length > 0 ? ` (${written.map(label).join(', ')})` : ''}; ` +
    `serializable read returned the earlier value in ${answering.length - unreadable.length} of ${answering.length} cells with a member answering` +
    `${unreadable.length > 0 ? ` (not in ${unreadable.map(label).join(', ')})` : ''}`;
  return {
    name,
    expected,
    observed,
    verdict: written.length === 0 && unreadable.length === 0 ? 'held' : 'deviated',
  };
}

/** A leader cut off on the minority side steps down (etcd runs Raft with CheckQuorum). */
export function stepDownClaim(cells: readonly MatrixCell[], electionTimeoutMs: number): Check {
  const name = 'a minority-side leader steps down';
  const expected = `in every isolation cell, no member on a minority side still calls itself leader (CheckQuorum: within about 2 × ${electionTimeoutMs} ms)`;
  const observed = cells.flatMap((c) => (c.observation?.stepDown ? [c.observation.stepDown] : []));
  if (observed.length === 0)
    return { name, expected, observed: 'no isolation cell with a leader cut off', verdict: 'inconclusive' };
  const stayed = observed.filter((s) => !s.steppedDown);
  const times = observed.flatMap((s) => (s.afterMs === null ? [] : [s.afterMs])).sort((a, b) => a - b);
  const median = times[Math.floor((times.length - 1) / 2)];
  return {
    name,
    expected,
    observed:
      `${observed.length - stayed.length} of ${observed.length} isolation cells: every minority-side leader stepped down` +
      (times.length > 0
        ? `, after ${Math.round(median ?? 0)} ms median, ${Math.round(times.at(-1) ?? 0)} ms max`
        : ''),
    verdict: stayed.length === 0 ? 'held' : 'deviated',
  };
}

/** Every acknowledged write is there after recovery (one acknowledged-writes check per cluster). */
export function acknowledgedWritesClaim(
  checks: readonly { readonly members: number; readonly status: string; readonly message: string }[],
): Check {
  const name = 'every acknowledged write is there after recovery';
  const expected = 'acknowledged-writes check ok on every cluster after all its cells';
  if (checks.length === 0) return { name, expected, observed: 'not checked', verdict: 'inconclusive' };
  return {
    name,
    expected,
    observed: checks.map((c) => `n=${c.members}: ${c.message}`).join('; '),
    verdict: checks.every((c) => c.status === 'ok') ? 'held' : 'deviated',
  };
}

/** Write latency and throughput of one cluster size at the same load (see runQuorumMatrix's latencyLoad). */
export interface SizeLatency {
  readonly members: number;
  readonly openLoop: {
    readonly latency: { readonly p50: number | null; readonly p99: number | null };
    readonly outcomes: { readonly ok: number; readonly fail: number; readonly indeterminate: number };
  };
  readonly closedLoop: { readonly throughput: number | null };
}

/**
 * "Extra members slow the cluster down": at the same offered load the largest size measured has a
 * higher median write latency than the smallest, and at the same number of closed-loop clients a
 * lower throughput (every write waits for a majority, and the leader sends to more followers).
 */
export function slowdownClaim(latency: readonly SizeLatency[]): Check {
  const name = 'extra members slow the cluster down';
  const expected = 'largest size vs smallest: higher p50 write latency, lower closed-loop throughput';
  const sorted = [...latency].sort((a, b) => a.members - b.members);
  const smallest = sorted[0];
  const largest = sorted.at(-1);
  const round = (x: number | null): string => (x === null ? '–' : x.toFixed(x < 10 ? 2 : 0));
  const observed = sorted
    .map(
      (s) =>
        `n=${s.members}: p50 ${round(s.openLoop.latency.p50)} ms, p99 ${round(s.openLoop.latency.p99)} ms` +
        `${s.openLoop.outcomes.fail + s.openLoop.outcomes.indeterminate > 0 ? ` (${s.openLoop.outcomes.fail + s.openLoop.outcomes.indeterminate} failed)` : ''}` +
        `, ${round(s.closedLoop.throughput)} writes/s closed-loop`,
    )
    .join('; ');
  if (smallest === undefined || largest === undefined || smallest === largest) {
    return { name, expected, observed: observed || 'not measured', verdict: 'inconclusive' };
  }
  const slower =
    (largest.openLoop.latency.p50 ?? Infinity) > (smallest.openLoop.latency.p50 ?? Infinity) &&
    (largest.closedLoop.throughput ?? 0) < (smallest.closedLoop.throughput ?? 0);
  return { name, expected, observed, verdict: slower ? 'held' : 'deviated' };
}
