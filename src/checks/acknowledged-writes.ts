import type { OperationRecord } from '../history/operation-record.ts';
import { verdictOfStatus, type Check } from './check.ts';

/** A check's answer is data, never an exception (Jepsen / etcd robustness style). */
export type CheckStatus = 'ok' | 'failed' | 'unknown';

export interface AcknowledgedWritesResult {
  readonly status: CheckStatus;
  readonly keysChecked: number;
  /** Keys written by operations this checker does not model (delete, txn): left out. */
  readonly keysSkipped: number;
  readonly acknowledgedWrites: number;
  /** Keys whose final value cannot be explained by the history; each one is a lost or stale write. */
  readonly violations: readonly {
    readonly key: string;
    readonly expectedOneOf: number;
    readonly found: string | null;
  }[];
  readonly message: string;
}

/**
 * Is every acknowledged write still there? For each key written only by puts, take the
 * acknowledged put L that returned last. The final value must come from L or from a put
 * that could be ordered after L: an acknowledged put that had not returned before L was
 * sent, or any put whose outcome is indeterminate (it may have been applied at any time
 * after it was sent). Values are unique per write, so a value names its write. A key that
 * is gone, or holds an older value, lost an acknowledged write.
 */
export function checkAcknowledgedWrites(
  history: Iterable<OperationRecord>,
  finalValues: ReadonlyMap<string, string>,
): AcknowledgedWritesResult {
  const writesByKey = new Map<string, OperationRecord[]>();
  const skipped = new Set<string>();
  for (const record of history) {
    if (record.key === undefined) continue;
    if (record.kind === 'delete' || record.kind === 'txn') skipped.add(record.key);
    if (record.kind !== 'put' || record.outcome === 'fail') continue;
    const list = writesByKey.get(record.key) ?? [];
    list.push(record);
    writesByKey.set(record.key, list);
  }
  const violations: { key: string; expectedOneOf: number; found: string | null }[] = [];
  let acknowledged = 0;
  let checked = 0;
  for (const [key, writes] of writesByKey) {
    if (skipped.has(key)) continue;
    checked += 1;
    const acked = writes.filter((w) => w.outcome === 'ok');
    acknowledged += acked.length;
    const found = finalValues.get(key) ?? null;
    const last = acked.reduce<OperationRecord | undefined>(
      (a, b) => (a && a.endMs >= b.endMs ? a : b),
      undefined,
    );
    if (!last) {
      // Nothing acknowledged: absent, or any attempted value, is fine.
      if (found !== null && !writes.some((w) => w.value === found))
        violations.push({ key, expectedOneOf: writes.length, found });
      continue;
    }
    const possible = writes.filter(
      (w) => w === last || w.outcome === 'indeterminate' || (w.outcome === 'ok' && w.endMs > last.startMs),
    );
    if (found === null || !possible.some((w) => w.value === found)) {
      violations.push({ key, expectedOneOf: possible.length, found });
    }
  }
  // Every written key also saw a delete or a transaction: nothing here could be judged, and
  // "all 0 writes accounted for" would pass a check that looked at nothing.
  const status: CheckStatus =
    violations.length > 0 ? 'failed' : checked === 0 && skipped.size > 0 ? 'unknown' : 'ok';
  const messages: Record<CheckStatus, string> = {
    ok: `all ${acknowledged} acknowledged writes on ${checked} keys accounted for`,
    failed: `${violations.length} of ${checked} keys lost an acknowledged write (e.g. ${violations[0]?.key ?? '?'})`,
    unknown: `no key was written by puts alone (all ${skipped.size} also saw deletes or transactions, which this check does not model; the linearizability check covers them)`,
  };
  return {
    status,
    keysChecked: checked,
    keysSkipped: skipped.size,
    acknowledgedWrites: acknowledged,
    violations: violations.slice(0, 20),
    message: messages[status],
  };
}

/**
 * The checker's answer as a Check. No answer (the run ended before the final values could be
 * read) or an 'unknown' one is inconclusive: a write that may have been lost is never "held".
 */
export function acknowledgedWritesCheck(result: AcknowledgedWritesResult | null): Check {
  return {
    name: 'every acknowledged write survives',
    expected: 'none lost',
    observed: result?.message ?? 'not checked',
    verdict: result === null ? 'inconclusive' : verdictOfStatus(result.status),
  };
}
