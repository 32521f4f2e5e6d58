import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import * as root from '../../src/index.ts';

const REPOSITORY = fileURLToPath(new URL('../../', import.meta.url));
const manifest = JSON.parse(readFileSync(`${REPOSITORY}package.json`, 'utf8')) as {
  exports: Record<string, string | { types: string; default: string }>;
  files: string[];
  bin: Record<string, string>;
};

/** dist/exports/faults.js → src/exports/faults.ts: the build maps src/ to dist/ one to one. */
const sourceOf = (built: string): string => built.replace(/^\.\/dist\//, 'src/').replace(/\.js$/, '.ts');

const subpaths = Object.entries(manifest.exports).filter(
  (entry): entry is [string, { types: string; default: string }] =>
    typeof entry[1] === 'object' && entry[0] !== '.',
);

describe('package exports', () => {
  it('point at sources that exist, each with its declarations next to it', () => {
    for (const [subpath, target] of Object.entries(manifest.exports)) {
      if (typeof target === 'string') continue;
      expect(existsSync(`${REPOSITORY}${sourceOf(target.default)}`), subpath).toBe(true);
      expect(target.types, subpath).toBe(target.default.replace(/\.js$/, '.d.ts'));
    }
  });

  it('subpaths are parts of the root: every value a subpath exports is the root export of that name', async () => {
    const partial = subpaths.filter(([subpath]) => !subpath.startsWith('./vitest'));
    expect(partial.map(([subpath]) => subpath).sort()).toEqual(
      ['./checks', './faults', './measure', './plans', './workload'].sort(),
    );
    for (const [subpath, target] of partial) {
      const part = (await import(`${REPOSITORY}${sourceOf(target.default)}`)) as Record<string, unknown>;
      expect(Object.keys(part).length, subpath).toBeGreaterThan(0);
      for (const [name, value] of Object.entries(part)) {
        expect(root[name as keyof typeof root], `${subpath} ${name}`).toBe(value);
      }
    }
  });

  it('ship the build, the experiments and the helper source, not the sources or tests', () => {
    expect(manifest.files).toEqual(expect.arrayContaining(['dist', 'bin', 'lab']));
    expect(manifest.files.some((file) => file.startsWith('native/'))).toBe(true);
    expect(manifest.files.filter((file) => /^(src|test|examples|docs)\b/.test(file))).toEqual([]);
    expect(manifest.bin['etcd-lab']).toBe('bin/etcd-lab.js');
  });
});
