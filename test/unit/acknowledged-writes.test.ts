import { describe, expect, it } from 'vitest';
import { checkAcknowledgedWrites } from '../../src/checks/acknowledged-writes.ts';
import type { OperationRecord } from '../../src/history/operation-record.ts';

let nextId = 0;
const put = (
  key: string,
  value: string,
  startMs: number,
  endMs: number,
  outcome: OperationRecord['outcome'] = 'ok',
) => ({ id: nextId++, clientId: 'c1', kind: 'put', key, value, startMs, endMs, outcome }) as OperationRecord;

const deleteOf = (key: string, startMs: number, endMs: number) =>
  ({ id: nextId++, clientId: 'c', kind: 'delete', key, startMs, endMs, outcome: 'ok' }) as OperationRecord;

describe('every acknowledged write is still there', () => {
  it('accepts the last acknowledged value', () => {
    const result = checkAcknowledgedWrites(
      [put('k', 'a', 0, 5), put('k', 'b', 10, 15)],
      new Map([['k', 'b']]),
    );
    expect(result.status).toBe('ok');
    expect(result.acknowledgedWrites).toBe(2);
  });

  it('flags a key that lost its last acknowledged write (older value or gone)', () => {
    const history = [put('k', 'a', 0, 5), put('k', 'b', 10, 15), put('j', 'x', 0, 1)];
    const stale = checkAcknowledgedWrites(
      history,
      new Map([
        ['k', 'a'],
        ['j', 'x'],
      ]),
    );
    expect(stale.status).toBe('failed');
    expect(stale.violations).toEqual([{ key: 'k', expectedOneOf: 1, found: 'a' }]);
    const gone = checkAcknowledgedWrites(history, new Map([['j', 'x']]));
    expect(gone.status).toBe('failed');
    expect(gone.violations[0]).toMatchObject({ key: 'k', found: null });
  });

  it('accepts a concurrent acknowledged write ordered either way', () => {
    // b overlaps a: either may be final.
    const history = [put('k', 'a', 0, 10), put('k', 'b', 5, 8)];
    expect(checkAcknowledgedWrites(history, new Map([['k', 'a']])).status).toBe('ok');
    expect(checkAcknowledgedWrites(history, new Map([['k', 'b']])).status).toBe('ok');
  });

  it('accepts an indeterminate write that may have been applied later, but not a failed one', () => {
    const history = [
      put('k', 'i', 0, 100, 'indeterminate'),
      put('k', 'a', 10, 15),
      put('k', 'f', 20, 25, 'fail'),
    ];
    expect(checkAcknowledgedWrites(history, new Map([['k', 'i']])).status).toBe('ok');
    expect(checkAcknowledgedWrites(history, new Map([['k', 'f']])).status).toBe('failed');
  });

  it('leaves out keys also written by deletes or transactions', () => {
    const del = deleteOf('k', 20, 21);
    const result = checkAcknowledgedWrites(
      [put('k', 'a', 0, 5), del, put('j', 'b', 0, 5)],
      new Map([['j', 'b']]),
    );
    expect(result.status).toBe('ok');
    expect(result.keysSkipped).toBe(1);
    expect(result.keysChecked).toBe(1);
  });

  it('answers unknown, not ok, when every key was left out (nothing was checked)', () => {
    const del = deleteOf('k', 20, 21);
    const result = checkAcknowledgedWrites([put('k', 'a', 0, 5), del], new Map());
    expect(result.status).toBe('unknown');
    expect(result.keysChecked).toBe(0);
    expect(result.message).toMatch(/no key was written by puts alone/);
  });
});
