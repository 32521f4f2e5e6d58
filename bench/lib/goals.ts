// The throughput and precision goals (issue #17), each printed by the benchmark that measures
// it as one "goal:" line: the goal, the figure measured in this run, and whether it is met.
// `npm run bench -- all` collects them (ETCD_LAB_BENCH_GOALS names a JSON-lines file) and
// prints them together at the end, so one run shows every goal next to its figure.
import { appendFileSync, existsSync, readFileSync } from 'node:fs';

export interface GoalFigure {
  /** What is measured, e.g. "cluster start, 3 members, median". */
  readonly what: string;
  /** The goal as written in the issue, e.g. "≤ 1.5 s". */
  readonly goal: string;
  /** The figure this run measured, with its unit, e.g. "1.42 s (p95 1.61 s, 10 starts)". */
  readonly measured: string;
  /** Undefined when the run could not measure it (the line says why in `measured`). */
  readonly met: boolean | undefined;
}

export const GOALS_FILE_ENV = 'ETCD_LAB_BENCH_GOALS';

const verdict = (met: boolean | undefined): string =>
  met === undefined ? 'not measured' : met ? 'met' : 'NOT met';

export function reportGoal(figure: GoalFigure): void {
  console.log(`goal: ${figure.what}: ${figure.goal} — measured ${figure.measured} → ${verdict(figure.met)}`);
  const file = process.env[GOALS_FILE_ENV];
  if (file !== undefined && file !== '') appendFileSync(file, `${JSON.stringify(figure)}\n`);
}

export function readGoals(file: string): GoalFigure[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as GoalFigure);
}

export function printGoals(goals: readonly GoalFigure[]): void {
  const rows = [
    ['what', 'goal', 'measured', ''],
    ...goals.map((g) => [g.what, g.goal, g.measured, verdict(g.met)]),
  ];
  const widths = [0, 1, 2].map((i) => Math.max(...rows.map((row) => (row[i] ?? '').length)));
  for (const row of rows) {
    console.log(row.map((cell, i) => (i < 3 ? cell.padEnd(widths[i] ?? 0) : cell)).join('  '));
  }
}

/** A duration in ms as seconds with two decimals. */
export const seconds = (ms: number | null | undefined): string =>
  ms === null || ms === undefined || !Number.isFinite(ms) ? '?' : `${(ms / 1_000).toFixed(2)} s`;
