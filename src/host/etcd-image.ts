import { BadInputError, EtcdImageError } from '../errors.ts';
import { progress, warn } from '../util/log.ts';
import { docker } from './docker.ts';
import { etcdRequestProblem } from './etcd-choice.ts';
import { DEFAULT_ETCD_IMAGE } from './image-reference.ts';
import { parseEtcdRequest } from './images/etcd-request.ts';
import { debianFromLabels, parseEtcdVersionOutput, type EtcdImageProvenance } from './images/provenance.ts';
import {
  buildImageFromHostBinaries,
  ETCD_BINARY,
  ETCDCTL_BINARY,
  imagePresent,
  tryPull,
} from './images/image-sources.ts';
import { runOneShot } from './one-shot.ts';

export { DEFAULT_ETCD_IMAGE, imageReferenceProblem } from './image-reference.ts';
export {
  buildImageFromHostBinaries,
  ETCD_BINARY,
  ETCDCTL_BINARY,
  HOST_ETCD,
  imagePresent,
  tryPull,
} from './images/image-sources.ts';

/** Stable alias (etcd-lab/etcd:local) of the newest host-built image, for docker-compose.yml. */
const HOST_BUILT_ALIAS = { repo: 'etcd-lab/etcd', tag: 'local' } as const;

export interface EtcdImageOptions {
  /**
   * etcd to run: a version ("3.5.30", obtained with obtainEtcdImage: cached image, registry,
   * Debian build, host binary) or an image reference. Default: ETCD_IMAGE from the environment
   * (either form too), else {@link DEFAULT_ETCD_IMAGE}.
   */
  readonly image?: string;
  /** How a refusal names where the request came from ("--etcd", "lab/x.yaml: etcd"). Default "image" or "ETCD_IMAGE". */
  readonly origin?: string;
  /** How long a pull may take before the lab gives up on it. Default 20 s. */
  readonly pullTimeoutMs?: number;
  /**
   * When an official etcd image can be neither found nor pulled, build one from the host's
   * etcd binaries instead of failing (any other image name is an error: the user asked for
   * something specific). Default true; ETCD_LAB_IMAGE_FALLBACK=0 turns it off.
   */
  readonly fallbackToHostBuild?: boolean;
}

export interface ResolvedEtcdImage {
  /** The image the user asked for. */
  readonly requested: string;
  /** The image that actually runs; differs from `requested` when the lab built a fallback. */
  readonly image: string;
  readonly imageId: string;
  readonly source: 'present' | 'pulled' | 'debian' | 'built-from-host-binaries';
  /** What `etcd --version` inside the image reports, e.g. "3.4.23". */
  readonly etcdVersion: string;
  readonly etcdBinary: string;
  readonly etcdctlBinary: string;
  /** Requested and actual version, where the image came from (registry, debian, host, image), Debian packages: for results. */
  readonly provenance: EtcdImageProvenance;
}

/** Repositories whose stand-in may be the host's own etcd: they are "etcd", nothing more specific. */
const OFFICIAL_ETCD_REPOSITORIES = ['gcr.io/etcd-development/etcd', 'quay.io/coreos/etcd'];

export const isOfficialEtcdImage = (image: string): boolean =>
  OFFICIAL_ETCD_REPOSITORIES.some((repository) => image === repository || image.startsWith(`${repository}:`));

const resolved = new Map<string, Promise<ResolvedEtcdImage>>();

/**
 * Finds, pulls or builds the etcd image, once per process per request. A version goes through
 * obtainEtcdImage (a version nothing here offers is a BadInputError naming `origin` and the
 * versions that are available); an image reference is used as before (present, else pulled,
 * else, for an official etcd image, a build from the host's binaries).
 */
export function resolveEtcdImage(options: EtcdImageOptions = {}): Promise<ResolvedEtcdImage> {
  const requested = (options.image ?? process.env.ETCD_IMAGE ?? DEFAULT_ETCD_IMAGE).trim();
  const origin = options.origin ?? (options.image !== undefined ? 'image' : 'ETCD_IMAGE');
  const problem = etcdRequestProblem(requested);
  if (problem !== undefined) return Promise.reject(new BadInputError(`${origin}: ${problem}`));
  let pending = resolved.get(requested);
  if (!pending) {
    const request = parseEtcdRequest(requested);
    pending =
      'kind' in request && request.kind === 'version'
        ? resolveVersion(requested, origin)
        : resolveUncached(requested, options);
    resolved.set(requested, pending);
    pending.catch(() => resolved.delete(requested));
  }
  return pending;
}

async function resolveVersion(requested: string, origin: string): Promise<ResolvedEtcdImage> {
  // Loaded here: obtain-etcd-image.ts uses this module's pull and host-build helpers.
  const { obtainEtcdImage } = await import('./images/obtain-etcd-image.ts');
  try {
    return resolvedFromProvenance((await obtainEtcdImage(requested)).provenance);
  } catch (error) {
    if (error instanceof BadInputError)
      throw new BadInputError(`${origin}: ${error.message}`, { cause: error });
    throw error;
  }
}

