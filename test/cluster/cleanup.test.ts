import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { probeHostCapabilities } from '../../src/faults/capabilities.ts';
import { delayHelpersInNetns } from '../../src/faults/network/nfq-delay-process.ts';
import { recordedHelperPids } from '../../src/host/helper-processes.ts';
import { sweepLeftovers } from '../../src/host/cleanup.ts';
import { docker } from '../../src/host/docker.ts';
import { LABEL } from '../../src/host/run-labels.ts';
import { findLeftovers, NOTHING_LEFT } from '../support/leftovers.ts';

const FIXTURE = 'test/cluster/fixtures/start-cluster-and-wait.ts';

/** Starts the fixture and resolves with its run ID once its cluster is up. */
function startChild() {
  const child = execa('node', ['--import', 'tsx', FIXTURE], {
    reject: false,
    buffer: false,
    stdin: 'ignore',
  });
  const runId = new Promise<string>((resolve, reject) => {
    let seen = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      seen += chunk.toString();
      const match = /RUN (\S+)/.exec(seen);
      if (match?.[1]) resolve(match[1]);
    });
    void child.then((result) => reject(new Error(`fixture exited early: ${String(result.exitCode)}`)));
  });
  return { child, runId };
}

describe('cleanup', () => {
  it('sweeps what a SIGKILLed run left behind, and nothing of a live run', async () => {
    const { child, runId: pending } = startChild();
    const runId = await pending;
    // While the owner lives, a sweep must not touch its cluster.
    await sweepLeftovers();
    const live = await findLeftovers({ runId });
    expect(live.containers).toHaveLength(1);
    expect(live.networks).toHaveLength(1);
    expect(live.dataDirs).toHaveLength(1);

    child.kill('SIGKILL');
    await child;
    // SIGKILL runs no handler: everything is still there until the next sweep.
    expect((await findLeftovers({ runId })).containers).toHaveLength(1);
    const swept = await sweepLeftovers();
    expect(swept.containers).toBeGreaterThanOrEqual(1);
    expect(await findLeftovers({ runId })).toEqual(NOTHING_LEFT);
  });

  it.each(['SIGINT', 'SIGTERM'] as const)('removes the cluster itself on %s', async (signal) => {
    const { child, runId: pending } = startChild();
    const runId = await pending;
    expect((await findLeftovers({ runId })).containers).toHaveLength(1);
    child.kill(signal);
    const result = await child;
    expect(result.exitCode).toBe(signal === 'SIGINT' ? 130 : 143);
    expect(await findLeftovers({ runId })).toEqual(NOTHING_LEFT);
  });
});

/**
 * A short slow-member: peer delay on a follower (nfq-delay where the kernel has no netem) and
 * client delay on the leader (nfq-delay on every host), both in place for most of a minute.
 */
const DELAY_EXPERIMENT = `
name: killed-mid-delay
title: The lab is killed while its delay helpers run
question: Do the nfq-delay helpers die with the lab process?
cluster:
  members: 3
  etcd: { heartbeatMs: 100, electionTimeoutMs: 1000 }
workload: { ratePerSecond: 20, clients: 1, durationMs: 60000, callTimeoutMs: 2000 }
method:
  - { fault: delay, target: follower, delayMs: 20, at: 500, for: 50000 }
  - { fault: client-delay, target: leader, delayMs: 20, at: 500, for: 50000 }
hypothesis: {}
`;

