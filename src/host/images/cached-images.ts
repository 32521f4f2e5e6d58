import { officialImageVersion, UPSTREAM_REPOSITORIES } from './etcd-request.ts';
import { DEBIAN_IMAGE_RECIPE, IMAGE_LABEL, type EtcdImageSource } from './provenance.ts';

/** The part of Docker's image list the lab reads (dockerode's ImageInfo has these fields). */
export interface ListedImage {
  readonly Id: string;
  readonly RepoTags?: readonly string[] | null;
  readonly Labels?: Readonly<Record<string, string>> | null;
  readonly Created: number;
}

/** An etcd image already on this host, with the version its label or official tag names. */
export interface CachedEtcdImage {
  readonly image: string;
  readonly imageId: string;
  readonly etcdVersion: string;
  readonly source: Exclude<EtcdImageSource, 'image'>;
  readonly created: number;
}

/**
 * The etcd images on this host the lab can use for a version without any network: official
 * images by tag (…/etcd:v3.5.16), and its own builds by label (etcd-lab.etcd-version plus
 * etcd-lab.source=debian of the current recipe, or etcd-lab.image=host-built). Newest first.
 */
export function cachedEtcdImages(images: readonly ListedImage[]): CachedEtcdImage[] {
  const found: CachedEtcdImage[] = [];
  for (const image of images) {
    const tags = (image.RepoTags ?? []).filter((tag) => tag !== '<none>:<none>');
    for (const tag of tags) {
      const version = officialImageVersion(tag);
      if (version !== undefined) {
        found.push({
          image: tag,
          imageId: image.Id,
          etcdVersion: version,
          source: 'registry',
          created: image.Created,
        });
      }
    }
    const labels = image.Labels ?? {};
    const version = labels[IMAGE_LABEL.etcdVersion];
    // A Debian build of an older recipe is not this lab's image any more (see DEBIAN_IMAGE_RECIPE).
    const source =
      labels[IMAGE_LABEL.source] === 'debian' && labels[IMAGE_LABEL.recipe] === String(DEBIAN_IMAGE_RECIPE)
        ? 'debian'
        : labels[IMAGE_LABEL.image] === 'host-built'
          ? 'host'
          : undefined;
    // The content-addressed tag (…-deb-<sha12>, …-host-<sha12>), not the moving alias.
    const tag = tags.find((name) => /-(deb|host)-[0-9a-f]{12}$/.test(name)) ?? tags[0];
    if (version !== undefined && source !== undefined && tag !== undefined) {
      found.push({ image: tag, imageId: image.Id, etcdVersion: version, source, created: image.Created });
    }
  }
  return found.sort((a, b) => b.created - a.created);
}

/** The cached image to use for `version` from `sources` (in that order of preference), if any. */
export function pickCachedImage(
  cached: readonly CachedEtcdImage[],
  version: string,
  sources: readonly CachedEtcdImage['source'][],
): CachedEtcdImage | undefined {
  for (const source of sources) {
    const match = cached.find((image) => image.etcdVersion === version && image.source === source);
    if (match) return match;
  }
  return undefined;
}

/** Repositories to list when looking for official images already pulled. */
export const OFFICIAL_REFERENCE_FILTERS = [...UPSTREAM_REPOSITORIES];
