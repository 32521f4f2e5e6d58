import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { docker } from '../../src/host/docker.ts';
import { LABEL } from '../../src/host/run-labels.ts';
import { NOTHING_LEFT, findLeftovers } from '../support/leftovers.ts';

/**
 * The real CLI, given bad input for every command: each is refused with exit code 2 and one
 * `etcd-lab: …` line naming the flag or field, in well under 5 s, before anything is created —
 * Docker's event stream for the lab's labels must stay silent the whole time.
 */
const REFUSAL_MS = 5_000;
/** Two at a time: a 2-core machine, and each CLI start is mostly CPU. */
const PARALLEL = 2;
const UNWRITABLE = '/proc/etcd-lab-no-such-dir/results';

interface Case {
  readonly args: readonly string[];
  /** What the one line must say: the flag or field, and what is wrong with it. */
  readonly says: RegExp;
  /**
   * A longer limit than REFUSAL_MS, for a version that is well formed but offered by nothing here:
   * refusing it means asking the cache, etcd's registries (an unreachable one fails in ~0.2 s) and
   * Debian's local package index, the steps `etcd-lab images` shows.
   */
  readonly withinMs?: number;
}

/** `--etcd 9.9.9`: one line naming the flag (or field) and the versions available here. */
const UNOBTAINABLE = (origin: string): RegExp =>
  new RegExp(
    `^etcd-lab: ${origin}: etcd 9\\.9\\.9 cannot be obtained here .*; available: \\d+\\.\\d+\\.\\d+(, \\d+\\.\\d+\\.\\d+)* \\(`,
  );
const OBTAIN_MS = 20_000;

let dir = '';
const file = (name: string): string => join(dir, name);

