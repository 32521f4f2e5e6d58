import type { OperationRecord } from '../history/operation-record.ts';
import { verdictOfStatus, type Check } from './check.ts';
import {
  checkLinearizability,
  fromOperationRecords,
  violationText,
  type AdaptedHistory,
  type InitialState,
} from './linearizability/index.ts';
import { patchWithTruth } from './linearizability/patch.ts';
import { truthFromWatchers } from './watch/observed.ts';
import type { WatcherHistory } from './watch/types.ts';

/**
 * The linearizability checker (src/checks/linearizability/) on a run's recorded history: which
 * operations it is given, from what initial state, and its answer as a Check. The checker is
 * pure; this is the lab's side of it, shared by experiments (`linearizable: true`) and
 * `etcd-lab check`.
 *
 * Which operations, and why that is sound. The checker compares revisions, and etcd's revision
 * is one counter for the whole store: every write to any key bumps it, and every response
 * says where it stood. So the history must hold EVERY write the cluster applied while it ran,
 * not only those to the keys the workload reads — a write left out is a revision step nothing
 * explains, and would be reported as a violation that is not there. In an experiment's cluster
 * the only writers are the recorded clients: the workload (role `workload`, keys
 * `<experiment>/<n>`) and the clients of load steps (role `load-step`, keys `<experiment>/s<i>/<n>`
 * — disjoint from the workload's, since a workload key is the prefix and digits only). The
 * lab writes nothing else to an experiment's cluster (the warm-up reads, the leader tracker asks
 * for status, the final values are read after the workload). Hence:
 * - every operation of the main clients (role `workload`, or no role: histories recorded before
 *   roles were) is checked;
 * - every write of every other client of the run (load steps) is checked too, for the revision;
 *   their keys are disjoint, so their values never meet the workload's reads, but their
 *   revisions do;
 * - the other clients' reads are left out: leaving reads out only removes constraints (a
 *   violation among the rest is still one), and they are not what the hypothesis is about;
 * - the quorum matrix's histories hold several clusters (one revision counter each) and are
 *   refused: they cannot be checked as one.
 *
 * Indeterminate writes and the watch truth. A write whose call errored may have applied at any
 * revision after its call, or never; a few hundred of them (a run with faults) leave the search
 * too many places to try. When the run had watchers over the experiment's prefix, the union of
 * their events says what etcd applied at each revision (watch/observed.ts), and
 * linearizability/patch.ts resolves those writes with it: pinned to the revision of their
 * change, left out when the complete truth shows none, deletes narrowed to the revisions where a
 * delete of their key nobody else made shows. That only restricts indeterminate operations, so
 * it can never turn a violation into "linearizable"; it is not done when the watch check found
 * the streams broken by the server (atomic, or reliable with a change the server lost, invented
 * or altered; see watchTruthProblem), since a wrong truth could then make a false violation.
 *
 * Initial state: the experiment's cluster is new and the keys under its name are absent when
 * the workload starts; the run reads the store's revision then (and that no key under the
 * experiment's prefix exists) and passes it. Without it (a bare history.jsonl) the checker
 * assumes the keys absent and infers the revision from the first response that carries one.
 */

export const DEFAULT_TIME_LIMIT_MS = 60_000;

/** The store when the workload started, as the run read it. */
export interface InitialStore {
  /** The header revision of a read just before the workload's first call. */
  readonly revision: number;
  /** Keys under the experiment's prefix then (0: the workload starts from absent keys). */
  readonly keys: number;
  readonly prefix: string;
}

/** What `checkRecordedHistory` answers; written to result.json as is. */
export interface LinearizabilityOutcome {
  readonly status: 'ok' | 'failed' | 'unknown';
  /** One line: verdict and the checker's numbers. */
  readonly message: string;
  /** unknown: why (time or step limit, input the checker cannot decide). */
  readonly reason?: string;
  /** failed: the violation as `violationText` prints it (operations, the store, a timeline). */
  readonly violation?: string;
  /** Operations given to the checker. */
  readonly operations: number;
  /** Of which: records of the main clients, and writes of other clients (load steps). */
  readonly workloadRecords: number;
  readonly otherWrites: number;
  /** Records left out: other clients' reads, and what the adapter drops (see fromOperationRecords). */
  readonly dropped: AdaptedHistory['dropped'] & { readonly otherReads: number };
  readonly steps: number;
  readonly memoEntries: number;
  readonly elapsedMs: number;
  readonly timeLimitMs: number;
  /**
   * The store the check started from, as the run read it before the workload (null: keys
   * absent, revision inferred from the first response). `etcd-lab check` on the results
   * directory starts from it again.
   */
  readonly initial: InitialStore | null;
  /** What the watch truth resolved (null: the run had no watchers, or none was given). */
  readonly watchTruth?: WatchTruthUse | null;
}

