import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { GOALS_FILE_ENV, printGoals, readGoals, reportGoal } from '../../bench/lib/goals.ts';

describe('bench goals: each benchmark reports its goal, `bench all` prints them together', () => {
  const dir = mkdtempSync(join(tmpdir(), 'etcd-lab-goals-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  afterEach(() => {
    delete process.env[GOALS_FILE_ENV];
    vi.restoreAllMocks();
  });

  it('prints one goal line and appends it to the file `bench all` named', () => {
    const file = join(dir, 'goals.jsonl');
    process.env[GOALS_FILE_ENV] = file;
    const lines: string[] = [];
    vi.spyOn(console, 'log').mockImplementation((line: string) => void lines.push(line));
    reportGoal({ what: 'cluster start, 3 members, median', goal: '≤ 1.50 s', measured: '1.42 s', met: true });
    reportGoal({ what: 'trials per minute, kill', goal: '≥ 30', measured: '21.9', met: false });
    reportGoal({ what: 'suite', goal: '≤ 10 min', measured: '? (no report)', met: undefined });
    expect(lines).toEqual([
      'goal: cluster start, 3 members, median: ≤ 1.50 s — measured 1.42 s → met',
      'goal: trials per minute, kill: ≥ 30 — measured 21.9 → NOT met',
      'goal: suite: ≤ 10 min — measured ? (no report) → not measured',
    ]);
    expect(readGoals(file).map((g) => g.met)).toEqual([true, false, undefined]);
  });

  it('reads no goals from a file no benchmark wrote', () => {
    expect(readGoals(join(dir, 'none.jsonl'))).toEqual([]);
  });

  it('prints the goals as aligned columns under a header', () => {
    const lines: string[] = [];
    vi.spyOn(console, 'log').mockImplementation((line: string) => void lines.push(line));
    printGoals([
      { what: 'a', goal: '≤ 1 s', measured: '0.5 s', met: true },
      { what: 'longer name', goal: '≥ 30', measured: '12', met: false },
    ]);
    expect(lines).toHaveLength(3);
    expect(lines[0]?.startsWith('what       ')).toBe(true);
    expect(lines[2]).toMatch(/^longer name {2}≥ 30 {3}12 {8}NOT met$/);
  });
});
