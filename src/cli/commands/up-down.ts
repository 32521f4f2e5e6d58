import { Option, type Command } from 'commander';
import type { EtcdOptions } from '../../cluster/etcd-options.ts';
import type { DataDirKind } from '../../cluster/member-launcher.ts';
import { BadInputError } from '../../errors.ts';
import { sweepLeftovers } from '../../host/cleanup.ts';
import { LABEL } from '../../host/run-labels.ts';
import { chooseEtcd } from '../../host/etcd-choice.ts';
import { addEtcdFlags, obtainChosenEtcd } from '../etcd-flag.ts';
import { checkEtcdTiming, integerIn, positiveInteger } from '../options.ts';

interface UpOptions {
  readonly members: number;
  readonly etcd?: string;
  readonly image?: string;
  readonly heartbeatMs?: number;
  readonly electionTimeoutMs?: number;
  readonly preVote?: boolean;
  readonly dataDir: DataDirKind;
  readonly json: boolean;
}

/** `etcd-lab up` / `down`: a cluster to poke at by hand, kept until `down`. */
export function registerUpDown(program: Command): void {
  const up = program
    .command('up')
    .description('start a cluster that stays up after this command, and print how to reach it')
    .option('-m, --members <n>', 'number of members (1-7)', integerIn(1, 7), 3);
  addEtcdFlags(up)
    .option('--heartbeat-ms <ms>', 'etcd --heartbeat-interval', positiveInteger)
    .option('--election-timeout-ms <ms>', 'etcd --election-timeout', positiveInteger)
    .option('--pre-vote', 'enable pre-vote (default: the etcd version’s default)')
    .option('--no-pre-vote', 'disable pre-vote')
    .addOption(
      new Option('--data-dir <kind>', 'memory (host tmpfs) or disk (Docker volume)')
        .choices(['memory', 'disk'])
        .default('memory'),
    )
    .option('--json', 'print endpoints as JSON', false)
    .action(async (options: UpOptions) => {
      const etcdOptions: EtcdOptions = {
        ...(options.heartbeatMs === undefined ? {} : { heartbeatMs: options.heartbeatMs }),
        ...(options.electionTimeoutMs === undefined ? {} : { electionTimeoutMs: options.electionTimeoutMs }),
        ...(options.preVote === undefined ? {} : { preVote: options.preVote }),
      };
      checkEtcdTiming(etcdOptions);
      const choice = chooseEtcd(options);
      await obtainChosenEtcd(choice);
      const { EtcdCluster } = await import('../../cluster/etcd-cluster.ts');
      const builder = new EtcdCluster()
        .withMembers(options.members)
        .withDataDir(options.dataDir)
        .withPersistence()
        .withEtcdOptions(etcdOptions);
      if (choice !== undefined) builder.withEtcd(choice.request);
      const cluster = await builder.start();
      const { leader, term } = await cluster.waitForStableLeader();
      const endpoints = cluster.members.map((m) => m.clientEndpoint).join(',');
      if (options.json) {
        process.stdout.write(
          `${JSON.stringify({ ...cluster.describe(), leader: leader.name, term, members: cluster.members.map((m) => ({ name: m.name, endpoint: m.clientEndpoint, container: m.containerName, ip: m.ip })) }, null, 2)}\n`,
        );
      } else {
        const first = cluster.members[0];
        process.stdout.write(
          [
            `cluster ${cluster.runId}: ${cluster.members.length} members, etcd ${cluster.host.image.etcdVersion} (${cluster.host.image.image}), leader ${leader.name} at term ${term}`,
            ...cluster.members.map(
              (m) => `  ${m.name}  ${m.clientEndpoint}  container ${m.containerName}  ip ${m.ip}`,
            ),
            '',
            'Try:',
            `  ETCDCTL_API=3 etcdctl --endpoints=${endpoints} endpoint status -w table`,
            `  docker exec ${first?.containerName ?? ''} /usr/local/bin/etcdctl member list -w table`,
            `  npm run lab -- down ${cluster.runId}`,
            '',
          ].join('\n'),
        );
      }
      cluster.detach();
    });

  program
    .command('down')
    .description('remove clusters started with `up` (all of them, or the given run IDs)')
    .argument('[runIds...]', 'run IDs printed by `up`')
    .action(async (runIds: string[]) => {
      const { docker, ensureDockerEngine } = await import('../../host/docker.ts');
      await ensureDockerEngine({ install: false });
      const persistent = await docker().listContainers({
        all: true,
        filters: { label: [`${LABEL.persistent}=true`] },
      });
      const known = new Set(
        persistent.map((c) => c.Labels[LABEL.run]).filter((id): id is string => id !== undefined),
      );
      // All of them are checked before any is removed: a typo removes nothing.
      const unknown = runIds.filter((runId) => !known.has(runId));
      if (unknown.length > 0) {
        throw new BadInputError(
          `no cluster started with \`up\` has run ID ${unknown.join(', ')} (running: ${[...known].join(', ') || 'none'})`,
        );
      }
      const targets = runIds.length > 0 ? runIds : [...known];
      for (const runId of targets) {
        const removed = await sweepLeftovers({ runId });
        process.stdout.write(`removed cluster ${runId} (${removed.containers} containers)\n`);
      }
      if (targets.length === 0) process.stdout.write('no clusters started with `up` are running\n');
    });
}
