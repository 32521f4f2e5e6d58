import { describe, expect, it, vi } from 'vitest';
import { sweepLeftovers } from '../../src/host/cleanup.ts';

// No Docker: an engine with nothing labelled on it.
vi.mock('../../src/host/docker.ts', () => {
  const none = () => Promise.resolve([]);
  const engine = { listContainers: none, listNetworks: none, listVolumes: () => Promise.resolve({}) };
  return { docker: () => engine };
});
// A delay helper left running outside any container by a killed run.
const swept = vi.hoisted(() => [] as unknown[]);
vi.mock('../../src/host/helper-processes.ts', () => ({
  sweepHelperProcesses: (options: unknown) => {
    swept.push(options);
    return Promise.resolve(1);
  },
}));

describe('sweepLeftovers', () => {
  it('sweeps fault helpers too, with nothing of faults/ loaded first (a library user)', async () => {
    // Only this (nonexistent) run's resources: nothing real on the host is touched.
    const options = { runId: 'unit-test-no-such-run' };
    const first = await sweepLeftovers(options);
    expect(first.other).toBe(1);
    const second = await sweepLeftovers(options);
    expect(second.other).toBe(1);
    expect(swept).toEqual([options, options]);
  });
});
