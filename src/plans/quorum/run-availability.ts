/**
 * A time-compressed availability run on real etcd: members fail (SIGKILL) and recover on a seeded
 * exponential schedule while a probe polls for a leader; the fraction of time without quorum is
 * compared with the binomial model. The schedule, intervals and claims are pure (availability.ts).
 */
import { EtcdCluster } from '../../cluster/etcd-cluster.ts';
import type { StartedEtcdCluster } from '../../cluster/started-etcd-cluster.ts';
import type { FaultHandle } from '../../faults/fault.ts';
import { kill } from '../../faults/process/process-fault.ts';
import { RunClock, sleep } from '../../util/clock.ts';
import { progress } from '../../util/log.ts';
import {
  availabilityClaims,
  batchMeansInterval,
  generateFailureSchedule,
  noQuorumIntervals,
  overlapMs,
  scheduleEvents,
  unavailableFromSamples,
  type ConfidenceInterval,
  type Interval,
  type ProbeSample,
} from './availability.ts';
import { leaderFromStatuses } from './matrix.ts';
import { RECOVERY_TIMEOUT_MS } from './matrix-cell.ts';
import { memberDownProbability, unavailability } from './model.ts';
import {
  AVAILABILITY_DEFAULTS,
  availabilityEtcdOptions,
  validateAvailabilityOptions,
  type AvailabilityRunOptions,
} from './quorum-options.ts';

export interface FractionWithInterval {
  /** Fraction of the run without quorum. */
  readonly fraction: number;
  readonly interval: ConfidenceInterval;
}

export interface AvailabilityResult {
  readonly members: number;
  readonly mttfMs: number;
  readonly mttrMs: number;
  readonly durationMs: number;
  readonly seed: number;
  /** p = MTTR / (MTTF + MTTR) and the model's unavailability at that p. */
  readonly p: number;
  readonly predicted: number;
  /** The random schedule as planned: time with more than ⌊(n−1)/2⌋ members meant to be down. */
  readonly planned: FractionWithInterval;
  /** As executed: from each kill's start to its restart's return (the lab's own delays included). */
  readonly executed: FractionWithInterval & {
    /** Fraction of time each member was down, averaged: the p the run really had. */
    readonly memberDownFraction: number;
    /** The model at that observed p. */
    readonly predictedAtObservedP: number;
  };
  /** Probed on the cluster: no member reporting a leader that a majority follows. */
  readonly probed: FractionWithInterval & { readonly samples: number };
  readonly failures: number;
  readonly faultMechanism: string;
  readonly environment: Record<string, unknown>;
  readonly claims: ReturnType<typeof availabilityClaims>;
  readonly wallTimeMs: number;
}

/**
 * Members fail (SIGKILL) and recover (restart with their data) on a seeded exponential schedule
 * while a probe polls for a leader every probeIntervalMs; the fraction of time without quorum —
 * planned, executed and probed — is compared with the binomial model.
 */
