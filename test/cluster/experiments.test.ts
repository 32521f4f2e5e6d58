import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
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

  it('exits 3 when the samples cannot decide a claim, never 0, and says how many more would', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'etcd-lab-spec-'));
    const file = join(dir, 'undecided.yaml');
    // Two leader kills cannot bound a p95 from above (that takes 59 samples at 95 %): inconclusive,
    // however fast the elections were.
    writeFileSync(
      file,
      [
        'name: undecided',
        'title: Two kills cannot settle a p95',
        'cluster: { members: 3, etcd: { heartbeatMs: 50, electionTimeoutMs: 500 } }',
        // Kills 5 s apart: the second waits for the first member to be back and still fits (see etcd-versions.test.ts).
        'workload: { ratePerSecond: 50, durationMs: 12000 }',
        'method: [{ fault: kill, target: leader, at: 1500, for: 1500, repeat: { times: 2, everyMs: 5000 } }]',
        'hypothesis: { election: { p95: 10 × electionTimeout }, noAcknowledgedWriteLost: true }',
        '',
      ].join('\n'),
    );
    const run = await execa('node', ['bin/etcd-lab.js', 'run', file, '--out', join(dir, 'out')], {
      reject: false,
    });
    expect(run.exitCode, run.stderr).toBe(3);
    expect(run.stdout).toMatch(
      /\? time to a new leader p95: .* over 2 samples, .*about 59 samples in all would decide it \(57 more\)/,
    );
    expect(run.stdout).toMatch(/✓ every acknowledged write survives/);
    expect(run.stdout).toMatch(/undecided: completed, hypothesis INCONCLUSIVE/);
    const saved = JSON.parse(readFileSync(join(dir, 'out', 'result.json'), 'utf8')) as { verdict: string };
    expect(saved.verdict).toBe('inconclusive');
    expect(readFileSync(join(dir, 'out', 'junit.xml'), 'utf8')).toMatch(/<skipped/);
  });
});
