/**
 * The pure parts of the VM harness: QEMU's argument list, the kernel command line, the order in
 * which the first-stage init loads modules, the file that tells the guest what to run, the
 * guest's phase markers and the closing "N passed, N failed" line. No I/O here, so
 * test/unit/vm-plan.test.ts can pin each of them.
 */

/** Mount tags of the two virtio-9p shares. */
export const HOST_ROOT_TAG = 'hostroot';
export const OUT_TAG = 'vmout';
/** Where the guest mounts the writable share (inside the overlay root). */
export const GUEST_OUT_DIR = '/vm-out';

/**
 * Modules the first stage needs before it can mount anything: virtio PCI, 9p over virtio and
 * overlayfs. Their dependencies come from modules.dep (see {@link moduleLoadOrder}).
 */
export const STAGE1_MODULES = ['virtio_pci', '9pnet_virtio', '9p', 'overlay'] as const;

/**
 * Modules the lab and Docker need in the guest, loaded by the second stage with modprobe:
 * Docker's bridge network and its iptables (nf_tables backend) rules, overlay2, and every
 * fault mechanism the lab probes for (netem, tbf, htb, prio + u32, iptables statistic and
 * NFQUEUE, dummy for the probes' scratch interface).
 */
export const GUEST_MODULES = [
  'nf_tables',
  'nft_compat',
  'nft_chain_nat',
  'nft_ct',
  'nf_nat',
  'nf_conntrack',
  'xt_MASQUERADE',
  'xt_addrtype',
  'xt_conntrack',
  'xt_statistic',
  'xt_comment',
  'xt_tcpudp',
  'xt_multiport',
  'xt_NFQUEUE',
  'nfnetlink_queue',
  'br_netfilter',
  'bridge',
  'veth',
  'dummy',
  'sch_netem',
  'sch_tbf',
  'sch_prio',
  'sch_htb',
  'cls_u32',
  'iptable_nat',
  'iptable_filter',
  'iptable_mangle',
  'ip_tables',
] as const;

/**
 * The .ko paths (relative to lib/modules/<version>/) to insmod, dependencies first, each once,
 * for the wanted modules. modules.dep lines are `path: dep dep…` where the dependency list is
 * already the transitive closure, ordered so that loading it back to front works.
 */
export function moduleLoadOrder(modulesDep: string, wanted: readonly string[]): string[] {
  const depsByName = new Map<string, { path: string; deps: string[] }>();
  for (const line of modulesDep.split('\n')) {
    const [path, rest] = line.split(':');
    if (path === undefined || rest === undefined || path.trim() === '') continue;
    depsByName.set(moduleName(path), { path: path.trim(), deps: rest.trim().split(/\s+/).filter(Boolean) });
  }
  const order: string[] = [];
  const add = (path: string): void => {
    if (!order.includes(path)) order.push(path);
  };
  for (const name of wanted) {
    const entry = depsByName.get(normalizeModuleName(name));
    if (entry === undefined) throw new Error(`module ${name} is not in modules.dep`);
    for (const dep of [...entry.deps].reverse()) add(dep);
    add(entry.path);
  }
  return order;
}

/** `kernel/net/9p/9pnet_virtio.ko(.xz)` → `9pnet_virtio`; modprobe treats - and _ alike. */
export function moduleName(path: string): string {
  const file = path.trim().split('/').pop() ?? '';
  return normalizeModuleName(file.replace(/\.ko(\.\w+)?$/, ''));
}

const normalizeModuleName = (name: string): string => name.replace(/-/g, '_');

/** Where the xz stream of the compressed kernel starts in a bzImage (Debian's are xz), or -1. */
export function xzPayloadOffset(bzImage: Uint8Array): number {
  return Buffer.from(bzImage.buffer, bzImage.byteOffset, bzImage.byteLength).indexOf(XZ_MAGIC);
}
const XZ_MAGIC = Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]);

