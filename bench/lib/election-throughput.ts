// How many election trials a minute the lab gets through: reusing one cluster across trials
// (its start not counted, as a sweep pays it once per configuration) or a fresh cluster per
// trial (start, one trial, dispose, all counted).
import { EtcdCluster } from '../../src/cluster/etcd-cluster.ts';
import type { StartedEtcdCluster } from '../../src/cluster/started-etcd-cluster.ts';
import type { HostCapabilities } from '../../src/faults/capabilities.ts';
import { runElectionTrials, type ElectionTrial, type LeaderFault } from '../../src/run/leader-loss-trials.ts';
import type { RunClock } from '../../src/util/clock.ts';

export interface TrialRate {
  readonly trials: number;
  readonly elapsedMs: number;
  readonly perMinute: number;
}

export interface TrialOptions {
  readonly trials: number;
  readonly fault: LeaderFault;
  readonly clock: RunClock;
  readonly caps?: HostCapabilities;
}

const rate = (trials: number, elapsedMs: number): TrialRate => ({
  trials,
  elapsedMs,
  perMinute: trials / (elapsedMs / 60_000),
});

export async function trialsReusingCluster(
  cluster: StartedEtcdCluster,
  options: TrialOptions,
): Promise<{ readonly rate: TrialRate; readonly results: ElectionTrial[] }> {
  const began = performance.now();
  const results = await runElectionTrials(cluster, {
    trials: options.trials,
    fault: options.fault,
    clock: options.clock,
    trackerIntervalMs: 10,
    ...(options.caps === undefined ? {} : { caps: options.caps }),
  });
  return { rate: rate(results.length, performance.now() - began), results };
}

export async function trialsWithFreshClusters(
  timing: { readonly heartbeatMs: number; readonly electionTimeoutMs: number },
  options: TrialOptions,
): Promise<TrialRate> {
  const began = performance.now();
  for (let i = 0; i < options.trials; i++) {
    await using cluster = await new EtcdCluster().withMembers(3).withEtcdOptions(timing).start();
    await runElectionTrials(cluster, {
      trials: 1,
      fault: options.fault,
      clock: options.clock,
      trackerIntervalMs: 10,
      ...(options.caps === undefined ? {} : { caps: options.caps }),
    });
  }
  return rate(options.trials, performance.now() - began);
}
