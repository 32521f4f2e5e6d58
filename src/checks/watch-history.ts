import type { OperationRecord } from '../history/operation-record.ts';
import { verdictOfStatus, type Check } from './check.ts';
import {
  checkWatches,
  GUARANTEES,
  resultText,
  truthFromRecords,
  violationText,
  type Guarantee,
  type KvEvent,
  type KvSnapshot,
  type WatchCheckResult,
  type WatcherHistory,
  type WriteTruth,
} from './watch/index.ts';

/**
 * The watch checker (src/checks/watch/) on a run's watchers: where the truth comes from, and the
 * answer as a Check. The checker is pure; this is the lab's side, shared by experiments
 * (`watch: true`) and `etcd-lab check`.
 *
 * The truth. First the run's own writes (`truthFromRecords` over every recorded operation: the
 * workload's and the load steps' clients are the only writers of an experiment's cluster, see
 * linearizable-history.ts), from the revision read just before the workload with the keys under
 * the prefix absent. An acknowledged write owns its header revision; what it leaves unknown are
 * the revisions of writes whose outcome the callers never learnt (a timed-out call that did
 * apply), and every revision after the last one the history shows, up to the store's revision at
 * the end. Left unknown, every watcher spanning one would be judged 'unknown' — after a leader
 * kill, nearly all. So those revisions, and only those, are resolved by reading the store after
 * the run, on the healthy cluster: a range read of the prefix at revision r − 1 and at r; what
 * differs is what revision r changed (a put: a key whose mod revision is r; a delete: a key there
 * at r − 1 and gone at r). Range reads, not a second watch: a watch-based truth would check the
 * watch path with itself, and a bug in it (a dropped event) would be in both. Resolved puts carry
 * value, create revision and version; their prev kv is not kept (not compared). Within one
 * revision the resolved changes are in key order; the lab's txns change one key, so the order a
 * txn's changes arrive in is not at stake.
 */

/** Revisions resolved by range reads after the run, with what each changed under the prefix. */
export interface ResolvedRevisions {
  readonly revisions: readonly number[];
  readonly events: readonly KvEvent[];
}

/** What the watch check answers; written to result.json as is (the watchers' histories go to watches.jsonl). */
export interface WatchOutcome {
  /** Over the guarantees asked for. */
  readonly status: 'ok' | 'violation' | 'unknown';
  readonly message: string;
  readonly guarantees: readonly Guarantee[];
  readonly prefix: string;
  /** The revision read before the workload (null: not read; the truth then starts at the first write). */
  readonly initialRevision: number | null;
  /** The store's revision after the run (null: not read). */
  readonly finalRevision: number | null;
  readonly resolved: ResolvedRevisions;
  readonly truth: {
    readonly fromRevision: number;
    readonly toRevision: number;
    readonly events: number;
    /** Still unknown after the reads. */
    readonly unknownRevisions: readonly number[];
    readonly resolvedByRead: number;
    readonly unresolvedWrites: number;
    readonly pinnedWrites: number;
  };
  readonly result: WatchCheckResult;
}

/** What revision `revision` changed, from the prefix's keys just before it and at it (pure). */
export function changesBetween(
  before: ReadonlyMap<string, KvSnapshot>,
  after: ReadonlyMap<string, KvSnapshot>,
  revision: number,
): KvEvent[] {
  const keys = [...new Set([...before.keys(), ...after.keys()])].sort();
  const events: KvEvent[] = [];
  for (const key of keys) {
    const now = after.get(key);
    if (now !== undefined && now.modRevision === revision) {
      events.push({
        revision,
        key,
        type: 'put',
        ...(now.value === undefined ? {} : { value: now.value }),
        ...(now.createRevision === undefined ? {} : { createRevision: now.createRevision }),
        ...(now.version === undefined ? {} : { version: now.version }),
      });
    } else if (now === undefined && before.has(key)) {
      events.push({ revision, key, type: 'delete' });
    }
  }
  return events;
}

export interface WatchTruthOptions {
  readonly prefix: string;
  readonly initialRevision: number | null;
  readonly finalRevision: number | null;
  readonly resolved?: ResolvedRevisions;
}

/** The truth from the records alone, and which of its revisions are unknown (to resolve by reads). */
export function truthOfRecords(
  records: Iterable<OperationRecord>,
  options: WatchTruthOptions,
): { readonly truth: WriteTruth; readonly unresolvedWrites: number; readonly pinnedWrites: number } {
  const base = truthFromRecords(
    records,
    options.initialRevision === null ? {} : { initial: { revision: options.initialRevision } },
  );
  const t = base.truth;
  const toRevision = Math.max(t.toRevision, options.finalRevision ?? t.toRevision);
  const unknown = new Set(t.unknownRevisions);
  for (let r = t.toRevision + 1; r <= toRevision; r += 1) unknown.add(r);
  const resolved = options.resolved ?? { revisions: [], events: [] };
  for (const r of resolved.revisions) unknown.delete(r);
  const resolvedSet = new Set(resolved.revisions);
  const events = [
    ...t.events.filter((e) => !resolvedSet.has(e.revision)),
    ...resolved.events.filter((e) => e.revision >= t.fromRevision && e.revision <= toRevision),
  ].sort((a, b) => a.revision - b.revision);
  return {
    truth: {
      events,
      fromRevision: t.fromRevision,
      toRevision,
      unknownRevisions: [...unknown].sort((a, b) => a - b),
      keySpace: { key: options.prefix, prefix: true },
    },
    unresolvedWrites: base.unresolved.length,
    pinnedWrites: base.pinned,
  };
}