/** The watchers whose events resolve indeterminate writes (see the module comment). */
export interface WatchTruthInput {
  readonly watchers: readonly WatcherHistory[];
  /** The experiment's prefix: the key space the truth covers. */
  readonly prefix: string;
  /** Why the watchers' events must not be used (the watch check found their streams broken). */
  readonly unusable?: string;
}

export interface WatchTruthUse {
  readonly used: boolean;
  /** Not used: why. */
  readonly reason?: string;
  readonly watchers: number;
  readonly fromRevision: number;
  readonly toRevision: number;
  /** Revisions in range no watcher received a change at, or where watchers disagreed. */
  readonly unknownRevisions: number;
  /** Indeterminate writes in the history, and what the truth made of them. */
  readonly indeterminate: number;
  readonly applied: number;
  readonly notApplied: number;
  readonly narrowed: number;
  readonly undecided: number;
}

export interface RecordedHistoryOptions {
  readonly timeLimitMs?: number;
  /** The store when the workload started; null or absent: keys absent, revision inferred. */
  readonly initial?: InitialStore | null;
  /** The run's watchers: their events resolve indeterminate writes. */
  readonly watch?: WatchTruthInput | null;
}

/** The history patched with the watchers' truth, and what that did (null: no watchers given). */
function withWatchTruth(
  history: AdaptedHistory['history'],
  watch: WatchTruthInput | null | undefined,
  initialRevision: number | undefined,
): { history: AdaptedHistory['history']; use: WatchTruthUse | null } {
  if (watch === undefined || watch === null || watch.watchers.length === 0) return { history, use: null };
  const indeterminate = history.filter((op) => op.status === 'indeterminate').length;
  const observed = truthFromWatchers(watch.watchers, { key: watch.prefix, prefix: true });
  const t = observed.truth;
  const base = {
    watchers: observed.watchers,
    fromRevision: t.fromRevision,
    toRevision: t.toRevision,
    unknownRevisions: t.unknownRevisions.length,
    indeterminate,
  };
  const none = { applied: 0, notApplied: 0, narrowed: 0, undecided: indeterminate };
  if (watch.unusable !== undefined)
    return { history, use: { used: false, reason: watch.unusable, ...base, ...none } };
  if (observed.watchers === 0 || t.events.length === 0)
    return {
      history,
      use: { used: false, reason: `no watcher received changes under ${watch.prefix}`, ...base, ...none },
    };
  const patched = patchWithTruth(history, t, initialRevision === undefined ? {} : { initialRevision });
  return {
    history: patched.history,
    use: {
      used: true,
      ...base,
      applied: patched.applied,
      notApplied: patched.notApplied,
      narrowed: patched.narrowed,
      undecided: patched.undecided,
    },
  };
}

/** What the watch truth did, for the outcome's message. */
function watchTruthText(use: WatchTruthUse | null): string {
  if (use === null || use.indeterminate === 0) return '';
  if (!use.used) return `; watch truth not used: ${use.reason ?? '?'}`;
  const resolved = use.applied + use.notApplied;
  return `; ${resolved} of ${use.indeterminate} indeterminate writes resolved from the watch truth (${use.applied} applied at their revision, ${use.notApplied} never applied), ${use.narrowed} narrowed to a few revisions, ${use.undecided} undecided`;
}

const WRITES: ReadonlySet<OperationRecord['kind']> = new Set(['put', 'delete', 'txn']);

const isMain = (r: OperationRecord): boolean => r.role === undefined || r.role.of === 'workload';

/** The records to check (see the module comment), or why the history cannot be checked as one. */
export function selectRecords(records: Iterable<OperationRecord>):
  | {
      readonly records: OperationRecord[];
      readonly main: number;
      readonly otherWrites: number;
      readonly otherReads: number;
    }
  | { readonly problem: string } {
  const selected: OperationRecord[] = [];
  let main = 0;
  let otherWrites = 0;
  let otherReads = 0;
  const clusters = new Set<number>();
  for (const r of records) {
    if (r.role?.of === 'quorum-cluster') {
      clusters.add(r.role.members);
      continue;
    }
    if (isMain(r)) {
      main += 1;
      selected.push(r);
    } else if (WRITES.has(r.kind)) {
      otherWrites += 1;
      selected.push(r);
    } else otherReads += 1;
  }
  if (clusters.size > 0)
    return {
      problem: `it holds the quorum matrix's operations on ${clusters.size} clusters (one revision counter each); the checker takes one cluster's history`,
    };
  return { records: selected, main, otherWrites, otherReads };
}

/**
 * Checks a run's history for linearizability. Never throws on what the history holds: input the
 * checker cannot take is an 'unknown' outcome with the reason (a quorum history is the caller's
 * to refuse before, with `selectRecords`).
 */
