import { ETCD_DEFAULTS } from '../../cluster/etcd-options.ts';
import type { CellResult } from './cell-result.ts';
import { addedRttMs } from './conditions.ts';

export type CsvValue = string | number | boolean | null | undefined;

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
    // Unset: etcd's default quota (2 GiB), left empty like the snapshot count.
    quota_backend_bytes: o.quotaBackendBytes,
    lease_checkpoint: o.leaseCheckpoint ?? ETCD_DEFAULTS.leaseCheckpoint,
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