const CASES: readonly Case[] = [
  { args: [], says: /^etcd-lab: name a command: .*run.*quorum-validate/ },
  { args: ['frobnicate'], says: /unknown command 'frobnicate'/ },
  // run
  { args: ['run'], says: /missing required argument 'experiment'/ },
  { args: ['run', 'no-such-experiment'], says: /unknown experiment "no-such-experiment"/ },
  {
    args: ['run', 'leader-loss', '-m', '9'],
    says: /-m\/--members: expected an integer from 1 to 7, got "9"/,
  },
  { args: ['run', 'leader-loss', '--out', UNWRITABLE], says: /--out \/proc\/.*: cannot create or write/ },
  {
    args: ['run', 'leader-loss', '--image', ''],
    says: /--image: expected an image reference .*empty string/,
  },
  { args: ['run', 'leader-loss', '--image', 'Etcd:v3'], says: /--image: .*"Etcd:v3".*must be lowercase/ },
  { args: ['run', 'leader-loss', '--seed', 'x'], says: /--seed: expected a positive integer, got "x"/ },
  { args: ['run', 'leader-loss', '--frobnicate'], says: /unknown option '--frobnicate'/ },
  { args: ['run', '@not-yaml.yaml'], says: /not-yaml\.yaml is not valid YAML/ },
  { args: ['run', '@bad-image.yaml'], says: /bad-image\.yaml: cluster\.image: .*"no spaces allowed"/ },
  { args: ['run', 'leader-loss', '--etcd', '9.9.9'], says: UNOBTAINABLE('--etcd'), withinMs: OBTAIN_MS },
  {
    args: ['run', '@etcd-version.yaml'],
    says: UNOBTAINABLE('.*etcd-version\\.yaml: etcd'),
    withinMs: OBTAIN_MS,
  },
  // A version matrix: a bad entry or one listed twice is refused before anything runs, and so is
  // a version nothing offers, even when another entry could run.
  { args: ['run', 'leader-loss', '--etcd', '3.4.23,v3.4.23'], says: /--etcd: .*v3\.4\.23 is listed twice/ },
  {
    args: ['run', 'leader-loss', '--etcd', '3.4.23,,3.5.30'],
    says: /--etcd: .*an empty entry in the version list/,
  },
  {
    args: ['run', 'leader-loss', '--etcd', '9.9.9,3.4.23'],
    says: UNOBTAINABLE('--etcd'),
    withinMs: OBTAIN_MS,
  },
  { args: ['run', '@etcd-list.yaml'], says: /etcd-list\.yaml is invalid: etcd: 3\.4\.23 is listed twice/ },
  {
    args: ['run', 'leader-loss', '--etcd', '3.5.30', '--image', 'etcd-lab/etcd:3.5.30'],
    says: /--etcd and --image both given .*--image is an alias of --etcd; give one/,
  },
  // sweep
  { args: ['sweep'], says: /name a sweep/ },
  { args: ['sweep', 'no-such-sweep'], says: /unknown sweep "no-such-sweep"/ },
  {
    args: ['sweep', 'pre-vote', '--trials', '0'],
    says: /--trials: expected an integer from 1 to 1000, got "0"/,
  },
  { args: ['sweep', 'pre-vote', '--seed', '1.5'], says: /--seed: expected a positive integer, got "1.5"/ },
  { args: ['sweep', 'pre-vote', '--out', UNWRITABLE], says: /--out \/proc\/.*: cannot create or write/ },
  { args: ['sweep', 'pre-vote', '--etcd', '9.9.9'], says: UNOBTAINABLE('--etcd'), withinMs: OBTAIN_MS },
  { args: ['sweep', 'pre-vote', '--etcd', '3.5.16,3.5.30'], says: /--etcd: a version matrix/ },
  // quorum
  { args: ['quorum', '--mttf', '1y'], says: /--mttf needs --mttr/ },
  { args: ['quorum', '--mttr', '4h'], says: /--mttr needs --mttf/ },
  { args: ['quorum', '--mttf', '1 decade', '--mttr', '4h'], says: /--mttf: expected a number and one unit/ },
  { args: ['quorum', '-m', '0'], says: /-m\/--members: expected an integer from 1 to 7, got "0"/ },
  { args: ['quorum', '--p', '1.5'], says: /--p: expected a probability from 0 to 1, got "1.5"/ },
  { args: ['quorum', '--out', UNWRITABLE], says: /--out \/proc\/.*: cannot create or write/ },
  { args: ['quorum', '--out', '@a-file'], says: /--out .*a-file: exists and is not a directory/ },
  // quorum-validate
  { args: ['quorum-validate', '--sizes', '0-9'], says: /--sizes: expected sizes from 1 to 7/ },
  {
    args: ['quorum-validate', '--mechanism', 'foo'],
    says: /--mechanism: expected kill, isolate or both, got "foo"/,
  },
  {
    args: ['quorum-validate', '--availability', '5 minutes'],
    says: /--availability: expected a number and one unit/,
  },
  { args: ['quorum-validate', '--no-matrix'], says: /--no-matrix without --availability/ },
  { args: ['quorum-validate', '--image', ''], says: /--image: expected an image reference/ },
  { args: ['quorum-validate', '--etcd', '9.9.9'], says: UNOBTAINABLE('--etcd'), withinMs: OBTAIN_MS },
  { args: ['quorum-validate', '--out', UNWRITABLE], says: /--out \/proc\/.*: cannot create or write/ },
  // up / down / clean
  { args: ['up', '-m', '9'], says: /-m\/--members: expected an integer from 1 to 7, got "9"/ },
  { args: ['up', '--image', ''], says: /--image: expected an image reference/ },
  { args: ['up', '--etcd', '9.9.9'], says: UNOBTAINABLE('--etcd'), withinMs: OBTAIN_MS },
  { args: ['doctor', '--no-cluster', '--etcd', '9.9.9'], says: UNOBTAINABLE('--etcd'), withinMs: OBTAIN_MS },
  { args: ['up', '--data-dir', 'ssd'], says: /--data-dir: .*memory, disk/ },
  { args: ['up', '--heartbeat-ms', '0'], says: /--heartbeat-ms: expected a positive integer, got "0"/ },
  {
    args: ['up', '--heartbeat-ms', '100', '--election-timeout-ms', '300'],
    says: /--election-timeout-ms \(300\) must be at least 5 × --heartbeat-ms \(100\)/,
  },
  { args: ['down', 'no-such-run'], says: /no cluster started with `up` has run ID no-such-run/ },
  { args: ['down', '--force'], says: /unknown option '--force'/ },
  { args: ['clean', 'everything'], says: /too many arguments for 'clean'/ },
  { args: ['clean', '--al'], says: /unknown option '--al'.*--all/ },
  // compare
  { args: ['compare'], says: /missing required argument 'dirs'/ },
  { args: ['compare', '/no-such-dir'], says: /compare \/no-such-dir: not a directory/ },
  { args: ['compare', '@a-file'], says: /compare .*a-file: not a directory/ },
  { args: ['compare', '/proc/self/fdinfo'], says: /no result\.json in it or in its subdirectories/ },
  // images
  { args: ['images', '3.5.30'], says: /too many arguments for 'images'/ },
  { args: ['images', '--frobnicate'], says: /unknown option '--frobnicate'/ },
];

interface Outcome {
  readonly exitCode: number | undefined;
  readonly stdout: string;
  readonly stderr: string;
  readonly elapsedMs: number;
}

/** `@name` stands for a file of that name in the test's directory. */
const expand = (args: readonly string[]): string[] =>
  args.map((arg) => (arg.startsWith('@') ? file(arg.slice(1)) : arg));

/** Every CLI process these tests started: what they create carries its pid. */
const cliPids: number[] = [];

async function cli(args: readonly string[]): Promise<Outcome> {
  const started = performance.now();
  const child = execa('node', ['bin/etcd-lab.js', ...expand(args)], {
    reject: false,
    stdin: 'ignore',
    timeout: 30_000,
  });
  if (child.pid !== undefined) cliPids.push(child.pid);
  const result = await child;
  return {
    exitCode: result.exitCode,
    stdout: result.stdout,
    stderr: result.stderr,
    elapsedMs: performance.now() - started,
  };
}

