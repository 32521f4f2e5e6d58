import { describe, expect, it } from 'vitest';
import {
  checkRecordedHistory,
  linearizabilityCheck,
  outcomeText,
  selectRecords,
  type LinearizabilityOutcome,
} from '../../src/checks/linearizable-history.ts';
import type { ClientRole, OperationRecord } from '../../src/history/operation-record.ts';
import { checkHypothesis } from '../../src/plans/experiment/hypothesis.ts';
import { validateExperiment, type FaultExperimentSpec } from '../../src/plans/experiment/spec.ts';
import { renderJunit } from '../../src/run/results-envelope.ts';
import type { ResultsEnvelope } from '../../src/run/results-envelope.ts';

const WORKLOAD: ClientRole = { of: 'workload' };
const LOAD: ClientRole = { of: 'load-step', step: 1 };

let nextId = 0;
function put(key: string, value: string, startMs: number, endMs: number, revision: number, role = WORKLOAD) {
  return {
    id: nextId++,
    clientId: role.of === 'workload' ? 'c0' : 's1c0',
    role,
    kind: 'put',
    startMs,
    endMs,
    outcome: 'ok',
    key,
    value,
    revision,
    modRevision: revision,
  } as OperationRecord;
}
function get(key: string, value: string | null, startMs: number, endMs: number, revision: number, mod = 0) {
  return {
    id: nextId++,
    clientId: 'c1',
    role: WORKLOAD,
    kind: 'get',
    startMs,
    endMs,
    outcome: 'ok',
    key,
    consistency: 'linearizable',
    revision,
    ...(value === null ? { found: false, modRevision: 0 } : { found: true, value, modRevision: mod }),
  } as OperationRecord;
}

/** x=a at 2, a load-step write at 3 (another key), x=b at 4, and a read of x. */
function history(read: OperationRecord): OperationRecord[] {
  return [put('lab/1', 'a', 0, 1, 2), put('lab/s1/7', 'z', 2, 3, 3, LOAD), put('lab/1', 'b', 4, 5, 4), read];
}

