import type { Command } from 'commander';
import type { EtcdChoice } from '../host/etcd-choice.ts';
import { etcdRequest, etcdRequestOrList, imageReference } from './options.ts';

/** What `--etcd` says in every command's help. */
export const ETCD_FLAG_HELP =
  'etcd version (e.g. 3.5.30; `etcd-lab images` lists them) or image reference; default: $ETCD_IMAGE, else the official etcd image';

/** Adds `--etcd <version|image>` and its alias `--image <image>` (kept for existing scripts; both at once is refused). */
export function addEtcdFlags(
  command: Command,
  etcdHelp = ETCD_FLAG_HELP,
  { matrix = false }: { readonly matrix?: boolean } = {},
): Command {
  return command
    .option(
      matrix ? '--etcd <versions>' : '--etcd <version|image>',
      etcdHelp,
      matrix ? etcdRequestOrList : etcdRequest,
    )
    .option('--image <image>', 'the same as --etcd with an image reference (older spelling)', imageReference);
}

/**
 * Obtains the chosen etcd image now, before anything starts: a version nothing here offers is
 * a one-line BadInputError naming the flag (or file field) and the versions that are available.
 * The result is kept for the process (resolveEtcdImage), so the clusters started later reuse it.
 */
export async function obtainChosenEtcd(choice: EtcdChoice | undefined): Promise<void> {
  if (choice === undefined) return;
  const { ensureDockerEngine } = await import('../host/docker.ts');
  const { resolveEtcdImage } = await import('../host/etcd-image.ts');
  await ensureDockerEngine();
  await resolveEtcdImage({ image: choice.request, origin: choice.origin });
}
