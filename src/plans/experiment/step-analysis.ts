import { LabError } from '../../errors.ts';
import { cutsTargetsOff } from '../../faults/catalog.ts';
import type { OperationRecord } from '../../history/operation-record.ts';
import {
  deriveLeaderChange,
  type agreedLeaderships,
  type LeaderObservation,
} from '../../measure/leader-tracker.ts';
import {
  compareWindows,
  summarizeLatencies,
  summarizeOperations,
  timeSeries,
  unavailabilityWindows,
  type LatencySummary,
  type OperationsSummary,
} from '../../measure/latency-stats.ts';
import { explainElectionFromLogs, type MemberLog } from '../../measure/election-rounds.ts';
import type { RunClock } from '../../util/clock.ts';
import { clientOperations } from '../../workload/retry-policy.ts';
import type { ActiveStep, ExperimentResult, StepResult } from './experiment-types.ts';
import { LEADER_TAKING } from './hypothesis.ts';
import { effectiveAt } from './step-timing.ts';
import { successByKind, type SuccessRatio } from './step-measurements.ts';
import { isLoadStep } from './spec.ts';

/**
 * The pure analysis of a finished run from its history and the tracker's observations: the
 * workload in windows around the faults, the latencies before the first fault, and per step its
 * window, write stall, leader change, election, success shares and load.
 */

/** Operations of the experiment's own workload (not of load steps' extra clients). */
export const isWorkloadOperation = (r: OperationRecord): boolean => r.role?.of === 'workload';

/** Operations of load step `step`'s clients (numbered from 1), or of every load step's. */
export const isLoadStepOperation = (r: OperationRecord, step?: number): boolean =>
  r.role?.of === 'load-step' && (step === undefined || r.role.step === step);

export interface StepContext {
  readonly records: readonly OperationRecord[];
  readonly mainOperations: readonly OperationRecord[];
  readonly workloadWindow: { readonly fromMs: number; readonly toMs: number };
  readonly baseline: OperationsSummary | null;
  readonly observations: readonly LeaderObservation[];
  readonly leaderships: ReturnType<typeof agreedLeaderships>;
  readonly members: number;
  /** Decimal member ID → member name. */
  readonly memberNames: ReadonlyMap<string, string>;
  /** When each fault step (not load steps) took effect. */
  readonly faultTimes: readonly number[];
  /** Every member's log at the end of the run (empty when not read). */
  readonly logs: readonly MemberLog[];
  readonly clock: RunClock;
}

export function stepResult(a: ActiveStep, ctx: StepContext): StepResult {
  const fault = a.handle?.record() ?? a.record;
  if (fault === undefined) throw new LabError(`step ${a.index + 1} has no record`);
  const faultAt = effectiveAt(fault, a.step);
  const end = Math.min(fault.healedAtMs ?? ctx.workloadWindow.toMs, ctx.workloadWindow.toMs);
  const window = { fromMs: faultAt, toMs: Math.max(faultAt, end) };
  const leaderTargeted = fault.targets.includes(a.leaderBefore.name);
  // The longest gap between successful writes that overlaps this step's window, up to the next
  // fault: a heal can return after the next fault went in (a restart takes a while), and that
  // fault's stall is its own.
  const nextFaultAt = Math.min(...ctx.faultTimes.filter((t) => t > faultAt), Infinity);
  const stallEnd = Math.min(window.toMs, nextFaultAt);
  const stall = unavailabilityWindows(
    ctx.mainOperations.filter((r) => r.kind === 'put'),
    ctx.workloadWindow,
  ).find((gap) => gap.endMs > faultAt && gap.startMs < stallEnd);
  const inWindow = summarizeOperations(ctx.mainOperations, window);
  const leaderChange = isLoadStep(a.step)
    ? null
    : deriveLeaderChange(ctx.observations, {
        sinceMs: fault.injectedAtMs,
        previousLeaderId: a.leaderBefore.id,
        previousTerm: a.leaderBefore.term,
        clusterSize: ctx.members,
      });
  const election =
    leaderTargeted && LEADER_TAKING.has(a.step.fault) && ctx.logs.length > 0
      ? explainElectionFromLogs(
          // A cut-off old leader keeps campaigning on its own, in terms nobody else is in.
          cutsTargetsOff(a.step.fault) ? ctx.logs.filter((l) => !fault.targets.includes(l.member)) : ctx.logs,
          {
            faultAtWallMs: ctx.clock.toWall(faultAt),
            previousTerm: a.leaderBefore.term,
            ...(leaderChange?.majorityAgreesAtMs === undefined
              ? {}
              : { electedAtWallMs: ctx.clock.toWall(leaderChange.majorityAgreesAtMs) }),
          },
        )
      : null;
  return {
    step: a.step,
    ...(a.startedLateMs === undefined ? {} : { startedLateMs: a.startedLateMs }),
    fault,
    window,
    leaderTargeted,
    leaderBefore: { name: a.leaderBefore.name, term: a.leaderBefore.term },
    leaderChange,
    election,
    leaderChangesInWindow: ctx.leaderships.filter(
      (l) => l.agreedAtMs > window.fromMs && l.agreedAtMs <= window.toMs,
    ).length,
    writeStall: stall
      ? { durationMs: stall.durationMs, startRelativeToFaultMs: stall.startMs - faultAt }
      : null,
    workload: inWindow,
    vsBaseline: ctx.baseline === null ? null : compareWindows(ctx.baseline, inWindow),
    success: successByKind(ctx.mainOperations, window),
    byAnsweringMember: latencyByAnsweringMember(ctx.mainOperations, window, ctx.memberNames),
    loadSuccess: loadSuccessIn(ctx.records, window, a.index + 1),
    catchUpMs: a.catchUpMs,
    peerRtt: a.peerRtt ?? null,
    load: isLoadStep(a.step)
      ? summarizeOperations(clientOperations(ctx.records.filter((r) => isLoadStepOperation(r, a.index + 1))))
      : null,
  };
}

