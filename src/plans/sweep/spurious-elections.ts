import { ETCD_DEFAULTS } from '../../cluster/etcd-options.ts';
import type { CellResult } from './cell-result.ts';
import { addedRttMs } from './conditions.ts';
import { conditionLabel, otherOptionLabels } from './cell-labels.ts';

/**
 * Spurious elections against election timeout / round-trip time, for cells that differ only in
 * the election timeout (same heartbeat / RTT, same condition, same pre-vote and other options).
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
export function seriesKey(c: CellResult): string {
  const rtt = addedRttMs(c.condition);
  const hb = c.etcdOptions.heartbeatMs ?? ETCD_DEFAULTS.heartbeatMs;
  const preVote =
    c.etcdOptions.preVote === undefined ? [] : [`pre-vote ${c.etcdOptions.preVote ? 'on' : 'off'}`];
  return [
    `heartbeat ${round2(hb / rtt)} × RTT`,
    conditionLabel(c.condition),
    ...preVote,
    ...otherOptionLabels(c.etcdOptions),
  ].join(', ');
}

/** At most two decimals (ET/RTT 1.25 stays 1.25), none for whole numbers. */
const round2 = (v: number): string => String(Number(v.toFixed(2)));
const minutes = (ms: number): string => String(Math.round(ms / 6_000) / 10);
