// What every benchmark prints and keeps: the machine's load (a figure taken on a busy 2-core
// machine is suspect), a compact summary table, and the figures as JSON under results/bench/.
import { mkdirSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';

/** Above this 1-minute load average, figures from this 2-core machine are flagged as suspect. */
export const BUSY_LOAD = 1.5;

export interface LoadAverage {
  readonly one: number;
  readonly five: number;
  readonly fifteen: number;
}

/** Prints the load average with a label, warning when the machine is busy, and returns it. */
export function reportLoad(label: string): LoadAverage {
  const [one = NaN, five = NaN, fifteen = NaN] = loadavg();
  const load = { one, five, fifteen };
  const busy = one > BUSY_LOAD ? `  WARNING: load > ${BUSY_LOAD}, figures are suspect` : '';
  console.log(`load average (${label}): ${one.toFixed(2)} ${five.toFixed(2)} ${fifteen.toFixed(2)}${busy}`);
  return load;
}

/** One line of the summary: a figure through the lab next to its reference, and lab ÷ reference. */
export interface SummaryRow {
  readonly part: string;
  readonly figure: string;
  readonly lab: number | null;
  readonly reference: number | null;
  readonly ratio: number | null;
  readonly note?: string;
}

/** a ÷ b, or null when either is missing or b is zero. */
export const ratio = (a: number | null | undefined, b: number | null | undefined): number | null =>
  a === null || a === undefined || b === null || b === undefined || b === 0 ? null : a / b;

export function summaryRow(
  part: string,
  figure: string,
  lab: number | null | undefined,
  reference: number | null | undefined,
  note?: string,
): SummaryRow {
  return {
    part,
    figure,
    lab: lab ?? null,
    reference: reference ?? null,
    ratio: ratio(lab, reference),
    ...(note === undefined ? {} : { note }),
  };
}

const cell = (value: number | null, digits: number): string => (value === null ? '-' : value.toFixed(digits));

export function printSummary(rows: readonly SummaryRow[]): void {
  const lines = [
    ['part', 'figure', 'lab', 'reference', 'lab/ref', 'note'],
    ...rows.map((r) => [
      r.part,
      r.figure,
      cell(r.lab, 2),
      cell(r.reference, 2),
      cell(r.ratio, 2),
      r.note ?? '',
    ]),
  ];
  const widths =
    lines[0]?.map((_, column) => Math.max(...lines.map((line) => line[column]?.length ?? 0))) ?? [];
  for (const line of lines)
    console.log(
      line
        .map((text, column) => text.padEnd(widths[column] ?? 0))
        .join('  ')
        .trimEnd(),
    );
}

/** Writes results/bench/<name>-<timestamp>.json and returns its path. */
export function writeBenchJson(name: string, data: unknown): string {
  const dir = join('results', 'bench');
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `${name}-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileSync(path, `${JSON.stringify(data, null, 2)}\n`);
  return path;
}
