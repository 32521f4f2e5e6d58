import {
  castGrpcError,
  CompareResult,
  CompareTarget,
  EtcdLeaseInvalidError,
  type Etcd3,
  type ILeaseKeepAliveResponse,
  type IRangeResponse,
  type IResponseHeader,
  type ITxnResponse,
} from 'etcd3';
import { classifyError, failedOutcome } from './error-classification.ts';
import type { History } from './history.ts';
import type { ClientRole, Consistency, OperationRecord, OperationRequest } from './operation-record.ts';

/** A monotonic clock in milliseconds; the run's `RunClock` is one. */
export interface Clock {
  now(): number;
}

export interface CallTiming {
  /**
   * Open loop: when the schedule meant this operation to be sent, on the run clock. It
   * becomes the record's `startMs`, so a late send counts as latency.
   */
  readonly intendedMs?: number;
  /** Retrying clients: which logical operation of this client the call is an attempt at, and which attempt (1…). */
  readonly operation?: number;
  readonly attempt?: number;
}

export interface RecorderContext {
  readonly clientId: string;
  /** Recorded on every operation of this client. */
  readonly role?: ClientRole;
  readonly clock: Clock;
  readonly history: History;
}

/** What an ok response adds to its record. */
export type ResponseFields = Partial<
  Pick<
    OperationRecord,
    | 'revision'
    | 'memberId'
    | 'raftTerm'
    | 'found'
    | 'value'
    | 'modRevision'
    | 'createRevision'
    | 'version'
    | 'foundValue'
    | 'succeeded'
    | 'deleted'
    | 'leaseId'
    | 'grantedTtlSeconds'
  >
>;

type RequestFields = Pick<
  OperationRecord,
  'key' | 'value' | 'consistency' | 'expectedRevision' | 'ttlSeconds' | 'leaseId'
>;

function requestFields(request: OperationRequest): RequestFields {
  switch (request.kind) {
    case 'put':
      return { key: request.key, value: request.value };
    case 'get':
      return { key: request.key, consistency: request.consistency };
    case 'delete':
      return { key: request.key };
    case 'txn':
      return { key: request.key, value: request.value, expectedRevision: request.expectedRevision };
    case 'lease-grant':
      return { ttlSeconds: request.ttlSeconds };
    case 'lease-keepalive':
      return { leaseId: request.leaseId };
  }
}

/**
 * Runs `call` and records it: call time before, return time after, outcome from the
 * response or the error. Never rejects because of what etcd did; every call is appended
 * to the history, including those that failed.
 */
export async function recordOperation(
  context: RecorderContext,
  request: OperationRequest,
  call: () => Promise<ResponseFields>,
  timing: CallTiming = {},
): Promise<OperationRecord> {
  const id = context.history.nextId();
  const sentMs = context.clock.now();
  const startMs = timing.intendedMs ?? sentMs;
  const head = {
    id,
    clientId: context.clientId,
    ...(context.role === undefined ? {} : { role: context.role }),
    kind: request.kind,
    startMs,
    ...(timing.attempt === undefined ? {} : { operation: timing.operation ?? id, attempt: timing.attempt }),
  };
  const sent = sentMs > startMs ? { sentMs } : {};
  let record: OperationRecord;
  try {
    const response = await call();
    const endMs = context.clock.now();
    record = { ...head, endMs, outcome: 'ok', ...sent, ...requestFields(request), ...response };
  } catch (error) {
    const endMs = context.clock.now();
    const classification = classifyError(error);
    record = {
      ...head,
      endMs,
      outcome: failedOutcome(request.kind, classification),
      ...sent,
      ...requestFields(request),
      errorClass: classification.errorClass,
      errorMessage: error instanceof Error ? error.message : String(error),
    };
  }
  context.history.append(record);
  return record;
}

function headerFields(header: IResponseHeader): ResponseFields {
  return {
    revision: Number(header.revision),
    memberId: header.member_id,
    raftTerm: Number(header.raft_term),
  };
}

/**
 * A single-key range response: found or not, and the key's value, mod and create revisions and
 * version (what a linearizability checker compares), with the header.
 */
export function rangeFields(response: Pick<IRangeResponse, 'header' | 'kvs'>): ResponseFields {
  const found = response.kvs[0];
  return found === undefined
    ? { ...headerFields(response.header), found: false, modRevision: 0 }
    : {
        ...headerFields(response.header),
        found: true,
        value: found.value.toString(),
        modRevision: Number(found.mod_revision),
        createRevision: Number(found.create_revision),
        version: Number(found.version),
      };
}

/**
 * A compare-and-set txn's response: succeeded (the put's revision is the header's), or the
 * failure branch's read of the key — its value as `foundValue` (`value` is the one the txn
 * would have written), mod and create revisions and version.
 */
export function txnFields(
  response: Pick<ITxnResponse, 'header' | 'succeeded' | 'responses'>,
): ResponseFields {
  const header = headerFields(response.header);
  if (response.succeeded) return { ...header, succeeded: true, modRevision: header.revision ?? 0 };
  const current = response.responses[0]?.response_range.kvs[0];
  return current === undefined
    ? { ...header, succeeded: false, found: false, modRevision: 0 }
    : {
        ...header,
        succeeded: false,
        found: true,
        foundValue: current.value.toString(),
        modRevision: Number(current.mod_revision),
        createRevision: Number(current.create_revision),
        version: Number(current.version),
      };
}

