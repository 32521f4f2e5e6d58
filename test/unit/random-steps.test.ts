import { describe, expect, it } from 'vitest';
import { loadExperiment } from '../../src/plans/experiment/experiment-files.ts';
import { validateExperiment, type FaultExperimentSpec } from '../../src/plans/experiment/spec.ts';
import { randomSteps } from '../../src/plans/experiment/random-steps.ts';

const block = {
  seed: 7,
  count: 40,
  at: 1_000,
  everyMs: 2_000,
  for: 500,
  choices: [
    { fault: 'kill', target: 'leader' },
    { fault: 'pause', target: 'follower' },
    { fault: 'delay', target: 'leader', delayMs: 200, for: 800 },
  ],
};

const experiment = (method: unknown[], durationMs = 100_000) => ({
  name: 'x',
  title: 'X',
  cluster: { members: 3 },
  workload: { ratePerSecond: 10, durationMs },
  method,
  hypothesis: {},
});

describe('random fault schedules (method: - random: …)', () => {
  it('gives the same schedule for the same seed and another for another seed', () => {
    expect(randomSteps(block)).toEqual(randomSteps(block));
    expect(randomSteps({ ...block, seed: 8 })).not.toEqual(randomSteps(block));
  });

  it('spaces the faults everyMs apart from at, each with the block’s duration unless its choice has one', () => {
    const steps = randomSteps(block);
    expect(steps.map((s) => s.at)).toEqual(Array.from({ length: 40 }, (_, k) => 1_000 + k * 2_000));
    for (const s of steps) expect(s.for).toBe(s.fault === 'delay' ? 800 : 500);
  });

  it('draws every choice, about uniformly (40 draws of 3)', () => {
    const counts = new Map<unknown, number>();
    for (const s of randomSteps(block)) counts.set(s.fault, (counts.get(s.fault) ?? 0) + 1);
    expect([...counts.keys()].sort()).toEqual(['delay', 'kill', 'pause']);
    for (const n of counts.values()) expect(n).toBeGreaterThanOrEqual(5);
  });

  it('expands in place among hand-written steps, and each step is validated as if written by hand', () => {
    const spec = validateExperiment(
      experiment([
        { fault: 'kill', target: 'leader', at: 0, for: 500 },
        { random: { ...block, count: 3, at: 2_000 } },
      ]),
    ) as FaultExperimentSpec;
    expect(spec.method).toHaveLength(4);
    expect(spec.method.map((s) => s.at)).toEqual([0, 2_000, 4_000, 6_000]);
    // A choice with a bad setting is refused at its place in the expanded method.
    expect(() =>
      validateExperiment(
        experiment([{ random: { ...block, count: 1, choices: [{ fault: 'delay', target: 'leader' }] } }]),
      ),
    ).toThrow(/method\.0\.delayMs/);
  });

  it('refuses a malformed block naming the field, and faults that would overlap', () => {
    expect(() => validateExperiment(experiment([{ random: { ...block, seed: -1 } }]))).toThrow(
      /method\.0\.random\.seed/,
    );
    expect(() => validateExperiment(experiment([{ random: { ...block, choices: [] } }]))).toThrow(
      /method\.0\.random\.choices/,
    );
    expect(() => validateExperiment(experiment([{ random: { ...block, for: 2_000 } }]))).toThrow(
      /method\.0\.random\.everyMs: every fault must end before the next starts/,
    );
    expect(() => validateExperiment(experiment([{ random: block, at: 5 }]))).toThrow(
      /method\.0\.at: a random block/,
    );
    // The last fault must start inside the workload, like any step.
    expect(() => validateExperiment(experiment([{ random: block }], 10_000))).toThrow(
      /not inside the workload/,
    );
  });

  it('the shipped mixed-faults experiment mixes every kind it lists, on leaders and followers', async () => {
    const { spec } = await loadExperiment('mixed-faults');
    const method = (spec as FaultExperimentSpec).method;
    expect(method).toHaveLength(15);
    expect(new Set(method.map((s) => s.fault)).size).toBeGreaterThanOrEqual(4);
    expect(new Set(method.map((s) => ('target' in s ? s.target : undefined)))).toEqual(
      new Set(['leader', 'follower']),
    );
  });
});
