import type { Command } from 'commander';
import { sweepLeftovers } from '../../host/cleanup.ts';

/** `etcd-lab clean`: the sweep every run does at start, by hand. */
export function registerClean(program: Command): void {
  program
    .command('clean')
    .description(
      'remove what killed runs left behind (containers, networks, volumes, data dirs, fault helpers)',
    )
    .option('--all', 'also remove live runs and clusters started with `up`', false)
    .action(async (options: { all: boolean }) => {
      const { ensureDockerEngine } = await import('../../host/docker.ts');
      await ensureDockerEngine({ install: false });
      const result = await sweepLeftovers({ includeLive: options.all });
      process.stdout.write(
        `removed ${result.containers} containers, ${result.networks} networks, ${result.volumes} volumes, ${result.dataDirs} data dirs, ${result.other} other\n`,
      );
    });
}