/** Runs `task` over `items`, `parallel` at a time, results in order. */
async function inBatches<T, R>(
  items: readonly T[],
  parallel: number,
  task: (item: T) => Promise<R>,
): Promise<R[]> {
  const results: R[] = new Array<R>(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: parallel }, async () => {
      while (next < items.length) {
        const index = next++;
        results[index] = await task(items[index] as T);
      }
    }),
  );
  return results;
}

describe('the CLI refuses bad input in one line, and starts nothing', () => {
  const outcomes = new Map<string, Outcome>();
  const labEvents: string[] = [];
  let events: Readable | undefined;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'etcd-lab-cli-'));
    await writeFile(file('not-yaml.yaml'), 'name: [unclosed\n  title: "x\n');
    await writeFile(
      file('bad-image.yaml'),
      [
        'name: bad-image',
        'title: An image reference that cannot be one',
        'question: Is it refused before anything starts?',
        'cluster: { members: 3, image: "no spaces allowed" }',
        'workload: { ratePerSecond: 10, clients: 1, durationMs: 5000 }',
        'method: [{ fault: kill, target: leader, at: 1000 }]',
        'hypothesis: {}',
        '',
      ].join('\n'),
    );
    const fileNaming = (name: string, etcd: string): string =>
      [
        `name: ${name}`,
        'title: An etcd nothing here can run',
        `etcd: ${etcd}`,
        'cluster: { members: 1 }',
        'workload: { ratePerSecond: 10, clients: 1, durationMs: 5000 }',
        'method: [{ fault: kill, target: leader, at: 1000 }]',
        'hypothesis: {}',
        '',
      ].join('\n');
    await writeFile(file('etcd-version.yaml'), fileNaming('etcd-version', '9.9.9'));
    await writeFile(file('etcd-list.yaml'), fileNaming('etcd-list', '[3.4.23, 3.4.23]'));
    await writeFile(file('a-file'), 'not a directory\n');
    // Anything the lab creates carries its label: the event stream sees even a container that
    // is created and removed again between two looks at the leftovers. Only the CLI processes'
    // own count: the long-test tier may start or stop clusters meanwhile.
    events = (await docker().getEvents({
      filters: { label: [`${LABEL.lab}=true`], type: ['container', 'network', 'volume'] },
    })) as Readable;
    events.on('data', (chunk: Buffer) => labEvents.push(...chunk.toString().split('\n')));
    const results = await inBatches(CASES, PARALLEL, (c) => cli(c.args));
    CASES.forEach((c, i) => outcomes.set(c.args.join(' '), results[i] as Outcome));
  }, 300_000);

  afterAll(async () => {
    events?.destroy();
    await rm(dir, { recursive: true, force: true });
  });

  it.each(CASES.map((c) => [c.args.join(' ') || '(no arguments)', c] as const))(
    '%s',
    (_name, { args, says, withinMs }) => {
      const outcome = outcomes.get(args.join(' '));
      expect(outcome).toBeDefined();
      const { exitCode, stderr, stdout, elapsedMs } = outcome as Outcome;
      expect({ exitCode, stderr }).toMatchObject({ exitCode: 2 });
      const lines = stderr.split('\n').filter((line) => line.trim() !== '');
      expect(lines, stderr).toHaveLength(1);
      expect(lines[0]).toMatch(/^etcd-lab: /);
      expect(lines[0]).toMatch(says);
      expect(stderr).not.toMatch(/^\s+at /m); // no stack trace
      expect(stdout).toBe('');
      expect(elapsedMs).toBeLessThan(withinMs ?? REFUSAL_MS);
    },
  );

  it('created no container, network or volume, not even for a moment', async () => {
    // Docker delivers events asynchronously; give a late one time to arrive.
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(cliPids).toHaveLength(CASES.length);
    const byTheCli = labEvents.filter((line) => {
      if (line.trim() === '') return false;
      const event = JSON.parse(line) as { Actor?: { Attributes?: Record<string, string> } };
      return cliPids.map(String).includes(event.Actor?.Attributes?.[LABEL.pid] ?? '');
    });
    expect(byTheCli).toEqual([]);
    expect(await findLeftovers({ ownerPids: cliPids })).toEqual(NOTHING_LEFT);
  });

  it('still answers --help with exit code 0', async () => {
    const [top, run] = await Promise.all([cli(['--help']), cli(['run', '--help'])]);
    expect(top.exitCode).toBe(0);
    expect(top.stdout).toMatch(/^Usage: etcd-lab /);
    expect(run.exitCode).toBe(0);
    expect(run.stdout).toMatch(/^Usage: etcd-lab run .*<experiment>/);
    expect(run.stdout).toMatch(/--out <dir>/);
  });
});
