import type { Command } from 'commander';

interface ImagesOptions {
  readonly refresh: boolean;
  readonly json: boolean;
}

/**
 * `etcd-lab images`: the etcd versions this host can run and how each is obtained — an image
 * already here, a build from Debian's packages of that version, or the host's own etcd. Reads
 * only local state once the Debian index has been fetched; --refresh updates the index and
 * builds every image that is missing for the packages it now names.
 */
export function registerImages(program: Command): void {
  program
    .command('images')
    .description('list the etcd versions this host can run and how each image is obtained')
    .option(
      '--refresh',
      'update the Debian package index, then obtain every version (build what is missing)',
      false,
    )
    .option('--json', 'print the catalog as JSON on stdout', false)
    .action(async (options: ImagesOptions) => {
      const { ensureDockerEngine } = await import('../../host/docker.ts');
      const { etcdVersionCatalog } = await import('../../host/images/version-catalog.ts');
      const { formatVersionOffers } = await import('../../host/images/version-offers.ts');
      await ensureDockerEngine({ install: false });
      const catalog = await etcdVersionCatalog({ refresh: options.refresh });
      if (options.json) {
        process.stdout.write(`${JSON.stringify(catalog, null, 2)}\n`);
        return;
      }
      const lines = formatVersionOffers(catalog.offers, catalog.index);
      if (catalog.index.updateMs !== undefined) {
        lines.push(`Index updated in ${(catalog.index.updateMs / 1000).toFixed(1)} s.`);
      }
      for (const result of catalog.obtained ?? []) {
        if ('error' in result) {
          lines.push(`${result.version}: ${result.error}`);
          continue;
        }
        const { provenance, timings } = result;
        const steps = Object.entries(timings)
          .filter(([name]) => name !== 'totalMs')
          .map(([name, ms]) => `${name.replace(/Ms$/, '')} ${(ms / 1000).toFixed(1)} s`)
          .join(', ');
        lines.push(
          `${provenance.requested}: etcd ${provenance.etcdVersion} (${provenance.goVersion ?? 'go ?'}) in ${provenance.image}, ` +
            `${provenance.source}${provenance.cached ? ', cached' : ''}; ${(timings.totalMs / 1000).toFixed(1)} s (${steps})`,
        );
      }
      process.stdout.write(`${lines.join('\n')}\n`);
    });
}
