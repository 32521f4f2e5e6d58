import type { ClientRole, OperationRecord, OperationRequest } from '../history/operation-record.ts';
import type { CallTiming, RecordingClient } from '../history/recording-client.ts';
import type { DriverClient } from './driver.ts';
import type { OperationGenerator, PlannedOperation } from './operation-generator.ts';
import { withRetries, type RetryOptions } from './retry-policy.ts';

const LEASES_KEPT = 16;

interface KnownRevision {
  readonly modRevision: number;
  /** Store revision of the response it came from: a late response must not overwrite a newer one. */
  readonly asOf: number;
}

/**
 * A workload client: its own operation sequence, a recording etcd client, and what it has
 * learned from responses — each key's latest mod revision (for compare-and-set) and its
 * granted leases (for keep-alives). A retrying client has one recorder per member, in the
 * order it tries them: attempt n goes to recorder (n − 1) mod count.
 */
export class WorkloadClient implements DriverClient {
  readonly clientId: string;
  readonly role: ClientRole | undefined;
  private readonly revisions = new Map<string, KnownRevision>();
  private readonly leases: string[] = [];
  private operations = 0;

  constructor(
    private readonly recorders: readonly [RecordingClient, ...RecordingClient[]],
    private readonly generator: OperationGenerator,
    private readonly retry?: RetryOptions,
  ) {
    this.clientId = recorders[0].clientId;
    this.role = recorders[0].role;
  }

  next(): PlannedOperation {
    return this.generator.next();
  }

  async execute(operation: PlannedOperation, timing: CallTiming): Promise<OperationRecord> {
    const request = this.resolve(operation);
    const record =
      this.retry === undefined
        ? await this.recorders[0].perform(request, timing)
        : await this.performWithRetries(request, timing, this.retry);
    this.learn(record);
    return record;
  }

  private performWithRetries(
    request: OperationRequest,
    timing: CallTiming,
    retry: RetryOptions,
  ): Promise<OperationRecord> {
    const operation = ++this.operations;
    return withRetries(retry, (attempt) => {
      const recorder = this.recorders[(attempt - 1) % this.recorders.length] ?? this.recorders[0];
      // Only the first attempt was scheduled; later ones start when they are sent.
      const intended =
        attempt === 1 && timing.intendedMs !== undefined ? { intendedMs: timing.intendedMs } : {};
      return recorder.perform(request, { ...intended, operation, attempt });
    });
  }

  private resolve(operation: PlannedOperation): OperationRequest {
    switch (operation.kind) {
      case 'txn':
        return { ...operation, expectedRevision: this.revisions.get(operation.key)?.modRevision ?? 0 };
      case 'lease-keepalive': {
        const leaseId = this.leases.at(-1);
        return leaseId === undefined
          ? { kind: 'lease-grant', ttlSeconds: operation.ttlSeconds }
          : { kind: 'lease-keepalive', leaseId };
      }
      default:
        return operation;
    }
  }

  private learn(record: OperationRecord): void {
    if (record.outcome !== 'ok') {
      if (record.errorClass === 'lease-not-found' && record.leaseId !== undefined)
        this.forget(record.leaseId);
      return;
    }
    if (record.kind === 'lease-grant' && record.leaseId !== undefined) {
      this.leases.push(record.leaseId);
      if (this.leases.length > LEASES_KEPT) this.leases.shift();
      return;
    }
    if (record.key === undefined || record.revision === undefined) return;
    const modRevision = record.kind === 'delete' ? 0 : record.modRevision;
    if (modRevision === undefined) return;
    const known = this.revisions.get(record.key);
    if (known === undefined || record.revision >= known.asOf) {
      this.revisions.set(record.key, { modRevision, asOf: record.revision });
    }
  }

  private forget(leaseId: string): void {
    const index = this.leases.indexOf(leaseId);
    if (index >= 0) this.leases.splice(index, 1);
  }
}
