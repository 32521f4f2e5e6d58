import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BadInputError } from '../../src/errors.ts';
import { docker } from '../../src/host/docker.ts';
import { NFQ_DELAY_BINARY_PREFIX } from '../../src/faults/network/nfq-delay-build.ts';
import { MEMORY_DATA_ROOT } from '../../src/host/cleanup.ts';
import { LABEL } from '../../src/host/run-labels.ts';
import type { SweepResult } from '../../src/plans/sweep/report.ts';
import { cellFile } from '../../src/plans/sweep/results-dir.ts';
import { runSweep } from '../../src/plans/sweep/run-sweep.ts';
import { planCells, validateSweep, type SweepCell } from '../../src/plans/sweep/spec.ts';

/** Added round-trip time between members; both timings keep etcd's rule ET ≥ 10 × RTT. */
const RTT_MS = 10;
const RATE = 50;
const QUIET_WINDOW_MS = 1_000;
const QUIET_WINDOWS = 2;

const spec = validateSweep({
  name: 'test-sweep',
  title: 'Test sweep',
  configurations: [
    { heartbeatMs: 10, electionTimeoutMs: 100 },
    { heartbeatMs: 25, electionTimeoutMs: 250 },
  ],
  conditions: [{ kind: 'rtt', rttMs: RTT_MS }],
  fault: { kind: 'leader-kill' },
  trials: 3,
  quietWindowMs: QUIET_WINDOW_MS,
  quietWindows: QUIET_WINDOWS,
  load: { ratePerSecond: RATE, clients: 2 },
});
const [first, second] = planCells(spec) as [SweepCell, SweepCell];

/** This test process's lab resources: containers, networks, tmpfs data dirs, delay helpers. */
async function ownResources(): Promise<string[]> {
  const filters = { label: [`${LABEL.pid}=${process.pid}`] };
  const containers = (await docker().listContainers({ all: true, filters })).map((c) => c.Names[0] ?? c.Id);
  const networks = (await docker().listNetworks({ filters })).map((n) => n.Name);
  const dataRoot = MEMORY_DATA_ROOT;
  const dataDirs = existsSync(dataRoot)
    ? readdirSync(dataRoot).filter((run) =>
        readFileSafe(join(dataRoot, run, 'owner.json')).includes(`"${LABEL.pid}":"${process.pid}"`),
      )
    : [];
  // Delay helpers this process started: its children as root, its sudo's children otherwise.
  const parentOf = (pid: string): string => {
    const stat = readFileSafe(`/proc/${pid}/stat`);
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1] ?? '';
  };
  const helpers = readdirSync('/proc')
    .filter((pid) => /^\d+$/.test(pid))
    .filter((pid) => readFileSafe(`/proc/${pid}/cmdline`).startsWith(NFQ_DELAY_BINARY_PREFIX))
    .filter((pid) => [parentOf(pid), parentOf(parentOf(pid))].includes(String(process.pid)));
  return [...containers, ...networks, ...dataDirs, ...helpers.map((pid) => `nfq-delay ${pid}`)];
}

