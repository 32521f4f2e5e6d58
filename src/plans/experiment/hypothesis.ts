import { acknowledgedWritesCheck, type AcknowledgedWritesResult } from '../../checks/acknowledged-writes.ts';
import { linearizabilityCheck, type LinearizabilityOutcome } from '../../checks/linearizable-history.ts';
import { watchCheck, type WatchOutcome } from '../../checks/watch-history.ts';
import { GUARANTEES } from '../../checks/watch/types.ts';
import type { Check, CheckStatistics } from '../../checks/check.ts';
import type { ExperimentResult, StepResult } from './experiment-types.ts';
import { effectiveAt } from './step-timing.ts';
import type { FaultExperimentSpec } from './spec.ts';
import { LEADER_TAKING_KINDS, tookLeadership } from '../../faults/catalog.ts';
import type { SuccessRatio } from './step-measurements.ts';
import { withoutUndefined } from '../../util/without-undefined.ts';
import {
  combineVerdicts,
  judgeFraction,
  judgeQuantileAtMost,
  type Judgement,
  type Verdict,
} from '../../checks/distribution-claims.ts';
import { QUANTILES, resolveTolerance, type Tolerance } from './spec.ts';
import type { RunStatus } from '../../run/results-envelope.ts';

export type { Verdict } from '../../checks/distribution-claims.ts';

/** A hypothesis check is the lab's one Check type (src/checks/check.ts). */
export type HypothesisCheck = Check;

/** The verdict of a whole hypothesis: any deviation deviates, then any inconclusive check is inconclusive. */
export function hypothesisVerdict(checks: readonly HypothesisCheck[]): Verdict {
  return combineVerdicts(checks.map((c) => c.verdict));
}

/** The samples the statistical claims are judged on, gathered by the runner. */
export interface ClaimSamples {
  /** Latency of every main-workload call that returned before the first fault; a failed call counts as +∞. */
  readonly baselineLatenciesMs: readonly number[];
}

const ms = (value: number | null | undefined): string =>
  value === null || value === undefined ? 'n/a' : `${value.toFixed(0)} ms`;
const times = (value: number | null | undefined): string =>
  value === null || value === undefined ? 'n/a' : `×${value.toFixed(2)}`;
const percent = (value: number | null): string => (value === null ? 'n/a' : `${(value * 100).toFixed(1)} %`);
const msOrInf = (value: number | null): string =>
  value === null ? '?' : Number.isFinite(value) ? `${value.toFixed(0)} ms` : 'none';

function statistics(j: Judgement): CheckStatistics {
  return {
    samples: j.samples,
    confidence: j.confidence,
    estimate: j.estimate,
    lower: j.bounds.lower,
    upper: j.bounds.upper,
    samplesToDecide: j.samplesToDecide,
  };
}

/** What an inconclusive claim lacks, in words. */
function undecided(j: Judgement): string {
  if (j.verdict !== 'inconclusive') return '';
  return j.samplesToDecide === null
    ? '; the samples sit at the limit: no number of repetitions decides it at this estimate'
    : `; about ${j.samplesToDecide} samples in all would decide it (${j.samplesToDecide - j.samples} more)`;
}

/**
 * "The q-quantile of these samples is at most the tolerance", judged by order-statistic
 * bounds (+∞ samples are events that never finished: they count as above any limit).
 */
function quantileCheck(
  what: string,
  q: keyof typeof QUANTILES,
  tolerance: Tolerance,
  samples: readonly number[],
  confidence: number,
  etcd: FaultExperimentSpec['cluster']['etcd'],
  cutShort?: CutShort,
): HypothesisCheck {
  const limit = resolveTolerance(tolerance, etcd);
  const j = judgeQuantileAtMost(samples, QUANTILES[q], limit.ms, confidence);
  const pct = `${Math.round(confidence * 100)} %`;
  const check: HypothesisCheck = {
    name: `${what} ${q}`,
    expected: `≤ ${limit.text}`,
    observed: `${msOrInf(j.estimate)} over ${samples.length} samples, ${pct} bounds [${msOrInf(j.bounds.lower)}, ${msOrInf(j.bounds.upper)}]${undecided(j)}`,
    verdict: j.verdict,
    statistics: statistics(j),
  };
  // +∞ samples of a run that did not complete were cut short, not measured: the deviation
  // stands only if it would stand had every one of them ended at once.
  const unfinished = samples.filter((v) => v === Infinity).length;
  if (cutShort === undefined || unfinished === 0 || j.verdict !== 'deviated') return check;
  const best = samples.map((v) => (v === Infinity ? 0 : v));
  if (judgeQuantileAtMost(best, QUANTILES[q], limit.ms, confidence).verdict === 'deviated') return check;
  return { ...check, verdict: 'inconclusive', why: cutShort.why(`${unfinished} of the samples`) };
}

