import { describe, expect, it } from 'vitest';

import { BadInputError } from '../../src/errors.ts';
import {
  DEFAULT_MIX,
  OperationGenerator,
  type PlannedOperation,
} from '../../src/workload/operation-generator.ts';
import { createRng } from '../../src/workload/rng.ts';

const SPACE = { keyPrefix: 'k/', keyCount: 20, valueBytes: 32, leaseTtlSeconds: 7 };

function take(generator: OperationGenerator, count: number): PlannedOperation[] {
  return Array.from({ length: count }, () => generator.next());
}

function label(operation: PlannedOperation): string {
  return operation.kind === 'get' ? `get-${operation.consistency}` : operation.kind;
}

describe('operation generator', () => {
  it('gives the same sequence for the same seed and client, and different ones otherwise', () => {
    const sequence = (seed: number, client: number): PlannedOperation[] =>
      take(new OperationGenerator(`c${client}`, SPACE, DEFAULT_MIX, seed, client), 200);

    expect(sequence(42, 0)).toEqual(sequence(42, 0));
    expect(sequence(42, 0).map(label)).not.toEqual(sequence(43, 0).map(label));
    expect(sequence(42, 0).map(label)).not.toEqual(sequence(42, 1).map(label));
  });

  it('follows the mix weights', () => {
    const count = 20_000;
    const generator = new OperationGenerator('c0', SPACE, DEFAULT_MIX, 1, 0);
    const counts = new Map<string, number>();
    for (const operation of take(generator, count)) {
      counts.set(label(operation), (counts.get(label(operation)) ?? 0) + 1);
    }
    const total = Object.values(DEFAULT_MIX).reduce((sum, weight) => sum + weight, 0);
    const expected: Record<string, number> = {
      put: DEFAULT_MIX.put,
      'get-linearizable': DEFAULT_MIX.get,
      'get-serializable': DEFAULT_MIX.serializableGet,
      delete: DEFAULT_MIX.delete,
      txn: DEFAULT_MIX.txn,
      'lease-grant': DEFAULT_MIX.leaseGrant,
      'lease-keepalive': DEFAULT_MIX.leaseKeepAlive,
    };
    for (const [name, weight] of Object.entries(expected)) {
      // Binomial standard deviation at n = 20 000 is under 0.4 %; allow 1.5 %.
      expect(Math.abs((counts.get(name) ?? 0) / count - weight / total), name).toBeLessThan(0.015);
    }
  });

  it('stays in the key space and writes unique values of the requested size', () => {
    const generator = new OperationGenerator('c3', SPACE, { put: 1, txn: 1, get: 1 }, 5, 3);
    const operations = take(generator, 2_000);
    const keys = new Set<string>();
    const values: string[] = [];
    for (const operation of operations) {
      if ('key' in operation) keys.add(operation.key);
      if ('value' in operation) values.push(operation.value);
    }
    expect([...keys].every((key) => /^k\/(1?\d)$/.test(key))).toBe(true);
    expect(keys.size).toBe(20);
    expect(new Set(values).size).toBe(values.length);
    expect(values.every((value) => value.length === 32 && value.startsWith('c3:'))).toBe(true);
  });

  it('only generates what has weight', () => {
    const operations = take(new OperationGenerator('c0', SPACE, { put: 1 }, 1, 0), 500);
    expect(new Set(operations.map((o) => o.kind))).toEqual(new Set(['put']));
    const leases = take(new OperationGenerator('c0', SPACE, { leaseKeepAlive: 1 }, 1, 0), 5);
    expect(leases).toEqual(Array(5).fill({ kind: 'lease-keepalive', ttlSeconds: 7 }));
  });

  it('rejects mixes that cannot generate anything', () => {
    expect(() => new OperationGenerator('c0', SPACE, {}, 1, 0)).toThrow(BadInputError);
    expect(() => new OperationGenerator('c0', SPACE, { put: 0 }, 1, 0)).toThrow(BadInputError);
    expect(() => new OperationGenerator('c0', SPACE, { put: -1, get: 2 }, 1, 0)).toThrow(BadInputError);
    expect(() => new OperationGenerator('c0', SPACE, { put: Number.NaN }, 1, 0)).toThrow(BadInputError);
    expect(() => new OperationGenerator('c0', SPACE, { puts: 1 } as never, 1, 0)).toThrow(BadInputError);
  });
});

describe('seeded rng', () => {
  it('is reproducible and roughly uniform', () => {
    const a = createRng(9, 2);
    const b = createRng(9, 2);
    const draws = Array.from({ length: 10_000 }, () => a.next());
    expect(draws).toEqual(Array.from({ length: 10_000 }, () => b.next()));
    expect(draws.every((x) => x >= 0 && x < 1)).toBe(true);
    const buckets = new Array<number>(10).fill(0);
    for (const x of draws) buckets[Math.floor(x * 10)] = (buckets[Math.floor(x * 10)] ?? 0) + 1;
    for (const bucket of buckets) expect(Math.abs(bucket - 1_000)).toBeLessThan(150);
  });
});
