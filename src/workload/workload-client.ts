import type { OperationRecord, OperationRequest } from '../history/operation-record.ts';
import type { CallTiming, RecordingClient } from '../history/recording-client.ts';
import type { DriverClient } from './driver.ts';
import type { OperationGenerator, PlannedOperation } from './operation-generator.ts';

const LEASES_KEPT = 16;

interface KnownRevision {
  readonly modRevision: number;
  /** Store revision of the response it came from: a late response must not overwrite a newer one. */
  readonly asOf: number;
}

/**
 * A workload client: its own operation sequence, a recording etcd client, and what it has
 * learned from responses — each key's latest mod revision (for compare-and-set) and its
 * granted leases (for keep-alives).
 */
export class WorkloadClient implements DriverClient {
  readonly clientId: string;
  private readonly revisions = new Map<string, KnownRevision>();
  private readonly leases: string[] = [];

  constructor(
    private readonly recorder: RecordingClient,
    private readonly generator: OperationGenerator,
  ) {
    this.clientId = recorder.clientId;
  }

  next(): PlannedOperation {
    return this.generator.next();
  }

  async execute(operation: PlannedOperation, timing: CallTiming): Promise<OperationRecord> {
    const record = await this.recorder.perform(this.resolve(operation), timing);
    this.learn(record);
    return record;
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
