import { execa } from 'execa';
import { mkdtemp, readdir, rm, writeFile, chmod } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { docker } from '../../src/host/docker.ts';
import { LABEL } from '../../src/host/run-labels.ts';

// The lab run by a user who is neither root nor allowed passwordless sudo (uid 65534, nobody):
// every fault that needs privileges is refused before anything starts, each with its reason,
// and nothing is created. Faults through Docker's API (kill) need no privilege of the lab's own.
const NOBODY = 65_534;

const EXPERIMENT = `
name: unprivileged
title: A run without root or sudo
question: Which faults does the lab refuse, and does it start anything first?
cluster: { members: 3 }
workload: { ratePerSecond: 5, clients: 1, durationMs: 3000 }
method:
  - { fault: delay, target: follower, delayMs: 20, at: 500, for: 1000 }
  - { fault: kill, target: follower, at: 500 }
  - { fault: loss, target: follower, lossPercent: 5, at: 500, for: 1000 }
hypothesis: {}
`;

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'etcd-lab-nonroot-'));
  await writeFile(join(dir, 'unprivileged.yaml'), EXPERIMENT);
  await chmod(dir, 0o777);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('the lab without root or passwordless sudo', () => {
  it('refuses every privileged step before anything starts, naming each and why', async () => {
    const labContainers = async (): Promise<number> =>
      (await docker().listContainers({ all: true, filters: { label: [`${LABEL.lab}=true`] } })).length;
    const before = await labContainers();
    const out = join(dir, 'out');
    const run = await execa(
      'setpriv',
      [
        `--reuid=${NOBODY}`,
        `--regid=${NOBODY}`,
        '--clear-groups',
        'node',
        'bin/etcd-lab.js',
        'run',
        join(dir, 'unprivileged.yaml'),
        '--out',
        out,
      ],
      { reject: false, stdin: 'ignore', env: { HOME: dir }, timeout: 60_000 },
    );
    expect(run.exitCode).not.toBe(0);
    const refusal = run.stderr.split('\n').filter((line) => line.trim() !== '');
    expect(refusal).toContainEqual(expect.stringMatching(/2 steps cannot be injected on this host:$/));
    expect(refusal).toContainEqual(
      expect.stringMatching(
        /step 1 \(method\.0, delay\): needs root or passwordless sudo \(nsenter, iptables, tc\)$/,
      ),
    );
    expect(refusal).toContainEqual(
      expect.stringMatching(
        /step 3 \(method\.2, loss\): needs root or passwordless sudo \(nsenter, iptables, tc\)$/,
      ),
    );
    expect(run.stderr).not.toMatch(/step 2/); // kill goes through Docker's API
    expect(run.stderr).not.toMatch(/starting \d-member etcd cluster/);
    expect(await labContainers()).toBe(before);
    expect(await readdir(out).catch(() => [])).toEqual([]);
  });
});
