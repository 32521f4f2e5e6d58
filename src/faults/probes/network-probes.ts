import { processAlive } from '../../util/process-alive.ts';
import { runCommand, runPrivileged, type CommandOutcome } from '../host-command.ts';
import {
  available,
  PROBE_NETNS_PREFIX,
  shellJoin,
  unavailable,
  type HostCapabilities,
  type Probe,
} from './probe.ts';

/**
 * Network probes: tc qdiscs and iptables matches, tried for real in a throwaway network
 * namespace (no real interface or ruleset is touched), and nsenter.
 */

/** Runs commands that need CAP_NET_ADMIN/CAP_SYS_ADMIN: directly as root, else through `sudo -n`. */
export interface Privileged {
  readonly how: 'root' | 'sudo';
  run(command: string, args: readonly string[]): Promise<CommandOutcome>;
}

/** How to run privileged commands here, or undefined when neither root nor passwordless sudo. */
export function privileged(root: boolean, sudo: boolean): Privileged | undefined {
  if (!root && !sudo) return undefined;
  return { how: root ? 'root' : 'sudo', run: runPrivileged };
}

export type NetworkCaps = Pick<
  HostCapabilities,
  'tcNetem' | 'tcTbf' | 'tcHtb' | 'iptables' | 'iptablesStatistic' | 'nfqueue'
>;

const NETEM_FIX =
  'kernel lacks sch_netem (try `modprobe sch_netem`, or a kernel with CONFIG_NET_SCH_NETEM); ' +
  'delay can fall back to the nfq-delay helper via NFQUEUE';

export async function probeNetwork(priv: Privileged | undefined): Promise<NetworkCaps> {
  if (priv === undefined) {
    const no = unavailable('needs root or passwordless sudo (ip netns add, tc, iptables)');
    return { tcNetem: no, tcTbf: no, tcHtb: no, iptables: no, iptablesStatistic: no, nfqueue: no };
  }
  await sweepStaleProbeNamespaces(priv);
  const ns = `${PROBE_NETNS_PREFIX}${process.pid}`;
  const inNs = (command: string, args: readonly string[]): Promise<CommandOutcome> =>
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
      'kernel lacks sch_htb or cls_u32 (CONFIG_NET_SCH_HTB, CONFIG_NET_CLS_U32)',
      [
        ['class', 'add', 'dev', dev.name, 'parent', '1:', 'classid', '1:10', 'htb', 'rate', '1mbit'],
        // The composed fault tree (member-shaping.ts) sorts traffic into htb classes by port.
        [
          ...['filter', 'add', 'dev', dev.name, 'parent', '1:', 'protocol', 'ip', 'prio', '1'],
          ...['u32', 'match', 'ip', 'dport', '2380', '0xffff', 'flowid', '1:10'],
        ],
      ],
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
  inNs: (c: string, a: readonly string[]) => Promise<CommandOutcome>,
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
  inNs: (c: string, a: readonly string[]) => Promise<CommandOutcome>,
): Promise<Pick<NetworkCaps, 'iptables' | 'iptablesStatistic' | 'nfqueue'>> {
  const version = await runCommand('iptables', ['-V']);
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

export async function probeNsenter(priv: Privileged | undefined): Promise<Probe> {
  const version = await runCommand('nsenter', ['--version']);
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