export function checkRecordedHistory(
  records: Iterable<OperationRecord>,
  options: RecordedHistoryOptions = {},
): LinearizabilityOutcome {
  const timeLimitMs = options.timeLimitMs ?? DEFAULT_TIME_LIMIT_MS;
  const initial = options.initial ?? null;
  const selection = selectRecords(records);
  const noDrops = {
    failed: 0,
    serializableReads: 0,
    indeterminateReads: 0,
    leaseOperations: 0,
    incomplete: 0,
  };
  const unknown = (reason: string, counts: Partial<LinearizabilityOutcome> = {}): LinearizabilityOutcome => ({
    status: 'unknown',
    message: `unknown: ${reason}`,
    reason,
    operations: 0,
    workloadRecords: 0,
    otherWrites: 0,
    dropped: { ...noDrops, otherReads: 0 },
    steps: 0,
    memoEntries: 0,
    elapsedMs: 0,
    timeLimitMs,
    initial,
    ...counts,
  });
  if ('problem' in selection) return unknown(`not checked: ${selection.problem}`);
  const adapted = fromOperationRecords(selection.records);
  const counts = {
    operations: adapted.history.length,
    workloadRecords: selection.main,
    otherWrites: selection.otherWrites,
    dropped: { ...adapted.dropped, otherReads: selection.otherReads },
  };
  if (initial !== null && initial.keys > 0)
    return unknown(
      `not checked: ${initial.keys} keys under ${initial.prefix} existed before the workload (the checker starts from absent keys)`,
      counts,
    );
  // Nothing acknowledged constrains nothing: "linearizable" would be true and say nothing.
  if (!adapted.history.some((op) => op.status === 'ok'))
    return unknown('not checked: the history holds no acknowledged operation', counts);
  const start: InitialState | undefined = initial === null ? undefined : { revision: initial.revision };
  const patched = withWatchTruth(adapted.history, options.watch, initial?.revision);
  const result = checkLinearizability(patched.history, {
    timeLimitMs,
    ...(start === undefined ? {} : { initial: start }),
  });
  const stats = `${result.operations} operations, ${result.steps} steps, ${Math.round(result.elapsedMs)} ms${watchTruthText(patched.use)}`;
  return {
    status: result.status,
    message:
      result.status === 'ok'
        ? `linearizable (${stats})`
        : result.status === 'failed'
          ? `NOT linearizable: operation #${result.violation?.stuck.id ?? '?'} cannot be ordered (${stats})`
          : `unknown: ${result.reason ?? '?'} (${stats})`,
    ...(result.reason === undefined ? {} : { reason: result.reason }),
    ...(result.violation === undefined ? {} : { violation: violationText(result.violation) }),
    ...counts,
    steps: result.steps,
    memoEntries: result.memoEntries,
    elapsedMs: Math.round(result.elapsedMs),
    timeLimitMs,
    initial,
    watchTruth: patched.use,
  };
}

/** The outcome as `etcd-lab check` prints it: the checker's own text (violation included), then what was left out. */
export function outcomeText(outcome: LinearizabilityOutcome): string {
  const d = outcome.dropped;
  const left = [
    d.failed > 0 ? `${d.failed} failed` : '',
    d.serializableReads > 0 ? `${d.serializableReads} serializable reads` : '',
    d.indeterminateReads > 0 ? `${d.indeterminateReads} reads without an answer` : '',
    d.leaseOperations > 0 ? `${d.leaseOperations} lease operations` : '',
    d.incomplete > 0 ? `${d.incomplete} incomplete records` : '',
    d.otherReads > 0 ? `${d.otherReads} reads of load-step clients` : '',
  ].filter((s) => s !== '');
  return [
    outcome.status === 'failed' && outcome.violation !== undefined ? outcome.violation : '',
    outcome.message,
    `checked ${outcome.operations} operations (${outcome.workloadRecords} workload records, ${outcome.otherWrites} load-step writes), from ${outcome.initial === null ? 'absent keys, revision inferred' : `revision ${outcome.initial.revision}, absent keys`}${left.length > 0 ? `; left out: ${left.join(', ')}` : ''}`,
  ]
    .filter((s) => s !== '')
    .join('\n');
}

/**
 * The hypothesis `linearizable: true` as a Check: held only on 'ok'; a violation deviates (the
 * violation text is the why); a time limit or no answer is inconclusive — never held.
 */
export function linearizabilityCheck(outcome: LinearizabilityOutcome | null): Check {
  const check: Check = {
    name: 'the history is linearizable',
    expected: 'linearizable',
    observed: outcome?.message ?? 'not checked (the run ended before the workload)',
    verdict: outcome === null ? 'inconclusive' : verdictOfStatus(outcome.status),
  };
  if (outcome?.status === 'failed' && outcome.violation !== undefined)
    return {
      ...check,
      why: outcome.violation.split('\n')[0] ?? 'not linearizable',
      details: outcome.violation,
    };
  return check;
}