export async function runAvailability(options: AvailabilityRunOptions): Promise<AvailabilityResult> {
  validateAvailabilityOptions(options);
  const n = options.members ?? AVAILABILITY_DEFAULTS.members;
  const seed = options.seed ?? AVAILABILITY_DEFAULTS.seed;
  const batches = options.batches ?? AVAILABILITY_DEFAULTS.batches;
  const clock = options.clock ?? new RunClock();
  const wallStart = clock.now();
  const schedule = generateFailureSchedule({
    members: n,
    mttfMs: options.mttfMs,
    mttrMs: options.mttrMs,
    durationMs: options.durationMs,
    seed,
  });
  const builder = new EtcdCluster()
    .withMembers(n)
    .withEtcdOptions(availabilityEtcdOptions(options))
    .withDataDir('memory');
  if (options.image !== undefined) builder.withImage(options.image);
  progress(`availability: starting a ${n}-member cluster`);
  const cluster = await builder.start();
  const handles = new Map<string, FaultHandle>();
  const executed: Interval[][] = cluster.members.map(() => []);
  const samples: ProbeSample[] = [];
  let faultMechanism = 'sigkill';
  let environment: Record<string, unknown>;
  try {
    await cluster.waitForStableLeader({ timeoutMs: RECOVERY_TIMEOUT_MS });
    try {
      await runSchedule(cluster, clock, schedule, options, executed, samples, handles, (mechanism) => {
        faultMechanism = mechanism;
      });
    } finally {
      for (const handle of handles.values()) await handle.heal();
    }
    await cluster.waitForStableLeader({ timeoutMs: RECOVERY_TIMEOUT_MS });
    await cluster.waitForConvergence({ timeoutMs: RECOVERY_TIMEOUT_MS });
    environment = cluster.describe();
  } finally {
    await cluster.dispose();
  }

  const window = { fromMs: 0, toMs: options.durationMs };
  const withInterval = (intervals: readonly Interval[]): FractionWithInterval => ({
    fraction: overlapMs(intervals, window) / options.durationMs,
    interval: batchMeansInterval(intervals, window, batches),
  });
  const p = memberDownProbability({
    mttfHours: options.mttfMs / 3_600_000,
    mttrHours: options.mttrMs / 3_600_000,
  });
  const predicted = unavailability(n, p);
  const memberDownFraction =
    executed.reduce((sum, intervals) => sum + overlapMs(intervals, window), 0) / (n * options.durationMs);
  const probed = {
    ...withInterval(unavailableFromSamples(samples, options.durationMs)),
    samples: samples.length,
  };
  const planned = withInterval(noQuorumIntervals(schedule.downIntervals, window));
  return {
    members: n,
    mttfMs: options.mttfMs,
    mttrMs: options.mttrMs,
    durationMs: options.durationMs,
    seed,
    p,
    predicted,
    planned,
    executed: {
      ...withInterval(noQuorumIntervals(executed, window)),
      memberDownFraction,
      predictedAtObservedP: unavailability(n, memberDownFraction),
    },
    probed,
    failures: schedule.downIntervals.flat().length,
    faultMechanism,
    environment,
    claims: availabilityClaims(
      n,
      { p, interval: planned.interval },
      { p: memberDownFraction, interval: probed.interval },
    ),
    wallTimeMs: clock.now() - wallStart,
  };
}

/**
 * Executes the schedule from now on: one loop per member (kill at each failure, restart at each
 * repair, never overlapping for one member) and a probe asking every member for its status.
 * Executed down intervals and probe samples are appended to the arrays given.
 */
async function runSchedule(
  cluster: StartedEtcdCluster,
  clock: RunClock,
  schedule: ReturnType<typeof generateFailureSchedule>,
  options: AvailabilityRunOptions,
  executed: Interval[][],
  samples: ProbeSample[],
  handles: Map<string, FaultHandle>,
  onMechanism: (mechanism: string) => void,
): Promise<void> {
  const n = cluster.members.length;
  const probeIntervalMs = options.probeIntervalMs ?? AVAILABILITY_DEFAULTS.probeIntervalMs;
  const t0 = clock.now();
  const end = t0 + options.durationMs;
  progress(
    `availability: ${(options.durationMs / 1000).toFixed(0)} s of failures and repairs on ${n} members`,
  );
  const events = scheduleEvents(schedule);
  const runMember = async (index: number): Promise<void> => {
    const member = cluster.members[index];
    const intervals = executed[index];
    if (member === undefined || intervals === undefined) return;
    for (const event of events.filter((e) => e.member === index)) {
      await sleep(Math.max(0, t0 + event.atMs - clock.now()), options.signal);
      if (clock.now() >= end) return;
      if (event.action === 'fail') {
        const downFrom = clock.now() - t0;
        const handle = await kill(member.name).inject({ cluster, clock });
        onMechanism(handle.mechanism);
        handles.set(member.name, handle);
        intervals.push({ fromMs: downFrom, toMs: options.durationMs });
      } else {
        await handles.get(member.name)?.heal();
        handles.delete(member.name);
        const open = intervals.pop();
        if (open !== undefined) {
          intervals.push({ fromMs: open.fromMs, toMs: Math.min(options.durationMs, clock.now() - t0) });
        }
      }
    }
  };
  const probe = async (): Promise<void> => {
    while (clock.now() < end) {
      const atMs = clock.now() - t0;
      const statuses = await cluster.status(Math.min(300, 2 * probeIntervalMs));
      samples.push({ atMs, available: leaderFromStatuses(statuses, n) !== null });
      await sleep(Math.max(0, t0 + atMs + probeIntervalMs - clock.now()), options.signal);
    }
  };
  await Promise.all([...cluster.members.map((_, i) => runMember(i)), probe()]);
}