/**
 * A run that did not complete: what it never measured (a recovery it did not wait for, an
 * election still under way when it stopped) is not known, so it cannot deviate.
 */
interface CutShort {
  /** Why: not measured at all, or how many of what ("3 elections") were still under way. */
  readonly why: (unmeasured?: string) => string;
}

function cutShortBy(status: RunStatus): CutShort | undefined {
  if (status === 'completed') return undefined;
  return {
    why: (unmeasured) =>
      unmeasured === undefined
        ? `not measured: the run was ${status} first`
        : `${unmeasured} not finished when the run was ${status}: not known`,
  };
}

function bounded(
  name: string,
  limit: number,
  observed: number | null | undefined,
  cutShort?: CutShort,
): HypothesisCheck {
  const missing = observed === null || observed === undefined;
  if (missing && cutShort !== undefined) {
    return {
      name,
      expected: `≤ ${limit} ms`,
      observed: ms(observed),
      verdict: 'inconclusive',
      why: cutShort.why(),
    };
  }
  return {
    name,
    expected: `≤ ${limit} ms`,
    observed: ms(observed),
    verdict: missing ? 'deviated' : observed <= limit ? 'held' : 'deviated',
  };
}

/**
 * Faults that take the leader away when they hit it: an election after them is the point, not
 * spurious. The catalog's `leadership: 'taken-when-targeted'` trait.
 */
export const LEADER_TAKING: ReadonlySet<string> = new Set(LEADER_TAKING_KINDS);

const KIND_NAMES = {
  all: 'operations',
  put: 'puts',
  get: 'linearizable reads',
  serializableGet: 'serializable reads',
} as const;

/** A share of operations within bounds, judged by Clopper–Pearson bounds (operations taken as independent trials). */
function successCheck(
  name: string,
  bounds: { readonly min?: number | undefined; readonly max?: number | undefined },
  observed: SuccessRatio,
  confidence: number,
): HypothesisCheck {
  const expected = [
    bounds.min === undefined ? null : `≥ ${percent(bounds.min)}`,
    bounds.max === undefined ? null : `≤ ${percent(bounds.max)}`,
  ]
    .filter(Boolean)
    .join(' and ');
  const j = judgeFraction(observed.ok, observed.total, bounds, confidence);
  return {
    name,
    expected,
    observed: `${percent(observed.ratio)} (${observed.ok}/${observed.total}), ${Math.round(confidence * 100)} % bounds [${percent(j.bounds.lower)}, ${percent(j.bounds.upper)}]${undecided(j)}`,
    verdict: j.verdict,
    statistics: statistics(j),
  };
}

export function stepLabel(step: StepResult, index: number): string {
  const targets = step.fault.targets.length > 0 ? ` ${step.fault.targets.join(',')}` : '';
  return `${step.step.fault}${targets} (step ${index + 1})`;
}

/**
 * Whether a step took the leader away (it hit the leader with a fault that takes it, or it
 * moved leadership): an election after it is the point, not spurious.
 */
export function tookLeader(step: StepResult): boolean {
  return tookLeadership(step.step.fault, step.leaderTargeted);
}

/** Time from the fault to a majority-agreed new leader; +∞ when none came before the run ended. */
export function electionMs(step: StepResult): number {
  const elected = step.leaderChange?.majorityAgreesAtMs;
  return elected === undefined ? Infinity : elected - effectiveAt(step.fault, step.step);
}

/**
 * How an election ended, from the members' logs: won in the first term campaigned for, or
 * later (more rounds, or no leader by the end of a completed run); unknown when the logs do
 * not tell (unreadable, no campaign logged, or a run stopped before a leader was logged).
 */
function firstRoundOutcome(step: StepResult, cutShort: CutShort | undefined): 'first' | 'later' | 'unknown' {
  const e = step.election;
  if (e === null) return 'unknown';
  if (e.newTerm === undefined)
    return step.leaderChange !== null || cutShort !== undefined ? 'unknown' : 'later';
  if (e.rounds.length === 0) return 'unknown';
  return e.rounds.length === 1 && e.rounds[0]?.outcome === 'won' ? 'first' : 'later';
}

