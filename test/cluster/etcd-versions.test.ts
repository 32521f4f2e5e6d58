import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EtcdCluster } from '../../src/cluster/etcd-cluster.ts';
import { CLIENT_PORT } from '../../src/cluster/etcd-options.ts';
import { docker } from '../../src/host/docker.ts';
import { resolveEtcdImage } from '../../src/host/etcd-image.ts';
import type { EtcdImageProvenance } from '../../src/host/images/provenance.ts';
import { LABEL } from '../../src/host/run-labels.ts';
import { findLeftovers, NOTHING_LEFT } from '../support/leftovers.ts';

/**
 * Each etcd version the lab can obtain here (issue #12) runs a cluster that reports that version,
 * chosen with `withEtcd(version)`; and `etcd-lab run --etcd` runs an experiment on the version asked
 * for, over the file's own `etcd:`, and records where its image came from. 1-member clusters: the
 * version is the point, not the size.
 */
const VERSIONS = ['3.4.23', '3.5.16', '3.5.30'] as const;

describe('a cluster per etcd version', () => {
  beforeAll(async () => {
    // Obtained here (found cached, or built from Debian's packages on a fresh machine), not inside
    // a timed test; resolveEtcdImage keeps each for the process, so the clusters below reuse them.
    for (const version of VERSIONS) await resolveEtcdImage({ image: version });
  }, 300_000);

  for (const version of VERSIONS) {
    it(`etcd ${version}: the status API and etcdctl endpoint status report ${version}, a put is read back, nothing is left`, async () => {
      const cluster = await new EtcdCluster().withMembers(1).withEtcd(version).start();
      const { runId } = cluster;
      try {
        const described = cluster.describe();
        expect(described.etcdVersion).toBe(version);
        expect(described.requestedImage).toBe(version);
        expect(described.etcdProvenance).toMatchObject({
          requested: version,
          requestedVersion: version,
          etcdVersion: version,
          image: described.image,
          imageId: described.imageId,
        });
        // No registry is reachable here; where one is, its image is as good.
        expect(['debian', 'registry']).toContain(described.etcdProvenance.source);

        await cluster.waitForStableLeader();
        const status = await cluster.client().maintenance.status();
        expect(status.version).toBe(version);

        const member = cluster.members[0];
        if (member === undefined) throw new Error('no member');
        const etcdctl = await execa('docker', [
          'exec',
          member.containerName,
          '/usr/local/bin/etcdctl',
          `--endpoints=http://127.0.0.1:${CLIENT_PORT}`,
          'endpoint',
          'status',
          '-w',
          'json',
        ]);
        const endpoints = JSON.parse(etcdctl.stdout) as { Status: { version: string } }[];
        expect(endpoints.map((endpoint) => endpoint.Status.version)).toEqual([version]);

        const key = `etcd-lab/versions/${version}`;
        await cluster.client().put(key).value(`written on ${version}`);
        expect(await cluster.client().get(key).string()).toBe(`written on ${version}`);
      } finally {
        await cluster.dispose();
      }
      expect(await findLeftovers({ runId })).toEqual(NOTHING_LEFT);
    });
  }
});

describe('etcd-lab run --etcd', () => {
  let dir = '';
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'etcd-lab-versions-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('runs on the version the flag names (over the file’s etcd:) and records the provenance', async () => {
    const file = join(dir, 'tiny.yaml');
    await writeFile(
      file,
      [
        'name: tiny',
        'title: A few writes on one member',
        // The flag must win over this.
        'etcd: 3.4.23',
        'cluster: { members: 1 }',
        'workload: { ratePerSecond: 20, clients: 1, durationMs: 3000 }',
        'method: [{ fault: traffic, at: 1000, for: 1000, clients: 1 }]',
        'hypothesis: { noAcknowledgedWriteLost: true }',
        'settleMs: 500',
        '',
      ].join('\n'),
    );
    const out = join(dir, 'out');
    const child = execa('node', ['bin/etcd-lab.js', 'run', file, '--etcd', '3.5.16', '--out', out], {
      reject: false,
    });
    const pid = child.pid;
    const run = await child;
    expect(run.exitCode, run.stderr).toBe(0);
    const result = JSON.parse(await readFile(join(out, 'result.json'), 'utf8')) as {
      experiment: { etcd?: string };
      environment: { etcdVersion: string; requestedImage: string; etcdProvenance: EtcdImageProvenance };
    };
    expect(result.experiment.etcd).toBe('3.5.16');
    expect(result.environment.etcdVersion).toBe('3.5.16');
    expect(result.environment.requestedImage).toBe('3.5.16');
    expect(result.environment.etcdProvenance).toMatchObject({
      requested: '3.5.16',
      requestedVersion: '3.5.16',
      etcdVersion: '3.5.16',
    });
    expect(['debian', 'registry']).toContain(result.environment.etcdProvenance.source);
    if (result.environment.etcdProvenance.source === 'debian') {
      expect(result.environment.etcdProvenance.debian?.packages.map((record) => record.name)).toEqual([
        'etcd-server',
        'etcd-client',
        'libc6',
      ]);
    }
    // The run removed its cluster.
    const left = await docker().listContainers({
      all: true,
      filters: { label: [`${LABEL.pid}=${String(pid)}`] },
    });
    expect(left).toEqual([]);
  });
});

