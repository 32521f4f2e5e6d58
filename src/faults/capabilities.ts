import { execa } from 'execa';
import { createHash } from 'node:crypto';
import { constants as fsConstants } from 'node:fs';
import { access, chmod, mkdir, mkdtemp, readdir, readFile, rename, rm, rmdir, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** One thing the host can or cannot do for fault injection. */
export interface Probe {
  readonly available: boolean;
  /** What was checked, and why it is unavailable / how to fix it. */
  readonly detail: string;
}

export interface HostCapabilities {
  readonly root: boolean;
  /** `sudo -n true` works. Only probed when not root (false when root: not needed). */
  readonly sudo: boolean;
  readonly tcNetem: Probe;
  readonly tcTbf: Probe;
  readonly tcHtb: Probe;
  readonly iptables: Probe;
  readonly iptablesStatistic: Probe;
  readonly nfqueue: Probe;
  /** The nfq-delay helper (userspace delay when netem is missing) is built, or can be built. */
  readonly nfqDelayHelper: Probe;
  readonly nsenter: Probe;
  readonly cgroupVersion: 1 | 2 | null;
  readonly cgroupFreezer: Probe;
  readonly cpuQuota: Probe;
  readonly blkioThrottle: Probe;
}

const COMMAND_TIMEOUT_MS = 15_000;
const COMPILE_TIMEOUT_MS = 60_000;
export const NFQ_DELAY_INSTALL_HINT = 'apt-get install -y gcc libnetfilter-queue-dev';
/** Prefix of the scratch network namespaces the probe creates (suffixed with the probing pid). */
export const PROBE_NETNS_PREFIX = 'etcdlab-probe-';

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const NFQ_DELAY_SOURCE = path.join(REPO_ROOT, 'native', 'nfq-delay', 'nfq-delay.c');
const NFQ_DELAY_BIN_DIR = path.join(REPO_ROOT, '.lab', 'bin');
/** Every build of the helper is a file whose path starts with this (see {@link nfqDelayBinaryPath}). */
export const NFQ_DELAY_BINARY_PREFIX = path.join(NFQ_DELAY_BIN_DIR, 'nfq-delay');
const NFQ_DELAY_CFLAGS = ['-O2', '-Wall'] as const;
const NFQ_DELAY_LIBS = ['-lnetfilter_queue'] as const;

interface Outcome {
  readonly ok: boolean;
  readonly stdout: string;
  readonly stderr: string;
  /** One-line reason for a failure: stderr, spawn error, or exit code. */
  readonly reason: string;
}

async function run(
  command: string,
  args: readonly string[],
  timeoutMs = COMMAND_TIMEOUT_MS,
): Promise<Outcome> {
  const result = await execa(command, args, { reject: false, timeout: timeoutMs, stdin: 'ignore' });
  const stdout = typeof result.stdout === 'string' ? result.stdout : '';
  const stderr = typeof result.stderr === 'string' ? result.stderr : '';
  if (!result.failed) return { ok: true, stdout, stderr, reason: '' };
  let reason: string;
  if (result.timedOut) reason = `timed out after ${timeoutMs} ms`;
  else if (
    result.exitCode === undefined &&
    /ENOENT/.test(result.originalMessage ?? result.shortMessage ?? '')
  )
    reason = `${command}: command not found`;
  else if (stderr.trim() !== '') reason = oneLine(stderr);
  else reason = oneLine(result.originalMessage ?? result.shortMessage ?? `exit code ${result.exitCode}`);
  return { ok: false, stdout, stderr, reason };
}

function oneLine(text: string): string {
  const lines = text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '');
  return lines.slice(0, 3).join(' | ');
}