/** The guarantees' overall status, over those asked for. */
function statusOver(result: WatchCheckResult, guarantees: readonly Guarantee[]): WatchOutcome['status'] {
  const of = guarantees.map((g) => result.perGuarantee[g].status);
  return of.includes('violation') ? 'violation' : of.includes('unknown') ? 'unknown' : 'ok';
}

/** Checks a run's watchers against the truth (see the module comment). Pure; never throws on the input. */
export function checkRecordedWatches(
  records: Iterable<OperationRecord>,
  watchers: readonly WatcherHistory[],
  options: WatchTruthOptions & { readonly guarantees?: readonly Guarantee[] },
): WatchOutcome {
  const guarantees = options.guarantees ?? GUARANTEES;
  const { truth, unresolvedWrites, pinnedWrites } = truthOfRecords(records, options);
  const result = checkWatches(truth, watchers);
  const status = statusOver(result, guarantees);
  const c = result.counts;
  const broken = guarantees.filter((g) => result.perGuarantee[g].status === 'violation');
  const undecided = guarantees.filter((g) => result.perGuarantee[g].status === 'unknown');
  const stats = `${c.watchers} watchers, ${c.eventsDelivered} events delivered of ${c.eventsExpected} expected, ${c.reconnects} reconnects`;
  const message =
    status === 'ok'
      ? `${guarantees.join(', ')} kept (${stats})`
      : status === 'violation'
        ? `${c.violations} violations of ${broken.join(', ')}: ${c.violationsByServer} by the server, ${c.violationsByClientLibrary} by the client library (${stats})`
        : `not decided: ${undecided.map((g) => `${g} (${result.perGuarantee[g].reasons[0] ?? '?'})`).join('; ')} (${stats})`;
  const resolved = options.resolved ?? { revisions: [], events: [] };
  return {
    status,
    message,
    guarantees,
    prefix: options.prefix,
    initialRevision: options.initialRevision,
    finalRevision: options.finalRevision,
    resolved,
    truth: {
      fromRevision: truth.fromRevision,
      toRevision: truth.toRevision,
      events: truth.events.length,
      unknownRevisions: truth.unknownRevisions,
      resolvedByRead: resolved.revisions.length,
      unresolvedWrites,
      pinnedWrites,
    },
    result,
  };
}

/**
 * Why the watchers' events must not resolve the history's indeterminate writes
 * (linearizable-history.ts): the watch check found revisions split across responses, or changes
 * the server did not send when asked, sent differently or never applied, so their union may not
 * be what etcd applied. Changes only the client library skipped leave it usable. Undefined: usable.
 */
export function watchTruthProblem(o: Pick<WatchOutcome, 'result'>): string | undefined {
  const { perGuarantee, violations, counts } = o.result;
  if (perGuarantee.atomic.status === 'violation')
    return "the watch check found atomic broken, so the watchers' events may not be what etcd applied";
  if (perGuarantee.reliable.status !== 'violation') return undefined;
  // Changes the client library never asked for (it resumed past them) leave every stream what
  // etcd sent: etcd's changes less whole revisions (a resume point is a revision), which the
  // other watchers' events fill or the union leaves unknown. Anything else — a change etcd did
  // not send when asked, sent differently, or never applied — and the streams are not trusted.
  const reliable = violations.filter((v) => v.guarantee === 'reliable');
  const skippedByLibrary =
    violations.length === counts.violations &&
    reliable.every((v) => v.kind === 'missing' && v.blame.by === 'client-library' && v.blame.confirmed);
  return skippedByLibrary
    ? undefined
    : "the watch check found reliable broken by the server, so the watchers' events may not be what etcd applied";
}

/** The outcome as `etcd-lab check` prints it: the checker's text, then where the truth came from. */
export function watchOutcomeText(o: WatchOutcome): string {
  const t = o.truth;
  return [
    resultText(o.result),
    `watch: ${o.status}: ${o.message}`,
    `truth: revisions ${t.fromRevision}–${t.toRevision} under ${o.prefix}, ${t.events} changes (${t.resolvedByRead} revisions resolved by range reads after the run, ${t.unresolvedWrites} writes the history left unresolved, ${t.pinnedWrites} pinned by a read), ${t.unknownRevisions.length} revisions still unknown`,
  ].join('\n');
}

/**
 * The hypothesis `watch: true` (or a list of guarantees) as a Check: held only when every named
 * guarantee is ok; deviated on a violation of one of them (the violations, with who broke each,
 * in the details); inconclusive otherwise — never held by default.
 */
export function watchCheck(outcome: WatchOutcome | null, guarantees: readonly Guarantee[]): Check {
  const all = guarantees.length === GUARANTEES.length;
  const check: Check = {
    name: all ? 'watch guarantees' : `watch guarantees (${guarantees.join(', ')})`,
    expected: guarantees.join(', '),
    observed: outcome?.message ?? 'not checked (the run ended before the workload)',
    verdict:
      outcome === null
        ? 'inconclusive'
        : verdictOfStatus(outcome.status === 'violation' ? 'failed' : outcome.status),
  };
  if (outcome === null) return check;
  if (outcome.status === 'violation') {
    const first = outcome.result.violations.find((v) => guarantees.includes(v.guarantee));
    return {
      ...check,
      why: first === undefined ? outcome.message : violationText(first).split('\n').slice(0, 2).join(' '),
      details: resultText(outcome.result),
    };
  }
  if (outcome.status === 'unknown') return { ...check, why: outcome.message };
  return check;
}
