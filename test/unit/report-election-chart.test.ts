import { describe, expect, it } from 'vitest';
import { compile } from 'vega-lite';
import { electionChartSpec } from '../../src/plans/experiment/report/charts.ts';

/** Every inline dataset of a (layered, concatenated) Vega-Lite spec. */
function datasets(spec: unknown): Record<string, unknown>[][] {
  if (typeof spec !== 'object' || spec === null) return [];
  const own = (spec as { data?: { values?: Record<string, unknown>[] } }).data?.values;
  const children = ['layer', 'vconcat', 'hconcat'].flatMap(
    (key) => ((spec as Record<string, unknown>)[key] as unknown[] | undefined) ?? [],
  );
  return [...(own ? [own] : []), ...children.flatMap(datasets)];
}

describe('election chart', () => {
  const elections = [
    { electionMs: 1_138, rounds: 1 },
    { electionMs: 2_534, rounds: 2 },
    { electionMs: 1_380, rounds: 1 },
    { electionMs: 6_062, rounds: 5 },
    { electionMs: 1_900, rounds: undefined },
  ];

  it('plots every election with its rounds, and marks ET and 2·ET', () => {
    const spec = electionChartSpec(elections, 1_000);
    expect(spec).toBeDefined();
    const data = datasets(spec);
    const points = data.find((values) => values.length === elections.length);
    expect(points?.map((p) => [p.ms, p.rounds])).toEqual([
      [1_138, '1 round'],
      [2_534, '2 rounds'],
      [1_380, '1 round'],
      [6_062, '5 rounds'],
      [1_900, 'unknown'],
    ]);
    expect(data.some((values) => values.map((v) => v.ms).join() === '1000,2000')).toBe(true);
    // The colour legend lists the round counts in order, unknown last.
    expect(JSON.stringify(spec)).toContain('"domain":["1 round","2 rounds","5 rounds","unknown"]');
    expect(JSON.stringify(spec)).toContain('5 elections, 2 in more than one round');
  });

  it('compiles to Vega, with the x axis reaching past the slowest election', () => {
    const spec = electionChartSpec(elections, 1_000);
    if (!spec) throw new Error('no spec');
    expect(() => compile(spec)).not.toThrow();
    const domains = JSON.stringify(spec).match(/"domain":\[0,(\d+)\]/g) ?? [];
    expect(domains.length).toBeGreaterThan(0);
    for (const d of domains) expect(Number(/,(\d+)/.exec(d)?.[1])).toBeGreaterThan(6_062);
  });

  it('has nothing to draw without elections', () => {
    expect(electionChartSpec([], 1_000)).toBeUndefined();
  });
});