/**
 * "At least this share of elections was won in the first round": a term campaigned for and won
 * without a split vote or a refused candidate burning a term. Pre-vote's promise, judged on the
 * logs rather than on times a loaded host stretches. An election the logs cannot tell counts
 * against the claim for "held" and for it for "deviated".
 */
function firstRoundCheck(
  leaderSteps: readonly StepResult[],
  min: number,
  confidence: number,
  cutShort: CutShort | undefined,
): HypothesisCheck {
  const outcomes = leaderSteps.map((s) => firstRoundOutcome(s, cutShort));
  const first = outcomes.filter((o) => o === 'first').length;
  const unknown = outcomes.filter((o) => o === 'unknown').length;
  const n = outcomes.length;
  const bounds = { min };
  const asObserved = judgeFraction(first, n, bounds, confidence);
  const atBest = judgeFraction(first + unknown, n, bounds, confidence);
  const verdict: Verdict =
    asObserved.verdict === 'held' ? 'held' : atBest.verdict === 'deviated' ? 'deviated' : 'inconclusive';
  const check: HypothesisCheck = {
    name: 'elections won in their first round (from the logs)',
    expected: `≥ ${percent(min)}`,
    observed: `${first}/${n}${unknown > 0 ? ` (${unknown} not told by the logs)` : ''}, ${Math.round(confidence * 100)} % bounds [${percent(asObserved.bounds.lower)}, ${percent(asObserved.bounds.upper)}]${undecided(asObserved)}`,
    verdict,
    statistics: statistics(asObserved),
  };
  return verdict === 'inconclusive' && unknown > 0 && asObserved.verdict !== 'inconclusive'
    ? { ...check, why: `${unknown} elections not told by the members' logs` }
    : check;
}

/**
 * Turns the hypothesis' tolerances into checks against what was measured. Random processes
 * (elections, write stalls, latency, success shares) are judged as distributions with
 * confidence bounds; configuration-bounded outcomes (recovery, catch-up, lost writes,
 * spurious elections, bursts) per occurrence.
 *
 * `status` is how the run ended. When it did not complete, a check whose observation is missing
 * or was cut short (no recovery waited for, an election or a burst still under way) is
 * inconclusive, not deviated; a deviation the run did measure still stands.
 */
