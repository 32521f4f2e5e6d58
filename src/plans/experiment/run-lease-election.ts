import os from 'node:os';
import { History } from '../../history/history.ts';
import {
  measureLeaseElectionFailover,
  type LeaseElectionFailover,
} from '../../run/lease-election-failover.ts';
import { checkExclusivity, exclusivityCheck } from '../../checks/exclusivity/index.ts';
import { RunClock } from '../../util/clock.ts';
import { progress } from '../../util/log.ts';
import type { HypothesisCheck } from './hypothesis.ts';
import { endedBy, envelope, hostInfo, runEnvironment, type RunStatus } from '../../run/results-envelope.ts';
import type { ExperimentResult, RunOptions } from './experiment-types.ts';
import { startCluster } from './start-cluster.ts';
import type { LeaseElectionSpec } from './spec.ts';

/**
 * The controller-manager trade-off: for each TTL, candidates campaign on one election with
 * session leases of that TTL, the elected one crashes, and the lab measures how long until
 * another takes over and how many lease renewals per second the sessions cost etcd.
 * One cluster serves every TTL and trial.
 */
export async function runLeaseElectionExperiment(
  spec: LeaseElectionSpec,
  options: RunOptions,
): Promise<{ result: ExperimentResult; history: History }> {
  const clock = new RunClock();
  const startedAt = new Date().toISOString();
  const loadAtStart = os.loadavg();
  // A Ctrl-C before or during the cluster's start stops the run there (see runFaultExperiment).
  options.signal?.throwIfAborted();
  const cluster = await startCluster(spec, options);
  const failovers: LeaseElectionFailover[] = [];
  let status: RunStatus = 'completed';
  let error: string | undefined;
  try {
    options.signal?.throwIfAborted();
    await cluster.waitForStableLeader();
    for (const ttlSeconds of spec.ttlsSeconds) {
      for (let trial = 1; trial <= spec.trials; trial++) {
        options.signal?.throwIfAborted();
        progress(
          `${spec.name}: TTL ${ttlSeconds} s, trial ${trial}/${spec.trials}: campaigning, then crashing the leader`,
        );
        const failover = await measureLeaseElectionFailover(cluster, {
          clock,
          ttlSeconds,
          candidates: spec.candidates,
          loadWindowMs: spec.loadWindowMs,
          holderFault: spec.holderFault,
        });
        progress(
          `${spec.name}: TTL ${ttlSeconds} s: failover ${failover.failoverMs.toFixed(0)} ms, ${failover.keepAlivesPerSecond.toFixed(2)} renewals/s`,
        );
        failovers.push({
          ...failover,
          exclusivity: checkExclusivity(failover.tenures ?? [], { endMs: clock.now() }),
        });
      }
    }
  } catch (caught) {
    ({ status, error } = endedBy(caught, options.signal));
  }
  const environment = runEnvironment(cluster.describe(), hostInfo(loadAtStart), {
    mechanisms: ['lease-holder-crash'],
  });
  await cluster.dispose();
  const checks = status === 'completed' ? checkLeaseElection(spec, failovers) : [];
  const result: ExperimentResult = {
    ...envelope({
      kind: 'experiment',
      name: spec.name,
      title: spec.title,
      status,
      error,
      startedAt,
      durationMs: clock.now(),
      environment,
      checks,
    }),
    experiment: spec,
    steps: [],
    workload: null,
    recoveryMs: null,
    acknowledgedWrites: null,
    leaderObservations: [],
    leaseElection: failovers,
  };
  return { result, history: new History() };
}

const median = (values: readonly number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor((sorted.length - 1) / 2)] ?? NaN;
};

/** Per TTL (ascending): median failover and median renewals per second (pure). */
export function leaseElectionByTtl(
  failovers: readonly LeaseElectionFailover[],
): { ttlSeconds: number; failoverMs: number; keepAlivesPerSecond: number; trials: number }[] {
  const ttls = [...new Set(failovers.map((f) => f.ttlSeconds))].sort((a, b) => a - b);
  return ttls.map((ttlSeconds) => {
    const of = failovers.filter((f) => f.ttlSeconds === ttlSeconds);
    return {
      ttlSeconds,
      failoverMs: median(of.map((f) => f.failoverMs)),
      keepAlivesPerSecond: median(of.map((f) => f.keepAlivesPerSecond)),
      trials: of.length,
    };
  });
}

export function checkLeaseElection(
  spec: LeaseElectionSpec,
  failovers: readonly LeaseElectionFailover[],
): HypothesisCheck[] {
  const h = spec.hypothesis;
  const checks: HypothesisCheck[] = [];
  if (h.maxFailoverBeyondTtlMs !== undefined) {
    for (const f of failovers) {
      const limit = f.ttlSeconds * 1_000 + h.maxFailoverBeyondTtlMs;
      checks.push({
        name: `failover with TTL ${f.ttlSeconds} s`,
        expected: `≤ TTL + ${h.maxFailoverBeyondTtlMs} ms = ${limit} ms`,
        observed: `${f.failoverMs.toFixed(0)} ms`,
        verdict: f.failoverMs <= limit ? 'held' : 'deviated',
      });
    }
  }
  if (h.maxExclusivityOverlapMs !== undefined) {
    for (const f of failovers) {
      if (f.exclusivity === undefined) continue;
      const check = exclusivityCheck(f.exclusivity, h.maxExclusivityOverlapMs);
      checks.push({
        ...check,
        name: `${check.name} with TTL ${f.ttlSeconds} s (${f.holderFault ?? 'crash'})`,
      });
    }
  }
  if (h.tradeOffHolds) {
    const rows = leaseElectionByTtl(failovers);
    const pairs = rows.slice(1).map((row, i) => [rows[i], row] as const);
    const fasterShorter = pairs.every(([a, b]) => a !== undefined && a.failoverMs <= b.failoverMs);
    const cheaperLonger = pairs.every(
      ([a, b]) => a !== undefined && a.keepAlivesPerSecond >= b.keepAlivesPerSecond,
    );
    const observed = rows
      .map(
        (r) => `TTL ${r.ttlSeconds} s: ${r.failoverMs.toFixed(0)} ms, ${r.keepAlivesPerSecond.toFixed(2)}/s`,
      )
      .join('; ');
    checks.push(
      {
        name: 'shorter TTL fails over faster',
        expected: 'failover grows with TTL',
        observed,
        verdict: rows.length < 2 ? 'inconclusive' : fasterShorter ? 'held' : 'deviated',
      },
      {
        name: 'shorter TTL costs more keep-alives',
        expected: 'renewals per second fall as TTL grows',
        observed,
        verdict: rows.length < 2 ? 'inconclusive' : cheaperLonger ? 'held' : 'deviated',
      },
    );
  }
  return checks;
}
