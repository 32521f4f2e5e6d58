import { progress } from '../../util/log.ts';
import { PrivateAptRoot } from './apt-root.ts';
import type { DebianCandidate } from './debian-index.ts';
import {
  hostEtcdVersion,
  listCachedImages,
  obtainEtcdImage,
  type ObtainedEtcdImage,
} from './obtain-etcd-image.ts';
import { etcdVersionOffers, type EtcdVersionOffer } from './version-offers.ts';

export interface EtcdVersionCatalog {
  readonly offers: readonly EtcdVersionOffer[];
  readonly index: {
    readonly dir: string;
    readonly dates: Readonly<Record<string, string>>;
    /** Set when the index could not be updated or read; the listing then shows what is cached. */
    readonly problem?: string;
    readonly updateMs?: number;
  };
  /** With refresh: what obtaining each version did (or why it failed). */
  readonly obtained?: readonly (ObtainedEtcdImage | { readonly version: string; readonly error: string })[];
}

/**
 * The versions this host can run and how each is obtained. Reads the local index (fetching it
 * once when it has never been fetched); with `refresh`, updates it and then obtains every
 * version, building the images that are missing for the packages the index now names.
 */
export async function etcdVersionCatalog(
  options: { readonly refresh?: boolean; readonly aptRoot?: PrivateAptRoot } = {},
): Promise<EtcdVersionCatalog> {
  const root = options.aptRoot ?? new PrivateAptRoot();
  let problem: string | undefined;
  let updateMs: number | undefined;
  let candidates: DebianCandidate[] = [];
  try {
    await root.ensureConfig();
    if (options.refresh === true || !(await root.hasLists())) {
      progress(`updating the Debian package index in ${root.dir}…`);
      updateMs = await root.update();
    }
    candidates = await root.candidates();
  } catch (error) {
    problem = (error as Error).message.split('\n')[0];
  }
  let obtained: EtcdVersionCatalog['obtained'];
  if (options.refresh === true) {
    const versions = etcdVersionOffers(await listCachedImages(), candidates, await hostEtcdVersion());
    const results = [];
    for (const { version } of versions) {
      try {
        // The index was just updated: obtaining uses it as it is, for every version.
        results.push(await obtainEtcdImage(version, { aptRoot: root, refresh: true, indexUpdated: true }));
      } catch (error) {
        results.push({ version, error: (error as Error).message.split('\n')[0] ?? '' });
      }
    }
    obtained = results;
  }
  const offers = etcdVersionOffers(await listCachedImages(), candidates, await hostEtcdVersion());
  return {
    offers,
    index: {
      dir: root.dir,
      dates: await root.indexDates(),
      ...(problem === undefined ? {} : { problem }),
      ...(updateMs === undefined ? {} : { updateMs }),
    },
    ...(obtained === undefined ? {} : { obtained }),
  };
}