/** The run's view of an obtained image; `source` in the older words results have used. */
export function resolvedFromProvenance(provenance: EtcdImageProvenance): ResolvedEtcdImage {
  const source: ResolvedEtcdImage['source'] =
    provenance.source === 'debian'
      ? 'debian'
      : provenance.source === 'host'
        ? 'built-from-host-binaries'
        : provenance.cached
          ? 'present'
          : 'pulled';
  return {
    requested: provenance.requested,
    image: provenance.image,
    imageId: provenance.imageId,
    source,
    etcdVersion: provenance.etcdVersion,
    etcdBinary: ETCD_BINARY,
    etcdctlBinary: ETCDCTL_BINARY,
    provenance,
  };
}

/** The provenance of an image named by reference (not obtained by version), from how it was found and its labels. */
export function imageProvenance(input: {
  readonly requested: string;
  readonly image: string;
  readonly imageId: string;
  readonly source: ResolvedEtcdImage['source'];
  readonly labels: Readonly<Record<string, string>> | null | undefined;
  readonly etcdVersion: string;
  readonly goVersion?: string | undefined;
}): EtcdImageProvenance {
  const request = parseEtcdRequest(input.requested);
  const requestedVersion =
    'kind' in request ? (request.kind === 'version' ? request.version : request.impliedVersion) : undefined;
  const debian = debianFromLabels(input.labels);
  const hostBuilt =
    input.source === 'built-from-host-binaries' || input.labels?.['etcd-lab.image'] === 'host-built';
  return {
    requested: input.requested,
    ...(requestedVersion === undefined ? {} : { requestedVersion }),
    image: input.image,
    imageId: input.imageId,
    source:
      debian !== undefined
        ? 'debian'
        : hostBuilt
          ? 'host'
          : isOfficialEtcdImage(input.image)
            ? 'registry'
            : 'image',
    cached: input.source === 'present',
    etcdVersion: input.etcdVersion,
    ...(input.goVersion === undefined ? {} : { goVersion: input.goVersion }),
    ...(debian === undefined ? {} : { debian }),
  };
}

async function resolveUncached(requested: string, options: EtcdImageOptions): Promise<ResolvedEtcdImage> {
  const fallback =
    (options.fallbackToHostBuild ?? process.env.ETCD_LAB_IMAGE_FALLBACK !== '0') &&
    isOfficialEtcdImage(requested);
  let source: ResolvedEtcdImage['source'] = 'present';
  let image = requested;
  if (!(await imagePresent(requested))) {
    const pullError = await tryPull(requested, options.pullTimeoutMs ?? 20_000);
    if (pullError === undefined) {
      source = 'pulled';
    } else if (!fallback) {
      throw new EtcdImageError(
        `etcd image ${requested} is not present and could not be pulled (${pullError}). ` +
          'Check the name, load it with `docker load`, or choose another with ETCD_IMAGE / --image.',
      );
    } else {
      warn(
        `etcd image ${requested} is not present and could not be pulled (${pullError}); ` +
          'building one from this host’s etcd binaries instead. Results record both names.',
      );
      image = await buildImageFromHostBinaries();
      source = 'built-from-host-binaries';
      await docker().getImage(image).tag(HOST_BUILT_ALIAS);
    }
  }
  const inspect = await docker().getImage(image).inspect();
  const { etcdVersion, goVersion } = await etcdVersionsOf(image);
  progress(`etcd image ${image} (etcd ${etcdVersion}, ${source})`);
  return {
    requested,
    image,
    imageId: inspect.Id,
    source,
    etcdVersion,
    etcdBinary: ETCD_BINARY,
    etcdctlBinary: ETCDCTL_BINARY,
    provenance: imageProvenance({
      requested,
      image,
      imageId: inspect.Id,
      source,
      labels: inspect.Config.Labels,
      etcdVersion,
      goVersion,
    }),
  };
}

/** Runs `etcd --version` inside the image and returns e.g. "3.5.21". */
export async function etcdVersionOf(image: string): Promise<string> {
  return (await etcdVersionsOf(image)).etcdVersion;
}

/** Runs `etcd --version` inside the image: etcd's version ("3.5.21") and the Go it was built with. */
async function etcdVersionsOf(
  image: string,
): Promise<{ etcdVersion: string; goVersion?: string | undefined }> {
  const { output, exitCode } = await runOneShot(image, [ETCD_BINARY, '--version']);
  const { etcdVersion, goVersion } = parseEtcdVersionOutput(output);
  if (exitCode !== 0 || etcdVersion === undefined) {
    throw new EtcdImageError(
      `Image ${image} does not run etcd at ${ETCD_BINARY} (exit ${exitCode}): ${output.trim().slice(0, 300)}`,
    );
  }
  return { etcdVersion, goVersion };
}
