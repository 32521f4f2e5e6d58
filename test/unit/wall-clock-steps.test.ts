import { describe, expect, it } from 'vitest';
import { SteadyTimeline, steadyNow, steadyWall } from '../../src/util/wall-clock-steps.ts';

// Readings: monotonic from 0, wall starting at W (offset W) until the host's clock steps.
const W = 1_800_000_000_000;

describe('the steady timeline under wall-clock steps', () => {
  it('is the wall clock itself while the clock does not step (slewing within the threshold included)', () => {
    const t = new SteadyTimeline(0, W);
    t.note(10_000, W + 10_004);
    expect(t.steps()).toEqual([]);
    expect(t.steady(W + 5_000)).toBe(W + 5_000);
  });

  it('undoes a 13.5 s forward step (the CI run that put every logged election 13.5 s late)', () => {
    const t = new SteadyTimeline(0, W);
    t.note(20_000, W + 20_000);
    // The clock jumps by 13.5 s at monotonic 30 000; the lab notices at 30 010.
    t.note(30_010, W + 30_010 + 13_500);
    expect(t.steps()).toEqual([{ atMonotonicMs: 30_010, byMs: 13_500 }]);
    // A log line from before the step keeps its time…
    expect(t.steady(W + 29_000)).toBe(W + 29_000);
    // …one written after it is moved back, also when written before the step was noticed.
    expect(t.steady(W + 31_000 + 13_500)).toBe(W + 31_000);
    expect(t.steady(W + 30_005 + 13_500)).toBe(W + 30_005);
  });

  it('maps a backward step by the offset of the moment it was noticed', () => {
    const t = new SteadyTimeline(0, W);
    t.note(30_000, W + 30_000 - 5_000);
    expect(t.steps()).toEqual([{ atMonotonicMs: 30_000, byMs: -5_000 }]);
    expect(t.steady(W + 40_000 - 5_000)).toBe(W + 40_000);
  });

  it("the process's own timeline agrees with Date.now() on a host whose clock does not step", () => {
    const wall = Date.now();
    expect(Math.abs(steadyWall(wall) - wall)).toBeLessThan(50);
    expect(Math.abs(steadyNow() - Date.now())).toBeLessThan(50);
  });
});
