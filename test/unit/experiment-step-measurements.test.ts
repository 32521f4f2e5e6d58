import { describe, expect, it } from 'vitest';
import { successByKind } from '../../src/plans/experiment/step-measurements.ts';
import type { OperationRecord } from '../../src/history/operation-record.ts';

let id = 0;
const op = (fields: Partial<OperationRecord>): OperationRecord => ({
  id: ++id,
  clientId: 'c0',
  kind: 'put',
  startMs: 0,
  endMs: 0,
  outcome: 'ok',
  ...fields,
});

describe('success inside a fault window', () => {
  const window = { fromMs: 1_000, toMs: 2_000 };

  it('counts operations that started and finished inside the window, per kind', () => {
    const success = successByKind(
      [
        op({ startMs: 1_100, endMs: 1_200 }),
        op({ startMs: 1_300, endMs: 1_900, outcome: 'indeterminate', errorClass: 'timeout' }),
        op({ kind: 'get', consistency: 'linearizable', startMs: 1_400, endMs: 1_500, outcome: 'fail' }),
        op({ kind: 'get', consistency: 'serializable', startMs: 1_400, endMs: 1_410 }),
      ],
      window,
    );
    expect(success.all).toEqual({ ok: 2, total: 4, ratio: 0.5 });
    expect(success.put).toEqual({ ok: 1, total: 2, ratio: 0.5 });
    expect(success.get).toEqual({ ok: 0, total: 1, ratio: 0 });
    expect(success.serializableGet).toEqual({ ok: 1, total: 1, ratio: 1 });
  });

  it('leaves out what started before the window or was still out when it closed', () => {
    const success = successByKind(
      [
        op({ startMs: 900, endMs: 1_100 }), // began before the fault
        op({ startMs: 1_950, endMs: 2_600 }), // a retry that succeeded only after the heal
        op({ startMs: 1_500, endMs: 1_600, outcome: 'fail', errorClass: 'no-leader' }),
      ],
      window,
    );
    expect(success.all).toEqual({ ok: 0, total: 1, ratio: 0 });
    expect(successByKind([], window).all.ratio).toBeNull();
  });
});
