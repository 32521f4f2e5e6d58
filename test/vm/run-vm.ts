// `npm run test:vm -- [options] <test files…>`: runs test files with vitest inside a QEMU guest
// running Debian's stock kernel (sch_netem, cgroup v2), for hosts whose own kernel has neither.
// The guest sees this machine's root read-only over virtio-9p with a tmpfs overlay on top, starts
// its own dockerd, loads the etcd image(s) saved here, prints the lab's doctor report and runs
// vitest; the JSON report comes back through a writable 9p share. Ends with "N passed, N failed";
// exit code 0 only when every test passed. docs/vm.md says more; wrap it in
// `flock /tmp/etcd-lab-cluster.lock` on a shared machine.
import { existsSync } from 'node:fs';
import { chmod, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { resolveEtcdImage } from '../../src/host/etcd-image.ts';
import { ensureDockerEngine } from '../../src/host/docker.ts';
import { bootableKernel, buildInitramfs, fetchKernel, installMissingTools, saveImage } from './host-prep.ts';
import { runQemu } from './qemu.ts';
import {
  guestEnvFile,
  kernelCmdline,
  phaseDurations,
  qemuArgs,
  tallyVitestReport,
  type GuestRun,
} from './vm-plan.ts';

const USAGE = `usage: npm run test:vm -- [options] [<test file>…]
  --experiment <name|file>  run an experiment with \`etcd-lab run\` in the guest first (repeatable);
                            its results land in .lab/vm/out/experiments/<name>/
  --image <version|image>   etcd to run (repeatable; the first is ETCD_IMAGE in the guest). Default: the lab's default
  --timeout-min <n>         kill the VM after n minutes (default 90)
  --timeout-factor <n>      multiply vitest's test and hook timeouts (default 10: emulation is ~10x slower)
  --doctor-cluster          let doctor start its live 3-member cluster check too (about a minute)
  --as-user                 run doctor, experiments and tests as an unprivileged user in the docker
                            group with passwordless sudo (as on GitHub's runners), not as root
  --memory-mb <n>           guest memory (default 6144)
  --cpus <n>                guest CPUs (default 2)`;

const repoDir = path.resolve(new URL('../..', import.meta.url).pathname);
const cacheDir = path.join(repoDir, '.lab', 'vm');
const outDir = path.join(cacheDir, 'out');
const here = path.join(repoDir, 'test', 'vm');

/** Environment the guest's tests inherit when set here. */
const PASSED_ENV = /^(ETCD_IMAGE|ETCD_LAB_(?!VITEST_JSON|VM_)\w+|TESTCONTAINERS_RYUK_DISABLED)$/;

const phases: { name: string; seconds: number }[] = [];
async function timed<T>(name: string, work: () => Promise<T>): Promise<T> {
  const started = performance.now();
  try {
    return await work();
  } finally {
    phases.push({ name, seconds: (performance.now() - started) / 1000 });
  }
}

const log = (message: string): void => {
  process.stdout.write(`[vm-host] ${message}\n`);
};

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      image: { type: 'string', multiple: true },
      experiment: { type: 'string', multiple: true },
      'timeout-min': { type: 'string', default: '90' },
      'timeout-factor': { type: 'string', default: '10' },
      'doctor-cluster': { type: 'boolean', default: false },
      'as-user': { type: 'boolean', default: false },
      'memory-mb': { type: 'string', default: '6144' },
      cpus: { type: 'string', default: '2' },
      help: { type: 'boolean', default: false },
    },
  });
  const experiments = values.experiment ?? [];
  if (values.help || (positionals.length === 0 && experiments.length === 0)) {
    process.stderr.write(`${USAGE}\n`);
    return values.help ? 0 : 2;
  }
  const missingFile = positionals.find((file) => !existsSync(path.resolve(repoDir, file)));
  if (missingFile !== undefined) {
    process.stderr.write(`no such test file: ${missingFile}\n${USAGE}\n`);
    return 2;
  }
  const timeoutMs = positiveNumber(values['timeout-min'], '--timeout-min') * 60_000;
  const timeoutFactor = positiveNumber(values['timeout-factor'], '--timeout-factor');
  const memoryMb = positiveNumber(values['memory-mb'], '--memory-mb');
  const cpus = positiveNumber(values.cpus, '--cpus');
  if (process.getuid?.() !== 0)
    throw new Error('the VM harness needs root (apt-get, docker save, QEMU fsdev of /)');

  await mkdir(cacheDir, { recursive: true });
  const installed = await timed('tools (apt)', installMissingTools);
  if (installed.length > 0) log(`installed ${installed.join(' ')}`);

  const kernel = await timed('kernel fetch/unpack', () => fetchKernel(cacheDir));
  log(
    `kernel ${kernel.packageName} ${kernel.packageVersion}` +
      (kernel.unpacked ? (kernel.downloaded ? ' (downloaded, unpacked)' : ' (unpacked)') : ' (cached)'),
  );
  const boot = await timed('kernel uncompress', () => bootableKernel(kernel));
  log(
    boot.pvh
      ? `booting ${path.basename(boot.file)} through its PVH entry${boot.extracted ? ' (uncompressed now)' : ''}`
      : `booting the compressed ${path.basename(boot.file)} (no PVH entry found)`,
  );
  const initramfs = await timed('initramfs build', () =>
    buildInitramfs(cacheDir, kernel, path.join(here, 'initramfs-init.sh')),
  );
  log(`initramfs ${path.basename(initramfs.file)}${initramfs.built ? ' (built)' : ' (cached)'}`);

  const requests = values.image ?? [undefined];
  const archives = await timed('image save', async () => {
    await ensureDockerEngine();
    const saved = [];
    for (const request of requests) {
      // The lab's own resolution (present, pulled, Debian build or host build): the same image the
      // tests would use on this host.
      const resolved = await resolveEtcdImage(request === undefined ? {} : { image: request });
      const archive = await saveImage(cacheDir, resolved.image);
      log(
        `etcd image ${resolved.image} (etcd ${resolved.etcdVersion}) → ${path.basename(archive.archive)}${archive.saved ? ' (saved)' : ' (cached)'}`,
      );
      saved.push(archive.archive);
    }
    return saved;
  });

  const passEnv: Record<string, string> = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (value !== undefined && PASSED_ENV.test(name)) passEnv[name] = value;
  }
  const firstImage = requests[0];
  if (firstImage !== undefined) passEnv.ETCD_IMAGE = firstImage;
  const run: GuestRun = {
    repoDir,
    kernelRoot: kernel.root,
    kernelVersion: kernel.kernelVersion,
    imageArchives: archives,
    testFiles: positionals,
    experiments,
    timeoutFactor,
    doctorCluster: values['doctor-cluster'],
    asUser: values['as-user'],
    passEnv,
  };
  await rm(outDir, { recursive: true, force: true });
  await mkdir(outDir, { recursive: true });
  // The share's files are created by QEMU (root here) and the guest checks the host's modes:
  // the guest's unprivileged user can write results only into a directory open to all.
  if (run.asUser) await chmod(outDir, 0o1777);
  await writeFile(path.join(outDir, 'run.env'), guestEnvFile(run));

  const controller = new AbortController();
  const onSignal = (): void => {
    log('interrupted: stopping the VM');
    controller.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  log(`booting: ${[...experiments, ...positionals].join(' ')} (timeout ${timeoutMs / 60_000} min)`);
  const qemu = await runQemu({
    args: qemuArgs({
      kernel: boot.file,
      initramfs: initramfs.file,
      outDir,
      memoryMb,
      cpus,
      kernelCmdline: kernelCmdline(path.join(here, 'guest-init.sh')),
    }),
    timeoutMs,
    signal: controller.signal,
    onLine: (line) => process.stdout.write(`[guest] ${line}\n`),
  });
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);

  // Host-side phases, then the guest's own (from its marks on its uptime clock).
  const lines = phases.map(({ name, seconds }) => formatPhase(name, seconds));
  if (qemu.spawnToInitMs !== undefined)
    lines.push(formatPhase('QEMU start to guest init', qemu.spawnToInitMs / 1000));
  for (const { name, seconds } of phaseDurations(qemu.marks))
    lines.push(formatPhase(`guest: ${name}`, seconds));
  lines.push(formatPhase('VM total (QEMU wall time)', qemu.wallMs / 1000));
  log(`phase times:\n${lines.join('\n')}`);

  const failure = await readIfPresent(path.join(outDir, 'failure'));
  if (qemu.aborted) log('the VM was stopped by a signal');
  if (qemu.timedOut) log(`the VM did not finish within ${timeoutMs / 60_000} min and was killed`);
  if (failure !== undefined) log(`guest: ${failure.trim()}`);
  let experimentsOk = true;
  for (const experiment of experiments) {
    const name = path.basename(experiment, '.yaml');
    const status = (await readIfPresent(path.join(outDir, 'experiments', `${name}.status`)))?.trim();
    const result = await readIfPresent(path.join(outDir, 'experiments', name, 'result.json'));
    const parsed =
      result === undefined ? undefined : (JSON.parse(result) as { status?: string; verdict?: string });
    // Exit codes 0, 1 and 3 are verdicts (held, deviated, inconclusive); anything else is the lab failing.
    if (parsed?.status !== 'completed' || !['0', '1', '3'].includes(status ?? '')) experimentsOk = false;
    log(
      `experiment ${name}: ${parsed?.status ?? 'no result.json'}, ${parsed?.verdict ?? 'no verdict'} (exit ${status ?? '?'}) → ${path.join(outDir, 'experiments', name)}`,
    );
  }
  if (positionals.length === 0) return experimentsOk && !qemu.timedOut && !qemu.aborted ? 0 : 1;

  const report = await readIfPresent(path.join(outDir, 'vitest.json'));
  if (report === undefined) {
    log(`no vitest report in ${outDir}`);
    process.stdout.write('0 passed, 1 failed\n');
    return 1;
  }
  const tally = tallyVitestReport(report);
  for (const failed of tally.failures) log(`FAILED ${failed}`);
  if (tally.skipped > 0) process.stdout.write(`(${tally.skipped} skipped)\n`);
  process.stdout.write(`${tally.passed} passed, ${tally.failed} failed\n`);
  const vitestStatus = (await readIfPresent(path.join(outDir, 'vitest.status')))?.trim();
  const ok = experimentsOk && tally.failed === 0 && vitestStatus === '0' && !qemu.timedOut && !qemu.aborted;
  return ok ? 0 : 1;
}

function formatPhase(name: string, seconds: number): string {
  return `  ${name.padEnd(32)} ${seconds.toFixed(1).padStart(7)} s`;
}

function positiveNumber(text: string, option: string): number {
  const value = Number(text);
  if (!Number.isFinite(value) || value <= 0)
    throw new Error(`${option} must be a positive number, got "${text}"`);
  return value;
}

async function readIfPresent(file: string): Promise<string | undefined> {
  try {
    return await readFile(file, 'utf8');
  } catch {
    return undefined;
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`test:vm: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(2);
  },
);