/**
 * Whether an uncompressed vmlinux has Xen's PVH entry note (XEN_ELFNOTE_PHYS32_ENTRY, type 18,
 * name "Xen"): QEMU then jumps straight into it, with no real-mode setup and no decompression.
 * An ELF note is namesz, descsz, type (32-bit little-endian each), then the name.
 */
export function hasPvhEntryNote(vmlinux: Uint8Array): boolean {
  return Buffer.from(vmlinux.buffer, vmlinux.byteOffset, vmlinux.byteLength).includes(PVH_NOTE_TAIL);
}
const PVH_NOTE_TAIL = Buffer.from([0x12, 0, 0, 0, 0x58, 0x65, 0x6e, 0]);

export interface QemuPlan {
  readonly kernel: string;
  readonly initramfs: string;
  /** Host directory shared read-write as {@link OUT_TAG}. */
  readonly outDir: string;
  readonly memoryMb: number;
  readonly cpus: number;
  readonly kernelCmdline: string;
}

/** The qemu-system-x86_64 argument list: pure emulation (no KVM here), serial console on stdio. */
export function qemuArgs(plan: QemuPlan): string[] {
  return [
    // Multi-threaded TCG: each virtual CPU gets a host thread.
    '-accel',
    'tcg,thread=multi',
    // qemu64 plus the SSE4.2/POPCNT that Node and Go look for. Not `-cpu max`: dockerd's start and
    // docker load took about twice as long with it (docs/vm.md), likely because Go and OpenSSL
    // then pick AVX2/SHA-NI code that TCG emulates slowly.
    '-cpu',
    'qemu64,+ssse3,+sse4.1,+sse4.2,+popcnt',
    '-m',
    String(plan.memoryMb),
    '-smp',
    String(plan.cpus),
    '-nographic',
    // A guest power-off or panic ends QEMU instead of rebooting.
    '-no-reboot',
    '-nic',
    'none',
    '-kernel',
    plan.kernel,
    '-initrd',
    plan.initramfs,
    '-append',
    plan.kernelCmdline,
    // This machine's root, read-only: the guest runs the host's node, dockerd and the repo in place.
    // multidevs=remap keeps inode numbers unique across the host's several filesystems.
    '-fsdev',
    'local,id=hostroot,path=/,readonly=on,security_model=none,multidevs=remap',
    '-device',
    `virtio-9p-pci,fsdev=hostroot,mount_tag=${HOST_ROOT_TAG}`,
    '-fsdev',
    `local,id=vmout,path=${plan.outDir},security_model=none`,
    '-device',
    `virtio-9p-pci,fsdev=vmout,mount_tag=${OUT_TAG}`,
  ];
}

/** Kernel command line: serial console, reboot (= QEMU exit) on panic, the second stage to run. */
export function kernelCmdline(stage2Script: string): string {
  if (/\s/.test(stage2Script))
    throw new Error(`stage-2 script path must not contain spaces: ${stage2Script}`);
  return [
    'console=ttyS0',
    'loglevel=4',
    'panic=-1',
    // Speculative-execution mitigations only cost time under emulation; the guest runs nothing untrusted.
    'mitigations=off',
    `etcdlab.stage2=${stage2Script}`,
  ].join(' ');
}

export interface GuestRun {
  /** The repository root; the guest sees it at the same path through the overlay. */
  readonly repoDir: string;
  /** Unpacked kernel package root (has lib/modules/<version>/), for modprobe in the guest. */
  readonly kernelRoot: string;
  readonly kernelVersion: string;
  /** docker save archives to load (host paths, visible in the guest at the same paths). */
  readonly imageArchives: readonly string[];
  readonly testFiles: readonly string[];
  /** Experiments (names from lab/ or files) the guest runs with `etcd-lab run` before the tests. */
  readonly experiments: readonly string[];
  /** Multiplies every vitest project's testTimeout and hookTimeout (emulation is ~10x slower). */
  readonly timeoutFactor: number;
  /** Run doctor's live 3-member cluster check too (about a minute under emulation). */
  readonly doctorCluster: boolean;
  /**
   * Run doctor, experiments and tests as an unprivileged user in the docker group with
   * passwordless sudo (as on GitHub's runners), not as root.
   */
  readonly asUser: boolean;
  /** Environment passed through to the tests (ETCD_IMAGE, ETCD_LAB_*). */
  readonly passEnv: Readonly<Record<string, string>>;
}