export function checkHypothesis(
  spec: FaultExperimentSpec,
  steps: readonly StepResult[],
  workload: ExperimentResult['workload'],
  recoveryMs: number | null,
  acknowledged: AcknowledgedWritesResult | null,
  samples: ClaimSamples,
  status: RunStatus = 'completed',
  linearizability: LinearizabilityOutcome | null = null,
  watch: WatchOutcome | null = null,
): HypothesisCheck[] {
  const cutShort = cutShortBy(status);
  const h = spec.hypothesis;
  const confidence = h.confidence;
  const etcd = spec.cluster.etcd;
  const checks: HypothesisCheck[] = [];
  const leaderSteps = steps.filter(tookLeader);

  if (h.election !== undefined) {
    const elections = leaderSteps.map(electionMs);
    for (const q of Object.keys(QUANTILES) as (keyof typeof QUANTILES)[]) {
      const tolerance = h.election[q];
      if (tolerance !== undefined)
        checks.push(
          quantileCheck('time to a new leader', q, tolerance, elections, confidence, etcd, cutShort),
        );
    }
    if (h.election.withinOneRound !== undefined) {
      const round = resolveTolerance('2 × electionTimeout', etcd);
      const within = elections.filter((e) => e <= round.ms).length;
      const bounds = { min: h.election.withinOneRound };
      const j = judgeFraction(within, elections.length, bounds, confidence);
      const check: HypothesisCheck = {
        name: 'elections done within one Raft round',
        expected: `≥ ${percent(h.election.withinOneRound)} within ${round.text}`,
        observed: `${within}/${elections.length}, ${Math.round(confidence * 100)} % bounds [${percent(j.bounds.lower)}, ${percent(j.bounds.upper)}]${undecided(j)}`,
        verdict: j.verdict,
        statistics: statistics(j),
      };
      // Elections cut short by the run's end might each have been within the round.
      const unfinished = elections.filter((e) => e === Infinity).length;
      const stands =
        cutShort === undefined ||
        unfinished === 0 ||
        j.verdict !== 'deviated' ||
        judgeFraction(within + unfinished, elections.length, bounds, confidence).verdict === 'deviated';
      checks.push(
        stands ? check : { ...check, verdict: 'inconclusive', why: cutShort.why(`${unfinished} elections`) },
      );
    }
  }
  if (h.election?.wonInFirstRound !== undefined)
    checks.push(firstRoundCheck(leaderSteps, h.election.wonInFirstRound, confidence, cutShort));
  if (h.writeStall !== undefined) {
    const stalls = leaderSteps.map((s) => s.writeStall?.durationMs ?? 0);
    for (const q of Object.keys(QUANTILES) as (keyof typeof QUANTILES)[]) {
      const tolerance = h.writeStall[q];
      if (tolerance !== undefined)
        checks.push(
          quantileCheck('write stall around a leader loss', q, tolerance, stalls, confidence, etcd),
        );
    }
  }

  for (const [i, step] of steps.entries()) {
    const label = stepLabel(step, i);
    // The step's own expectations take precedence over the experiment-wide ones.
    const e = { ...h, ...withoutUndefined(step.step.expect ?? {}) };
    if (h.maxCatchUpMs !== undefined && step.catchUpMs !== undefined)
      checks.push(bounded(`member caught up after ${label}`, h.maxCatchUpMs, step.catchUpMs, cutShort));
    if (e.maxLatencyRatio !== undefined) {
      for (const q of ['p50', 'p99'] as const) {
        const limit = e.maxLatencyRatio[q];
        if (limit === undefined) continue;
        const observed = step.vsBaseline?.[q] ?? null;
        checks.push({
          name: `${q} latency during ${label} vs before`,
          expected: `≤ ×${limit}`,
          observed: times(observed),
          verdict: observed === null ? 'inconclusive' : observed <= limit ? 'held' : 'deviated',
        });
      }
    }
    if (e.successDuringFault !== undefined && step.success !== null) {
      for (const [kind, bounds] of Object.entries(e.successDuringFault)) {
        if (bounds === undefined) continue;
        const name = `${KIND_NAMES[kind as keyof typeof KIND_NAMES]} succeeding during ${label}`;
        checks.push(successCheck(name, bounds, step.success[kind as keyof typeof step.success], confidence));
      }
    }
    if (e.loadSuccessDuringFault !== undefined && step.loadSuccess !== null) {
      checks.push(
        successCheck(
          `load-step clients succeeding during ${label}`,
          e.loadSuccessDuringFault,
          step.loadSuccess,
          confidence,
        ),
      );
    }
    if (e.maxSpuriousLeaderChanges !== undefined && !tookLeader(step)) {
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
      // A burst the run's end cut short, with no operation failed so far, is not known to fail.
      const unfinished = cutShort !== undefined && o.ok === total && total < step.step.operations;
      checks.push({
        name: `every operation of ${label} succeeds`,
        expected: `${step.step.operations} of ${step.step.operations}`,
        observed: `${o.ok} of ${total} in ${ms(step.load.toMs !== null && step.load.fromMs !== null ? step.load.toMs - step.load.fromMs : null)}`,
        verdict: o.ok === step.step.operations ? 'held' : unfinished ? 'inconclusive' : 'deviated',
        ...(unfinished ? { why: cutShort.why(`${step.step.operations - total} operations`) } : {}),
      });
    }
  }
  if (h.baselineLatency !== undefined) {
    for (const q of Object.keys(QUANTILES) as (keyof typeof QUANTILES)[]) {
      const tolerance = h.baselineLatency[q];
      if (tolerance !== undefined)
        checks.push(
          quantileCheck(
            'latency before any fault',
            q,
            tolerance,
            samples.baselineLatenciesMs,
            confidence,
            etcd,
          ),
        );
    }
  }
  if (h.maxRecoveryMs !== undefined)
    checks.push(bounded('recovery after heal (leader + caught up)', h.maxRecoveryMs, recoveryMs, cutShort));
  if (h.noAcknowledgedWriteLost) {
    checks.push(acknowledgedWritesCheck(acknowledged));
  }
  // A violation in a run cut short still stands (the operations out at the end were awaited and
  // recorded); runVerdict makes anything else of such a run inconclusive.
  if (h.linearizable !== undefined && h.linearizable !== false)
    checks.push(linearizabilityCheck(linearizability));
  if (h.watch !== undefined && h.watch !== false)
    checks.push(watchCheck(watch, h.watch === true ? GUARANTEES : h.watch));
  return checks;
}