async function waitFor<T>(
  what: string,
  timeoutMs: number,
  probe: () => T | undefined | Promise<T | undefined>,
  state: () => string = () => '',
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = await probe();
    if (found !== undefined) return found;
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${state()}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Host PIDs of the run's member containers' etcd processes (their network namespaces). */
async function memberPids(runId: string): Promise<number[]> {
  const containers = await docker().listContainers({ filters: { label: [`${LABEL.run}=${runId}`] } });
  const pids = await Promise.all(
    containers.map(async (c) => (await docker().getContainer(c.Id).inspect()).State.Pid),
  );
  return pids.filter((pid) => pid > 0);
}

const parentOf = async (pid: number): Promise<number> => {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
};

const commandOf = async (pid: number): Promise<string> =>
  (await readFile(`/proc/${pid}/cmdline`, 'utf8')).split('\0')[0] ?? '';

/** The lab as a user runs it, with its progress lines on stderr (they are off under vitest by default). */
const labOptions = (privilege: '' | 'sudo' = '') =>
  ({
    reject: false,
    buffer: false,
    stdin: 'ignore',
    // execa SIGKILLs a child still running 5 s after a SIGTERM by default: a lab that takes longer
    // to stop in order (a slow machine, an emulated VM) would look killed, not stopped.
    forceKillAfterDelay: false,
    env: { ETCD_LAB_VERBOSE: '1', ETCD_LAB_PRIVILEGE: privilege },
  }) as const;
type Lab = ResultPromise<ReturnType<typeof labOptions>>;

/**
 * A single member paused for most of a minute: the run is interrupted while the fault is in
 * place, so healing it is part of stopping.
 */
const PAUSE_EXPERIMENT = `
name: interrupted-mid-pause
title: The lab is interrupted while a member is paused
question: Does Ctrl-C heal the fault, remove the cluster and still write the result?
cluster: { members: 1 }
workload: { ratePerSecond: 20, clients: 1, durationMs: 60000, callTimeoutMs: 1000 }
method:
  - { fault: pause, target: m1, at: 1000, for: 50000 }
hypothesis: { noAcknowledgedWriteLost: true }
`;

describe('an interrupted lab run (the CLI owns Ctrl-C)', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'etcd-lab-interrupt-'));
    await writeFile(join(dir, 'interrupted-mid-pause.yaml'), PAUSE_EXPERIMENT);
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it.each([
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const)(
    'on %s heals the fault, removes the cluster, writes an aborted result.json and exits %i',
    async (signal, code) => {
      const out = join(dir, signal);
      const experiment = join(dir, 'interrupted-mid-pause.yaml');
      const lab = execa('node', ['bin/etcd-lab.js', 'run', experiment, '--out', out], labOptions());
      let stderr = '';
      lab.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      const stillRunning = (): void => {
        if (lab.exitCode !== null) throw new Error(`the lab exited early:\n${stderr}`);
      };
      try {
        const runId = await waitFor('the cluster', 60_000, () => {
          stillRunning();
          return /etcd cluster (\w+)…/.exec(stderr)?.[1];
        });
        await waitFor('the pause', 60_000, () => {
          stillRunning();
          return /step 1: pause on m1/.test(stderr) ? true : undefined;
        });
        lab.kill(signal);
        const ended = await lab;
        expect(ended.exitCode, stderr).toBe(code);
        expect(stderr).toContain(`${signal}: stopping`);
        // Stopped in order: the paused member healed and removed with everything else of the run.
        expect(await findLeftovers({ runId })).toEqual(NOTHING_LEFT);
        const saved = JSON.parse(await readFile(join(out, 'result.json'), 'utf8')) as Record<string, unknown>;
        expect(saved).toMatchObject({
          schemaVersion: 4,
          kind: 'experiment',
          name: 'interrupted-mid-pause',
          status: 'aborted',
          error: `interrupted by ${signal}`,
        });
        // An interrupted run never claims its hypothesis held.
        expect(saved.verdict).not.toBe('held');
        expect(await readFile(join(out, 'junit.xml'), 'utf8')).toMatch(
          /name="experiment ran to completion"[^>]*>\s*<failure/,
        );
        expect(await readFile(join(out, 'report.md'), 'utf8')).toContain('Verdict: **ABORTED**');
      } finally {
        lab.kill('SIGKILL');
        await lab;
        await sweepLeftovers();
      }
    },
    180_000,
  );
});

/** `sudo -n true` works here: the sudo route can run (the lab refuses it otherwise). The root route
 * needs root: a lab that is not root always goes through sudo. */
const sudoWorks = (await execa('sudo', ['-n', 'true'], { reject: false })).exitCode === 0;
/**
 * Delay runs the nfq-delay helper only where the kernel lacks netem (this project's CI host); with
 * netem both steps below are tc qdiscs and no helper runs, so there is nothing of this to test.
 */
const delayRunsHelpers = !(await probeHostCapabilities()).tcNetem.available;

