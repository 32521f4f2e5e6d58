import { afterEach, beforeEach, describe, expect, it, vi, type MockInstance } from 'vitest';

const base = {
  name: 'x',
  title: 'X',
  cluster: {},
  workload: { ratePerSecond: 100, durationMs: 5_000 },
  hypothesis: {},
};
const traffic = { clients: 4, at: 1_000, for: 1_000 };
const burst = { operations: 50, at: 2_000 };

/** A fresh spec module each test: the old spelling warns once per process (module). */
async function spelling() {
  vi.resetModules();
  const { BadInputError } = await import('../../src/errors.ts');
  return { BadInputError, ...(await import('../../src/plans/experiment/spec.ts')) };
}

function warnings(stderr: MockInstance): string[] {
  return stderr.mock.calls.map(([text]) => String(text)).filter((t) => t.includes('warning'));
}

describe('load steps', () => {
  let stderr: MockInstance;
  beforeEach(() => {
    stderr = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
  });
  afterEach(() => stderr.mockRestore());

  it('are written load: traffic / load: burst, without a warning', async () => {
    const { validateExperiment, isLoadStep } = await spelling();
    const spec = validateExperiment({
      ...base,
      method: [
        { load: 'traffic', ...traffic },
        { load: 'burst', ...burst },
      ],
    });
    if (spec.kind !== 'fault') throw new Error('expected a fault experiment');
    expect(spec.method.map((s) => s.fault)).toEqual(['traffic', 'burst']);
    expect(spec.method.every(isLoadStep)).toBe(true);
    expect(warnings(stderr)).toEqual([]);
  });

  it('still read the old spelling fault: traffic, the same, with one warning naming the new one', async () => {
    const { validateExperiment } = await spelling();
    const written = (key: 'load' | 'fault') => ({
      ...base,
      method: [
        { [key]: 'traffic', ...traffic },
        { [key]: 'burst', ...burst },
      ],
    });
    const old = validateExperiment(written('fault'));
    validateExperiment(written('fault'));
    expect(old).toEqual(validateExperiment(written('load')));
    expect(warnings(stderr)).toEqual([
      'etcd-lab: warning: "fault: traffic" is a load step, not a fault: write it "load: traffic" (the old spelling is still read)\n',
    ]);
  });

  it.each([
    ['a bad setting', { load: 'traffic', ...traffic, clients: 0 }, /^ {2}method\.0\.clients: /],
    [
      'an unknown load',
      { load: 'flood', ...traffic },
      /^ {2}method\.0\.load: a load step is one of traffic, burst$/,
    ],
    [
      'fault and load at once',
      { load: 'traffic', fault: 'kill', ...traffic },
      /^ {2}method\.0\.load: a step is either a fault or a load, not both$/,
    ],
    [
      'a field of another kind',
      { load: 'burst', ...burst, ratePerSecond: 5 },
      /^ {2}method\.0: .*ratePerSecond/,
    ],
  ])('refuse %s with one line naming the field', async (_, step, line) => {
    const { validateExperiment, BadInputError } = await spelling();
    let error: unknown;
    try {
      validateExperiment({ ...base, method: [step] });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(BadInputError);
    const [, ...problems] = (error as Error).message.split('\n');
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(line);
  });
});
