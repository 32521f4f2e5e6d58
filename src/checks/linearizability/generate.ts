import { createRng, type Rng } from '../../workload/rng.ts';
import type { Compare, HistoryOperation, KeyValue, KvRequest, KvResponse, Request } from './types.ts';

/**
 * Linearizable histories for tests and benches: clients call operations one after another
 * with random durations; each operation takes effect at a random instant within its call
 * (an indeterminate write: with probability ½ at a random instant after its call — possibly
 * after it "returned" — else never); applying them in the order of those instants to a plain
 * sequential etcd store gives every response. This store is written apart from the checker's
 * model on purpose (the tests compare the two).
 */
export interface GeneratorOptions {
  readonly operations: number;
  readonly clients?: number;
  readonly keys?: number;
  /** Fraction of writes whose outcome is indeterminate (default 0.01). */
  readonly indeterminate?: number;
  readonly seed?: number;
  /** Txns comparing on mod revision and multi-key txns (default true); off: partitionable histories. */
  readonly revisionsAndMultiKey?: boolean;
  /** Longest operation (time units, default 20); gaps between a client's operations up to 5. */
  readonly maxDuration?: number;
}

interface Stored {
  value: string;
  mod: number;
  create: number;
  version: number;
}

/** One change the generator's store applied: what a complete watch over every key would show. */
export interface GeneratedChange {
  readonly revision: number;
  readonly key: string;
  readonly type: 'put' | 'delete';
  readonly value?: string;
  /** The operation that made it. */
  readonly by: number;
}

class Store {
  revision = 1;
  readonly kvs = new Map<string, Stored>();
  readonly changes: GeneratedChange[] = [];
  by = -1;
  kv(key: string): KeyValue | null {
    const s = this.kvs.get(key);
    return s ? { value: s.value, modRevision: s.mod, createRevision: s.create, version: s.version } : null;
  }
  holds(c: Compare): boolean {
    const s = this.kvs.get(c.key);
    if (c.target === 'value' && !s) return false;
    const a =
      c.target === 'value'
        ? s?.value
        : !s
          ? 0
          : c.target === 'mod'
            ? s.mod
            : c.target === 'create'
              ? s.create
              : s.version;
    const b = c.value;
    if (a === undefined) return false;
    return c.op === '=' ? a === b : c.op === '!=' ? a !== b : c.op === '<' ? a < b : a > b;
  }
  run(requests: readonly KvRequest[]): KvResponse[] {
    const rev = this.revision + 1;
    let changed = false;
    const out: KvResponse[] = [];
    for (const q of requests) {
      const s = this.kvs.get(q.key);
      if (q.type === 'put') {
        this.kvs.set(q.key, {
          value: q.value,
          mod: rev,
          create: s ? s.create : rev,
          version: s ? s.version + 1 : 1,
        });
        this.changes.push({ revision: rev, key: q.key, type: 'put', value: q.value, by: this.by });
        changed = true;
        out.push({});
      } else if (q.type === 'delete') {
        if (s) {
          this.kvs.delete(q.key);
          this.changes.push({ revision: rev, key: q.key, type: 'delete', by: this.by });
          changed = true;
        }
        out.push({ deleted: s ? 1 : 0 });
      } else out.push({ kv: this.kv(q.key) });
    }
    if (changed) this.revision = rev;
    return out;
  }
}

export function generateHistory(options: GeneratorOptions): HistoryOperation[] {
  return generateHistoryWithChanges(options).history;
}

/** A generated history with every change its store applied, in revision order (the truth). */
export function generateHistoryWithChanges(options: GeneratorOptions): {
  history: HistoryOperation[];
  changes: GeneratedChange[];
} {
  const rng: Rng = createRng(options.seed ?? 1);
  const clients = options.clients ?? 8;
  const keyCount = options.keys ?? 10;
  const pIndeterminate = options.indeterminate ?? 0.01;
  const rich = options.revisionsAndMultiKey ?? true;
  const maxDuration = options.maxDuration ?? 20;
  const store = new Store();
  const clock = new Array<number>(clients).fill(0);
  // Operations applied in the order they are generated (roughly time order): what CAS
  // compares expect, so that some succeed and some do not.
  const shadow = new Store();
  interface Planned {
    id: number;
    client: number;
    call: number;
    ret: number;
    at: number;
    indeterminate: boolean;
    applies: boolean;
    request: Request;
  }
  const planned: Planned[] = [];
  const key = (): string => `k${rng.int(keyCount)}`;
  for (let id = 0; id < options.operations; id += 1) {
    const client = rng.int(clients);
    const call = (clock[client] as number) + rng.int(5);
    const ret = call + 1 + rng.int(maxDuration);
    clock[client] = ret;
    const k = key();
    const value = `v${id}`;
    const roll = rng.next();
    let request: Request;
    if (roll < 0.3) request = { type: 'put', key: k, value };
    else if (roll < 0.6) request = { type: 'get', key: k };
    else if (roll < 0.67) request = { type: 'delete', key: k };
    else {
      const last = shadow.kv(k);
      const kinds = rich ? (['mod', 'value', 'version'] as const) : (['value', 'version'] as const);
      const target = kinds[rng.int(kinds.length)] ?? 'value';
      const compare: Compare =
        target === 'value'
          ? { key: k, target, op: '=', value: last?.value ?? 'none' }
          : { key: k, target, op: '=', value: (target === 'mod' ? last?.modRevision : last?.version) ?? 0 };
      const other = rich && rng.next() < 0.3 ? key() : undefined;
      const success: KvRequest[] = [{ type: 'put', key: k, value }];
      const failure: KvRequest[] = [{ type: 'get', key: k }];
      if (other !== undefined && other !== k) {
        success.push({ type: 'put', key: other, value: `${value}b` });
        failure.push({ type: 'get', key: other });
      }
      request = { type: 'txn', compare: [compare], success, failure };
    }
    if (request.type === 'txn') {
      const q = request;
      shadow.run(q.compare.every((c) => shadow.holds(c)) ? q.success : q.failure);
    } else shadow.run([request]);
    const writes = request.type === 'put' || request.type === 'delete' || request.type === 'txn';
    const indeterminate = writes && rng.next() < pIndeterminate;
    const applies = !indeterminate || rng.next() < 0.5;
    const at = indeterminate ? call + rng.next() * 3 * maxDuration : call + rng.next() * (ret - call);
    planned.push({ id, client, call, ret, at, indeterminate, applies, request });
  }
  const byInstant = planned.filter((p) => p.applies).sort((a, b) => a.at - b.at);
  const responses = new Map<number, HistoryOperation['response']>();
  for (const p of byInstant) {
    const q = p.request;
    store.by = p.id;
    let response: HistoryOperation['response'];
    if (q.type === 'txn') {
      const succeeded = q.compare.every((c) => store.holds(c));
      const results = store.run(succeeded ? q.success : q.failure);
      response = { revision: store.revision, succeeded, results };
    } else {
      const [r] = store.run([q]);
      response = { revision: store.revision, ...(r ?? {}) };
    }
    responses.set(p.id, response);
  }
  const history = planned.map((p): HistoryOperation => {
    const base = { id: p.id, client: `c${p.client}`, call: p.call, return: p.ret, request: p.request };
    if (p.indeterminate) return { ...base, status: 'indeterminate' as const };
    return { ...base, status: 'ok' as const, response: responses.get(p.id) ?? {} };
  });
  return { history, changes: store.changes };
}
