import type { Etcd3 } from 'etcd3';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { History, loadHistory, saveHistory } from '../../src/history/history.ts';
import type { ClientRole, OperationRecord } from '../../src/history/operation-record.ts';
import { recordOperation, RecordingClient } from '../../src/history/recording-client.ts';
import { isLoadStepOperation, isWorkloadOperation } from '../../src/plans/experiment/step-analysis.ts';

const clock = { now: () => 5 };
const put = { kind: 'put', key: 'k', value: 'v' } as const;
const ok = () => Promise.resolve({ revision: 1 });

let id = 0;
const op = (clientId: string, role?: ClientRole): OperationRecord => ({
  id: ++id,
  clientId,
  ...(role === undefined ? {} : { role }),
  kind: 'put',
  startMs: 0,
  endMs: 1,
  outcome: 'ok',
});

describe('client roles', () => {
  it('are recorded on every operation as a field next to the id, which stays as it was', async () => {
    const history = new History();
    const role = { of: 'load-step', step: 3 } as const;
    const record = await recordOperation({ clientId: 's3c0', role, clock, history }, put, ok);
    expect(record.clientId).toBe('s3c0');
    expect(record.role).toEqual(role);
    expect(Object.keys(record).slice(0, 4)).toEqual(['id', 'clientId', 'role', 'kind']);

    // Without a role the record is what it always was.
    const plain = await recordOperation({ clientId: 'c0', clock, history }, put, ok);
    expect('role' in plain).toBe(false);
    expect(Object.keys(plain).slice(0, 3)).toEqual(['id', 'clientId', 'kind']);
  });

  it('are kept by a recording client', () => {
    const role = { of: 'quorum-cluster', members: 5 } as const;
    const client = new RecordingClient({} as Etcd3, {
      clientId: 'n5-m1',
      role,
      clock,
      history: new History(),
    });
    expect(client.role).toEqual(role);
  });

  it('tell the workload from load steps by the field, not the id', () => {
    const workload = op('c0', { of: 'workload' });
    const step1 = op('s1c0', { of: 'load-step', step: 1 });
    const step12 = op('s12c0', { of: 'load-step', step: 12 });
    // Ids alone say nothing any more: an unmarked "c0" is nobody's.
    const unmarked = op('c0');
    const misleading = op('c1', { of: 'load-step', step: 1 });
    const all = [workload, step1, step12, unmarked, misleading];
    expect(all.filter(isWorkloadOperation)).toEqual([workload]);
    expect(all.filter((r) => isLoadStepOperation(r))).toEqual([step1, step12, misleading]);
    expect(all.filter((r) => isLoadStepOperation(r, 1))).toEqual([step1, misleading]);
    expect(all.filter((r) => isLoadStepOperation(r, 12))).toEqual([step12]);
  });

  describe('in history files', () => {
    let dir: string;
    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), 'etcd-lab-roles-'));
    });
    afterAll(async () => {
      await rm(dir, { recursive: true, force: true });
    });

    it('round-trip, and files without roles still load', async () => {
      const records = [
        op('c0', { of: 'workload' }),
        op('s2c1', { of: 'load-step', step: 2 }),
        op('n3-m1', { of: 'quorum-cluster', members: 3 }),
        op('c1'),
      ];
      const path = join(dir, 'roles.jsonl');
      await saveHistory(path, new History(records));
      expect((await loadHistory(path)).records).toEqual(records);
    });

    it('refuse a role that is not one', async () => {
      const path = join(dir, 'bad-role.jsonl');
      await writeFile(path, `${JSON.stringify({ ...op('c0'), role: { of: 'load-step' } })}\n`);
      await expect(loadHistory(path)).rejects.toThrow(/line 1: not an operation record.*role/s);
    });
  });
});
