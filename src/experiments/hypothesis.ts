import type { AcknowledgedWritesResult } from '../checks/acknowledged-writes.ts';
import type { ExperimentResult, StepResult } from './run-experiment.ts';
import { effectiveAt } from './run-experiment.ts';
import { isLoadStep, type FaultExperimentSpec } from './spec.ts';
import type { SuccessRatio } from './step-measurements.ts';
import { withoutUndefined } from '../util/without-undefined.ts';

export type Verdict = 'held' | 'deviated' | 'unknown';

export interface HypothesisCheck {
  readonly name: string;
  readonly expected: string;
  readonly observed: string;
  readonly verdict: Verdict;
}

const ms = (value: number | null | undefined): string =>
  value === null || value === undefined ? 'n/a' : `${value.toFixed(0)} ms`;
const times = (value: number | null | undefined): string =>
  value === null || value === undefined ? 'n/a' : `×${value.toFixed(2)}`;
const percent = (value: number | null): string => (value === null ? 'n/a' : `${(value * 100).toFixed(1)} %`);

function bounded(name: string, limit: number, observed: number | null | undefined): HypothesisCheck {
  return {
    name,
    expected: `≤ ${limit} ms`,
    observed: ms(observed),
    verdict:
      observed === null || observed === undefined ? 'deviated' : observed <= limit ? 'held' : 'deviated',
  };
}

/** Faults that take the leader away when they hit it: an election after them is the point, not spurious. */
const LEADER_TAKING: ReadonlySet<string> = new Set(['kill', 'stop', 'pause', 'sigstop', 'isolate']);

const KIND_NAMES = {
  all: 'operations',
  put: 'puts',
  get: 'linearizable reads',
  serializableGet: 'serializable reads',
} as const;

function successCheck(
  name: string,
  bounds: { readonly min?: number | undefined; readonly max?: number | undefined },
  observed: SuccessRatio,
): HypothesisCheck {
  const expected = [
    bounds.min === undefined ? null : `≥ ${percent(bounds.min)}`,
    bounds.max === undefined ? null : `≤ ${percent(bounds.max)}`,
  ]
    .filter(Boolean)
    .join(' and ');
  const ratio = observed.ratio;
  return {
    name,
    expected,
    observed: `${percent(ratio)} (${observed.ok}/${observed.total})`,
    verdict:
      ratio === null
        ? 'unknown'
        : (bounds.min === undefined || ratio >= bounds.min) &&
            (bounds.max === undefined || ratio <= bounds.max)
          ? 'held'
          : 'deviated',
  };
}

export function stepLabel(step: StepResult, index: number): string {
  const targets = step.fault.targets.length > 0 ? ` ${step.fault.targets.join(',')}` : '';
  return `${step.step.fault}${targets} (step ${index + 1})`;
}

/** Turns the hypothesis' tolerances into checks against what was measured. */
export function checkHypothesis(
  spec: FaultExperimentSpec,
  steps: readonly StepResult[],
  workload: ExperimentResult['workload'],
  recoveryMs: number | null,
  acknowledged: AcknowledgedWritesResult | null,
): HypothesisCheck[] {
  const h = spec.hypothesis;
  const checks: HypothesisCheck[] = [];
  for (const [i, step] of steps.entries()) {
    const label = stepLabel(step, i);
    const load = isLoadStep(step.step);
    // The step's own expectations take precedence over the experiment-wide ones.
    const e = { ...h, ...withoutUndefined(step.step.expect ?? {}) };
    const takesLeader = step.leaderTargeted && LEADER_TAKING.has(step.step.fault);
    // A fault that does not take the leader away needs no election: nothing to check.
    if (h.maxElectionMs !== undefined && step.leaderChange && takesLeader) {
      const elected = step.leaderChange.majorityAgreesAtMs;
      checks.push(
        bounded(
          `new leader after ${label}`,
          h.maxElectionMs,
          elected === undefined ? null : elected - effectiveAt(step.fault, step.step),
        ),
      );
    }
    if (h.maxWriteStallMs !== undefined && !load)
      checks.push(
        bounded(`write stall around ${label}`, h.maxWriteStallMs, step.writeStall?.durationMs ?? 0),
      );
    if (h.maxCatchUpMs !== undefined && step.catchUpMs !== undefined)
      checks.push(bounded(`member caught up after ${label}`, h.maxCatchUpMs, step.catchUpMs));
    if (e.maxLatencyRatio !== undefined) {
      for (const q of ['p50', 'p99'] as const) {
        const limit = e.maxLatencyRatio[q];
        if (limit === undefined) continue;
        const observed = step.vsBaseline?.[q] ?? null;
        checks.push({
          name: `${q} latency during ${label} vs before`,
          expected: `≤ ×${limit}`,
          observed: times(observed),
          verdict: observed === null ? 'unknown' : observed <= limit ? 'held' : 'deviated',
        });
      }
    }
    if (e.successDuringFault !== undefined && step.success !== null) {
      for (const [kind, bounds] of Object.entries(e.successDuringFault)) {
        if (bounds === undefined) continue;
        const name = `${KIND_NAMES[kind as keyof typeof KIND_NAMES]} succeeding during ${label}`;
        checks.push(successCheck(name, bounds, step.success[kind as keyof typeof step.success]));
      }
    }
    if (e.loadSuccessDuringFault !== undefined && step.loadSuccess !== null) {
      checks.push(
        successCheck(
          `load-step clients succeeding during ${label}`,
          e.loadSuccessDuringFault,
          step.loadSuccess,
        ),
      );
    }
    if (e.maxSpuriousLeaderChanges !== undefined && !takesLeader) {
      checks.push({
        name: `leader changes during ${label}`,
        expected: `≤ ${e.maxSpuriousLeaderChanges}`,
        observed: String(step.leaderChangesInWindow),
        verdict: step.leaderChangesInWindow <= e.maxSpuriousLeaderChanges ? 'held' : 'deviated',
      });
    }
    if (h.burstsSucceed && step.step.fault === 'burst' && step.load !== null) {
      const o = step.load.outcomes;
      const total = o.ok + o.fail + o.indeterminate;
      checks.push({
        name: `every operation of ${label} succeeds`,
        expected: `${step.step.operations} of ${step.step.operations}`,
        observed: `${o.ok} of ${total} in ${ms(step.load.toMs !== null && step.load.fromMs !== null ? step.load.toMs - step.load.fromMs : null)}`,
        verdict: o.ok === step.step.operations ? 'held' : 'deviated',
      });
    }
  }
  if (h.maxBaselineP99Ms !== undefined)
    checks.push(bounded('p99 latency before any fault', h.maxBaselineP99Ms, workload?.baseline.latency.p99));
  if (h.maxRecoveryMs !== undefined)
    checks.push(bounded('recovery after heal (leader + caught up)', h.maxRecoveryMs, recoveryMs));
  if (h.noAcknowledgedWriteLost) {
    checks.push({
      name: 'every acknowledged write survives',
      expected: 'none lost',
      observed: acknowledged?.message ?? 'not checked',
      verdict: acknowledged === null ? 'unknown' : acknowledged.status === 'ok' ? 'held' : 'deviated',
    });
  }
  return checks;
}
