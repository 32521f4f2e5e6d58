import type { OperationRecord } from '../../history/operation-record.ts';
import type { HistoryOperation, KeyValue } from './types.ts';

export interface AdaptedHistory {
  readonly history: HistoryOperation[];
  /** Records left out, by why. */
  readonly dropped: {
    readonly failed: number;
    readonly serializableReads: number;
    readonly indeterminateReads: number;
    readonly leaseOperations: number;
    readonly incomplete: number;
  };
}

/**
 * The lab's recorded operations as the checker's history. Reads carry the key's value, mod and
 * create revisions and version, and a failed CAS txn the value, revisions and version its
 * failure branch read, where the records have them (histories recorded before they were kept
 * lack create revisions, versions and a failed txn's value: those are not checked). Puts record
 * no lease: lease grants and keep-alives are left out, because the workload attaches no keys to
 * leases, so they do not touch the KV store — with attached keys, a lease expiry deletes keys
 * and bumps the revision, which this checker does not model. Serializable reads may be stale by
 * design and are left out. Failed operations did not apply and are left out; a failed write
 * whose error leaves its fate open is recorded as indeterminate and kept.
 */
export function fromOperationRecords(records: Iterable<OperationRecord>): AdaptedHistory {
  const history: HistoryOperation[] = [];
  const dropped = {
    failed: 0,
    serializableReads: 0,
    indeterminateReads: 0,
    leaseOperations: 0,
    incomplete: 0,
  };
  for (const r of records) {
    if (r.outcome === 'fail') {
      dropped.failed += 1;
      continue;
    }
    if (r.kind === 'lease-grant' || r.kind === 'lease-keepalive') {
      dropped.leaseOperations += 1;
      continue;
    }
    if (r.kind === 'get' && r.consistency === 'serializable') {
      dropped.serializableReads += 1;
      continue;
    }
    if (r.kind === 'get' && r.outcome !== 'ok') {
      dropped.indeterminateReads += 1;
      continue;
    }
    const key = r.key;
    if (key === undefined) {
      dropped.incomplete += 1;
      continue;
    }
    const base = {
      id: r.id,
      client: r.clientId,
      call: r.startMs,
      return: r.endMs,
      status: r.outcome === 'ok' ? ('ok' as const) : ('indeterminate' as const),
    };
    const revision = r.revision !== undefined ? { revision: r.revision } : {};
    const ok = r.outcome === 'ok';
    if (r.kind === 'put') {
      if (r.value === undefined) {
        dropped.incomplete += 1;
        continue;
      }
      history.push({
        ...base,
        request: { type: 'put', key, value: r.value },
        ...(ok ? { response: { ...revision } } : {}),
      });
    } else if (r.kind === 'get') {
      const kv = r.found === false ? null : readKey(r, r.value);
      history.push({
        ...base,
        request: { type: 'get', key },
        response: { ...revision, ...(r.found !== undefined ? { kv } : {}) },
      });
    } else if (r.kind === 'delete') {
      history.push({
        ...base,
        request: { type: 'delete', key },
        ...(ok
          ? { response: { ...revision, ...(r.deleted !== undefined ? { deleted: r.deleted } : {}) } }
          : {}),
      });
    } else {
      if (r.value === undefined || r.expectedRevision === undefined) {
        dropped.incomplete += 1;
        continue;
      }
      const failedRead =
        r.found === false ? null : r.modRevision !== undefined ? readKey(r, r.foundValue) : undefined;
      history.push({
        ...base,
        request: {
          type: 'txn',
          compare: [{ key, target: 'mod', op: '=', value: r.expectedRevision }],
          success: [{ type: 'put', key, value: r.value }],
          failure: [{ type: 'get', key }],
        },
        ...(ok
          ? {
              response: {
                ...revision,
                ...(r.succeeded !== undefined ? { succeeded: r.succeeded } : {}),
                ...(r.succeeded === false && failedRead !== undefined
                  ? { results: [{ kv: failedRead }] }
                  : {}),
              },
            }
          : {}),
      });
    }
  }
  return { history, dropped };
}

/** The key as a read (or a failed txn's failure branch) returned it: the fields recorded. */
function readKey(r: OperationRecord, value: string | undefined): KeyValue {
  return {
    ...(value !== undefined ? { value } : {}),
    ...(r.modRevision !== undefined ? { modRevision: r.modRevision } : {}),
    ...(r.createRevision !== undefined ? { createRevision: r.createRevision } : {}),
    ...(r.version !== undefined ? { version: r.version } : {}),
  };
}
