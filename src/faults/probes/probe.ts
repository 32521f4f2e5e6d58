import { constants as fsConstants } from 'node:fs';
import { access } from 'node:fs/promises';

/** One thing the host can or cannot do for fault injection. */
export interface Probe {
  readonly available: boolean;
  /** What was checked, and why it is unavailable / how to fix it. */
  readonly detail: string;
}

/** What this host can do for fault injection (see probeHostCapabilities in ../capabilities.ts). */
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

/** Prefix of the scratch network namespaces (and v1 freezer cgroups) probes create, suffixed with the probing pid. */
export const PROBE_NETNS_PREFIX = 'etcdlab-probe-';

export function available(detail: string): Probe {
  return { available: true, detail };
}

export function unavailable(detail: string): Probe {
  return { available: false, detail };
}

/** A command line as a shell would need it, for details a user can paste. */
export function shellJoin(command: string, args: readonly string[]): string {
  return [command, ...args]
    .map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`))
    .join(' ');
}

export async function exists(p: string): Promise<boolean> {
  try {
    await access(p, fsConstants.F_OK);
    return true;
  } catch {
    return false;
  }
}
