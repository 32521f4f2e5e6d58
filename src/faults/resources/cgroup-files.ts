import { readFile } from 'node:fs/promises';

/**
 * A process's CPU cgroup files, on either cgroup version, read from the host: what the CPU
 * throttle set and what it did, for residue checks and tests. v2 keeps every controller in the
 * one directory named by the `0::` line of /proc/<pid>/cgroup (cpu.max: "<quota> <period>",
 * "max" = unlimited); v1 has a cpu hierarchy of its own (cpu.cfs_quota_us, -1 = unlimited).
 * Both name their throttling count nr_throttled in cpu.stat.
 */

interface CpuCgroup {
  readonly version: 1 | 2;
  readonly dir: string;
}

async function cpuCgroupOf(pid: number): Promise<CpuCgroup | undefined> {
  const lines = (await readFile(`/proc/${pid}/cgroup`, 'utf8').catch(() => '')).split('\n');
  for (const line of lines) {
    const [, controllers, path] = line.split(':');
    if (controllers === undefined || path === undefined) continue;
    if (controllers === '') {
      // On a hybrid v1 host the 0:: line names a cgroup without cpu.max: not the CPU one.
      const dir = `/sys/fs/cgroup${path}`;
      if (await readable(`${dir}/cpu.max`)) return { version: 2, dir };
    } else if (controllers.split(',').includes('cpu')) {
      for (const mount of [`/sys/fs/cgroup/${controllers}`, '/sys/fs/cgroup/cpu']) {
        if (await readable(`${mount}${path}/cpu.cfs_quota_us`)) return { version: 1, dir: `${mount}${path}` };
      }
    }
  }
  return undefined;
}

const readable = (file: string): Promise<boolean> =>
  readFile(file, 'utf8').then(
    () => true,
    () => false,
  );

/** The CPU quota in µs per period; null when unlimited, undefined when the cgroup cannot be read. */
export async function cpuQuotaUs(pid: number): Promise<number | null | undefined> {
  const cgroup = await cpuCgroupOf(pid);
  if (cgroup === undefined) return undefined;
  const file = cgroup.version === 2 ? 'cpu.max' : 'cpu.cfs_quota_us';
  const quota = (await readFile(`${cgroup.dir}/${file}`, 'utf8')).trim().split(' ')[0];
  return quota === 'max' || quota === '-1' || quota === undefined ? null : Number(quota);
}

/** Periods in which the cgroup used up its quota and was stopped (cpu.stat nr_throttled). */
export async function cpuThrottledPeriods(pid: number): Promise<number | undefined> {
  const cgroup = await cpuCgroupOf(pid);
  if (cgroup === undefined) return undefined;
  const stat = await readFile(`${cgroup.dir}/cpu.stat`, 'utf8');
  const line = stat.split('\n').find((l) => l.startsWith('nr_throttled '));
  return line === undefined ? undefined : Number(line.split(' ')[1]);
}

/** Which cgroup version the process's CPU controller is on, or undefined when none is found. */
export async function cpuCgroupVersion(pid: number): Promise<1 | 2 | undefined> {
  return (await cpuCgroupOf(pid))?.version;
}
