import type { Command } from 'commander';
import { chooseEtcd } from '../../host/etcd-choice.ts';
import { addEtcdFlags } from '../etcd-flag.ts';

interface DoctorOptions {
  readonly etcd?: string;
  readonly image?: string;
  readonly cluster: boolean;
  readonly json: boolean;
}

/**
 * `etcd-lab doctor`: gets the host ready (Docker engine, image, sweep) and reports what it
 * can do. With --cluster (the default) it also proves the whole path on a real 3-member
 * cluster: start, elect, write, read back from every member, kill the leader, re-elect.
 */
export function registerDoctor(program: Command): void {
  const doctor = program
    .command('doctor')
    .description(
      'prepare this host (Docker, etcd image), report fault-injection capabilities, check a live cluster',
    );
  addEtcdFlags(doctor)
    .option('--no-cluster', 'skip the live 3-member cluster check')
    .option('--json', 'print the report as JSON on stdout', false)
    .action(async (options: DoctorOptions) => {
      const { prepareHost } = await import('../../host/prepare-host.ts');
      const { probeHostCapabilities } = await import('../../faults/capabilities.ts');
      const { formatCapabilities } = await import('./doctor-capabilities.ts');
      const choice = chooseEtcd(options);
      const host = await prepareHost(
        choice === undefined ? {} : { image: choice.request, origin: choice.origin },
      );
      const capabilities = await probeHostCapabilities();
      const cluster = options.cluster ? await liveClusterCheck(choice?.request) : undefined;
      if (options.json) {
        process.stdout.write(`${JSON.stringify({ host, capabilities, cluster }, null, 2)}\n`);
        return;
      }
      const lines = [
        `Docker engine   ${host.docker.serverVersion} (${host.docker.action}; cgroup v${host.docker.cgroupVersion}, ${host.docker.cgroupDriver})`,
        `Reaper          ${host.ryuk ? 'Ryuk' : 'none'}: ${host.ryukDetail}`,
        `etcd image      ${host.image.image} — etcd ${host.image.etcdVersion} (${host.image.provenance.source}${
          host.image.provenance.cached ? ', cached' : ''
        }${host.image.image === host.image.requested ? '' : `; requested ${host.image.requested}`})`,
        '',
        'Fault injection on this host:',
        ...formatCapabilities(capabilities).map((line) => `  ${line}`),
      ];
      if (cluster) {
        lines.push(
          '',
          'Live check on a 3-member cluster:',
          `  ready in ${cluster.readyMs.toFixed(0)} ms; leader ${cluster.leader} at term ${cluster.term}`,
          `  write + serializable read from all ${cluster.members} members: ok`,
          `  leader killed: ${cluster.newLeader} elected at term ${cluster.newTerm} after ${cluster.reelectionMs.toFixed(0)} ms (election timeout ${cluster.electionTimeoutMs} ms)`,
        );
      }
      process.stdout.write(`${lines.join('\n')}\n`);
    });
}

// The import sits apart from the `await using` below: TypeScript's downlevelling of `await using`
// (target ES2022) wraps the function body and then leaves a dynamic import in it with its `.ts`
// extension, so the build would look for dist/cluster/etcd-cluster.ts (scripts/check-dist.ts).
async function liveClusterCheck(image: string | undefined) {
  const { EtcdCluster } = await import('../../cluster/etcd-cluster.ts');
  return startAndCheckCluster(EtcdCluster, image);
}

async function startAndCheckCluster(
  EtcdCluster: typeof import('../../cluster/etcd-cluster.ts').EtcdCluster,
  image: string | undefined,
) {
  const started = performance.now();
  const builder = new EtcdCluster().withMembers(3);
  if (image !== undefined) builder.withEtcd(image);
  await using cluster = await builder.start();
  const readyMs = performance.now() - started;
  const { leader, term } = await cluster.waitForStableLeader();
  await cluster.client().put('etcd-lab/doctor').value('ok');
  await cluster.waitForConvergence();
  for (const member of cluster.members) {
    const value = await cluster.memberClient(member).get('etcd-lab/doctor').serializable(true).string();
    if (value !== 'ok') throw new Error(`member ${member.name} returned ${String(value)} after a write`);
  }
  const killedAt = performance.now();
  await cluster.kill(leader);
  const next = await cluster.waitForStableLeader({ pollMs: 10 });
  return {
    readyMs,
    members: cluster.members.length,
    leader: leader.name,
    term,
    newLeader: next.leader.name,
    newTerm: next.term,
    reelectionMs: performance.now() - killedAt,
    electionTimeoutMs: cluster.describe().electionTimeoutMs,
  };
}
