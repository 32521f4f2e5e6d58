import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { BadInputError } from '../../src/errors.ts';
import { History, HistoryWriter, loadHistory, readHistory, saveHistory } from '../../src/history/history.ts';
import type { OperationRecord } from '../../src/history/operation-record.ts';

const RECORDS: readonly OperationRecord[] = [
  {
    id: 0,
    clientId: 'c0',
    kind: 'put',
    startMs: 0.123456789,
    endMs: 3.5,
    outcome: 'ok',
    key: 'workload/1',
    value: 'c0:1-xxxx',
    revision: 12,
    memberId: '10501334649042878790',
    raftTerm: 2,
    modRevision: 12,
  },
  {
    id: 1,
    clientId: 'c1',
    kind: 'get',
    startMs: 1,
    endMs: 2,
    outcome: 'ok',
    sentMs: 1.25,
    key: 'workload/1',
    consistency: 'linearizable',
    found: true,
    value: 'c0:1-xxxx',
    modRevision: 12,
    revision: 12,
  },
  {
    id: 2,
    clientId: 'c1',
    kind: 'txn',
    startMs: 2,
    endMs: 5_002,
    outcome: 'indeterminate',
    key: 'workload/2',
    value: 'c1:3',
    expectedRevision: 0,
    errorClass: 'timeout',
    errorMessage: '4 DEADLINE_EXCEEDED: Deadline exceeded after 5.000s',
  },
  {
    id: 3,
    clientId: 'c2',
    kind: 'lease-grant',
    startMs: 3,
    endMs: 4,
    outcome: 'ok',
    ttlSeconds: 10,
    leaseId: '7587869385214146',
    grantedTtlSeconds: 10,
  },
  {
    id: 4,
    clientId: 'c2',
    kind: 'lease-keepalive',
    startMs: 5,
    endMs: 5,
    outcome: 'fail',
    errorClass: 'client-backlog',
    errorMessage: 'not sent',
  },
];

describe('JSON-lines histories', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'etcd-lab-history-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('round-trips records exactly, one JSON object per line', async () => {
    const path = join(dir, 'round-trip.jsonl');
    await saveHistory(path, new History(RECORDS));

    const text = await readFile(path, 'utf8');
    expect(text.split('\n')).toHaveLength(RECORDS.length + 1); // trailing newline
    expect((await loadHistory(path)).records).toEqual(RECORDS);
  });

  it('streams: saves from an async source and reads record by record', async () => {
    const path = join(dir, 'stream.jsonl');
    async function* source(): AsyncGenerator<OperationRecord> {
      for (const record of RECORDS) yield await Promise.resolve(record);
    }
    await saveHistory(path, source());
    const read: OperationRecord[] = [];
    for await (const record of readHistory(path)) read.push(record);
    expect(read).toEqual(RECORDS);
  });

  it('writes records as they are appended, e.g. while a run goes on', async () => {
    const path = join(dir, 'live.jsonl');
    const history = new History();
    const writer = await HistoryWriter.open(path);
    const pending: Promise<void>[] = [];
    history.onAppend((record) => pending.push(writer.write(record)));
    for (const record of RECORDS) history.append(record);
    await Promise.all(pending);
    await writer.close();
    expect((await loadHistory(path)).records).toEqual(RECORDS);
  });

  it('skips blank lines and loads an empty file as an empty history', async () => {
    const path = join(dir, 'blank.jsonl');
    await writeFile(path, `\n${JSON.stringify(RECORDS[0])}\n\n`);
    expect((await loadHistory(path)).length).toBe(1);
    const empty = join(dir, 'empty.jsonl');
    await writeFile(empty, '');
    expect((await loadHistory(empty)).length).toBe(0);
  });

  it('names the file and line of a record that is not valid', async () => {
    const notJson = join(dir, 'not-json.jsonl');
    await writeFile(notJson, `${JSON.stringify(RECORDS[0])}\n{"id": 1,\n`);
    await expect(loadHistory(notJson)).rejects.toThrow(BadInputError);
    await expect(loadHistory(notJson)).rejects.toThrow(/not-json\.jsonl, line 2: not JSON/);

    const badField = join(dir, 'bad-field.jsonl');
    await writeFile(badField, `${JSON.stringify({ ...RECORDS[0], outcome: 'maybe' })}\n`);
    await expect(loadHistory(badField)).rejects.toThrow(/line 1: not an operation record.*outcome/s);
  });

  it('reports a missing file as bad input', async () => {
    await expect(loadHistory(join(dir, 'missing.jsonl'))).rejects.toThrow(BadInputError);
  });
});
