import { describe, expect, it, vi } from 'vitest';
import { runFaultExperiment } from '../../src/plans/experiment/run-fault-experiment.ts';
import { runLeaseElectionExperiment } from '../../src/plans/experiment/run-lease-election.ts';
import { loadExperiment } from '../../src/plans/experiment/experiment-files.ts';

// Neither the host nor Docker is touched: a run stopped before it starts must not reach them.
const calls = vi.hoisted(() => [] as string[]);
vi.mock('../../src/faults/capabilities.ts', () => ({
  probeHostCapabilities: () => {
    calls.push('probe');
    return Promise.reject(new Error('probed'));
  },
}));
vi.mock('../../src/plans/experiment/start-cluster.ts', () => ({
  startCluster: () => {
    calls.push('startCluster');
    return Promise.reject(new Error('started a cluster'));
  },
}));

const aborted = () => {
  const controller = new AbortController();
  controller.abort(new Error('interrupted by SIGINT'));
  return controller.signal;
};

describe('a run whose signal fired before it started', () => {
  it('a fault experiment stops before probing the host or starting a cluster', async () => {
    calls.length = 0;
    const { spec } = await loadExperiment('leader-loss');
    if (spec.kind !== 'fault') throw new Error('expected a fault experiment');
    await expect(runFaultExperiment(spec, { signal: aborted() })).rejects.toThrow('interrupted by SIGINT');
    expect(calls).toEqual([]);
  });

  it('a lease-election experiment stops before starting a cluster', async () => {
    calls.length = 0;
    const { spec } = await loadExperiment('controller-manager-lease');
    if (spec.kind !== 'lease-election') throw new Error('expected a lease-election experiment');
    await expect(runLeaseElectionExperiment(spec, { signal: aborted() })).rejects.toThrow(
      'interrupted by SIGINT',
    );
    expect(calls).toEqual([]);
  });
});