describe('the linearizability check of a recorded run', () => {
  it('checks every operation of the workload and every write of other clients, not their reads', () => {
    const loadRead = { ...get('lab/s1/7', 'z', 6, 7, 4, 3), clientId: 's1c0', role: LOAD };
    const quorum = {
      ...put('q', 'v', 0, 1, 2),
      role: { of: 'quorum-cluster', members: 3 },
    } as OperationRecord;
    const picked = selectRecords([...history(get('lab/1', 'b', 6, 7, 4, 4)), loadRead]);
    expect(picked).toMatchObject({ main: 3, otherWrites: 1, otherReads: 1 });
    expect('records' in picked && picked.records.map((r) => r.key)).toEqual([
      'lab/1',
      'lab/s1/7',
      'lab/1',
      'lab/1',
    ]);
    const refused = selectRecords([quorum]);
    expect('problem' in refused && refused.problem).toMatch(/quorum matrix/);
  });

  it('holds on a linearizable run, from the revision read before the workload', () => {
    const outcome = checkRecordedHistory(history(get('lab/1', 'b', 6, 7, 4, 4)), {
      initial: { revision: 1, keys: 0, prefix: 'lab/' },
    });
    expect(outcome).toMatchObject({ status: 'ok', operations: 4, workloadRecords: 3, otherWrites: 1 });
    expect(outcome.initial).toEqual({ revision: 1, keys: 0, prefix: 'lab/' });
    expect(linearizabilityCheck(outcome).verdict).toBe('held');
  });

  it("needs the other clients' writes: without them the revision step at 3 is unexplained", () => {
    const records = history(get('lab/1', 'b', 6, 7, 4, 4)).filter((r) => r.role?.of === 'workload');
    expect(checkRecordedHistory(records, { initial: { revision: 1, keys: 0, prefix: 'lab/' } }).status).toBe(
      'failed',
    );
  });

  it('deviates on a stale read, with the violation as why and details', () => {
    const outcome = checkRecordedHistory(history(get('lab/1', 'a', 6, 7, 4, 2)), {
      initial: { revision: 1, keys: 0, prefix: 'lab/' },
    });
    expect(outcome.status).toBe('failed');
    expect(outcome.violation).toMatch(/^not linearizable: #\d+ c1/);
    expect(outcomeText(outcome)).toContain(outcome.violation);
    const check = linearizabilityCheck(outcome);
    expect(check).toMatchObject({ verdict: 'deviated', details: outcome.violation });
    expect(check.why).toMatch(/^not linearizable/);
    const junit = renderJunit({
      name: 'x',
      kind: 'experiment',
      status: 'completed',
      startedAt: '2026-01-01T00:00:00Z',
      checks: [check],
    } as unknown as ResultsEnvelope);
    expect(junit).toContain('window:');
  });

  it('is inconclusive, never held, when the time limit, the initial store or the history leaves it open', () => {
    const many = Array.from({ length: 6_000 }, (_, i) => put(`lab/${i % 50}`, `v${i}`, i, i + 0.5, i + 2));
    const timedOut = checkRecordedHistory(many, { timeLimitMs: 0 });
    expect(timedOut.status).toBe('unknown');
    expect(linearizabilityCheck(timedOut).verdict).toBe('inconclusive');
    const dirty = checkRecordedHistory(history(get('lab/1', 'b', 6, 7, 4, 4)), {
      initial: { revision: 9, keys: 2, prefix: 'lab/' },
    });
    expect(dirty.status).toBe('unknown');
    expect(dirty.reason).toMatch(/2 keys under lab\//);
    const nothing = checkRecordedHistory([{ ...put('lab/1', 'a', 0, 1, 2), outcome: 'fail' }]);
    expect(nothing.status).toBe('unknown');
    expect(nothing.reason).toMatch(/no acknowledged/);
    expect(linearizabilityCheck(null).verdict).toBe('inconclusive');
  });
});

describe('linearizable in a hypothesis', () => {
  const spec = (linearizable: unknown): FaultExperimentSpec => {
    const validated = validateExperiment({
      name: 'x',
      title: 'X',
      cluster: { members: 3 },
      workload: { ratePerSecond: 100, durationMs: 10_000 },
      method: [{ fault: 'kill', target: 'leader', at: 1_000, for: 1_000 }],
      hypothesis: { linearizable },
    });
    if (validated.kind !== 'fault') throw new Error('expected a fault experiment');
    return validated;
  };
  const ok = {
    status: 'ok',
    message: 'linearizable (4 operations, 9 steps, 1 ms)',
  } as LinearizabilityOutcome;

  it('takes true or a time limit, and refuses anything else before the run', () => {
    expect(spec(true).hypothesis.linearizable).toBe(true);
    expect(spec({ timeLimitMs: 5_000 }).hypothesis.linearizable).toEqual({ timeLimitMs: 5_000 });
    expect(() => spec('yes')).toThrow(/hypothesis\.linearizable/);
    expect(() => spec({ timeLimitMs: 0 })).toThrow(/hypothesis\.linearizable/);
    expect(() => spec({ timeLimit: 5 })).toThrow(/hypothesis\.linearizable/);
  });

  it('becomes one check when asked for, none otherwise', () => {
    const checks = (s: FaultExperimentSpec, outcome: LinearizabilityOutcome | null) =>
      checkHypothesis(s, [], null, null, null, { baselineLatenciesMs: [] }, 'completed', outcome);
    expect(checks(spec(true), ok).map((c) => [c.name, c.verdict])).toEqual([
      ['the history is linearizable', 'held'],
    ]);
    expect(checks(spec(true), null).map((c) => c.verdict)).toEqual(['inconclusive']);
    expect(checks(spec(false), ok)).toEqual([]);
  });
});