export type RecordingClientOptions = RecorderContext;

/**
 * An etcd3 client whose every call is recorded in a history. Calls resolve to their
 * record and never reject because of etcd: a refused or timed-out write is a record with
 * outcome 'fail' or 'indeterminate', not an exception.
 *
 * It talks to etcd's gRPC API directly (etcd3's KV and Lease clients) so the response
 * header — revision, answering member, raft term — is kept. Retries are whatever the
 * etcd3 client was built with; the lab's clients have none, so each record is one attempt.
 */
export class RecordingClient {
  readonly clientId: string;
  readonly role: ClientRole | undefined;
  private readonly context: RecorderContext;

  constructor(
    private readonly etcd: Etcd3,
    options: RecordingClientOptions,
  ) {
    this.clientId = options.clientId;
    this.role = options.role;
    this.context = {
      clientId: options.clientId,
      clock: options.clock,
      history: options.history,
      ...(options.role === undefined ? {} : { role: options.role }),
    };
  }

  perform(request: OperationRequest, timing: CallTiming = {}): Promise<OperationRecord> {
    switch (request.kind) {
      case 'put':
        return this.put(request.key, request.value, timing);
      case 'get':
        return this.get(request.key, request.consistency, timing);
      case 'delete':
        return this.delete(request.key, timing);
      case 'txn':
        return this.compareAndSet(request.key, request.expectedRevision, request.value, timing);
      case 'lease-grant':
        return this.leaseGrant(request.ttlSeconds, timing);
      case 'lease-keepalive':
        return this.leaseKeepAlive(request.leaseId, timing);
    }
  }

  put(key: string, value: string, timing?: CallTiming): Promise<OperationRecord> {
    return recordOperation(
      this.context,
      { kind: 'put', key, value },
      async () => {
        const response = await this.etcd.kv.put({ key: Buffer.from(key), value: Buffer.from(value) });
        const fields = headerFields(response.header);
        return { ...fields, modRevision: fields.revision ?? 0 };
      },
      timing,
    );
  }

  get(key: string, consistency: Consistency = 'linearizable', timing?: CallTiming): Promise<OperationRecord> {
    return recordOperation(
      this.context,
      { kind: 'get', key, consistency },
      async () => {
        const response = await this.etcd.kv.range({
          key: Buffer.from(key),
          serializable: consistency === 'serializable',
        });
        return rangeFields(response);
      },
      timing,
    );
  }

  delete(key: string, timing?: CallTiming): Promise<OperationRecord> {
    return recordOperation(
      this.context,
      { kind: 'delete', key },
      async () => {
        const response = await this.etcd.kv.deleteRange({ key: Buffer.from(key) });
        return { ...headerFields(response.header), deleted: Number(response.deleted) };
      },
      timing,
    );
  }

  /** Puts `value` if the key's mod revision is `expectedRevision` (0: key absent); otherwise reads the key. */
  compareAndSet(
    key: string,
    expectedRevision: number,
    value: string,
    timing?: CallTiming,
  ): Promise<OperationRecord> {
    return recordOperation(
      this.context,
      { kind: 'txn', key, value, expectedRevision },
      async () => {
        const keyBuffer = Buffer.from(key);
        const response = await this.etcd.kv.txn({
          compare: [
            {
              key: keyBuffer,
              target: CompareTarget.Mod,
              result: CompareResult.Equal,
              mod_revision: expectedRevision,
            },
          ],
          success: [{ request_put: { key: keyBuffer, value: Buffer.from(value) } }],
          failure: [{ request_range: { key: keyBuffer } }],
        });
        return txnFields(response);
      },
      timing,
    );
  }

  leaseGrant(ttlSeconds: number, timing?: CallTiming): Promise<OperationRecord> {
    return recordOperation(
      this.context,
      { kind: 'lease-grant', ttlSeconds },
      async () => {
        const response = await this.etcd.leaseClient.leaseGrant({ TTL: ttlSeconds });
        if (response.error) throw new Error(`lease grant: ${response.error}`);
        return {
          ...headerFields(response.header),
          leaseId: response.ID,
          grantedTtlSeconds: Number(response.TTL),
        };
      },
      timing,
    );
  }

  /** One keep-alive for `leaseId` (a keep-alive stream opened, one request, closed). */
  leaseKeepAlive(leaseId: string, timing?: CallTiming): Promise<OperationRecord> {
    return recordOperation(
      this.context,
      { kind: 'lease-keepalive', leaseId },
      async () => {
        const response = await this.keepAliveOnce(leaseId);
        // etcd answers a keep-alive for an unknown or expired lease with TTL 0, not an error.
        if (Number(response.TTL) <= 0) throw new EtcdLeaseInvalidError(leaseId);
        return { ...headerFields(response.header), grantedTtlSeconds: Number(response.TTL) };
      },
      timing,
    );
  }

  private async keepAliveOnce(leaseId: string): Promise<ILeaseKeepAliveResponse> {
    const stream = await this.etcd.leaseClient.leaseKeepAlive();
    try {
      return await new Promise<ILeaseKeepAliveResponse>((resolve, reject) => {
        stream.on('data', resolve);
        stream.on('error', (error: Error) => reject(castGrpcError(error)));
        stream.on('end', () => reject(new Error('keep-alive stream ended without a response')));
        stream.write({ ID: leaseId });
      });
    } finally {
      stream.end();
    }
  }
}
