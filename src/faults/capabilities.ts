import { privilegeRoute, runCommand } from './host-command.ts';
import { probeNfqDelayHelper } from './network/nfq-delay-build.ts';
import { probeCgroups } from './probes/cgroup-probes.ts';
import { privileged, probeNetwork, probeNsenter } from './probes/network-probes.ts';
import type { HostCapabilities } from './probes/probe.ts';

export type { HostCapabilities, Probe } from './probes/probe.ts';

/**
 * What this host can do for fault injection, as one record every fault's check() reads. The
 * probes themselves live in ./probes (network: tc, iptables, nsenter; cgroups) and, for the
 * nfq-delay helper, beside its build in ./network/nfq-delay-build.ts.
 */

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
  const direct = privilegeRoute() === 'root';
  const sudo = direct ? false : (await runCommand('sudo', ['-n', 'true'])).ok;
  const priv = privileged(direct, sudo);
  const [network, nsenter, cgroups, nfqDelayHelper] = await Promise.all([
    probeNetwork(priv),
    probeNsenter(priv),
    probeCgroups(root),
    probeNfqDelayHelper(),
  ]);
  return { root, sudo, ...network, nsenter, ...cgroups, nfqDelayHelper };
}
