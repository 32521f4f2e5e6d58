import { describe, expect, it } from 'vitest';
import { listExperimentFiles, loadExperiment } from '../../src/plans/experiment/experiment-files.ts';
import { resolveTolerance, validateExperiment } from '../../src/plans/experiment/spec.ts';
import { BadInputError } from '../../src/errors.ts';

const valid = {
  name: 'x',
  title: 'X',
  cluster: { members: 3 },
  workload: { ratePerSecond: 100, durationMs: 5_000 },
  method: [{ fault: 'kill', target: 'leader', at: 1_000, for: 1_000 }],
  hypothesis: { election: { p50: '2 × electionTimeout' } },
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
    if (spec.kind !== 'fault') throw new Error('expected a fault experiment');
    expect(spec.workload.clients).toBe(4);
    expect(spec.workload.mix).toEqual({ put: 1 });
    expect(spec.workload.mode).toBe('open-loop');
    expect(spec.cluster.dataDir).toBe('memory');
  });

  it('expands repeated steps into the steps that will run', () => {
    const spec = validateExperiment(
      invalid({
        workload: { ratePerSecond: 10, durationMs: 20_000 },
        method: [
          { fault: 'kill', target: 'leader', at: 1_000, for: 1_000, repeat: { times: 3, everyMs: 5_000 } },
        ],
      }),
    );
    if (spec.kind !== 'fault') throw new Error('expected a fault experiment');
    expect(spec.method.map((step) => step.at)).toEqual([1_000, 6_000, 11_000]);
    expect(spec.method.every((step) => step.repeat === undefined)).toBe(true);
  });

  it('checks targets against a --members override', () => {
    const withM3 = invalid({ method: [{ fault: 'kill', target: 'm3', at: 0 }] });
    expect(validateExperiment(withM3).cluster.members).toBe(3);
    expect(() => validateExperiment(withM3, 'x', { members: 1 })).toThrow(
      /no member m3 in a 1-member cluster/,
    );
    expect(() =>
      validateExperiment(invalid({ method: [{ fault: 'kill', target: 'follower', at: 0 }] }), 'x', {
        members: 1,
      }),
    ).toThrow(/a 1-member cluster has no follower/);
    expect(validateExperiment(withM3, 'x', { members: 5 }).cluster.members).toBe(5);
  });

  it('accepts a lease-election experiment and checks its fields', () => {
    const lease = {
      name: 'l',
      kind: 'lease-election',
      title: 'L',
      cluster: {},
      ttlsSeconds: [2, 4],
      hypothesis: {},
    };
    const spec = validateExperiment(lease);
    expect(spec.kind).toBe('lease-election');
    expect(() => validateExperiment({ ...lease, ttlsSeconds: [] })).toThrow(/ttlsSeconds/);
    expect(() => validateExperiment({ ...lease, workload: {} })).toThrow(BadInputError);
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
    [
      'an open-loop workload without a rate',
      { workload: { durationMs: 1_000 } },
      /workload\.ratePerSecond: an open-loop workload needs ratePerSecond/,
    ],
    [
      'a mix with nothing in it',
      { workload: { ratePerSecond: 1, durationMs: 1_000, mix: { put: 0 } } },
      /workload\.mix/,
    ],
    [
      'a retry with one attempt',
      { workload: { ratePerSecond: 1, durationMs: 1_000, retry: { attempts: 1 } } },
      /workload\.retry\.attempts/,
    ],
    [
      'repetitions that overlap',
      {
        method: [
          { fault: 'kill', target: 'leader', at: 0, for: 2_000, repeat: { times: 2, everyMs: 1_000 } },
        ],
      },
      /method\.0\.repeat\.everyMs/,
    ],
    [
      'repetitions past the workload',
      { method: [{ fault: 'kill', target: 'leader', at: 0, repeat: { times: 3, everyMs: 3_000 } }] },
      /the last repetition \(6000 ms\) is not inside the workload/,
    ],
    [
      'a burst with no operations',
      { method: [{ load: 'burst', operations: 0, at: 0 }] },
      /method\.0\.operations/,
    ],
    [
      'an unknown expectation on a step',
      { method: [{ fault: 'kill', target: 'leader', at: 0, expect: { maxFoo: 1 } }] },
      /method\.0\.expect/,
    ],
    ['an unknown field', { hypotesis: {} }, /hypotesis|Unrecognized/],
  ])('names the field for %s', (_, patch, message) => {
    expect(() => validateExperiment(invalid(patch))).toThrow(BadInputError);
    expect(() => validateExperiment(invalid(patch))).toThrow(message);
  });

  it('refuses an unknown experiment name, listing the known ones', async () => {
    await expect(loadExperiment('no-such-experiment')).rejects.toThrow(
      /unknown experiment "no-such-experiment": not one of .*leader-loss.*quorum-loss/,
    );
  });

  it('resolves tolerances written against the configuration', () => {
    const etcd = { heartbeatMs: 50, electionTimeoutMs: 500 };
    expect(resolveTolerance('2 × electionTimeout', etcd)).toEqual({
      ms: 1000,
      text: '1000 ms (2 × electionTimeout)',
    });
    expect(resolveTolerance('1.5*electionTimeout + 200', etcd).ms).toBe(950);
    expect(resolveTolerance('10 x heartbeat - 100', etcd).ms).toBe(400);
    // etcd's defaults where the experiment sets nothing.
    expect(resolveTolerance('2 × electionTimeout', {}).ms).toBe(2000);
    expect(resolveTolerance(750, etcd)).toEqual({ ms: 750, text: '750 ms' });
  });

  it('names a tolerance it cannot read, and points per-sample bounds to their replacement', () => {
    expect(() => validateExperiment(invalid({ hypothesis: { election: { p50: '2 × timeout' } } }))).toThrow(
      /hypothesis\.election\.p50: a number of ms or "<k> × electionTimeout\|heartbeat \[\+ ms\]"/,
    );
    expect(() => validateExperiment(invalid({ hypothesis: { maxElectionMs: 2_000 } }))).toThrow(
      /hypothesis\.maxElectionMs: replaced by election: \{ p50/,
    );
    expect(() => validateExperiment(invalid({ hypothesis: { confidence: 1 } }))).toThrow(
      /hypothesis\.confidence/,
    );
  });
});