// Both ways the lab runs privileged commands: itself (root), or through sudo as on a CI runner that
// is not root (ETCD_LAB_PRIVILEGE=sudo takes that route as root too: sudo, not the lab, is then
// the helper's parent, and the helper watches the lab instead).
describe.each(['root', 'sudo'] as const)('a SIGKILLed lab (privileged commands: %s)', (route) => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'etcd-lab-kill-'));
    await writeFile(join(dir, 'killed-mid-delay.yaml'), DELAY_EXPERIMENT);
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it.skipIf(!delayRunsHelpers || (route === 'sudo' ? !sudoWorks : process.getuid?.() !== 0))(
    'leaves no delay helper running, and `clean` removes the rest',
    async () => {
      const experiment = join(dir, 'killed-mid-delay.yaml');
      const lab = execa(
        'node',
        ['bin/etcd-lab.js', 'run', experiment, '--out', dir],
        labOptions(route === 'sudo' ? 'sudo' : ''),
      );
      try {
        await killMidDelayAndClean(lab, route);
      } finally {
        // Whatever failed, nothing of this test stays: the lab goes, then what it left.
        lab.kill('SIGKILL');
        await lab;
        await sweepLeftovers();
      }
    },
  );
});

async function killMidDelayAndClean(lab: Lab, route: 'root' | 'sudo'): Promise<void> {
  let stderr = '';
  lab.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const labPid = lab.pid ?? 0;
  expect(labPid).toBeGreaterThan(0);
  const stillRunning = (): void => {
    if (lab.exitCode !== null) throw new Error(`the lab exited early:\n${stderr}`);
  };

  const runId = await waitFor('the cluster', 60_000, () => {
    stillRunning();
    return /etcd cluster (\w+)…/.exec(stderr)?.[1];
  });
  await waitFor('both delay steps', 60_000, () => {
    stillRunning();
    return (stderr.match(/step \d: (?:client-)?delay on/g) ?? []).length >= 2 ? true : undefined;
  });
  // Without netem both delays run a helper: wait
  // until the run has recorded every helper running in its members' namespaces, and no more start.
  const running = async () => {
    const found: number[] = [];
    for (const pid of await memberPids(runId)) found.push(...(await delayHelpersInNetns(pid)));
    return found;
  };
  let seen = '';
  let since = Date.now();
  const helpers = await waitFor(
    'the helpers',
    30_000,
    async () => {
      stillRunning();
      const pids = await running();
      const recorded = await recordedHelperPids(runId);
      const now = `${pids.sort().join(',')}/${recorded.sort().join(',')}`;
      if (now !== seen) [seen, since] = [now, Date.now()];
      const settled = pids.length > 0 && recorded.length === pids.length && Date.now() - since > 1_500;
      return settled ? pids : undefined;
    },
    () => ` (running/recorded: ${seen})\n${stderr}`,
  );
  // As root each is the lab's own child: the process whose death the helper is tied to is the lab.
  // Through sudo, sudo is its parent and the lab sudo's.
  for (const helper of helpers) {
    const parent = await parentOf(helper);
    if (route === 'root') expect(parent).toBe(labPid);
    else {
      expect(await commandOf(parent)).toBe('sudo');
      expect(await parentOf(parent)).toBe(labPid);
    }
  }

  lab.kill('SIGKILL');
  await lab;
  // No handler ran: the cluster is still there, but no helper outlives the lab.
  await waitFor('the helpers to exit', 5_000, async () =>
    (await running()).length === 0 ? true : undefined,
  );
  expect((await findLeftovers({ runId })).containers).toHaveLength(3);
  expect(await running()).toEqual([]);

  // The next command's sweep removes the rest (containers, network, data dirs, helper pidfiles).
  const clean = await execa('node', ['bin/etcd-lab.js', 'clean'], { reject: false });
  expect(clean.exitCode).toBe(0);
  expect(clean.stdout).toMatch(/removed [1-9]\d* containers/);
  expect(await findLeftovers({ runId })).toEqual(NOTHING_LEFT);
  expect(await findLeftovers({ orphansOnly: true })).toEqual(NOTHING_LEFT);
  expect(await recordedHelperPids(runId)).toEqual([]);
}
