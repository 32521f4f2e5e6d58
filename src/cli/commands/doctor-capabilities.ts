import type { HostCapabilities, Probe } from '../../faults/capabilities.ts';
import { PRIVILEGE_ENV, privilegeRoute } from '../../faults/host-command.ts';

/** How `doctor` shows what this host can do for fault injection. */

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
  // sudo is probed whenever privileged commands go through it: not root, or ETCD_LAB_PRIVILEGE=sudo.
  rows.push(
    privilegeRoute() === 'root'
      ? ['–', 'sudo', 'not needed (running as root)']
      : [
          caps.sudo ? '✓' : '✗',
          'sudo',
          (caps.sudo ? 'sudo -n true works' : 'sudo -n true fails: run as root or allow passwordless sudo') +
            (caps.root ? ` (${PRIVILEGE_ENV}=sudo: privileged commands go through sudo)` : ''),
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
