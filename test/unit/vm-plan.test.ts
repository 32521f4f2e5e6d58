import { describe, expect, it } from 'vitest';
import {
  guestEnvFile,
  hasPvhEntryNote,
  kernelCmdline,
  moduleLoadOrder,
  moduleName,
  parsePhaseMark,
  phaseDurations,
  qemuArgs,
  tallyVitestReport,
  xzPayloadOffset,
} from '../vm/vm-plan.ts';

// An excerpt of Debian 6.1's modules.dep: each line lists the transitive dependencies, in an
// order that loads back to front.
const MODULES_DEP = [
  'kernel/drivers/virtio/virtio.ko:',
  'kernel/drivers/virtio/virtio_ring.ko:',
  'kernel/drivers/virtio/virtio_pci_legacy_dev.ko:',
  'kernel/drivers/virtio/virtio_pci_modern_dev.ko:',
  'kernel/drivers/virtio/virtio_pci.ko: kernel/drivers/virtio/virtio_pci_legacy_dev.ko kernel/drivers/virtio/virtio_pci_modern_dev.ko kernel/drivers/virtio/virtio.ko kernel/drivers/virtio/virtio_ring.ko',
  'kernel/fs/netfs/netfs.ko:',
  'kernel/fs/fscache/fscache.ko: kernel/fs/netfs/netfs.ko',
  'kernel/net/9p/9pnet.ko:',
  'kernel/net/9p/9pnet_virtio.ko: kernel/net/9p/9pnet.ko kernel/drivers/virtio/virtio.ko kernel/drivers/virtio/virtio_ring.ko',
  'kernel/fs/9p/9p.ko: kernel/net/9p/9pnet.ko kernel/fs/fscache/fscache.ko kernel/fs/netfs/netfs.ko',
  'kernel/fs/overlayfs/overlay.ko:',
  '',
].join('\n');

describe('moduleLoadOrder', () => {
  it('puts every dependency before its dependents, each module once', () => {
    const order = moduleLoadOrder(MODULES_DEP, ['virtio_pci', '9pnet_virtio', '9p', 'overlay']);
    expect(order.map(moduleName)).toEqual([
      'virtio_ring',
      'virtio',
      'virtio_pci_modern_dev',
      'virtio_pci_legacy_dev',
      'virtio_pci',
      '9pnet',
      '9pnet_virtio',
      'netfs',
      'fscache',
      '9p',
      'overlay',
    ]);
    for (const [index, path] of order.entries()) {
      const deps = MODULES_DEP.split('\n')
        .find((line) => line.startsWith(`${path}:`))
        ?.split(':')[1]
        ?.trim()
        .split(/\s+/)
        .filter(Boolean);
      for (const dep of deps ?? []) expect(order.indexOf(dep)).toBeLessThan(index);
    }
  });

  it('refuses a module the kernel does not have, naming it', () => {
    expect(() => moduleLoadOrder(MODULES_DEP, ['sch_netem'])).toThrow(/sch_netem is not in modules.dep/);
  });

  it('names modules as modprobe does: no directory, no .ko(.xz), dashes as underscores', () => {
    expect(moduleName('kernel/net/sched/sch_netem.ko.xz')).toBe('sch_netem');
    expect(moduleName('kernel/drivers/net/dummy-thing.ko')).toBe('dummy_thing');
  });
});

describe('qemuArgs and kernelCmdline', () => {
  const args = qemuArgs({
    kernel: '/c/vmlinuz',
    initramfs: '/c/initramfs.cpio',
    outDir: '/c/out',
    memoryMb: 6144,
    cpus: 2,
    kernelCmdline: kernelCmdline('/repo/test/vm/guest-init.sh'),
  });
  const after = (flag: string): string[] => args.flatMap((a, i) => (a === flag ? [args[i + 1] ?? ''] : []));

  it('emulates (no KVM) with the requested memory and CPUs, and exits instead of rebooting', () => {
    expect(after('-accel')).toEqual(['tcg,thread=multi']);
    expect(args).not.toContain('-enable-kvm');
    expect(after('-m')).toEqual(['6144']);
    expect(after('-smp')).toEqual(['2']);
    expect(args).toContain('-no-reboot');
    expect(args).toContain('-nographic');
  });

  it('shares / read-only with remapped inodes and the out directory writable, under the tags the init mounts', () => {
    expect(after('-fsdev')).toEqual([
      'local,id=hostroot,path=/,readonly=on,security_model=none,multidevs=remap',
      'local,id=vmout,path=/c/out,security_model=none',
    ]);
    expect(after('-device')).toEqual([
      'virtio-9p-pci,fsdev=hostroot,mount_tag=hostroot',
      'virtio-9p-pci,fsdev=vmout,mount_tag=vmout',
    ]);
  });

  it('boots the kernel on the serial console, powers off on panic and names the second stage', () => {
    const cmdline = after('-append')[0] ?? '';
    expect(cmdline.split(' ')).toEqual(
      expect.arrayContaining(['console=ttyS0', 'panic=-1', 'etcdlab.stage2=/repo/test/vm/guest-init.sh']),
    );
    expect(after('-kernel')).toEqual(['/c/vmlinuz']);
    expect(after('-initrd')).toEqual(['/c/initramfs.cpio']);
  });

  it('refuses a second-stage path the init could not read back from the command line', () => {
    expect(() => kernelCmdline('/my repo/guest-init.sh')).toThrow(/spaces/);
  });
});

