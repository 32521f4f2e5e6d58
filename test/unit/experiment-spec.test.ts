import { describe, expect, it } from 'vitest';
import { listExperimentFiles, loadExperiment, validateExperiment } from '../../src/experiments/spec.ts';
import { BadInputError } from '../../src/errors.ts';

const valid = {
  name: 'x',
  title: 'X',
  cluster: { members: 3 },
  workload: { ratePerSecond: 100, durationMs: 5_000 },
  method: [{ fault: 'kill', target: 'leader', at: 1_000, for: 1_000 }],
  hypothesis: { maxElectionMs: 2_000 },
};

const invalid = (patch: Record<string, unknown>) => ({ ...valid, ...patch });

describe('experiment specs', () => {
  it('accepts every experiment shipped in lab/', async () => {
    expect(listExperimentFiles().size).toBeGreaterThan(0);
    for (const name of listExperimentFiles().keys()) {
      const { spec } = await loadExperiment(name);
      expect(spec.name).toBe(name);
    }
  });

  it('fills in defaults', () => {
    const spec = validateExperiment(valid);
    expect(spec.workload.clients).toBe(4);
    expect(spec.cluster.dataDir).toBe('memory');
  });

  it.each([
    ['a missing field', { title: undefined }, /title/],
    ['an unknown fault', { method: [{ fault: 'explode', target: 'leader', at: 0 }] }, /method\.0\.fault/],
    [
      'a member the cluster does not have',
      { method: [{ fault: 'kill', target: 'm5', at: 0 }] },
      /method\.0\.target: no member m5 in a 3-member cluster/,
    ],
    [
      'an unknown role',
      { method: [{ fault: 'kill', target: 'boss', at: 0 }] },
      /method\.0\.target: "boss" is neither/,
    ],
    ['a negative time', { method: [{ fault: 'kill', target: 'leader', at: -5 }] }, /method\.0\.at/],
    [
      'a fault after the workload',
      { method: [{ fault: 'kill', target: 'leader', at: 9_000 }] },
      /not inside the workload/,
    ],
    [
      'loss over 100 %',
      { method: [{ fault: 'loss', target: 'leader', lossPercent: 120, at: 0, for: 1 }] },
      /lossPercent/,
    ],
    ['8 members', { cluster: { members: 8 } }, /cluster\.members/],
    ['an unknown field', { hypotesis: {} }, /hypotesis|Unrecognized/],
  ])('names the field for %s', (_, patch, message) => {
    expect(() => validateExperiment(invalid(patch))).toThrow(BadInputError);
    expect(() => validateExperiment(invalid(patch))).toThrow(message);
  });

  it('refuses an unknown experiment name, listing the known ones', async () => {
    await expect(loadExperiment('no-such-experiment')).rejects.toThrow(
      /unknown experiment "no-such-experiment": not one of leader-loss/,
    );
  });
});