function readFileSafe(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

describe('a sweep of 2 timings × 3 leader kills under +10 ms RTT, interrupted and resumed', () => {
  let out: string;
  let aborted: SweepResult;
  let resumed: SweepResult;
  let resumedFiles: string[];
  let firstCellAfterAbort: { text: string; mtimeMs: number };
  let leftAfterAbort: string[];
  let cellFilesAfterAbort: string[];

  beforeAll(async () => {
    out = await mkdtemp(join(tmpdir(), 'etcd-lab-sweep-'));
    // Interrupted like Ctrl-C would: once the second cell's cluster is up under its condition.
    const controller = new AbortController();
    aborted = (
      await runSweep(spec, {
        out,
        signal: controller.signal,
        onProgress: (line) => {
          if (line.startsWith(`cell ${second.index}/2: quiet window`))
            controller.abort(new Error('interrupted'));
        },
      })
    ).result;
    leftAfterAbort = await ownResources();
    cellFilesAfterAbort = readdirSync(join(out, 'cells'));
    const path = cellFile(out, first.cellId);
    firstCellAfterAbort = { text: readFileSync(path, 'utf8'), mtimeMs: statSync(path).mtimeMs };

    ({ result: resumed, files: resumedFiles } = await runSweep(spec, { out }));
  }, 240_000);

  afterAll(async () => {
    if (out !== undefined) await rm(out, { recursive: true, force: true });
  });

  it('stops when interrupted, keeping the finished cell and healing and removing the one in progress', () => {
    expect(aborted.status).toBe('aborted');
    expect(aborted.error).toBe('interrupted');
    expect(aborted.cells.map((c) => c.cellId)).toEqual([first.cellId]);
    expect(cellFilesAfterAbort).toEqual([`${first.cellId}.json`]);
    expect(leftAfterAbort).toEqual([]);
  });

  it('resumes: the finished cell is kept as it was, only the other one is measured', () => {
    expect(resumed.status).toBe('completed');
    expect(resumed.reusedCells).toEqual([first.cellId]);
    expect(resumed.measuredCells).toEqual([second.cellId]);
    const path = cellFile(out, first.cellId);
    expect(readFileSync(path, 'utf8')).toBe(firstCellAfterAbort.text);
    expect(statSync(path).mtimeMs).toBe(firstCellAfterAbort.mtimeMs);
    expect(readdirSync(join(out, 'cells')).sort()).toEqual(
      [`${first.cellId}.json`, `${second.cellId}.json`].sort(),
    );
  });

  it('elects a new leader after every kill, within bounds set by the timing and the added RTT', () => {
    for (const cell of resumed.cells) {
      const et = cell.etcdOptions.electionTimeoutMs ?? 0;
      expect(cell.incomplete, cell.label).toBeNull();
      expect(cell.elections?.trials, cell.label).toHaveLength(3);
      for (const t of cell.elections?.trials ?? []) {
        const where = `${cell.label}, trial ${t.trial}`;
        expect(t.newLeader, where).toBeDefined();
        expect(t.newLeader, where).not.toBe(t.oldLeader);
        expect(t.newTerm ?? 0, where).toBeGreaterThan(t.previousTerm);
        // Each election round (one term) takes at most a full randomized timer (2·ET) plus a vote
        // round trip; a split vote costs another round and shows as a further term. One round of
        // slack for a loaded 2-core machine. The time comes from the members' logs (read again
        // until the new leader's line has arrived).
        const rounds = (t.newTerm ?? Infinity) - t.previousTerm;
        const elected = t.logElectedAfterFaultMs;
        expect(elected ?? -1, where).toBeGreaterThanOrEqual(et / 2);
        expect(elected ?? Infinity, where).toBeLessThanOrEqual((rounds + 1) * (2 * et + RTT_MS));
        // Writes resume only once there is a new leader.
        expect(t.firstWriteOkAfterFaultMs ?? -1, where).toBeGreaterThanOrEqual((elected ?? 0) - 2);
      }
      expect(cell.mechanisms.fault).toBe('sigkill');
      expect(['nfq-delay-ingress', 'tc-netem']).toContain(cell.mechanisms.condition);
      // The condition went back on after each kill (a restarted member loses network faults), and was healed.
      expect(cell.conditionFaults).toHaveLength(3);
      for (const record of cell.conditionFaults) expect(record.healError).toBeNull();
    }
  });

  it('sees no leader change and no failed write while no fault is injected, as the rule predicts', () => {
    for (const cell of resumed.cells) {
      const quiet = cell.quiet;
      expect(quiet, cell.label).not.toBeNull();
      expect(quiet?.leaderChanges, cell.label).toBe(0);
      expect(quiet?.leaderChangesPerMinute, cell.label).toBe(0);
      // Counters read at each window's end, windows back to back.
      expect(quiet?.observedMs).toBe(QUIET_WINDOWS * QUIET_WINDOW_MS);
      expect(quiet?.windows.map((w) => w.window)).toEqual([1, 2]);
      for (const w of quiet?.windows ?? []) {
        expect(Object.values(w.leaderChangesByMember), cell.label).toEqual([0, 0, 0]);
        expect(w.toMs - w.fromMs, cell.label).toBeGreaterThanOrEqual(QUIET_WINDOW_MS / 2);
      }
      expect(quiet?.windows[1]?.fromMs).toBe(quiet?.windows[0]?.toMs);
      expect(quiet?.writes.fail, cell.label).toBe(0);
      expect(quiet?.writes.indeterminate, cell.label).toBe(0);
      // A write commits after the leader's round trip to a follower, which carries the added RTT.
      expect(quiet?.writes.p50Ms ?? 0, cell.label).toBeGreaterThanOrEqual(RTT_MS);
      expect(quiet?.writes.p99Ms ?? Infinity, cell.label).toBeLessThan(1_000);
      // Open loop at RATE/s: the ok writes per second over the window.
      expect(quiet?.writes.throughput ?? 0, cell.label).toBeGreaterThan(0.7 * RATE);
      expect(quiet?.writes.throughput ?? Infinity, cell.label).toBeLessThanOrEqual(1.05 * RATE);
    }
  });

  it('writes result.json, junit.xml, sweep.csv with one row per cell, charts and a report', () => {
    const names = resumedFiles.map((f) => f.slice(out.length + 1)).sort();
    expect(names).toEqual(
      [
        'result.json',
        'junit.xml',
        'sweep.csv',
        'report.md',
        'election-vs-timeout.svg',
        'election-vs-timeout.png',
        'spurious-vs-rtt.svg',
        'spurious-vs-rtt.png',
      ].sort(),
    );
    const json = JSON.parse(readFileSync(join(out, 'result.json'), 'utf8')) as SweepResult;
    expect(json).toMatchObject({ schemaVersion: 4, kind: 'sweep', name: spec.name, status: 'completed' });
    expect(json.cells.map((c) => c.cellId)).toEqual([first.cellId, second.cellId]);
    // No expectations in this sweep: no checks, and JUnit has no test case to fail.
    expect(json.checks).toEqual([]);
    expect(readFileSync(join(out, 'junit.xml'), 'utf8')).toContain('tests="0"');
    const [header, ...rows] = readFileSync(join(out, 'sweep.csv'), 'utf8').trimEnd().split('\r\n');
    const columns = header?.split(',') ?? [];
    expect(rows).toHaveLength(2);
    const column = (row: string, name: string) => row.split(',')[columns.indexOf(name)];
    expect(rows.map((row) => column(row, 'election_timeout_ms'))).toEqual(['100', '250']);
    expect(rows.map((row) => column(row, 'rtt_over_heartbeat'))).toEqual(['1', '0.400']);
    expect(rows.map((row) => column(row, 'quiet_leader_changes'))).toEqual(['0', '0']);
    const report = readFileSync(join(out, 'report.md'), 'utf8');
    expect(report).toContain(first.label);
    expect(report).toContain(second.label);
    expect(report).toContain('![election-vs-timeout.svg](election-vs-timeout.svg)');
    expect(report).toMatch(/Host load average \(1\/5\/15 min\): [\d.]+ \/ [\d.]+ \/ [\d.]+/);
  });

  it('refuses to resume with changed settings before starting anything, and leaves nothing behind', async () => {
    const changed = validateSweep({ ...spec, trials: 2 });
    await expect(runSweep(changed, { out })).rejects.toThrow(BadInputError);
    await expect(runSweep(changed, { out })).rejects.toThrow(/measured with different settings/);
    expect(await ownResources()).toEqual([]);
  });
});
