import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * The architecture as the imports show it (README "Architecture"): no import circle, and the
 * layers one way — observers and checks never inject faults or run plans, the run kernel never
 * reaches into a plan, plans never into each other. Read from the source text: static
 * `import … from` / `export … from` and lazy `import('…')` of relative paths.
 */

const SRC = resolve(import.meta.dirname, '../../src');

interface Edge {
  readonly from: string;
  readonly to: string;
  /** `import type` / `export type`: erased at run time. */
  readonly typeOnly: boolean;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

const IMPORT = /^\s*(?:import|export)\s+(type\s+)?[^'";]*?from\s+'(\.[^']+)'|import\('(\.[^']+)'\)/gm;

function importEdges(): Edge[] {
  return sourceFiles(SRC).flatMap((file) =>
    [...readFileSync(file, 'utf8').matchAll(IMPORT)].map((m) => ({
      from: relative(SRC, file),
      to: relative(SRC, resolve(dirname(file), m[2] ?? m[3] ?? '')),
      typeOnly: m[1] !== undefined,
    })),
  );
}

/** The layer a file belongs to: its top folder, or `plans/<plan>`. */
function layer(path: string): string {
  const [top = '', second = ''] = path.split('/');
  return top === 'plans' ? `plans/${second}` : top.replace(/\.ts$/, '');
}

/** Each circle once, as the files along it. */
function importCircles(edges: readonly Edge[]): string[][] {
  const next = new Map<string, string[]>();
  for (const e of edges) next.set(e.from, [...(next.get(e.from) ?? []), e.to]);
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const circles: string[][] = [];
  const visit = (file: string): void => {
    state.set(file, 'open');
    stack.push(file);
    for (const to of next.get(file) ?? []) {
      if (state.get(to) === 'open') circles.push([...stack.slice(stack.indexOf(to)), to]);
      else if (state.get(to) === undefined) visit(to);
    }
    stack.pop();
    state.set(file, 'done');
  };
  for (const file of next.keys()) if (state.get(file) === undefined) visit(file);
  return circles;
}

/** Run-time imports from a layer into layers it must not reach, as "from → to" lines. */
function forbidden(edges: readonly Edge[], from: string, notInto: readonly string[]): string[] {
  return edges
    .filter((e) => !e.typeOnly && layer(e.from) === from && notInto.some((l) => layer(e.to).startsWith(l)))
    .map((e) => `${e.from} → ${e.to}`);
}

describe('import graph of src/', () => {
  const edges = importEdges();

  it('reads the imports (a parser that found none would pass every rule)', () => {
    expect(edges.length).toBeGreaterThan(500);
    expect(edges.some((e) => e.typeOnly)).toBe(true);
    expect(edges.some((e) => layer(e.from) === 'plans/experiment' && layer(e.to) === 'run')).toBe(true);
  });

  it('has no import circle, type imports included', () => {
    expect(importCircles(edges)).toEqual([]);
  });

  it('finds a circle when there is one', () => {
    const circle: Edge[] = [
      { from: 'a.ts', to: 'b.ts', typeOnly: false },
      { from: 'b.ts', to: 'c.ts', typeOnly: true },
      { from: 'c.ts', to: 'a.ts', typeOnly: false },
    ];
    expect(importCircles(circle)).toEqual([['a.ts', 'b.ts', 'c.ts', 'a.ts']]);
  });

  it('keeps observers and checks free of faults, the run kernel and plans', () => {
    expect(forbidden(edges, 'measure', ['faults', 'run', 'plans', 'cli'])).toEqual([]);
    expect(forbidden(edges, 'checks', ['faults', 'run', 'plans', 'cli', 'cluster', 'host'])).toEqual([]);
  });

  it('keeps the cluster below faults, measurements and plans', () => {
    expect(forbidden(edges, 'cluster', ['faults', 'measure', 'run', 'plans', 'checks', 'cli'])).toEqual([]);
  });

  it('keeps the run kernel out of the plans, and each plan out of the others', () => {
    expect(forbidden(edges, 'run', ['plans', 'cli'])).toEqual([]);
    for (const plan of ['experiment', 'sweep', 'quorum']) {
      const others = ['experiment', 'sweep', 'quorum'].filter((p) => p !== plan).map((p) => `plans/${p}`);
      expect(forbidden(edges, `plans/${plan}`, [...others, 'cli'])).toEqual([]);
    }
  });

  it('finds a forbidden import when there is one', () => {
    const edge: Edge = { from: 'measure/x.ts', to: 'faults/network/partition.ts', typeOnly: false };
    expect(forbidden([edge], 'measure', ['faults'])).toEqual(['measure/x.ts → faults/network/partition.ts']);
    expect(forbidden([{ ...edge, typeOnly: true }], 'measure', ['faults'])).toEqual([]);
  });
});