describe('etcd-lab run --etcd a,b: a version matrix', () => {
  let dir = '';
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'etcd-lab-matrix-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('runs the experiment once per version and writes one comparison with a column each; compare rebuilds it', async () => {
    const file = join(dir, 'two-kills.yaml');
    await writeFile(
      file,
      [
        'name: two-kills',
        'title: Two leader kills',
        // Pre-vote unset: each version's own default (off in 3.4, on from 3.5), recorded per column.
        'cluster: { members: 3, etcd: { heartbeatMs: 50, electionTimeoutMs: 500 } }',
        // A repetition goes in once the member killed before is back (about 1.5 s down, 2–3 s to
        // start and catch up next to a busy CPU), and is not run if it could no longer end inside the
        // workload: kills 5 s apart leave the second 4 s of slack.
        'workload: { ratePerSecond: 60, clients: 2, durationMs: 12000, keyCount: 20 }',
        'method: [{ fault: kill, target: leader, at: 1500, for: 1500, repeat: { times: 2, everyMs: 5000 } }]',
        'hypothesis: { noAcknowledgedWriteLost: true, linearizable: true }',
        'settleMs: 500',
        '',
      ].join('\n'),
    );
    const out = join(dir, 'out');
    const child = execa('node', ['bin/etcd-lab.js', 'run', file, '--etcd', '3.4.23,3.5.30', '--out', out], {
      reject: false,
    });
    const pid = child.pid;
    const run = await child;
    expect(run.exitCode, `${run.stdout}\n${run.stderr}`).toBe(0);
    expect(run.stdout).toMatch(/^etcd 3\.4\.23 \(3\.4\.23\): completed, hypothesis held — .*etcd-3\.4\.23$/m);
    expect(run.stdout).toMatch(/^etcd 3\.5\.30 \(3\.5\.30\): completed, hypothesis held — .*etcd-3\.5\.30$/m);
    expect(run.stdout).toContain('two-kills on etcd 3.4.23, 3.5.30: 2 of 2 runs');

    for (const version of ['3.4.23', '3.5.30']) {
      const result = JSON.parse(await readFile(join(out, `etcd-${version}`, 'result.json'), 'utf8')) as {
        environment: { etcdVersion: string; preVote: boolean };
        steps: { leaderChange: unknown }[];
        notRun?: unknown[];
      };
      expect(result.notRun ?? [], `etcd ${version}: repetitions not run`).toEqual([]);
      expect(result.environment.etcdVersion).toBe(version);
      expect(result.environment.preVote).toBe(version !== '3.4.23');
      expect(result.steps.map((s) => s.leaderChange !== null)).toEqual([true, true]);
    }
    const comparison = await readFile(join(out, 'comparison.md'), 'utf8');
    expect(comparison).toContain('| | etcd 3.4.23 | etcd 3.5.30 |');
    expect(comparison).toContain('| pre-vote | false | true |');
    expect(comparison).toContain('| runs: verdicts | 1: held 1 | 1: held 1 |');
    expect(comparison).toMatch(/\| time to a new leader \| 2 elections: \d+ ms .*\| 2 elections: \d+ ms/);
    expect(comparison).toContain('![time to a new leader by version](elections-by-version.svg)');
    expect((await readFile(join(out, 'elections-by-version.svg'), 'utf8')).startsWith('<svg')).toBe(true);

    // compare on the matrix directory gives the same table (the file adds its chart).
    const compared = await execa('node', ['bin/etcd-lab.js', 'compare', out], { reject: false });
    expect(compared.exitCode, compared.stderr).toBe(0);
    expect(comparison.startsWith(compared.stdout)).toBe(true);

    const left = await docker().listContainers({
      all: true,
      filters: { label: [`${LABEL.pid}=${String(pid)}`] },
    });
    expect(left).toEqual([]);
  });
});
