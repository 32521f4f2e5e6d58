import { cp, mkdtemp, readFile, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa, type Options } from 'execa';
import { afterAll, describe, expect, it } from 'vitest';

/**
 * The package as another project gets it: `npm pack` (prepack builds dist/), the tarball installed
 * into a copy of examples/leader-worker — which depends on it through a `file:` tarball, not on
 * this tree — and there: its type check against the installed .d.ts, its own `npm test` (real
 * clusters through etcd-lab/vitest), the `etcd-lab` bin, and what the package lets a consumer
 * import and what it keeps to itself.
 */
const REPOSITORY = fileURLToPath(new URL('../../', import.meta.url));
const EXAMPLE = path.join(REPOSITORY, 'examples', 'leader-worker');

// The child processes are a consumer's, not this test run's: no vitest worker state, no npm
// script context of the outer `npm test`.
const consumerEnv = Object.fromEntries(
  Object.entries(process.env).filter(
    ([key]) => !/^(VITEST|TINYPOOL|npm_package_|npm_lifecycle_)/.test(key) && key !== 'NODE_OPTIONS',
  ),
);
const run = (command: string, args: string[], cwd: string, options: Options = {}) =>
  execa(command, args, { cwd, env: consumerEnv, extendEnv: false, reject: false, ...options });

async function timed<T>(what: string, work: () => Promise<T>): Promise<T> {
  const started = performance.now();
  const result = await work();
  console.info(`${what}: ${((performance.now() - started) / 1_000).toFixed(1)} s`);
  return result;
}

describe('the packed package in a consumer project', () => {
  let scratch: string | undefined;
  afterAll(async () => {
    if (scratch !== undefined) await rm(scratch, { recursive: true, force: true });
  });

  it('installs from its tarball; the example type-checks against it and its own npm test passes', async () => {
    scratch = await mkdtemp(path.join(tmpdir(), 'etcdlab-consumer-'));
    const app = path.join(scratch, 'leader-worker');

    const pack = await timed('npm pack (with the prepack build)', () =>
      run('npm', ['pack', '--json', '--pack-destination', scratch!], REPOSITORY),
    );
    expect(pack.exitCode, String(pack.stderr)).toBe(0);
    // Lifecycle output may precede the JSON report.
    const stdout = String(pack.stdout);
    const [packed] = JSON.parse(stdout.slice(stdout.search(/^\[/m))) as {
      filename: string;
      size: number;
      unpackedSize: number;
      entryCount: number;
      files: { path: string }[];
    }[];
    expect(packed).toBeDefined();
    console.info(
      `tarball ${packed!.filename}: ${(packed!.size / 1_024).toFixed(0)} KiB, unpacked ${(packed!.unpackedSize / 1_024).toFixed(0)} KiB, ${packed!.entryCount} files`,
    );
    const shipped = packed!.files.map((file) => file.path);
    expect(shipped).toEqual(
      expect.arrayContaining([
        'package.json',
        'README.md',
        'LICENSE',
        'bin/etcd-lab.js',
        'dist/index.js',
        'dist/index.d.ts',
        'dist/vitest/index.js',
        'lab/leader-loss.yaml',
        'native/nfq-delay/nfq-delay.c',
      ]),
    );
    expect(shipped.filter((file) => /^(src|test|examples|docs|bench|scripts)\//.test(file))).toEqual([]);

    await cp(EXAMPLE, app, {
      recursive: true,
      filter: (source) => !/node_modules|package-lock\.json|\.tgz$/.test(source),
    });
    await cp(path.join(scratch, packed!.filename), path.join(app, 'etcd-lab.tgz'));
    const manifest = JSON.parse(await readFile(path.join(app, 'package.json'), 'utf8')) as {
      devDependencies: Record<string, string>;
    };
    expect(manifest.devDependencies['etcd-lab']).toBe('file:etcd-lab.tgz');

    const install = await timed('npm install of the example (with the tarball)', () =>
      run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund'], app),
    );
    expect(install.exitCode, String(install.stderr)).toBe(0);
    const installed = path.join(app, 'node_modules', 'etcd-lab');
    expect(existsSync(path.join(installed, 'dist', 'cli', 'main.js'))).toBe(true);
    expect(existsSync(path.join(installed, 'src'))).toBe(false);

    // skipLibCheck is off in the example: the installed .d.ts are checked as well as used.
    const typecheck = await timed('tsc --noEmit in the example', () => run('npx', ['tsc', '--noEmit'], app));
    expect(typecheck.exitCode, String(typecheck.stdout)).toBe(0);

    const report = path.join(app, 'vitest-report.json');
    const tests = await timed("the example's npm test", () =>
      run('npm', ['test', '--', '--reporter=default', '--reporter=json', `--outputFile.json=${report}`], app),
    );
    expect(tests.exitCode, `${String(tests.stdout)}\n${String(tests.stderr)}`).toBe(0);
    // What the example measured (one line per fault: when the old holder stopped, when the next
    // one started against its bound, the overlap).
    for (const line of String(tests.stdout).split('\n')) {
      if (/old holder stopped/.test(line)) console.info(`example: ${line.trim()}`);
    }
    const results = JSON.parse(await readFile(report, 'utf8')) as {
      numTotalTests: number;
      numPassedTests: number;
      numFailedTests: number;
    };
    // The example's 4 cluster tests and 3 pure ones, all run and passed (none skipped).
    expect(results).toMatchObject({ numTotalTests: 7, numPassedTests: 7, numFailedTests: 0 });

    const version = await run('npx', ['etcd-lab', '--version'], app);
    const { version: ours } = JSON.parse(await readFile(path.join(REPOSITORY, 'package.json'), 'utf8')) as {
      version: string;
    };
    expect(version.stdout).toBe(ours);
    const doctor = await timed('npx etcd-lab doctor (with its live cluster check)', () =>
      run('npx', ['etcd-lab', 'doctor'], app),
    );
    expect(doctor.exitCode, `${String(doctor.stdout)}\n${String(doctor.stderr)}`).toBe(0);
    expect(doctor.stdout).toMatch(/leader killed: m\d elected at term \d+/);
    const list = await run('npx', ['etcd-lab', 'list'], app);
    expect(list.stdout).toMatch(/^leader-loss\s/m);

    const imports = await run(
      'node',
      [
        '--input-type=module',
        '-e',
        `const root = await import('etcd-lab');
           const faults = await import('etcd-lab/faults');
           const vitest = await import('etcd-lab/vitest');
           const internal = await import('etcd-lab/dist/host/docker.js').then(() => 'reachable', (e) => e.code);
           console.log(JSON.stringify({ EtcdCluster: typeof root.EtcdCluster, kill: faults.kill === root.kill,
             createEtcdTest: typeof vitest.createEtcdTest, internal }));`,
      ],
      app,
    );
    expect(imports.exitCode, String(imports.stderr)).toBe(0);
    expect(JSON.parse(String(imports.stdout))).toEqual({
      EtcdCluster: 'function',
      kill: true,
      createEtcdTest: 'function',
      internal: 'ERR_PACKAGE_PATH_NOT_EXPORTED',
    });
  }, 900_000);
});
