import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { docker } from '../../src/host/docker.ts';
import { LABEL } from '../../src/host/run-labels.ts';

describe('experiment files', () => {
  it('refuses an invalid experiment file with exit code 2, naming the field, before any container starts', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'etcd-lab-spec-'));
    const file = join(dir, 'bad.yaml');
    writeFileSync(
      file,
      'name: bad\ntitle: Bad\ncluster: { members: 3 }\nworkload: { ratePerSecond: 10, durationMs: 1000 }\nmethod: [{ fault: kill, target: m9, at: 0 }]\nhypothesis: {}\n',
    );
    // Progress lines are quiet under vitest by default: turn them on, so that a cluster start would show.
    const child = execa('node', ['bin/etcd-lab.js', 'run', file], {
      reject: false,
      env: { ETCD_LAB_VERBOSE: '1' },
    });
    const pid = child.pid;
    const run = await child;
    expect(run.exitCode).toBe(2);
    expect(run.stderr).toMatch(/method\.0\.target: no member m9 in a 3-member cluster/);
    const created = await docker().listContainers({
      all: true,
      filters: { label: [`${LABEL.pid}=${String(pid)}`] },
    });
    expect(created).toEqual([]);
    expect(run.stderr).not.toMatch(/starting a \d-member cluster/);
    // The whole answer is one line naming the field.
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
  });
});
