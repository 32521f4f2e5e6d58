import { mkdir, readFile, rmdir } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import {
  available,
  exists,
  PROBE_NETNS_PREFIX,
  unavailable,
  type HostCapabilities,
  type Probe,
} from './probe.ts';

/** cgroup probes: which version the container runtime uses, and its freezer, CPU and I/O controllers. */

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

export async function probeCgroups(root: boolean): Promise<CgroupCaps> {
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
