import { writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { ETCD_DEFAULTS } from '../cluster/etcd-options.ts';
import type { TopLevelSpec } from 'vega-lite';
import { renderChart } from '../report/charts.ts';
import { addedRttMs } from './conditions.ts';
import type { CellResult } from './run-cell.ts';
import { conditionLabel, type SweepSpec } from './spec.ts';
import type { SweepCheck } from './verdicts.ts';
import { verdictLine, writeEnvelope, type ResultsEnvelope } from '../run/results-envelope.ts';

/**
 * What a sweep adds to the results envelope (src/run/results-envelope.ts); the envelope's checks
 * are the expectations' checks, one per expectation, cell and measure (SweepCheck).
 */
export interface SweepPayload {
  readonly sweep: SweepSpec;
  /** Cells measured by this run and cells reused from an earlier, interrupted one. */
  readonly measuredCells: readonly string[];
  readonly reusedCells: readonly string[];
  readonly cells: readonly CellResult[];
  /** Per series of rtt cells, the election timeout / RTT from which on no spurious election was seen. */
  readonly spuriousElections: readonly SpuriousElectionBoundary[];
}

/**
 * A sweep's result.json: the envelope and the payload. Status completed: every cell measured;
 * aborted: interrupted (finished cells kept for a resume); failed: the lab failed.
 */
export type SweepResult = Omit<ResultsEnvelope<'sweep'>, 'checks'> &
  SweepPayload & { readonly checks: readonly SweepCheck[] };

/**
 * Spurious elections against election timeout / round-trip time, for cells that differ only in
 * the election timeout (same heartbeat / RTT, same condition, same pre-vote).
 */
export interface SpuriousElectionBoundary {
  readonly series: string;
  readonly points: readonly {
    readonly electionTimeoutOverRtt: number;
    readonly leaderChanges: number;
    readonly perMinute: number;
    readonly observedMs: number;
  }[];
  /** Lowest measured ET/RTT from which on every cell saw no leader change; null if even the highest did. */
  readonly quietFromRatio: number | null;
  /** Highest ET/RTT at which leader changes were seen; null if none were. */
  readonly highestRatioWithChanges: number | null;
  /** Every cell below quietFromRatio saw leader changes (false: a quiet cell among noisy ones). */
  readonly monotonic: boolean;
  readonly summary: string;
}

/**
 * Where spurious elections start (pure). Zero leader changes in T minutes is reported with its
 * 95 % upper bound, 3/T per minute (Poisson), so a short observation is not read as "never".
 */
export function spuriousElectionBoundaries(cells: readonly CellResult[]): SpuriousElectionBoundary[] {
  const series = new Map<string, SpuriousElectionBoundary['points'][number][]>();
  for (const c of cells) {
    const rtt = addedRttMs(c.condition);
    const quiet = c.quiet;
    if (rtt === 0 || quiet === null || quiet.leaderChanges === null || quiet.leaderChangesPerMinute === null)
      continue;
    const key = seriesKey(c);
    const points = series.get(key) ?? [];
    points.push({
      electionTimeoutOverRtt: (c.etcdOptions.electionTimeoutMs ?? ETCD_DEFAULTS.electionTimeoutMs) / rtt,
      leaderChanges: quiet.leaderChanges,
      perMinute: quiet.leaderChangesPerMinute,
      observedMs: quiet.observedMs,
    });
    series.set(key, points);
  }
  return [...series].map(([key, unsorted]) => {
    const points = [...unsorted].sort((a, b) => a.electionTimeoutOverRtt - b.electionTimeoutOverRtt);
    const noisy = points.filter((p) => p.leaderChanges > 0);
    const highest = noisy.at(-1)?.electionTimeoutOverRtt ?? null;
    const quietPoints = points.filter((p) => highest === null || p.electionTimeoutOverRtt > highest);
    const quietFrom = quietPoints[0]?.electionTimeoutOverRtt ?? null;
    const below = points.filter((p) => quietFrom === null || p.electionTimeoutOverRtt < quietFrom);
    const monotonic = below.every((p) => p.leaderChanges > 0);
    const ratio = (r: number) => `${round2(r)}`;
    const noisyText = noisy
      .map(
        (p) =>
          `${ratio(p.electionTimeoutOverRtt)} (${p.leaderChanges} in ${minutes(p.observedMs)} min, ${round2(p.perMinute)}/min)`,
      )
      .join(', ');
    const quietMs = quietPoints.reduce((total, p) => total + p.observedMs, 0);
    const quietText = `none at ET/RTT ≥ ${ratio(quietFrom ?? 0)} (0 in ${minutes(quietMs)} min over ${quietPoints.length} cells: below ${round2(3 / (quietMs / 60_000))}/min at 95 %)`;
    const summary =
      highest === null
        ? `${key}: ${quietText.replace(/^none/, 'no spurious leader change')}`
        : quietFrom === null
          ? `${key}: spurious leader changes up to the highest ET/RTT measured: ${noisyText}`
          : `${key}: spurious leader changes only below ET/RTT = ${ratio(quietFrom)}: at ${noisyText}; ${quietText}${monotonic ? '' : '; not monotonic: some cells below the boundary saw none'}`;
    return {
      series: key,
      points,
      quietFromRatio: quietFrom,
      highestRatioWithChanges: highest,
      monotonic,
      summary,
    };
  });
}

/** Everything that identifies a cell except its election timeout. */
function seriesKey(c: CellResult): string {
  const rtt = addedRttMs(c.condition);
  const hb = c.etcdOptions.heartbeatMs ?? ETCD_DEFAULTS.heartbeatMs;
  const preVote =
    c.etcdOptions.preVote === undefined ? '' : `, pre-vote ${c.etcdOptions.preVote ? 'on' : 'off'}`;
  return `heartbeat ${round2(hb / rtt)} × RTT, ${conditionLabel(c.condition)}${preVote}`;
}

/** At most two decimals (ET/RTT 1.25 stays 1.25), none for whole numbers. */
const round2 = (v: number): string => String(Number(v.toFixed(2)));
const minutes = (ms: number): string => String(Math.round(ms / 6_000) / 10);

type CsvValue = string | number | boolean | null | undefined;

/** One flat row per cell: the table in report.md and sweep.csv. Times in ms. */
export function cellRow(cell: CellResult): Record<string, CsvValue> {
  const o = cell.etcdOptions;
  const hb = o.heartbeatMs ?? ETCD_DEFAULTS.heartbeatMs;
  const et = o.electionTimeoutMs ?? ETCD_DEFAULTS.electionTimeoutMs;
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
    heartbeat_over_rtt: rtt === 0 ? undefined : hb / rtt,
    election_timeout_over_rtt: rtt === 0 ? undefined : et / rtt,
    follows_tuning_rule: rtt === 0 ? undefined : et >= 10 * rtt && hb >= 0.5 * rtt && hb <= 1.5 * rtt,
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
    quiet_windows: cell.quiet?.windows.length,
    quiet_observed_s: cell.quiet === null ? undefined : cell.quiet.observedMs / 1000,
    quiet_leader_changes: cell.quiet?.leaderChanges,
    quiet_leader_changes_per_min: cell.quiet?.leaderChangesPerMinute,
    quiet_windows_with_changes: cell.quiet?.windowsWithLeaderChanges,
    quiet_term_increase: cell.quiet?.termIncrease,
    quiet_longest_write_gap_ms: cell.quiet?.longestWriteGapMs,
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

/**
 * Writes the envelope's result.json, junit.xml and report.md, then sweep.csv and the charts;
 * returns the files written. (Each cell's own record is in cells/, written as it finished.)
 */
export async function writeSweepOutputs(dir: string, result: SweepResult): Promise<string[]> {
  const csv = join(dir, 'sweep.csv');
  await writeFile(csv, toCsv(result.cells.map(cellRow)));
  const charts: string[] = [];
  for (const [name, spec] of Object.entries(sweepChartSpecs(result))) {
    if (spec !== undefined) charts.push(...(await renderChart(spec, join(dir, name))));
  }
  const svgs = charts.filter((file) => file.endsWith('.svg')).map((file) => basename(file));
  const envelopeFiles = await writeEnvelope(dir, result, renderSweepReport(result, svgs));
  return [...envelopeFiles, csv, ...charts];
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
              et: c.etcdOptions.electionTimeoutMs ?? ETCD_DEFAULTS.electionTimeoutMs,
              ms: t.logElectedAfterFaultMs,
              series: seriesOf(c),
            },
          ],
    ),
  );
  const model = withElections.map((c) => ({
    et: c.etcdOptions.electionTimeoutMs ?? ETCD_DEFAULTS.electionTimeoutMs,
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

/** Leader changes per minute without a fault against election timeout / RTT, one line per series. */
function spuriousChartSpec(result: SweepResult): TopLevelSpec | undefined {
  const points = result.cells.flatMap((c) => {
    const rtt = addedRttMs(c.condition);
    if (rtt === 0 || c.quiet === null || c.quiet.leaderChangesPerMinute === null) return [];
    const row = cellRow(c);
    return [
      {
        ratio: row.election_timeout_over_rtt,
        perMinute: c.quiet.leaderChangesPerMinute,
        changes: c.quiet.leaderChanges,
        series: seriesKey(c),
        rule: row.follows_tuning_rule === true ? 'keeps the rule' : 'breaks the rule',
      },
    ];
  });
  if (points.length === 0) return undefined;
  const observed = result.sweep.quietWindows * result.sweep.quietWindowMs;
  return {
    $schema: SCHEMA,
    title: {
      text: `${result.sweep.title}: leader changes without a fault vs election timeout / RTT`,
      subtitle: `${observed / 1000} s observed per cell (${result.sweep.quietWindows} × ${result.sweep.quietWindowMs / 1000} s); etcd's rule: ET ≥ 10 × RTT, heartbeat 0.5–1.5 × RTT`,
    },
    width: 560,
    height: 320,
    data: { values: points },
    layer: [
      {
        mark: { type: 'line', opacity: 0.5 },
        encoding: {
          x: { field: 'ratio', type: 'quantitative', scale: { type: 'log' } },
          y: { field: 'perMinute', type: 'quantitative' },
          color: { field: 'series', type: 'nominal' },
        },
      },
      {
        mark: { type: 'point', filled: true, size: 90 },
        encoding: {
          x: {
            field: 'ratio',
            type: 'quantitative',
            scale: { type: 'log' },
            title: 'election timeout / added round-trip time (log scale)',
          },
          y: { field: 'perMinute', type: 'quantitative', title: 'leader changes per minute without a fault' },
          color: {
            field: 'series',
            type: 'nominal',
            title: 'series',
            legend: { orient: 'bottom', direction: 'vertical', labelLimit: 520 },
          },
          shape: { field: 'rule', type: 'nominal', title: 'etcd guidance' },
          tooltip: [{ field: 'changes' }, { field: 'perMinute' }],
        },
      },
      {
        mark: { type: 'rule', strokeDash: [4, 4], color: '#888' },
        data: { values: [{ ratio: 10 }] },
        encoding: { x: { field: 'ratio', type: 'quantitative' } },
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
  const env = result.environment;
  const lines = [
    `# ${s.title}`,
    '',
    ...(s.description ? [s.description.trim(), ''] : []),
    `Sweep \`${s.name}\`: ${result.status}${result.checks.length > 0 ? `, expectations ${verdictLine(result, { held: 'held', deviated: '**DEVIATED**', inconclusive: '**INCONCLUSIVE**' })}` : ''}.`,
    `Started ${result.startedAt}, ${(result.durationMs / 1000).toFixed(0)} s; ${result.cells.length} cells (${result.measuredCells.length} measured in this run, ${result.reusedCells.length} kept from an earlier one).`,
    `Host load average (1/5/15 min): ${load(env.host.loadAverage.start)} at the start, ${load(env.host.loadAverage.end)} at the end (${env.host.hostname}, ${env.host.cpus} CPUs).`,
    `etcd ${env.etcdVersion ?? '?'} (${env.image ?? '?'}), ${s.cluster.members} members, data dir ${s.cluster.dataDir};`,
    `fault ${s.fault.kind}${s.fault.kind === 'none' ? '' : ` × ${s.trials} trials`} per cell; quiet window${s.quietWindows > 1 ? `s ${s.quietWindows} ×` : ''} ${s.quietWindowMs / 1000} s under ${s.load.ratePerSecond} writes/s from ${s.load.clients} clients; seed ${s.seed}.`,
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
        ['election_timeout_over_rtt', 'ET/RTT'],
        ['heartbeat_over_rtt', 'HB/RTT'],
        ['quiet_observed_s', 'quiet s'],
        ['quiet_leader_changes', 'quiet leader changes'],
        ['quiet_leader_changes_per_min', 'per min'],
        ['quiet_windows_with_changes', 'windows with changes'],
        ['quiet_term_increase', 'quiet term +'],
        ['quiet_longest_write_gap_ms', 'longest write gap'],
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
  if (result.spuriousElections.length > 0) {
    lines.push('## Where spurious elections start', '');
    for (const boundary of result.spuriousElections) lines.push(`- ${boundary.summary}`);
    lines.push('');
  }
  const incomplete = result.cells.filter((c) => c.incomplete !== null);
  if (incomplete.length > 0) {
    lines.push('## Cells that stopped early', '');
    for (const c of incomplete) lines.push(`- ${c.label}: ${c.incomplete ?? ''}`);
    lines.push('');
  }
  if (result.checks.length > 0) {
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
        result.checks.map((v) => ({
          expectation: v.expectation,
          label: v.label,
          check: v.check,
          expected: v.expected,
          observed: v.observed,
          verdict:
            v.verdict === 'held' ? '✓ held' : v.verdict === 'deviated' ? '✗ deviated' : '? inconclusive',
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
