import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { NFQ_DELAY_SOURCE } from '../../src/faults/network/nfq-delay-build.ts';
import { listExperimentFiles } from '../../src/plans/experiment/experiment-files.ts';
import { listSweepFiles } from '../../src/plans/sweep/spec.ts';
import { findPackageRoot, PACKAGE_ROOT, PACKAGE_VERSION } from '../../src/util/package-root.ts';

const REPOSITORY = fileURLToPath(new URL('../../', import.meta.url));

describe('package root', () => {
  const scratch = mkdtempSync(path.join(tmpdir(), 'etcdlab-package-root-'));
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  it('is this repository when run from the sources, and what lab/ and native/ are found under', () => {
    expect(PACKAGE_ROOT).toBe(path.resolve(REPOSITORY));
    expect(PACKAGE_VERSION).toMatch(/^\d+\.\d+\.\d+/);
    expect(listExperimentFiles().get('leader-loss')).toBe(path.join(PACKAGE_ROOT, 'lab', 'leader-loss.yaml'));
    expect(
      [...listSweepFiles().values()].every((file) =>
        file.startsWith(path.join(PACKAGE_ROOT, 'lab', 'sweeps')),
      ),
    ).toBe(true);
    expect(NFQ_DELAY_SOURCE).toBe(path.join(PACKAGE_ROOT, 'native', 'nfq-delay', 'nfq-delay.c'));
  });

  it('walks up past other packages to the one named etcd-lab, as from dist/ in node_modules', () => {
    const installed = path.join(scratch, 'app', 'node_modules', 'etcd-lab');
    const deep = path.join(installed, 'dist', 'plans', 'sweep');
    mkdirSync(deep, { recursive: true });
    writeFileSync(path.join(scratch, 'app', 'package.json'), JSON.stringify({ name: 'app' }));
    writeFileSync(
      path.join(installed, 'package.json'),
      JSON.stringify({ name: 'etcd-lab', version: '9.9.9' }),
    );
    // A package.json of another name inside the package (e.g. a nested example) is passed by.
    writeFileSync(path.join(installed, 'dist', 'package.json'), JSON.stringify({ type: 'module' }));
    expect(findPackageRoot(deep)).toBe(installed);
  });

  it('refuses a place with no etcd-lab above it instead of guessing', () => {
    const lonely = path.join(scratch, 'lonely', 'a');
    mkdirSync(lonely, { recursive: true });
    writeFileSync(path.join(scratch, 'lonely', 'package.json'), '{ not json');
    expect(() => findPackageRoot(lonely)).toThrow(/no package.json named etcd-lab above/);
  });
});
