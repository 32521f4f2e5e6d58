import { readdir } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { HELPER_RUN_DIR, recordedHelperPids, recordHelper } from '../../src/host/helper-processes.ts';

// A run records each fault helper it starts while other processes (the tests, another run's sweep)
// read the records: a reader must never see a record half-written, which it would take for a
// crashed run's and drop (CI run 24 lost a live helper's record that way).
describe('fault helper records', () => {
  it('are whole to a reader polling while they are (re)written', async () => {
    const runId = `records${process.pid}`;
    const pid = 4_000_000 + (process.pid % 100_000); // above any real pid_max: no process of ours
    const first = await recordHelper('records-test', pid, { runId, faultId: 'f' });
    let writing = true;
    const seen: string[] = [];
    const reader = (async () => {
      while (writing) seen.push((await recordedHelperPids(runId)).join(','));
    })();
    try {
      for (let i = 0; i < 1_000; i++) await recordHelper('records-test', pid, { runId, faultId: 'f' });
      writing = false;
      await reader;
      expect(seen.length).toBeGreaterThan(10); // the reader really raced the writer
      expect(seen.filter((pids) => pids !== String(pid))).toEqual([]);
      const temporary = (await readdir(HELPER_RUN_DIR)).filter((name) => name.endsWith('.tmp'));
      expect(temporary).toEqual([]);
    } finally {
      writing = false;
      await first.forget();
    }
    expect(await recordedHelperPids(runId)).toEqual([]);
  });
});