function shellJoin(command: string, args: readonly string[]): string {
  return [command, ...args]
    .map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`))
    .join(' ');
}

/** Runs commands that need CAP_NET_ADMIN/CAP_SYS_ADMIN: directly as root, else through `sudo -n`. */
interface Privileged {
  readonly how: 'root' | 'sudo';
  run(command: string, args: readonly string[]): Promise<Outcome>;
}

function privileged(root: boolean, sudo: boolean): Privileged | undefined {
  if (root) return { how: 'root', run: (c, a) => run(c, a) };
  if (sudo) return { how: 'sudo', run: (c, a) => run('sudo', ['-n', c, ...a]) };
  return undefined;
}

let cached: Promise<HostCapabilities> | undefined;

/**
 * What this host can do for fault injection, probed for real once per process (pass `fresh` to re-probe).
 * Network probes run in a throwaway network namespace, so no real interface or ruleset is touched.
 */
export function probeHostCapabilities(options: { readonly fresh?: boolean } = {}): Promise<HostCapabilities> {
  if (options.fresh === true || cached === undefined) {
    const probing = probeAll();
    cached = probing;
    probing.catch(() => {
      if (cached === probing) cached = undefined;
    });
  }
  return cached;
}

async function probeAll(): Promise<HostCapabilities> {
  const root = process.getuid?.() === 0;
  const sudo = root ? false : (await run('sudo', ['-n', 'true'])).ok;
  const priv = privileged(root, sudo);
  const [network, nsenter, cgroups, nfqDelayHelper] = await Promise.all([
    probeNetwork(priv),
    probeNsenter(priv),
    probeCgroups(root),
    probeNfqDelayHelper(),
  ]);
  return { root, sudo, ...network, nsenter, ...cgroups, nfqDelayHelper };
}

// ---------------------------------------------------------------------------------------------
// Network: tc qdiscs and iptables matches, tried in a scratch namespace.

type NetworkCaps = Pick<
  HostCapabilities,
  'tcNetem' | 'tcTbf' | 'tcHtb' | 'iptables' | 'iptablesStatistic' | 'nfqueue'
>;

const NETEM_FIX =
  'kernel lacks sch_netem (try `modprobe sch_netem`, or a kernel with CONFIG_NET_SCH_NETEM); ' +
  'delay can fall back to the nfq-delay helper via NFQUEUE';

async function probeNetwork(priv: Privileged | undefined): Promise<NetworkCaps> {
  if (priv === undefined) {
    const no = unavailable('needs root or passwordless sudo (ip netns add, tc, iptables)');
    return { tcNetem: no, tcTbf: no, tcHtb: no, iptables: no, iptablesStatistic: no, nfqueue: no };
  }
  await sweepStaleProbeNamespaces(priv);
  const ns = `${PROBE_NETNS_PREFIX}${process.pid}`;
  const inNs = (command: string, args: readonly string[]): Promise<Outcome> =>
    priv.run('ip', ['netns', 'exec', ns, command, ...args]);

  const added = await priv.run('ip', ['netns', 'add', ns]);
  if (!added.ok) {
    const no = unavailable(
      `could not create a scratch network namespace (ip netns add ${ns}): ${added.reason}`,
    );
    return { tcNetem: no, tcTbf: no, tcHtb: no, iptables: no, iptablesStatistic: no, nfqueue: no };
  }
  try {
    const dev = await addScratchInterface(priv, ns);
    const tcNetem = await probeQdisc(inNs, dev, ['netem', 'delay', '1ms'], NETEM_FIX);
    const tcTbf = await probeQdisc(
      inNs,
      dev,
      ['tbf', 'rate', '1mbit', 'burst', '32kbit', 'latency', '400ms'],
      'kernel lacks sch_tbf (CONFIG_NET_SCH_TBF)',
    );
    const tcHtb = await probeQdisc(
      inNs,
      dev,
      ['handle', '1:', 'htb', 'default', '10'],
      'kernel lacks sch_htb (CONFIG_NET_SCH_HTB)',
      [['class', 'add', 'dev', dev.name, 'parent', '1:', 'classid', '1:10', 'htb', 'rate', '1mbit']],
    );
    const ipt = await probeIptables(inNs);
    return { tcNetem, tcTbf, tcHtb, ...ipt };
  } finally {
    await deleteNamespace(priv, ns);
  }
}

interface Scratch {
  readonly name: string;
  readonly kind: 'dummy' | 'veth';
  /** Why no usable interface exists; the qdisc probes then report this instead of trying. */
  readonly error: string | undefined;
}

async function addScratchInterface(priv: Privileged, ns: string): Promise<Scratch> {
  const name = 'etlprobe0';
  let kind: Scratch['kind'] = 'dummy';
  let added = await priv.run('ip', ['-n', ns, 'link', 'add', name, 'type', 'dummy']);
  if (!added.ok) {
    kind = 'veth';
    const dummyReason = added.reason;
    added = await priv.run('ip', [
      '-n',
      ns,
      'link',
      'add',
      name,
      'type',
      'veth',
      'peer',
      'name',
      'etlprobe1',
    ]);
    if (!added.ok) {
      return { name, kind, error: `no scratch interface (dummy: ${dummyReason}; veth: ${added.reason})` };
    }
  }
  const up = await priv.run('ip', ['-n', ns, 'link', 'set', name, 'up']);
  return { name, kind, error: up.ok ? undefined : `cannot bring scratch interface up: ${up.reason}` };
}

async function probeQdisc(
  inNs: (c: string, a: readonly string[]) => Promise<Outcome>,
  dev: Scratch,
  qdisc: readonly string[],
  fix: string,
  followUps: readonly (readonly string[])[] = [],
): Promise<Probe> {
  const args = ['qdisc', 'add', 'dev', dev.name, 'root', ...qdisc];
  const tried = shellJoin('tc', args);
  if (dev.error !== undefined) return unavailable(`${tried}: not tried, ${dev.error}`);
  const added = await inNs('tc', args);
  try {
    if (!added.ok) return unavailable(`${tried} failed in a scratch namespace: ${added.reason} — ${fix}`);
    for (const followUp of followUps) {
      const r = await inNs('tc', followUp);
      if (!r.ok)
        return unavailable(
          `${shellJoin('tc', followUp)} failed in a scratch namespace: ${r.reason} — ${fix}`,
        );
    }
    return available(`${tried} works (tried on a ${dev.kind} in a scratch namespace)`);
  } finally {
    if (added.ok) await inNs('tc', ['qdisc', 'del', 'dev', dev.name, 'root']);
  }
}

async function probeIptables(
  inNs: (c: string, a: readonly string[]) => Promise<Outcome>,
): Promise<Pick<NetworkCaps, 'iptables' | 'iptablesStatistic' | 'nfqueue'>> {
  const version = await run('iptables', ['-V']);
  if (!version.ok) {
    const no = unavailable(`iptables not usable (${version.reason}); apt-get install -y iptables`);
    return { iptables: no, iptablesStatistic: no, nfqueue: no };
  }
  const variant = version.stdout.trim();
  const attempt = async (rule: readonly string[], fix: string): Promise<Probe> => {
    const args = ['-w', '5', '-A', 'OUTPUT', ...rule];
    const r = await inNs('iptables', args);
    const tried = shellJoin('iptables', args);
    return r.ok
      ? available(`${tried} works (${variant}, scratch namespace)`)
      : unavailable(`${tried} failed (${variant}): ${r.reason} — ${fix}`);
  };
  const iptables = await attempt(['-j', 'ACCEPT'], 'the kernel needs netfilter (ip_tables or nf_tables)');
  if (!iptables.available) {
    const no = unavailable(`not tried: plain iptables fails (${iptables.detail})`);
    return { iptables, iptablesStatistic: no, nfqueue: no };
  }
  const iptablesStatistic = await attempt(
    ['-m', 'statistic', '--mode', 'random', '--probability', '0.5', '-j', 'ACCEPT'],
    'kernel lacks xt_statistic (CONFIG_NETFILTER_XT_MATCH_STATISTIC)',
  );
  const nfqueue = await attempt(
    ['-j', 'NFQUEUE', '--queue-num', '1', '--queue-bypass'],
    'kernel lacks xt_NFQUEUE/nfnetlink_queue (CONFIG_NETFILTER_XT_TARGET_NFQUEUE, CONFIG_NETFILTER_NETLINK_QUEUE)',
  );
  return { iptables, iptablesStatistic, nfqueue };
}

async function deleteNamespace(priv: Privileged, ns: string): Promise<void> {
  for (let attempt = 0; attempt < 3; attempt++) {
    if ((await priv.run('ip', ['netns', 'del', ns])).ok) return;
    if (!(await listNetns(priv)).includes(ns)) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function listNetns(priv: Privileged): Promise<string[]> {
  const r = await priv.run('ip', ['netns', 'list']);
  if (!r.ok) return [];
  // Lines look like `name` or `name (id: 3)`.
  return r.stdout
    .split('\n')
    .map((l) => l.trim().split(/\s+/)[0] ?? '')
    .filter((n) => n !== '');
}

/** A probe killed mid-way leaves its namespace behind; remove those whose process is gone. */
async function sweepStaleProbeNamespaces(priv: Privileged): Promise<void> {
  for (const name of await listNetns(priv)) {
    if (!name.startsWith(PROBE_NETNS_PREFIX)) continue;
    const pid = Number(name.slice(PROBE_NETNS_PREFIX.length));
    if (!Number.isInteger(pid) || pid <= 0 || pid === process.pid) continue;
    if (!processAlive(pid)) await deleteNamespace(priv, name);
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM means it exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

// ---------------------------------------------------------------------------------------------
// nsenter

async function probeNsenter(priv: Privileged | undefined): Promise<Probe> {
  const version = await run('nsenter', ['--version']);
  if (!version.ok) return unavailable(`nsenter not found (${version.reason}); apt-get install -y util-linux`);
  if (priv === undefined) {
    return unavailable(`${version.stdout.trim()} present, but entering a namespace needs root or sudo`);
  }
  // Entering our own network namespace is a no-op that still exercises setns().
  const args = ['-t', String(process.pid), '-n', 'true'];
  const entered = await priv.run('nsenter', args);
  return entered.ok
    ? available(`${shellJoin('nsenter', args)} works (${version.stdout.trim()}, via ${priv.how})`)
    : unavailable(`${shellJoin('nsenter', args)} failed: ${entered.reason}`);
}

// ---------------------------------------------------------------------------------------------
// cgroups

interface Mount {
  readonly source: string;
  readonly mountPoint: string;
  readonly fsType: string;
  readonly options: readonly string[];
}

export function parseMounts(text: string): Mount[] {
  const unescape = (s: string): string =>
    s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
  const mounts: Mount[] = [];
  for (const line of text.split('\n')) {
    const [source, mountPoint, fsType, options] = line.split(' ');
    if (source === undefined || mountPoint === undefined || fsType === undefined || options === undefined)
      continue;
    mounts.push({ source, mountPoint: unescape(mountPoint), fsType, options: options.split(',') });
  }
  return mounts;
}

/** cgroup version the container runtime will use: a unified /sys/fs/cgroup is v2; any v1 hierarchy is v1. */
export function cgroupVersionFromMounts(mounts: readonly Mount[]): 1 | 2 | null {
  if (mounts.some((m) => m.mountPoint === '/sys/fs/cgroup' && m.fsType === 'cgroup2')) return 2;
  if (mounts.some((m) => m.fsType === 'cgroup')) return 1;
  if (mounts.some((m) => m.fsType === 'cgroup2')) return 2;
  return null;
}

type CgroupCaps = Pick<HostCapabilities, 'cgroupVersion' | 'cgroupFreezer' | 'cpuQuota' | 'blkioThrottle'>;

async function probeCgroups(root: boolean): Promise<CgroupCaps> {
  let mounts: Mount[];
  try {
    mounts = parseMounts(await readFile('/proc/self/mounts', 'utf8'));
  } catch (error) {
    const no = unavailable(`cannot read /proc/self/mounts: ${(error as Error).message}`);
    return { cgroupVersion: null, cgroupFreezer: no, cpuQuota: no, blkioThrottle: no };
  }
  const version = cgroupVersionFromMounts(mounts);
  if (version === 1) return probeCgroupV1(mounts, root);
  if (version === 2) {
    const unified =
      mounts.find((m) => m.mountPoint === '/sys/fs/cgroup' && m.fsType === 'cgroup2') ??
      mounts.find((m) => m.fsType === 'cgroup2');
    return probeCgroupV2(unified?.mountPoint ?? '/sys/fs/cgroup');
  }
  const no = unavailable('no cgroup or cgroup2 filesystem mounted');
  return { cgroupVersion: null, cgroupFreezer: no, cpuQuota: no, blkioThrottle: no };
}

async function probeCgroupV1(mounts: readonly Mount[], root: boolean): Promise<CgroupCaps> {
  const hierarchy = (controller: string): Mount | undefined =>
    mounts.find((m) => m.fsType === 'cgroup' && m.options.includes(controller));

  const controllerFile = async (controller: string, file: string, fix: string): Promise<Probe> => {
    const m = hierarchy(controller);
    if (m === undefined) return unavailable(`cgroup v1: no ${controller} hierarchy mounted; ${fix}`);
    const p = path.join(m.mountPoint, file);
    return (await exists(p))
      ? available(`cgroup v1: ${p} present`)
      : unavailable(`cgroup v1: ${p} missing; ${fix}`);
  };

  const cpuQuota = await controllerFile(
    'cpu',
    'cpu.cfs_quota_us',
    'kernel needs CONFIG_CFS_BANDWIDTH for CPU quotas',
  );
  const blkioThrottle = await controllerFile(
    'blkio',
    'blkio.throttle.write_bps_device',
    'kernel needs CONFIG_BLK_DEV_THROTTLING for I/O throttling',
  );

  let cgroupFreezer: Probe;
  const freezer = hierarchy('freezer');
  if (freezer === undefined) {
    cgroupFreezer = unavailable('cgroup v1: no freezer hierarchy mounted (CONFIG_CGROUP_FREEZER)');
  } else if (!root) {
    cgroupFreezer = available(
      `cgroup v1: freezer mounted at ${freezer.mountPoint} (child cgroup not tried: not root)`,
    );
  } else {
    // The root cgroup has no freezer.state, so only a child cgroup shows the freezer really works.
    const child = path.join(freezer.mountPoint, `${PROBE_NETNS_PREFIX}${process.pid}`);
    try {
      await mkdir(child);
      const state = path.join(child, 'freezer.state');
      cgroupFreezer = (await exists(state))
        ? available(`cgroup v1: freezer at ${freezer.mountPoint} (child cgroup has freezer.state)`)
        : unavailable(`cgroup v1: ${state} missing in a fresh child cgroup`);
    } catch (error) {
      cgroupFreezer = available(
        `cgroup v1: freezer mounted at ${freezer.mountPoint} (child cgroup not tried: ${(error as Error).message})`,
      );
    } finally {
      await rmdir(child).catch(() => undefined);
    }
  }
  return { cgroupVersion: 1, cgroupFreezer, cpuQuota, blkioThrottle };
}

async function probeCgroupV2(mountPoint: string): Promise<CgroupCaps> {
  let controllers: string[];
  try {
    controllers = (await readFile(path.join(mountPoint, 'cgroup.controllers'), 'utf8')).trim().split(/\s+/);
  } catch (error) {
    const no = unavailable(
      `cgroup v2: cannot read ${mountPoint}/cgroup.controllers: ${(error as Error).message}`,
    );
    return { cgroupVersion: 2, cgroupFreezer: no, cpuQuota: no, blkioThrottle: no };
  }
  const listed = `(${mountPoint}/cgroup.controllers: ${controllers.join(' ') || 'empty'})`;
  const cpuQuota = controllers.includes('cpu')
    ? available(`cgroup v2: cpu controller → cpu.max ${listed}`)
    : unavailable(`cgroup v2: cpu controller not available, no cpu.max ${listed}`);
  const blkioThrottle = controllers.includes('io')
    ? available(`cgroup v2: io controller → io.max ${listed}`)
    : unavailable(`cgroup v2: io controller not available, no io.max ${listed}`);

  // The v2 freezer is the cgroup.freeze file of every non-root cgroup (Linux >= 5.2), not a controller.
  let cgroupFreezer: Probe;
  const own = await ownCgroupV2Dir(mountPoint);
  if (own !== undefined && own !== mountPoint && (await exists(path.join(own, 'cgroup.freeze')))) {
    cgroupFreezer = available(`cgroup v2: ${path.join(own, 'cgroup.freeze')} present`);
  } else if (kernelAtLeast(5, 2)) {
    cgroupFreezer = available(`cgroup v2: kernel ${os.release()} has cgroup.freeze (>= 5.2)`);
  } else {
    cgroupFreezer = unavailable(`cgroup v2: kernel ${os.release()} predates cgroup.freeze (needs >= 5.2)`);
  }
  return { cgroupVersion: 2, cgroupFreezer, cpuQuota, blkioThrottle };
}

async function ownCgroupV2Dir(mountPoint: string): Promise<string | undefined> {
  try {
    const line = (await readFile('/proc/self/cgroup', 'utf8')).split('\n').find((l) => l.startsWith('0::'));
    return line === undefined ? undefined : path.join(mountPoint, line.slice(3));
  } catch {
    return undefined;
  }
}

function kernelAtLeast(major: number, minor: number): boolean {
  const m = /^(\d+)\.(\d+)/.exec(os.release());
  if (m === null) return false;
  const [maj, min] = [Number(m[1]), Number(m[2])];
  return maj > major || (maj === major && min >= minor);
}

// ---------------------------------------------------------------------------------------------
// nfq-delay helper

async function exists(p: string): Promise<boolean> {
  try {
    await access(p, fsConstants.F_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * Where the build of the current source lives: `.lab/bin/nfq-delay-<hash of source and flags>`.
 * A binary is never stale: a changed source (or a checkout that leaves an old binary newer than
 * the source, which an mtime comparison would trust) has another name, so it is built afresh.
 */
export async function nfqDelayBinaryPath(): Promise<string> {
  const hash = createHash('sha256')
    .update(await readFile(NFQ_DELAY_SOURCE))
    .update(JSON.stringify([NFQ_DELAY_CFLAGS, NFQ_DELAY_LIBS]))
    .digest('hex')
    .slice(0, 12);
  return `${NFQ_DELAY_BINARY_PREFIX}-${hash}`;
}

async function isExecutableFile(binary: string): Promise<boolean> {
  try {
    const info = await stat(binary);
    return info.isFile() && (info.mode & 0o111) !== 0;
  } catch {
    return false;
  }
}

/** Compiles the helper to `output`; resolves to an error message (with install hint) or undefined. */
async function compileNfqDelay(output: string): Promise<string | undefined> {
  if (!(await exists(NFQ_DELAY_SOURCE))) return `nfq-delay source not found at ${NFQ_DELAY_SOURCE}`;
  const gcc = await run('gcc', ['--version']);
  if (!gcc.ok) return `gcc not usable (${gcc.reason}); install with: ${NFQ_DELAY_INSTALL_HINT}`;
  const args = [...NFQ_DELAY_CFLAGS, '-o', output, NFQ_DELAY_SOURCE, ...NFQ_DELAY_LIBS];
  const r = await run('gcc', args, COMPILE_TIMEOUT_MS);
  if (r.ok) return undefined;
  const missingLib = /libnetfilter_queue|lnetfilter_queue|libnfnetlink/.test(r.stderr);
  const why = missingLib ? 'libnetfilter_queue headers/library missing' : 'compilation failed';
  return `${why}: ${shellJoin('gcc', args)}: ${r.reason}; install with: ${NFQ_DELAY_INSTALL_HINT}`;
}

async function probeNfqDelayHelper(): Promise<Probe> {
  if (!(await exists(NFQ_DELAY_SOURCE)))
    return unavailable(`nfq-delay source not found at ${NFQ_DELAY_SOURCE}`);
  const binary = await nfqDelayBinaryPath();
  if (await isExecutableFile(binary)) return available(`built: ${binary}`);
  const dir = await mkdtemp(path.join(os.tmpdir(), 'etcdlab-nfq-probe-'));
  try {
    const error = await compileNfqDelay(path.join(dir, 'nfq-delay'));
    return error === undefined
      ? available(`not built yet, but compiles (gcc + libnetfilter_queue); buildNfqDelayHelper() → ${binary}`)
      : unavailable(error);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

let building: Promise<string> | undefined;

/**
 * Compiles native/nfq-delay into .lab/bin (under a name that hashes its source, see
 * {@link nfqDelayBinaryPath}) unless that build exists, and returns the binary's path. Rejects with
 * the apt-get line to run when gcc or libnetfilter_queue is missing.
 */
export function buildNfqDelayHelper(): Promise<string> {
  building ??= (async () => {
    try {
      const binary = await nfqDelayBinaryPath();
      if (await isExecutableFile(binary)) return binary;
      await mkdir(NFQ_DELAY_BIN_DIR, { recursive: true });
      // Build beside the target and rename: concurrent lab processes never see a half-written binary.
      const tmp = `${binary}.tmp-${process.pid}-${Date.now()}`;
      try {
        const error = await compileNfqDelay(tmp);
        if (error !== undefined) throw new Error(`cannot build the nfq-delay helper: ${error}`);
        await chmod(tmp, 0o755);
        await rename(tmp, binary);
      } finally {
        await rm(tmp, { force: true });
      }
      await removeOtherBuilds(binary);
      return binary;
    } finally {
      building = undefined;
    }
  })();
  return building;
}

/** Older builds (and the unhashed name of earlier versions). A helper running one keeps running. */
async function removeOtherBuilds(current: string): Promise<void> {
  const names = await readdir(NFQ_DELAY_BIN_DIR).catch(() => [] as string[]);
  for (const name of names) {
    const file = path.join(NFQ_DELAY_BIN_DIR, name);
    if (file === current || !file.startsWith(NFQ_DELAY_BINARY_PREFIX) || name.includes('.tmp-')) continue;
    await rm(file, { force: true }).catch(() => undefined);
  }
}

// ---------------------------------------------------------------------------------------------
// Presentation

function available(detail: string): Probe {
  return { available: true, detail };
}

function unavailable(detail: string): Probe {
  return { available: false, detail };
}

type ProbeKey = {
  [K in keyof HostCapabilities]: HostCapabilities[K] extends Probe ? K : never;
}[keyof HostCapabilities];

const PROBE_LABELS: readonly (readonly [ProbeKey, string])[] = [
  ['tcNetem', 'tc netem'],
  ['tcTbf', 'tc tbf'],
  ['tcHtb', 'tc htb'],
  ['iptables', 'iptables'],
  ['iptablesStatistic', 'iptables statistic'],
  ['nfqueue', 'NFQUEUE'],
  ['nfqDelayHelper', 'nfq-delay helper'],
  ['nsenter', 'nsenter'],
  ['cgroupFreezer', 'cgroup freezer'],
  ['cpuQuota', 'cpu quota'],
  ['blkioThrottle', 'blkio throttle'],
];

/** Human-readable lines for `doctor`: `✓ name  detail` / `✗ name  detail` (`–` where not applicable). */
export function formatCapabilities(caps: HostCapabilities): string[] {
  const rows: [string, string, string][] = [
    caps.root
      ? ['✓', 'root', 'running as root']
      : ['✗', 'root', `not root (uid ${process.getuid?.() ?? '?'})`],
  ];
  rows.push(
    caps.root
      ? ['–', 'sudo', 'not needed (running as root)']
      : [
          caps.sudo ? '✓' : '✗',
          'sudo',
          caps.sudo ? 'sudo -n true works' : 'sudo -n true fails: run as root or allow passwordless sudo',
        ],
  );
  rows.push([
    caps.cgroupVersion === null ? '✗' : '✓',
    'cgroup version',
    caps.cgroupVersion === null ? 'no cgroup filesystem mounted' : `v${caps.cgroupVersion}`,
  ]);
  for (const [key, label] of PROBE_LABELS) {
    const probe = caps[key];
    rows.push([probe.available ? '✓' : '✗', label, probe.detail]);
  }
  const width = Math.max(...rows.map(([, name]) => name.length));
  return rows.map(([mark, name, detail]) => `${mark} ${name.padEnd(width)}  ${detail}`);
}
