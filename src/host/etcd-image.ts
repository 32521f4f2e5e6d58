import { createHash } from 'node:crypto';
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { execa } from 'execa';
import { BadInputError, EtcdImageError } from '../errors.ts';
import { progress, warn } from '../util/log.ts';
import { aptInstall, docker } from './docker.ts';
import { buildImageFromContext } from './docker-build.ts';
import { etcdRequestProblem } from './etcd-choice.ts';
import { DEFAULT_ETCD_IMAGE } from './image-reference.ts';
import { parseEtcdRequest } from './images/etcd-request.ts';
import { debianFromLabels, parseEtcdVersionOutput, type EtcdImageProvenance } from './images/provenance.ts';
import { runOneShot } from './one-shot.ts';

export { DEFAULT_ETCD_IMAGE, imageReferenceProblem } from './image-reference.ts';

/** Where etcd lives in the official images, and in the image the lab builds. */
export const ETCD_BINARY = '/usr/local/bin/etcd';
export const ETCDCTL_BINARY = '/usr/local/bin/etcdctl';
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

export async function imagePresent(image: string): Promise<boolean> {
  try {
    await docker().getImage(image).inspect();
    return true;
  } catch {
    return false;
  }
}

/** Returns undefined on success, else why the pull failed. */
export async function tryPull(image: string, timeoutMs: number): Promise<string | undefined> {
  progress(`pulling ${image} (timeout ${timeoutMs / 1000} s)…`);
  let timer: NodeJS.Timeout | undefined;
  try {
    const stream = await docker().pull(image);
    await Promise.race([
      new Promise<void>((resolve, reject) => {
        docker().modem.followProgress(stream, (error: Error | null) => (error ? reject(error) : resolve()));
      }),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          (stream as NodeJS.ReadableStream & { destroy?: () => void }).destroy?.();
          reject(new Error(`no pull within ${timeoutMs / 1000} s`));
        }, timeoutMs);
      }),
    ]);
    return undefined;
  } catch (error) {
    return (error as Error).message.split('\n')[0];
  } finally {
    clearTimeout(timer);
  }
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

export const HOST_ETCD = '/usr/bin/etcd';
const HOST_ETCDCTL = '/usr/bin/etcdctl';

/**
 * No registry here: build a FROM-scratch image from the host's etcd and etcdctl plus the
 * shared libraries they link (libc and the loader only). The tag carries the version and a
 * hash of the binaries, so a changed host etcd gets a new image and an unchanged one is
 * reused without a rebuild.
 */
export async function buildImageFromHostBinaries(): Promise<string> {
  if (!existsSync(HOST_ETCD) || !existsSync(HOST_ETCDCTL)) {
    if (process.getuid?.() !== 0 || !existsSync('/etc/debian_version')) {
      throw new EtcdImageError(
        `No etcd image can be had and ${HOST_ETCD} is missing. Install etcd (Debian: apt-get install -y etcd-server etcd-client) or provide an image with ETCD_IMAGE.`,
      );
    }
    progress('installing etcd-server and etcd-client from apt to build a local etcd image…');
    await aptInstall(['etcd-server', 'etcd-client']);
  }
  const versionOutput = (await execa(HOST_ETCD, ['--version'])).stdout;
  const version = /etcd Version:\s*(\S+)/.exec(versionOutput)?.[1] ?? 'unknown';
  const hash = createHash('sha256')
    .update(await readFile(HOST_ETCD))
    .update(await readFile(HOST_ETCDCTL))
    .digest('hex')
    .slice(0, 12);
  const tag = `etcd-lab/etcd:${version}-host-${hash}`;
  if (await imagePresent(tag)) return tag;

  progress(`building ${tag} from ${HOST_ETCD}…`);
  const context = await mkdtemp(join(tmpdir(), 'etcd-lab-image-'));
  try {
    const libraries = await sharedLibraries([HOST_ETCD, HOST_ETCDCTL]);
    const files = ['etcd', 'etcdctl'];
    await copyFile(HOST_ETCD, join(context, 'etcd'));
    await copyFile(HOST_ETCDCTL, join(context, 'etcdctl'));
    const copyLines: string[] = [];
    for (const library of libraries) {
      const name = `lib-${basename(library)}`;
      await copyFile(library, join(context, name));
      files.push(name);
      copyLines.push(`COPY ${name} ${library}`);
    }
    await mkdir(join(context, 'empty'));
    files.push('empty');
    await writeFile(
      join(context, 'Dockerfile'),
      [
        'FROM scratch',
        `COPY etcd ${ETCD_BINARY}`,
        `COPY etcdctl ${ETCDCTL_BINARY}`,
        ...copyLines,
        'COPY empty /tmp',
        'COPY empty /var/lib/etcd',
        `LABEL etcd-lab.image=host-built etcd-lab.etcd-version=${version}`,
        'EXPOSE 2379 2380',
        `ENTRYPOINT ["${ETCD_BINARY}"]`,
        '',
      ].join('\n'),
    );
    files.push('Dockerfile');
    await buildImageFromContext(context, files, tag);
    return tag;
  } finally {
    await rm(context, { recursive: true, force: true });
  }
}

/** Absolute paths of the shared libraries (incl. the loader) the binaries need, from ldd. */
async function sharedLibraries(binaries: readonly string[]): Promise<string[]> {
  const libraries = new Set<string>();
  for (const binary of binaries) {
    const { stdout } = await execa('ldd', [binary], { reject: false });
    for (const match of stdout.matchAll(/(\/\S+)\s+\(0x/g)) {
      if (match[1]) libraries.add(match[1]);
    }
  }
  return [...libraries];
}
