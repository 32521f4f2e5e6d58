import type { EtcdOptions } from '../../cluster/etcd-options.ts';
import type { FaultRecord } from '../../faults/fault.ts';
import type { ElectionSummary } from '../../measure/election-summary.ts';
import type { ElectionTrial } from '../../measure/election-trial.ts';
import { CELL_SCHEMA_VERSION, type SweepCell, type SweepCondition, type SweepFault } from './spec.ts';

/** Writes during the quiet window: latency of the ok ones, and how many went through per second. */
export interface WriteFigures {
  readonly p50Ms: number | null;
  readonly p99Ms: number | null;
  /** ok writes per second over the window. */
  readonly throughput: number | null;
  readonly ok: number;
  readonly fail: number;
  readonly indeterminate: number;
}

/** One quiet window: leader changes and the term over it, as read at its end. */
export interface QuietWindowSample {
  readonly window: number;
  /** Run-clock start and end of the window. */
  readonly fromMs: number;
  readonly toMs: number;
  /**
   * Elections during the window, from /metrics: the largest increase of any member's
   * `etcd_server_leader_changes_seen_total` (every connected member counts each new leader
   * once, so this is the number of new leaders, including a leader re-elected after stepping down).
   */
  readonly leaderChanges: number | null;
  readonly leaderChangesByMember: Readonly<Record<string, number | null>>;
  /** Highest raft term at the window's end minus at its start (failed campaigns raise it too). */
  readonly termIncrease: number | null;
  readonly writeP99Ms: number | null;
}

/** The stretch of the cell with the condition on and no fault injected: `quietWindows` windows in a row. */
export interface QuietWindowResult {
  /** Length of each window. */
  readonly windowMs: number;
  /** All windows together. */
  readonly observedMs: number;
  readonly windows: readonly QuietWindowSample[];
  /** Sum over the windows (null if a window's counters could not be read). */
  readonly leaderChanges: number | null;
  /** leaderChanges per minute of observation. */
  readonly leaderChangesPerMinute: number | null;
  /** How many windows saw at least one leader change. */
  readonly windowsWithLeaderChanges: number;
  readonly termIncrease: number | null;
  /** Writes over all the windows. */
  readonly writes: WriteFigures;
  /** Longest gap between successful writes over all the windows (an election stalls writes). */
  readonly longestWriteGapMs: number | null;
}

/** One partition-and-heal trial: a member cut off for isolationMs, then reconnected and watched. */
export interface HealTrial {
  readonly trial: number;
  readonly isolated: string;
  readonly leaderBefore: string;
  /** The majority side's term just before the heal. */
  readonly termBeforeHeal: number;
  /**
   * Highest raft term the isolated member logged while cut off (without pre-vote each campaign
   * raises it). From its log: etcd's status reports the term of the last applied entry instead.
   */
  readonly isolatedCampaignTerm: number | null;
  readonly leaderAfter: string | null;
  readonly termAfter: number | null;
  /** termAfter − termBeforeHeal: the heal forced this many term increases on the cluster. */
  readonly termJump: number | null;
  /** New leaders after the heal (from /metrics), largest over the members that stayed connected. */
  readonly leaderChangesOnHeal: number | null;
  readonly leaderChangesByMember: Readonly<Record<string, number | null>>;
  /** Longest gap between successful writes from the heal to the end of the observation. */
  readonly writeStallAfterHealMs: number | null;
  readonly isolation: FaultRecord;
}

/**
 * One finished cell, as written to `cells/<cellId>.json` and read back on resume. Its fields and
 * their order are the record's format: a change is a new CELL_SCHEMA_VERSION.
 */
export interface CellResult {
  readonly schemaVersion: typeof CELL_SCHEMA_VERSION;
  readonly sweep: string;
  readonly cellId: string;
  readonly cellHash: string;
  readonly index: number;
  readonly label: string;
  readonly etcdOptions: EtcdOptions;
  readonly condition: SweepCondition;
  readonly fault: SweepFault;
  readonly trials: number;
  readonly seed: number;
  readonly startedAt: string;
  readonly durationMs: number;
  /** 1/5/15-minute load averages of the host when the cell started and ended. */
  readonly loadAverage: { readonly start: readonly number[]; readonly end: readonly number[] };
  readonly environment: Readonly<Record<string, unknown>>;
  /** Which mechanism produced the condition and the fault on this host. */
  readonly mechanisms: { readonly condition: string | null; readonly fault: string | null };
  /** Every injection of the condition (re-applied after a kill: a restarted member loses network faults). */
  readonly conditionFaults: readonly FaultRecord[];
  readonly quiet: QuietWindowResult | null;
  readonly elections: {
    readonly trials: readonly ElectionTrial[];
    readonly summary: ElectionSummary;
  } | null;
  readonly heals: readonly HealTrial[] | null;
  /**
   * Set when the cluster under test stopped the measurements early, e.g. no stable leader
   * under the condition. That is a result about etcd, not a failure of the lab.
   */
  readonly incomplete: string | null;
}

/** What a run of the cell measured: the record's fields that do not come from the plan. */
export type CellMeasurements = Pick<
  CellResult,
  | 'startedAt'
  | 'durationMs'
  | 'loadAverage'
  | 'environment'
  | 'mechanisms'
  | 'conditionFaults'
  | 'quiet'
  | 'elections'
  | 'heals'
  | 'incomplete'
>;

/** The cell's record (pure): the plan's identity of the cell, then what was measured. */
export function cellRecord(sweep: string, cell: SweepCell, measured: CellMeasurements): CellResult {
  return {
    schemaVersion: CELL_SCHEMA_VERSION,
    sweep,
    cellId: cell.cellId,
    cellHash: cell.cellHash,
    index: cell.index,
    label: cell.label,
    etcdOptions: cell.etcdOptions,
    condition: cell.condition,
    fault: cell.fault,
    trials: cell.trials,
    seed: cell.seed,
    startedAt: measured.startedAt,
    durationMs: measured.durationMs,
    loadAverage: measured.loadAverage,
    environment: measured.environment,
    mechanisms: measured.mechanisms,
    conditionFaults: measured.conditionFaults,
    quiet: measured.quiet,
    elections: measured.elections,
    heals: measured.heals,
    incomplete: measured.incomplete,
  };
}
