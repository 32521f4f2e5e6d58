import type { ElectionTrial, LeaderFault, TrialTurnaround } from './election-trial.ts';
import { latencyPercentiles, summarizeLatencies } from './latency-stats.ts';

/** min / median / p95 / max of one measured quantity over the trials that have it. */
export interface Distribution {
  /** Trials that had a value (a trial that timed out has none). */
  readonly count: number;
  readonly min: number | null;
  readonly median: number | null;
  readonly p95: number | null;
  readonly max: number | null;
}

/**
 * What Raft predicts. Each follower draws its election timeout uniformly from [ET, 2·ET)
 * (etcd: a whole number of heartbeat ticks in [ET/HB, 2·ET/HB)), counted from the last
 * heartbeat it received; that heartbeat arrived up to one heartbeat interval before the fault.
 * The first of the k survivors' timers to fire starts the election.
 */
export interface ElectionModel {
  readonly electionTimeoutMs: number;
  readonly heartbeatMs: number;
  /** k: members that can campaign (the survivors). */
  readonly survivors: number;
  /** [ET − HB, 2·ET): where the first campaign after the fault must fall. */
  readonly windowMs: readonly [from: number, to: number];
  /** Median of the first timer, min of k U(ET, 2·ET), from the last heartbeat: ET·(2 − 0.5^(1/k)). */
  readonly firstTimeoutMedianMs: number;
  /** Its mean: ET·(1 + 1/(k+1)). */
  readonly firstTimeoutMeanMs: number;
  /**
   * The same median seen from the fault: the last heartbeat came a uniform [0, HB) before it,
   * shifting the timer by −HB/2 on average (exact for the median when HB ≪ ET).
   */
  readonly medianAfterFaultMs: number;
}

export interface ElectionSummary {
  readonly trials: number;
  readonly faults: readonly LeaderFault[];
  /** Fault → first survivor campaigning (logs). */
  readonly firstCampaign: Distribution;
  /** Fault → first survivor logging the new leader (logs). */
  readonly logElected: Distribution;
  /** Fault → the tracker's first poll showing the new leader. */
  readonly trackerDetection: Distribution;
  /** Fault → a majority follows the new leader (tracker). */
  readonly majorityAgrees: Distribution;
  /** Fault → first successful write sent after the fault. */
  readonly firstWriteOk: Distribution;
  /** Tracker minus logs for the new leader (can be slightly negative: logs are whole ms). */
  readonly trackerError: Distribution;
  /** Arrival of the streamed "elected" line minus the member's timestamp on it. */
  readonly logStreamError: Distribution;
  /** How long the fault took to be fully in place (isolate: rule installation); times may be late by this. */
  readonly faultSpread: Distribution;
  readonly model: ElectionModel;
  /** Share of trials (with a campaign) whose first campaign fell inside the model's window. */
  readonly campaignInsideWindow: number | null;
  /** Share of trials (with an election) whose logged election fell inside the model's window. */
  readonly electedInsideWindow: number | null;
  /** Ground truth from /metrics: trials in which every survivor saw exactly one leader change. */
  readonly cleanElections: number;
  /** Trials after which every survivor's etcd_server_has_leader was 1. */
  readonly survivorsHaveLeader: number;
  /** Where the trials' wall time went, phase by phase (trials recorded without it are left out). */
  readonly turnaround: { readonly [P in keyof TrialTurnaround]: Distribution };
}

export interface ElectionSummaryOptions {
  readonly electionTimeoutMs: number;
  readonly heartbeatMs: number;
  /** k for the model. Default: the survivors of the first trial (0 trials: 2, a 3-member cluster). */
  readonly survivors?: number;
}

