import { verdictLine } from '../../run/results-envelope.ts';
import { cellRow, type CsvValue } from './cell-table.ts';
import type { SweepResult } from './sweep-result.ts';

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
