import { readFile } from 'node:fs/promises';
import type { StartedEtcdCluster } from '../cluster/started-etcd-cluster.ts';
import { FaultError } from '../errors.ts';
import { RULE_TAG_PREFIX, TABLES, taggedRules } from './network/iptables.ts';
import { recordedHelperPids } from '../host/helper-processes.ts';
import { delayHelpersInNetns } from './network/nfq-delay-process.ts';
import { labQdiscs } from './network/tc.ts';
import { cpuQuotaUs } from './resources/cgroup-files.ts';

/** Something a fault left behind. */
export interface Residue {
  readonly member: string;
  readonly kind:
    | 'iptables-rule'
    | 'qdisc'
    | 'delay-helper'
    | 'paused'
    | 'signal-stopped'
    | 'cpu-throttled'
    | 'not-running';
  readonly detail: string;
}

/**
 * Everything a fault could leave on a cluster's members: tagged iptables rules, the lab's qdiscs,
 * nfq-delay processes in their namespaces (or recorded for the run), a frozen or SIGSTOPped
 * process, a CPU quota, a member left down. Empty means every fault was healed.
 */
export async function findFaultResidue(cluster: StartedEtcdCluster): Promise<Residue[]> {
  const found: Residue[] = [];
  for (const member of cluster.members) {
    const add = (kind: Residue['kind'], detail: string): void => {
      found.push({ member: member.name, kind, detail });
    };
    const info = await member.container.inspect();
    if (!info.State.Running) {
      add('not-running', `container is ${info.State.Status}`);
      continue;
    }
    const pid = info.State.Pid;
    for (const table of TABLES) {
      for (const rule of await taggedRules(pid, RULE_TAG_PREFIX, table))
        add('iptables-rule', `${table}: ${rule}`);
    }
    for (const qdisc of await labQdiscs(pid)) add('qdisc', qdisc);
    for (const helper of await delayHelpersInNetns(pid))
      add('delay-helper', `nfq-delay pid ${helper} in its namespace`);
    if (info.State.Paused) add('paused', 'container is paused (cgroup frozen)');
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
    if (stat.slice(stat.lastIndexOf(')') + 2).startsWith('T'))
      add('signal-stopped', `etcd (pid ${pid}) is stopped`);
    const quota = info.HostConfig.CpuQuota ?? 0;
    if (quota > 0) add('cpu-throttled', `HostConfig.CpuQuota ${quota}`);
    const cgroupQuota = await cpuQuotaUs(pid);
    if (typeof cgroupQuota === 'number') add('cpu-throttled', `cgroup CPU quota ${cgroupQuota} µs`);
  }
  for (const pid of await recordedHelperPids(cluster.runId)) {
    found.push({
      member: '-',
      kind: 'delay-helper',
      detail: `nfq-delay pid ${pid} still recorded for the run`,
    });
  }
  return found;
}

/** Throws a FaultError listing the residue, if there is any. */
export async function assertNoFaultResidue(cluster: StartedEtcdCluster): Promise<void> {
  const residue = await findFaultResidue(cluster);
  if (residue.length > 0) {
    throw new FaultError(
      `fault residue on cluster ${cluster.runId}: ${residue.map((r) => `${r.member} ${r.kind}: ${r.detail}`).join('; ')}`,
    );
  }
}