function latencyByAnsweringMember(
  operations: readonly OperationRecord[],
  window: { readonly fromMs: number; readonly toMs: number },
  memberNames: ReadonlyMap<string, string>,
): Record<string, LatencySummary> {
  const latencies = new Map<string, number[]>();
  for (const o of operations) {
    if (
      o.outcome !== 'ok' ||
      o.memberId === undefined ||
      o.startMs < window.fromMs ||
      o.startMs >= window.toMs
    )
      continue;
    const name = memberNames.get(o.memberId) ?? o.memberId;
    latencies.set(name, [...(latencies.get(name) ?? []), o.endMs - o.startMs]);
  }
  return Object.fromEntries(
    [...latencies].sort(([a], [b]) => a.localeCompare(b)).map(([name, l]) => [name, summarizeLatencies(l)]),
  );
}

function loadSuccessIn(
  records: readonly OperationRecord[],
  window: { readonly fromMs: number; readonly toMs: number },
  ownStep: number,
): SuccessRatio | null {
  const others = records.filter((r) => isLoadStepOperation(r) && !isLoadStepOperation(r, ownStep));
  const ratio = successByKind(clientOperations(others), window).all;
  return ratio.total === 0 ? null : ratio;
}

/** Latencies of the main workload's calls that returned before the first fault (a failed call: +∞). */
export function baselineLatencies(
  operations: readonly OperationRecord[],
  active: readonly ActiveStep[],
  workload: { fromMs: number; toMs: number },
): number[] {
  const records = active.map((a) => a.handle?.record() ?? a.record).filter((r) => r !== undefined);
  const firstFault = Math.min(...records.map((r) => r.injectedAtMs), workload.toMs + 1);
  return operations
    .filter((o) => o.endMs >= workload.fromMs && o.endMs < firstFault)
    .map((o) => (o.outcome === 'ok' ? o.endMs - o.startMs : Infinity));
}

export function windowsOf(
  operations: readonly OperationRecord[],
  active: readonly ActiveStep[],
  workload: { fromMs: number; toMs: number },
): Omit<NonNullable<ExperimentResult['workload']>, 'attempts'> {
  // Windows are clamped to the workload: a fault healed after the load stopped leaves an empty "after".
  const end = workload.toMs + 1;
  const records = active.map((a) => a.handle?.record() ?? a.record).filter((r) => r !== undefined);
  const firstFault = Math.min(...records.map((r) => r.injectedAtMs), end);
  const lastHeal = Math.min(Math.max(...records.map((r) => r.healedAtMs ?? end), firstFault), end);
  const baseline = summarizeOperations(operations, { fromMs: workload.fromMs, toMs: firstFault });
  const duringFault = summarizeOperations(operations, { fromMs: firstFault, toMs: lastHeal });
  const afterHeal = summarizeOperations(operations, { fromMs: lastHeal, toMs: end });
  return {
    baseline,
    duringFault,
    afterHeal,
    duringVsBaseline: compareWindows(baseline, duringFault),
    afterVsBaseline: compareWindows(baseline, afterHeal),
    timeline: timeSeries(operations, { bucketMs: 100, fromMs: workload.fromMs, toMs: end }),
  };
}
