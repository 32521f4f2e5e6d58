import { BadInputError } from '../errors.ts';
import type { Consistency, OperationRecord } from '../history/operation-record.ts';
import { createRng, type Rng } from './rng.ts';

/**
 * Relative weights of each operation; only the ratios matter. Absent entries are 0, so
 * `{ put: 1 }` is a write-only workload.
 */
export interface OperationMix {
  readonly put?: number;
  /** Linearizable get (a read index round through the leader). */
  readonly get?: number;
  /** Serializable get (answered from the member's local state). */
  readonly serializableGet?: number;
  readonly delete?: number;
  /** Compare-and-set on the key's mod revision. */
  readonly txn?: number;
  readonly leaseGrant?: number;
  readonly leaseKeepAlive?: number;
}

export const DEFAULT_MIX: Required<OperationMix> = {
  put: 40,
  get: 25,
  serializableGet: 10,
  delete: 5,
  txn: 15,
  leaseGrant: 2,
  leaseKeepAlive: 3,
};

/**
 * An operation chosen by the generator, before the client fills in what depends on what
 * it has seen: a txn's expected revision, a keep-alive's lease.
 */
export type PlannedOperation =
  | { readonly kind: 'put'; readonly key: string; readonly value: string }
  | { readonly kind: 'get'; readonly key: string; readonly consistency: Consistency }
  | { readonly kind: 'delete'; readonly key: string }
  | { readonly kind: 'txn'; readonly key: string; readonly value: string }
  | { readonly kind: 'lease-grant'; readonly ttlSeconds: number }
  /** Renews the client's latest lease; a client with none grants one (with `ttlSeconds`) instead. */
  | { readonly kind: 'lease-keepalive'; readonly ttlSeconds: number };

export interface KeySpace {
  /** Keys are `${keyPrefix}${n}` for n in [0, keyCount). */
  readonly keyPrefix: string;
  readonly keyCount: number;
  /**
   * Bytes per written value. Each value starts with `${clientId}:${sequence}` so every write
   * of a run is unique (what a history checker needs), padded to this size; a smaller size
   * than that tag is exceeded.
   */
  readonly valueBytes: number;
  readonly leaseTtlSeconds: number;
}

type Choice = (generator: OperationGenerator) => PlannedOperation;

const CHOICES: Readonly<Record<keyof OperationMix, Choice>> = {
  put: (g) => ({ kind: 'put', key: g.key(), value: g.value() }),
  get: (g) => ({ kind: 'get', key: g.key(), consistency: 'linearizable' }),
  serializableGet: (g) => ({ kind: 'get', key: g.key(), consistency: 'serializable' }),
  delete: (g) => ({ kind: 'delete', key: g.key() }),
  txn: (g) => ({ kind: 'txn', key: g.key(), value: g.value() }),
  leaseGrant: (g) => ({ kind: 'lease-grant', ttlSeconds: g.space.leaseTtlSeconds }),
  leaseKeepAlive: (g) => ({ kind: 'lease-keepalive', ttlSeconds: g.space.leaseTtlSeconds }),
};

export function validateMix(mix: OperationMix): void {
  let total = 0;
  for (const [name, weight] of Object.entries(mix)) {
    if (!(name in CHOICES)) throw new BadInputError(`unknown operation "${name}" in the mix`);
    if (typeof weight !== 'number' || !Number.isFinite(weight) || weight < 0) {
      throw new BadInputError(`mix weight of ${name} must be a finite number >= 0, got ${String(weight)}`);
    }
    total += weight;
  }
  if (total <= 0) throw new BadInputError('the operation mix has no operation with a positive weight');
}

/**
 * The operation sequence of one client: deterministic for (seed, client index), whatever the
 * timing of the run, so two runs with the same seed send the same operations per client.
 */
export class OperationGenerator {
  private readonly rng: Rng;
  private readonly cumulative: { readonly upTo: number; readonly choose: Choice }[] = [];
  private readonly total: number;
  private sequence = 0;

  constructor(
    readonly clientId: string,
    readonly space: KeySpace,
    mix: OperationMix,
    seed: number,
    clientIndex: number,
  ) {
    validateMix(mix);
    this.rng = createRng(seed, clientIndex);
    let total = 0;
    for (const [name, choose] of Object.entries(CHOICES) as [keyof OperationMix, Choice][]) {
      const weight = mix[name] ?? 0;
      if (weight <= 0) continue;
      total += weight;
      this.cumulative.push({ upTo: total, choose });
    }
    this.total = total;
  }

  next(): PlannedOperation {
    this.sequence += 1;
    const point = this.rng.next() * this.total;
    const entry = this.cumulative.find((candidate) => point < candidate.upTo) ?? this.cumulative.at(-1);
    if (entry === undefined) throw new BadInputError('empty operation mix');
    return entry.choose(this);
  }

  /** @internal */
  key(): string {
    return `${this.space.keyPrefix}${this.rng.int(this.space.keyCount)}`;
  }

  /** @internal */
  value(): string {
    const tag = `${this.clientId}:${this.sequence}`;
    return tag.length >= this.space.valueBytes ? tag : `${tag}-`.padEnd(this.space.valueBytes, 'x');
  }
}

/** The record fields an operation has before any client resolved it (for operations never sent). */
export function plannedRecordFields(
  operation: PlannedOperation,
): Pick<OperationRecord, 'kind' | 'key' | 'value' | 'consistency' | 'ttlSeconds'> {
  switch (operation.kind) {
    case 'put':
    case 'txn':
      return { kind: operation.kind, key: operation.key, value: operation.value };
    case 'get':
      return { kind: 'get', key: operation.key, consistency: operation.consistency };
    case 'delete':
      return { kind: 'delete', key: operation.key };
    case 'lease-grant':
      return { kind: 'lease-grant', ttlSeconds: operation.ttlSeconds };
    case 'lease-keepalive':
      return { kind: 'lease-keepalive' };
  }
}
