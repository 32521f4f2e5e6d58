import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import type { LinearizabilityOutcome } from '../../src/checks/linearizable-history.ts';
import type { OperationRecord } from '../../src/history/operation-record.ts';

/**
 * `linearizable: true` on real etcd: a short experiment with a mixed workload (puts, linearizable
 * and serializable reads, deletes, compare-and-set txns on 20 keys, so reads and compares meet
 * earlier writes), a leader kill (timed-out writes are indeterminate) and a load step whose
 * writes to its own keys move the one revision counter. The history must check as linearizable
 * — every workload operation and every load-step write given to the checker, from the revision
 * read before the workload — and `etcd-lab check` must reproduce that verdict from the results
 * directory, and find the violation once a read in the saved history is tampered with.
 */
const EXPERIMENT = [
  'name: lin-check',
  'title: A linearizable history through a leader kill',
  'cluster: { members: 3, etcd: { heartbeatMs: 50, electionTimeoutMs: 500 } }',
  'workload:',
  '  ratePerSecond: 150',
  '  clients: 4',
  '  durationMs: 12000',
  '  keyCount: 20',
  '  callTimeoutMs: 1500',
  '  mix: { put: 4, get: 3, serializableGet: 1, delete: 1, txn: 2 }',
  'method:',
  '  - { fault: kill, target: leader, at: 3000, for: 2000 }',
  '  - { load: traffic, clients: 2, ratePerSecond: 40, mix: { put: 3, get: 1 }, at: 6500, for: 3000 }',
  'hypothesis:',
  '  linearizable: true',
  '',
].join('\n');

const cli = (...args: string[]) => execa('node', ['bin/etcd-lab.js', ...args], { reject: false });

describe('linearizable: true against real etcd', () => {
  it('holds through a leader kill, and etcd-lab check reproduces it (and finds a tampered read)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'etcd-lab-lin-'));
    const file = join(dir, 'lin-check.yaml');
    const out = join(dir, 'out');
    writeFileSync(file, EXPERIMENT);

    const run = await cli('run', file, '--out', out);
    expect(run.exitCode, `${run.stdout}\n${run.stderr}`).toBe(0);
    expect(run.stdout).toMatch(/✓ the history is linearizable: linearizable \(\d+ operations/);

    const result = JSON.parse(readFileSync(join(out, 'result.json'), 'utf8')) as {
      verdict: string;
      linearizability: LinearizabilityOutcome;
    };
    expect(result.verdict).toBe('held');
    const l = result.linearizability;
    expect(l.status).toBe('ok');
    // ~1 800 workload calls at 150/s for 12 s, less failed and serializable ones; ~120 load-step calls.
    expect(l.operations).toBeGreaterThan(800);
    expect(l.workloadRecords).toBeGreaterThan(1_000);
    expect(l.otherWrites).toBeGreaterThan(30);
    expect(l.dropped.otherReads).toBeGreaterThan(0);
    expect(l.initial).toMatchObject({ keys: 0, prefix: 'lin-check/' });
    expect(l.initial?.revision).toBeGreaterThanOrEqual(1);
    expect(l.elapsedMs).toBeLessThan(l.timeLimitMs);

    const records = readFileSync(join(out, 'history.jsonl'), 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as OperationRecord);
    // What the checker needs was recorded: reads carry create revision and version.
    const foundReads = records.filter((r) => r.kind === 'get' && r.outcome === 'ok' && r.found === true);
    expect(foundReads.length).toBeGreaterThan(100);
    for (const r of foundReads) {
      expect(r.createRevision, `#${r.id}`).toBeGreaterThan(0);
      expect(r.version, `#${r.id}`).toBeGreaterThan(0);
    }
    // Writes the kill left indeterminate (if any: a call in flight on the leader, or timed out
    // during the election) were given to the checker as such, not dropped.
    const indeterminateWrites = records.filter(
      (r) => r.outcome === 'indeterminate' && (r.kind === 'put' || r.kind === 'delete' || r.kind === 'txn'),
    ).length;
    expect(l.operations).toBeGreaterThanOrEqual(indeterminateWrites);

    const report = readFileSync(join(out, 'report.md'), 'utf8');
    expect(report).toMatch(/## Linearizability\n\nlinearizable \(\d+ operations, \d+ steps, \d+ ms\)/);
    expect(readFileSync(join(out, 'junit.xml'), 'utf8')).toContain('the history is linearizable');

    const recheck = await cli('check', out);
    expect(recheck.exitCode, recheck.stderr).toBe(0);
    expect(recheck.stdout).toMatch(/^linearizable \(/);
    expect(recheck.stdout).toContain(`from revision ${l.initial?.revision}, absent keys`);

    // A linearizable read that returns a value no one wrote cannot be ordered anywhere.
    const victim = records.find(
      (r) => r.kind === 'get' && r.consistency === 'linearizable' && r.outcome === 'ok' && r.found === true,
    );
    expect(victim).toBeDefined();
    const tampered = join(dir, 'tampered.jsonl');
    writeFileSync(
      tampered,
      records.map((r) => JSON.stringify(r === victim ? { ...r, value: 'never-written' } : r)).join('\n'),
    );
    const caught = await cli('check', tampered);
    expect(caught.exitCode, caught.stderr).toBe(1);
    expect(caught.stdout).toContain('never-written');
    expect(caught.stdout).toMatch(/NOT linearizable: operation #\d+ cannot be ordered/);
  }, 240_000);
});