/** Summarises election trials and puts Raft's model next to them (pure). */
export function summarizeElectionTrials(
  trials: readonly ElectionTrial[],
  options: ElectionSummaryOptions,
): ElectionSummary {
  const k = options.survivors ?? trials[0]?.survivors.length ?? 2;
  const model = electionModel(options.electionTimeoutMs, options.heartbeatMs, k);
  const [from, to] = model.windowMs;
  const inside = (values: readonly (number | undefined)[]): number | null => {
    const present = values.filter((v): v is number => v !== undefined);
    return present.length === 0 ? null : present.filter((v) => v >= from && v < to).length / present.length;
  };
  return {
    trials: trials.length,
    faults: [...new Set(trials.map((t) => t.fault))],
    firstCampaign: distribution(trials.map((t) => t.firstCampaignAfterFaultMs)),
    logElected: distribution(trials.map((t) => t.logElectedAfterFaultMs)),
    trackerDetection: distribution(trials.map((t) => t.trackerNewLeaderAfterFaultMs)),
    majorityAgrees: distribution(trials.map((t) => t.majorityAgreesAfterFaultMs)),
    firstWriteOk: distribution(trials.map((t) => t.firstWriteOkAfterFaultMs)),
    trackerError: signedDistribution(trials.map((t) => t.trackerErrorMs)),
    logStreamError: signedDistribution(trials.map((t) => t.logStreamErrorMs)),
    faultSpread: distribution(trials.map((t) => t.faultSpreadMs)),
    model,
    campaignInsideWindow: inside(trials.map((t) => t.firstCampaignAfterFaultMs)),
    electedInsideWindow: inside(trials.map((t) => t.logElectedAfterFaultMs)),
    turnaround: {
      prepare: distribution(trials.map((t) => t.turnaroundMs?.prepare)),
      election: distribution(trials.map((t) => t.turnaroundMs?.election)),
      record: distribution(trials.map((t) => t.turnaroundMs?.record)),
      restore: distribution(trials.map((t) => t.turnaroundMs?.restore)),
    },
    cleanElections: trials.filter((t) => {
      const deltas = Object.values(t.leaderChangesSeen);
      return deltas.length > 0 && deltas.every((d) => d === 1);
    }).length,
    survivorsHaveLeader: trials.filter((t) => t.survivorsHaveLeader).length,
  };
}

/** Raft's prediction for k survivors (see {@link ElectionModel}). */
export function electionModel(
  electionTimeoutMs: number,
  heartbeatMs: number,
  survivors: number,
): ElectionModel {
  if (!Number.isInteger(survivors) || survivors < 1) {
    throw new RangeError(`survivors must be a positive whole number, got ${survivors}`);
  }
  const et = electionTimeoutMs;
  // P(min of k U(0,1) > x) = (1 − x)^k; the median solves (1 − x)^k = 1/2.
  const firstTimeoutMedianMs = et * (2 - 0.5 ** (1 / survivors));
  return {
    electionTimeoutMs,
    heartbeatMs,
    survivors,
    windowMs: [et - heartbeatMs, 2 * et],
    firstTimeoutMedianMs,
    firstTimeoutMeanMs: et * (1 + 1 / (survivors + 1)),
    medianAfterFaultMs: firstTimeoutMedianMs - heartbeatMs / 2,
  };
}

function distribution(values: readonly (number | undefined)[]): Distribution {
  const present = values.filter((v): v is number => v !== undefined);
  const summary = summarizeLatencies(present);
  const [p95 = null] = latencyPercentiles(present, [95]);
  return { count: summary.count, min: summary.min, median: summary.p50, p95, max: summary.max };
}

/**
 * The HDR histogram takes non-negative samples only; tracker errors may be a millisecond or
 * two below zero (etcd logs whole milliseconds), so shift them up and back.
 */
function signedDistribution(values: readonly (number | undefined)[]): Distribution {
  const present = values.filter((v): v is number => v !== undefined);
  const offset = Math.min(0, ...present);
  const shifted = distribution(present.map((v) => v - offset));
  const back = (v: number | null) => (v === null ? null : v + offset);
  return {
    count: shifted.count,
    min: back(shifted.min),
    median: back(shifted.median),
    p95: back(shifted.p95),
    max: back(shifted.max),
  };
}
