import type { KeyRange, WatchRequest } from './types.ts';

/**
 * Key ranges as etcd reads them. A range is [low, high): `high` null means no end. A single key k
 * is [k, k + "\0"), the smallest string after k being k followed by the smallest code unit.
 */
interface Bounds {
  readonly low: string;
  readonly high: string | null;
}

/** etcd's prefix range end (clientv3.GetPrefixRangeEnd): the prefix with its last unit incremented. */
export function prefixEnd(prefix: string): string | null {
  for (let i = prefix.length - 1; i >= 0; i -= 1) {
    const unit = prefix.charCodeAt(i);
    if (unit < 0xffff) return prefix.slice(0, i) + String.fromCharCode(unit + 1);
  }
  return null; // empty, or every unit is the largest: every key from the prefix on
}

function bounds(range: KeyRange): Bounds {
  if (range.prefix) return { low: range.key, high: prefixEnd(range.key) };
  if (range.rangeEnd === undefined) return { low: range.key, high: `${range.key}\0` };
  return { low: range.key, high: range.rangeEnd === '\0' ? null : range.rangeEnd };
}

export function inRange(range: KeyRange, key: string): boolean {
  if (range.prefix) return key.startsWith(range.key);
  if (range.rangeEnd === undefined) return key === range.key;
  return key >= range.key && (range.rangeEnd === '\0' || key < range.rangeEnd);
}

/** Whether every key of `inner` is in `outer`. */
export function covers(outer: KeyRange, inner: KeyRange): boolean {
  const o = bounds(outer);
  const i = bounds(inner);
  if (i.low < o.low) return false;
  if (o.high === null) return true;
  return i.high !== null && i.high <= o.high;
}

/** Whether a watch with this request is sent this change (its range, its filters). */
export function watchMatches(request: WatchRequest, key: string, type: 'put' | 'delete'): boolean {
  const filters = request.filters ?? [];
  if (type === 'put' && filters.includes('noput')) return false;
  if (type === 'delete' && filters.includes('nodelete')) return false;
  return inRange(request.range, key);
}

export function rangeText(range: KeyRange): string {
  if (range.prefix) return `prefix ${JSON.stringify(range.key)}`;
  if (range.rangeEnd === undefined) return `key ${JSON.stringify(range.key)}`;
  return `[${JSON.stringify(range.key)}, ${range.rangeEnd === '\0' ? '∞' : JSON.stringify(range.rangeEnd)})`;
}
