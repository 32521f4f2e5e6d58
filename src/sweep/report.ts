import { writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { TopLevelSpec } from 'vega-lite';
import { renderChart } from '../report/charts.ts';
import { addedRttMs } from './conditions.ts';
import type { CellResult } from './run-cell.ts';
import { conditionLabel, type SweepSpec } from './spec.ts';
import type { SweepVerdict } from './verdicts.ts';

/** Everything a sweep run produced: sweep.json holds exactly this. */
export interface SweepResult {
  readonly schemaVersion: 1;
  readonly sweep: SweepSpec;
  /** completed: every cell measured; aborted: interrupted (finished cells kept); failed: the lab failed. */
  readonly status: 'completed' | 'aborted' | 'failed';
  readonly error?: string;
  readonly deviated: boolean;
  readonly startedAt: string;
  readonly durationMs: number;
  /** Host load averages (1/5/15 min) when this run started and ended. */
  readonly loadAverage: { readonly start: readonly number[]; readonly end: readonly number[] };
  /** Cells measured by this run and cells reused from an earlier, interrupted one. */
  readonly measuredCells: readonly string[];
  readonly reusedCells: readonly string[];
  readonly cells: readonly CellResult[];
  readonly verdicts: readonly SweepVerdict[];
}

type CsvValue = string | number | boolean | null | undefined;

/** One flat row per cell: the table in report.md and sweep.csv. Times in ms. */
export function cellRow(cell: CellResult): Record<string, CsvValue> {
  const o = cell.etcdOptions;
  const hb = o.heartbeatMs ?? 100;
  const et = o.electionTimeoutMs ?? 1000;
  const rtt = addedRttMs(cell.condition);
  const summary = cell.elections?.summary;
  const heals = cell.heals ?? [];
  const healStalls = heals.map((h) => h.writeStallAfterHealMs);
  return {
    index: cell.index,
    cell_id: cell.cellId,
    label: cell.label,
    heartbeat_ms: hb,
    election_timeout_ms: et,
    pre_vote: o.preVote ?? (cell.environment.preVote as boolean | undefined),
    snapshot_count: o.snapshotCount,
    extra_flags: o.extraFlags?.join(' '),
    condition: cell.condition.kind,
    added_rtt_ms: rtt,
    rtt_jitter_ms: cell.condition.kind === 'rtt' ? 2 * cell.condition.jitterMs : undefined,
    cpus: cell.condition.kind === 'cpu' ? cell.condition.cpus : undefined,
    rtt_over_heartbeat: rtt / hb,
    election_timeout_over_rtt: rtt === 0 ? undefined : et / rtt,
    fault: cell.fault.kind,
    trials: cell.trials,
    condition_mechanism: cell.mechanisms.condition,
    fault_mechanism: cell.mechanisms.fault,
    election_median_ms: summary?.logElected.median,
    election_p95_ms: summary?.logElected.p95,
    election_max_ms: summary?.logElected.max,
    write_stall_median_ms: summary?.firstWriteOk.median ?? median(healStalls),
    write_stall_max_ms: summary?.firstWriteOk.max ?? maxOf(healStalls),
    quiet_window_ms: cell.quiet?.windowMs,
    quiet_leader_changes: cell.quiet?.leaderChanges,
    quiet_term_increase: cell.quiet?.termIncrease,
    write_p50_ms: cell.quiet?.writes.p50Ms,
    write_p99_ms: cell.quiet?.writes.p99Ms,
    write_throughput: cell.quiet?.writes.throughput,
    write_failed: cell.quiet === null ? undefined : cell.quiet.writes.fail + cell.quiet.writes.indeterminate,
    heal_term_jump_min: minOf(heals.map((h) => h.termJump)),
    heal_term_jump_max: maxOf(heals.map((h) => h.termJump)),
    heal_leader_changes_min: minOf(heals.map((h) => h.leaderChangesOnHeal)),
    heal_leader_changes_max: maxOf(heals.map((h) => h.leaderChangesOnHeal)),
    incomplete: cell.incomplete,
    duration_s: cell.durationMs / 1000,
    load_average_start: cell.loadAverage.start[0],
  };
}

/** RFC 4180: a field with a comma, quote, CR or LF (or edge spaces) is quoted, quotes doubled. */
export function csvField(value: CsvValue): string {
  if (value === null || value === undefined) return '';
  const text =
    typeof value === 'number' ? (Number.isInteger(value) ? String(value) : value.toFixed(3)) : String(value);
  return /[",\r\n]|^\s|\s$/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

export function toCsv(rows: readonly Record<string, CsvValue>[]): string {
  const header = Object.keys(rows[0] ?? {});
  const lines = [header, ...rows.map((row) => header.map((key) => row[key]))].map((fields) =>
    fields.map(csvField).join(','),
  );
  return `${lines.join('\r\n')}\r\n`;
}

/** Writes sweep.json, sweep.csv, the charts and report.md; returns the files written. */
export async function writeSweepOutputs(dir: string, result: SweepResult): Promise<string[]> {
  const files = {
    json: join(dir, 'sweep.json'),
    csv: join(dir, 'sweep.csv'),
    report: join(dir, 'report.md'),
  };
  await writeFile(files.json, `${JSON.stringify(result, null, 2)}\n`);
  await writeFile(files.csv, toCsv(result.cells.map(cellRow)));
  const charts: string[] = [];
  for (const [name, spec] of Object.entries(sweepChartSpecs(result))) {
    if (spec !== undefined) charts.push(...(await renderChart(spec, join(dir, name))));
  }
  const svgs = charts.filter((file) => file.endsWith('.svg')).map((file) => basename(file));
  await writeFile(files.report, renderSweepReport(result, svgs));
  return [...Object.values(files), ...charts];
}

export function sweepChartSpecs(result: SweepResult): Record<string, TopLevelSpec | undefined> {
  return {
    'election-vs-timeout': electionChartSpec(result),
    'spurious-vs-rtt': spuriousChartSpec(result),
    'heal-term-jump': healChartSpec(result),
  };
}

const SCHEMA = 'https://vega.github.io/schema/vega-lite/v6.json';

/** Each trial's election time (from the logs) against the election timeout, with Raft's median. */
function electionChartSpec(result: SweepResult): TopLevelSpec | undefined {
  const withElections = result.cells.filter((c) => c.elections && c.elections.trials.length > 0);
  if (withElections.length === 0) return undefined;
  const trials = withElections.flatMap((c) =>
    (c.elections?.trials ?? []).flatMap((t) =>
      t.logElectedAfterFaultMs === undefined
        ? []
        : [
            {
              et: c.etcdOptions.electionTimeoutMs ?? 1000,
              ms: t.logElectedAfterFaultMs,
              series: seriesOf(c),
            },
          ],
    ),
  );
  const model = withElections.map((c) => ({
    et: c.etcdOptions.electionTimeoutMs ?? 1000,
    ms: c.elections?.summary.model.medianAfterFaultMs ?? null,
  }));
  return {
    $schema: SCHEMA,
    title: `${result.sweep.title}: election time vs election timeout (line: Raft's median)`,
    width: 560,
    height: 320,
    layer: [
      {
        data: { values: model },
        mark: { type: 'line', color: '#888', strokeDash: [4, 4], point: true },
        encoding: {
          x: { field: 'et', type: 'quantitative', title: 'election timeout (ms)' },
          y: { field: 'ms', type: 'quantitative' },
        },
      },
      {
        data: { values: trials },
        mark: { type: 'point', filled: true, opacity: 0.7 },
        encoding: {
          x: { field: 'et', type: 'quantitative', title: 'election timeout (ms)' },
          y: { field: 'ms', type: 'quantitative', title: 'fault → new leader elected (ms, logs)' },
          color: { field: 'series', type: 'nominal', title: 'cell' },
        },
      },
    ],
  };
}

/** Leader changes in the quiet window against added RTT / heartbeat, one line per timing. */
function spuriousChartSpec(result: SweepResult): TopLevelSpec | undefined {
  const points = result.cells.flatMap((c) => {
    if (c.quiet === null || c.quiet.leaderChanges === null) return [];
    const hb = c.etcdOptions.heartbeatMs ?? 100;
    const et = c.etcdOptions.electionTimeoutMs ?? 1000;
    const rtt = addedRttMs(c.condition);
    return [
      {
        ratio: rtt / hb,
        changes: c.quiet.leaderChanges,
        timing: `hb ${hb} / et ${et} ms${c.etcdOptions.preVote === undefined ? '' : c.etcdOptions.preVote ? ' pre-vote' : ' no pre-vote'}`,
        rule: rtt === 0 || et >= 10 * rtt ? 'ET ≥ 10 × RTT' : 'ET < 10 × RTT',
      },
    ];
  });
  if (points.length === 0 || !result.cells.some((c) => c.condition.kind === 'rtt')) return undefined;
  return {
    $schema: SCHEMA,
    title: `${result.sweep.title}: leader changes with no fault vs RTT / heartbeat`,
    width: 560,
    height: 320,
    data: { values: points },
    layer: [
      {
        mark: { type: 'line', opacity: 0.5 },
        encoding: {
          x: { field: 'ratio', type: 'quantitative' },
          y: { field: 'changes', type: 'quantitative' },
          color: { field: 'timing', type: 'nominal' },
        },
      },
      {
        mark: { type: 'point', filled: true, size: 80 },
        encoding: {
          x: { field: 'ratio', type: 'quantitative', title: 'added round-trip time / heartbeat interval' },
          y: {
            field: 'changes',
            type: 'quantitative',
            title: `leader changes in ${result.sweep.quietWindowMs / 1000} s without a fault`,
          },
          color: { field: 'timing', type: 'nominal', title: 'timing' },
          shape: { field: 'rule', type: 'nominal', title: 'etcd guidance' },
        },
      },
    ],
  };
}

/** Term jump on the majority side when the isolated member came back, per trial. */
function healChartSpec(result: SweepResult): TopLevelSpec | undefined {
  const points = result.cells.flatMap((c) =>
    (c.heals ?? []).flatMap((h) =>
      h.termJump === null ? [] : [{ cell: c.label, jump: h.termJump, trial: h.trial }],
    ),
  );
  if (points.length === 0) return undefined;
  return {
    $schema: SCHEMA,
    title: `${result.sweep.title}: term jump when the isolated member is healed`,
    width: 480,
    height: { step: 40 },
    data: { values: points },
    mark: { type: 'tick', thickness: 3, size: 24 },
    encoding: {
      y: { field: 'cell', type: 'nominal', title: null, axis: { labelLimit: 480 } },
      x: { field: 'jump', type: 'quantitative', title: 'term after heal − term before (each trial)' },
      color: { field: 'cell', type: 'nominal', legend: null },
    },
  };
}

const seriesOf = (c: CellResult): string =>
  `${c.etcdOptions.preVote === undefined ? '' : c.etcdOptions.preVote ? 'pre-vote, ' : 'no pre-vote, '}${conditionLabel(c.condition)}`;

const fmt = (v: CsvValue): string =>
  v === null || v === undefined || v === ''
    ? '–'
    : typeof v === 'number'
      ? Number.isInteger(v)
        ? String(v)
        : v.toFixed(1)
      : String(v);

function markdownTable(
  allColumns: readonly [string, string][],
  rows: readonly Record<string, CsvValue>[],
): string {
  // Columns no cell has a value for (e.g. election times in a sweep without a leader fault) are left out.
  const columns = allColumns.filter(([key]) => rows.some((row) => fmt(row[key]) !== '–'));
  const head = `| ${columns.map(([, title]) => title).join(' | ')} |`;
  const rule = `| ${columns.map(() => '---').join(' | ')} |`;
  const body = rows.map(
    (row) => `| ${columns.map(([key]) => fmt(row[key]).replace(/\|/g, '\\|')).join(' | ')} |`,
  );
  return [head, rule, ...body].join('\n');
}

export function renderSweepReport(result: SweepResult, charts: readonly string[]): string {
  const s = result.sweep;
  const rows = result.cells.map(cellRow);
  const load = (l: readonly number[]) => l.map((v) => v.toFixed(2)).join(' / ');
  const env = result.cells[0]?.environment ?? {};
  const lines = [
    `# ${s.title}`,
    '',
    ...(s.description ? [s.description.trim(), ''] : []),
    `Sweep \`${s.name}\`: ${result.status}${result.verdicts.length > 0 ? `, expectations ${result.deviated ? '**DEVIATED**' : 'held'}` : ''}.`,
    `Started ${result.startedAt}, ${(result.durationMs / 1000).toFixed(0)} s; ${result.cells.length} cells (${result.measuredCells.length} measured in this run, ${result.reusedCells.length} kept from an earlier one).`,
    `Host load average (1/5/15 min): ${load(result.loadAverage.start)} at the start, ${load(result.loadAverage.end)} at the end.`,
    `etcd ${text(env.etcdVersion)} (${text(env.image)}), ${s.cluster.members} members, data dir ${s.cluster.dataDir};`,
    `fault ${s.fault.kind} × ${s.trials} trials per cell; quiet window ${s.quietWindowMs / 1000} s under ${s.load.ratePerSecond} writes/s from ${s.load.clients} clients; seed ${s.seed}.`,
    '',
    'An `rtt` condition delays each direction between members by half the added round-trip time, at the receiving',
    'member (see src/faults/network/delay.ts); the lab’s own clients are not delayed. Leader changes come from',
    '`etcd_server_leader_changes_seen_total` (largest increase over the members); election times from the members’ logs.',
    '',
    '## Cells',
    '',
    markdownTable(
      [
        ['index', '#'],
        ['label', 'cell'],
        ['condition_mechanism', 'condition by'],
        ['fault_mechanism', 'fault by'],
        ['election_median_ms', 'election p50'],
        ['election_max_ms', 'election max'],
        ['write_stall_median_ms', 'write stall p50'],
        ['quiet_leader_changes', 'quiet leader changes'],
        ['quiet_term_increase', 'quiet term +'],
        ['write_p50_ms', 'write p50'],
        ['write_p99_ms', 'write p99'],
        ['write_throughput', 'writes/s'],
        ['heal_term_jump_min', 'heal term jump min'],
        ['heal_term_jump_max', 'heal term jump max'],
        ['heal_leader_changes_max', 'heal leader changes max'],
      ],
      rows,
    ),
    '',
    'Write stall: for a leader fault, fault → first successful write sent after it; for partition-and-heal, the',
    'longest gap between successful writes after the heal. Times in ms.',
    '',
  ];
  const incomplete = result.cells.filter((c) => c.incomplete !== null);
  if (incomplete.length > 0) {
    lines.push('## Cells that stopped early', '');
    for (const c of incomplete) lines.push(`- ${c.label}: ${c.incomplete ?? ''}`);
    lines.push('');
  }
  if (result.verdicts.length > 0) {
    lines.push(
      '## Expectations',
      '',
      markdownTable(
        [
          ['verdict', 'verdict'],
          ['expectation', 'expectation'],
          ['label', 'cell'],
          ['check', 'check'],
          ['expected', 'expected'],
          ['observed', 'observed'],
        ],
        result.verdicts.map((v) => ({
          ...v,
          verdict: v.verdict === 'held' ? '✓ held' : v.verdict === 'deviated' ? '✗ deviated' : '? unknown',
        })),
      ),
      '',
    );
  }
  if (charts.length > 0) {
    lines.push('## Charts', '');
    for (const chart of charts) lines.push(`![${chart}](${chart})`, '');
  }
  if (result.error) lines.push('## Error', '', '```', result.error, '```', '');
  return `${lines.join('\n')}\n`;
}

const text = (value: unknown): string => (typeof value === 'string' ? value : '?');

const present = (values: readonly (number | null)[]) => values.filter((v): v is number => v !== null);
const minOf = (values: readonly (number | null)[]) =>
  present(values).length ? Math.min(...present(values)) : undefined;
const maxOf = (values: readonly (number | null)[]) =>
  present(values).length ? Math.max(...present(values)) : undefined;
function median(values: readonly (number | null)[]): number | undefined {
  const sorted = [...present(values)].sort((a, b) => a - b);
  if (sorted.length === 0) return undefined;
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid] : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
}