/** The run.env the second stage sources: plain `NAME='value'` lines, arrays as space-joined words. */
export function guestEnvFile(run: GuestRun): string {
  const lines: [string, string][] = [
    ['VM_REPO_DIR', run.repoDir],
    ['VM_KERNEL_ROOT', run.kernelRoot],
    ['VM_KERNEL_VERSION', run.kernelVersion],
    ['VM_MODULES', GUEST_MODULES.join(' ')],
    ['VM_IMAGE_ARCHIVES', run.imageArchives.join(' ')],
    ['VM_TEST_FILES', run.testFiles.join(' ')],
    ['VM_EXPERIMENTS', run.experiments.join(' ')],
    ['VM_TIMEOUT_FACTOR', String(run.timeoutFactor)],
    ['VM_DOCTOR_CLUSTER', run.doctorCluster ? '1' : '0'],
    ['VM_AS_USER', run.asUser ? '1' : '0'],
  ];
  for (const word of [...run.imageArchives, ...run.testFiles, ...run.experiments]) {
    if (/\s/.test(word)) throw new Error(`paths passed to the guest must not contain spaces: ${word}`);
  }
  for (const [name, value] of Object.entries(run.passEnv)) {
    if (!/^[A-Z_][A-Z0-9_]*$/.test(name)) throw new Error(`not an environment variable name: ${name}`);
    lines.push([name, value]);
  }
  return lines.map(([name, value]) => `export ${name}=${shellQuote(value)}`).join('\n') + '\n';
}

export function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

/** The guest's phase marker: `[vm] phase <name> <seconds since the guest kernel started>`. */
export interface PhaseMark {
  readonly name: string;
  readonly uptimeSeconds: number;
}

export function parsePhaseMark(line: string): PhaseMark | undefined {
  const match = /\[vm\] phase (\S+) (\d+(?:\.\d+)?)\s*$/.exec(line);
  if (match === null) return undefined;
  return { name: match[1] ?? '', uptimeSeconds: Number(match[2]) };
}

/** Each phase's duration: from the previous mark (or the kernel's start) to its own. */
export function phaseDurations(marks: readonly PhaseMark[]): { name: string; seconds: number }[] {
  let previous = 0;
  return marks.map((mark) => {
    const seconds = mark.uptimeSeconds - previous;
    previous = mark.uptimeSeconds;
    return { name: mark.name, seconds };
  });
}

interface VitestJsonReport {
  readonly numPassedTests?: number;
  readonly numFailedTests?: number;
  readonly numPendingTests?: number;
  readonly numTodoTests?: number;
  readonly testResults?: readonly {
    readonly name?: string;
    readonly assertionResults?: readonly {
      readonly fullName?: string;
      readonly status?: string;
      readonly failureMessages?: readonly string[];
    }[];
  }[];
}

export interface TestTally {
  readonly passed: number;
  readonly failed: number;
  readonly skipped: number;
  /** One line per failed test: its full name and the first line of its failure. */
  readonly failures: readonly string[];
}

/** The tally of vitest's JSON report (the same fields .ci/run reads). */
export function tallyVitestReport(json: string): TestTally {
  const report = JSON.parse(json) as VitestJsonReport;
  const failures: string[] = [];
  for (const file of report.testResults ?? []) {
    for (const test of file.assertionResults ?? []) {
      if (test.status !== 'failed') continue;
      const firstLine = (test.failureMessages?.[0] ?? '').split('\n')[0] ?? '';
      failures.push(`${test.fullName ?? '?'}: ${firstLine}`);
    }
  }
  return {
    passed: report.numPassedTests ?? 0,
    failed: report.numFailedTests ?? 0,
    skipped: (report.numPendingTests ?? 0) + (report.numTodoTests ?? 0),
    failures,
  };
}