describe('guestEnvFile', () => {
  const run = {
    repoDir: '/work/main',
    kernelRoot: '/work/main/.lab/vm/kernel/k',
    kernelVersion: '6.1.0-57-amd64',
    imageArchives: ['/a/one.tar', '/a/two.tar'],
    testFiles: ['test/cluster/faults-process.test.ts'],
    experiments: ['slow-member', 'lab/cpu-starvation.yaml'],
    timeoutFactor: 10,
    doctorCluster: false,
    asUser: true,
    passEnv: { ETCD_IMAGE: "it's 3.5.30" },
  };

  it('exports each setting shell-quoted, lists as space-joined words', () => {
    const text = guestEnvFile(run);
    expect(text).toContain("export VM_IMAGE_ARCHIVES='/a/one.tar /a/two.tar'\n");
    expect(text).toContain("export VM_TEST_FILES='test/cluster/faults-process.test.ts'\n");
    expect(text).toContain("export VM_EXPERIMENTS='slow-member lab/cpu-starvation.yaml'\n");
    expect(text).toContain("export VM_TIMEOUT_FACTOR='10'\n");
    expect(text).toContain("export VM_DOCTOR_CLUSTER='0'\n");
    expect(text).toContain("export VM_AS_USER='1'\n");
    expect(text).toContain("export ETCD_IMAGE='it'\\''s 3.5.30'\n");
    expect(text).toMatch(
      /export VM_MODULES='[^']*\bsch_netem\b[^']*\bnf_tables\b|export VM_MODULES='[^']*\bnf_tables\b[^']*\bsch_netem\b/,
    );
  });

  it('refuses what would split into two words or is not a variable name', () => {
    expect(() => guestEnvFile({ ...run, testFiles: ['test/a b.test.ts'] })).toThrow(/spaces/);
    expect(() => guestEnvFile({ ...run, experiments: ['my experiment.yaml'] })).toThrow(/spaces/);
    expect(() => guestEnvFile({ ...run, passEnv: { 'BAD-NAME': 'x' } })).toThrow(/variable name/);
  });
});

describe('phase marks', () => {
  it('reads marks from console lines, with or without the kernel’s noise around them', () => {
    expect(parsePhaseMark('[vm] phase modules 19.53')).toEqual({ name: 'modules', uptimeSeconds: 19.53 });
    expect(parsePhaseMark('[vm] phase dockerd-up 41.02  ')).toEqual({
      name: 'dockerd-up',
      uptimeSeconds: 41.02,
    });
    expect(parsePhaseMark('[  3.1] random line')).toBeUndefined();
  });

  it('turns marks on the guest clock into durations, the first from the kernel’s start', () => {
    expect(
      phaseDurations([
        { name: 'kernel-to-init', uptimeSeconds: 2.5 },
        { name: 'modules', uptimeSeconds: 10 },
        { name: 'dockerd-up', uptimeSeconds: 30.25 },
      ]),
    ).toEqual([
      { name: 'kernel-to-init', seconds: 2.5 },
      { name: 'modules', seconds: 7.5 },
      { name: 'dockerd-up', seconds: 20.25 },
    ]);
  });
});

describe('tallyVitestReport', () => {
  it('counts as .ci/run does and names each failure with its first line', () => {
    const tally = tallyVitestReport(
      JSON.stringify({
        numPassedTests: 5,
        numFailedTests: 1,
        numPendingTests: 2,
        numTodoTests: 1,
        testResults: [
          {
            name: '/r/test/cluster/faults-resources.test.ts',
            assertionResults: [
              { fullName: 'cpu quota throttles', status: 'passed', failureMessages: [] },
              {
                fullName: 'cpu quota reads cfs_quota_us',
                status: 'failed',
                failureMessages: ['Error: ENOENT: no such file\n    at stack'],
              },
            ],
          },
        ],
      }),
    );
    expect(tally).toEqual({
      passed: 5,
      failed: 1,
      skipped: 3,
      failures: ['cpu quota reads cfs_quota_us: Error: ENOENT: no such file'],
    });
  });
});

describe('kernel uncompression', () => {
  it('finds the xz stream inside a bzImage, or says there is none', () => {
    const setup = Buffer.alloc(300, 0x90);
    const xz = Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00, 0x00, 0x04]);
    expect(xzPayloadOffset(Buffer.concat([setup, xz]))).toBe(300);
    expect(xzPayloadOffset(setup)).toBe(-1);
  });

  it('recognises the PVH entry note (type 18, name Xen) and not the other Xen notes', () => {
    const note = (type: number): Buffer =>
      Buffer.concat([
        Buffer.from([4, 0, 0, 0, 8, 0, 0, 0, type, 0, 0, 0]),
        Buffer.from('Xen\0'),
        Buffer.alloc(8),
      ]);
    expect(hasPvhEntryNote(Buffer.concat([note(6), note(18)]))).toBe(true);
    expect(hasPvhEntryNote(Buffer.concat([note(6), note(5)]))).toBe(false);
  });
});
