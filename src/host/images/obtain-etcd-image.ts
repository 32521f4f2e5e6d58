import { existsSync } from 'node:fs';
import { execa } from 'execa';
import { BadInputError, EtcdImageError } from '../../errors.ts';
import { progress } from '../../util/log.ts';
import { docker } from '../docker.ts';
import { buildImageFromHostBinaries, HOST_ETCD, imagePresent, tryPull } from './image-sources.ts';
import { PrivateAptRoot } from './apt-root.ts';
import {
  cachedEtcdImages,
  pickCachedImage,
  type CachedEtcdImage,
  type ListedImage,
} from './cached-images.ts';
import { buildImageFromDebian, verifiedVersions } from './debian-build.ts';
import type { DebianCandidate } from './debian-index.ts';
import { parseEtcdRequest, unavailableVersionMessage, upstreamImageReferences } from './etcd-request.ts';
import { probeEtcdImage, type ImageVersions } from './probe.ts';
import { debianFromLabels, parseEtcdVersionOutput, type EtcdImageProvenance } from './provenance.ts';

/** The ways to obtain an image, in the order they are tried. */
export const OBTAIN_ORDER = ['cached', 'registry', 'debian', 'host'] as const;
export type ObtainStep = (typeof OBTAIN_ORDER)[number];

export interface ObtainEtcdImageOptions {
  /** The private apt root to read and build from. Default: {@link PrivateAptRoot} at its default place. */
  readonly aptRoot?: PrivateAptRoot;
  /**
   * Update the Debian package index first, and use a Debian image only if it is built from the
   * packages the index now names (build it when missing). Default false: any cached image of the
   * version is used, with no network at all.
   */
  readonly refresh?: boolean;
  /** The caller has just updated the index (with refresh): do not update it again. */
  readonly indexUpdated?: boolean;
  /** How long one registry pull may take before it is given up. Default 5 s (an unreachable one fails in ~0.2 s). */
  readonly pullTimeoutMs?: number;
  /** Which steps may be used. Default all of {@link OBTAIN_ORDER}. */
  readonly steps?: readonly ObtainStep[];
}

/** Wall times of the steps that ran, in ms. */
export interface ObtainTimings {
  readonly indexUpdateMs?: number;
  /** Reading the local index (apt-cache madison; the first read after an update builds apt's cache). */
  readonly indexReadMs?: number;
  readonly pullMs?: number;
  readonly downloadMs?: number;
  readonly unpackMs?: number;
  readonly buildMs?: number;
  readonly verifyMs?: number;
  readonly totalMs: number;
}

export interface ObtainedEtcdImage {
  readonly provenance: EtcdImageProvenance;
  readonly timings: ObtainTimings;
  /** One line per step tried before the one that worked, saying why it did not. */
  readonly skipped: readonly string[];
}

/**
 * Obtains an etcd image for a version ("3.5.30") or an image reference, in this order:
 * an image already here (no network), etcd's registry (time-boxed pull), a build from Debian's
 * packages of that version, a build from the host's own etcd when its version matches. The
 * image is run once and must report the requested version. A version nothing offers is a
 * {@link BadInputError} whose one line names the versions that are available.
 */
export function obtainEtcdImage(
  requested: string,
  options: ObtainEtcdImageOptions = {},
): Promise<ObtainedEtcdImage> {
  // Two callers asking for the same thing at once share one attempt: two builds of one tag, or
  // two index updates, would only race each other.
  const key = JSON.stringify([
    requested.trim(),
    options.aptRoot?.dir ?? null,
    options.refresh === true,
    options.indexUpdated === true,
    options.steps ?? null,
  ]);
  let pending = obtainsInFlight.get(key);
  if (pending === undefined) {
    pending = obtainUncached(requested, options).finally(() => obtainsInFlight.delete(key));
    obtainsInFlight.set(key, pending);
  }
  return pending;
}

const obtainsInFlight = new Map<string, Promise<ObtainedEtcdImage>>();

async function obtainUncached(
  requested: string,
  options: ObtainEtcdImageOptions,
): Promise<ObtainedEtcdImage> {
  const request = parseEtcdRequest(requested);
  if ('problem' in request) throw new BadInputError(`--etcd: ${request.problem}`);
  const started = performance.now();
  if (request.kind === 'image' && request.impliedVersion === undefined) {
    return obtainNamedImage(requested, request.reference, options, started);
  }
  const version = request.kind === 'version' ? request.version : (request.impliedVersion ?? '');
  const preferred = request.kind === 'image' ? [request.reference] : [];
  return new VersionObtainer(requested, version, preferred, options, started).run();
}

class VersionObtainer {
  private readonly skipped: string[] = [];
  private readonly steps: readonly ObtainStep[];
  private readonly root: PrivateAptRoot;
  private indexUpdateMs: number | undefined;
  private indexReadMs: number | undefined;
  private candidates: DebianCandidate[] | undefined;
  private indexProblem: string | undefined;

  constructor(
    private readonly requested: string,
    private readonly version: string,
    private readonly preferredReferences: readonly string[],
    private readonly options: ObtainEtcdImageOptions,
    private readonly started: number,
  ) {
    this.steps = options.steps ?? OBTAIN_ORDER;
    this.root = options.aptRoot ?? new PrivateAptRoot();
  }

  private get references(): string[] {
    return [...new Set([...this.preferredReferences, ...upstreamImageReferences(this.version)])];
  }

  async run(): Promise<ObtainedEtcdImage> {
    const { version } = this;
    // In the order, whatever order the steps were given in.
    for (const step of ['cached', 'registry', 'debian', 'host'] as const) {
      if (!this.steps.includes(step)) continue;
      const obtained = await this[step]();
      if (obtained) return obtained;
    }
    const available = await availableVersions(this.root, this.candidates);
    if (!available.includes(version)) {
      throw new BadInputError(unavailableVersionMessage(this.requested, available));
    }
    throw new EtcdImageError(
      `etcd ${version} is offered here but could not be obtained: ${this.skipped.join('; ')}`,
    );
  }

  private async cached(): Promise<ObtainedEtcdImage | undefined> {
    const images = await listCachedImages();
    // With refresh, only an image of the packages the index names now will do (checked in debian()).
    const sources: CachedEtcdImage['source'][] =
      this.options.refresh === true ? ['registry'] : ['registry', 'debian'];
    const named = this.preferredReferences.find((reference) =>
      images.some((image) => image.image === reference),
    );
    const hit =
      (named === undefined ? undefined : images.find((image) => image.image === named)) ??
      pickCachedImage(images, this.version, sources);
    if (hit === undefined) {
      this.skipped.push('cached: no image of this version here');
      return undefined;
    }
    return this.finish(hit.image, hit.source, true, {});
  }

  private async registry(): Promise<ObtainedEtcdImage | undefined> {
    for (const reference of this.references) {
      const host = reference.split('/')[0] ?? reference;
      if (unreachableRegistries.has(host)) {
        this.skipped.push(`registry: ${host} unreachable earlier in this process`);
        continue;
      }
      const pullStarted = performance.now();
      const failure = await tryPull(reference, this.options.pullTimeoutMs ?? 5_000);
      const pullMs = performance.now() - pullStarted;
      if (failure === undefined) return this.finish(reference, 'registry', false, { pullMs });
      // Only a registry that cannot be reached is skipped from now on; a missing tag is not that.
      if (UNREACHABLE.test(failure)) unreachableRegistries.add(host);
      this.skipped.push(`registry: ${reference}: ${failure}`);
    }
    return undefined;
  }

  private async debian(): Promise<ObtainedEtcdImage | undefined> {
    try {
      this.candidates = await this.debianCandidates();
    } catch (error) {
      this.indexProblem = (error as Error).message;
      this.skipped.push(`debian: ${this.indexProblem}`);
      return undefined;
    }
    const candidate = this.candidates.find((offer) => offer.etcdVersion === this.version);
    if (candidate === undefined) {
      this.skipped.push(`debian: no suite has etcd ${this.version}`);
      return undefined;
    }
    try {
      const build = await buildImageFromDebian(this.root, candidate);
      return this.finish(build.image, 'debian', build.reused, {
        downloadMs: build.downloadMs,
        unpackMs: build.unpackMs,
        buildMs: build.buildMs,
        verifyMs: build.verifyMs,
        versions: build.versions,
      });
    } catch (error) {
      this.skipped.push(`debian: ${(error as Error).message.split('\n')[0]}`);
      return undefined;
    }
  }

  private async debianCandidates(): Promise<DebianCandidate[]> {
    await this.root.ensureConfig();
    const wantUpdate = this.options.refresh === true && this.options.indexUpdated !== true;
    if (wantUpdate || !(await this.root.hasLists())) {
      progress(`updating the Debian package index in ${this.root.dir}…`);
      this.indexUpdateMs = await this.root.update();
    }
    const readStarted = performance.now();
    const candidates = await this.root.candidates();
    this.indexReadMs = performance.now() - readStarted;
    return candidates;
  }

  private async host(): Promise<ObtainedEtcdImage | undefined> {
    const hostVersion = await hostEtcdVersion();
    if (hostVersion !== this.version) {
      this.skipped.push(`host: ${HOST_ETCD} is ${hostVersion ?? 'not installed'}`);
      return undefined;
    }
    // The host build is content-addressed too: an unchanged /usr/bin/etcd reuses its image.
    const before = pickCachedImage(await listCachedImages(), this.version, ['host']);
    const buildStarted = performance.now();
    const image = await buildImageFromHostBinaries();
    const reused = before?.image === image;
    return this.finish(image, 'host', reused, reused ? {} : { buildMs: performance.now() - buildStarted });
  }

  private async finish(
    image: string,
    source: EtcdImageProvenance['source'],
    cached: boolean,
    measured: {
      pullMs?: number;
      downloadMs?: number;
      unpackMs?: number;
      buildMs?: number;
      verifyMs?: number;
      versions?: ImageVersions;
    },
  ): Promise<ObtainedEtcdImage> {
    const verifyStarted = performance.now();
    const versions = measured.versions ?? (await verifiedVersions(image, this.version));
    const verifyMs = measured.verifyMs ?? performance.now() - verifyStarted;
    const inspect = await docker().getImage(image).inspect();
    const debian = debianFromLabels(inspect.Config.Labels);
    const hostPackage = source === 'host' ? await hostPackageVersion() : undefined;
    const provenance: EtcdImageProvenance = {
      requested: this.requested,
      requestedVersion: this.version,
      image,
      imageId: inspect.Id,
      source,
      cached,
      etcdVersion: versions.etcdVersion,
      ...(versions.goVersion === undefined ? {} : { goVersion: versions.goVersion }),
      ...(debian === undefined ? {} : { debian }),
      ...(hostPackage === undefined ? {} : { hostPackage }),
    };
    progress(`etcd ${provenance.etcdVersion}: ${image} (${source}${cached ? ', cached' : ''})`);
    return {
      provenance,
      skipped: this.skipped,
      timings: {
        ...(this.indexUpdateMs === undefined ? {} : { indexUpdateMs: this.indexUpdateMs }),
        ...(this.indexReadMs === undefined ? {} : { indexReadMs: this.indexReadMs }),
        ...(measured.pullMs === undefined ? {} : { pullMs: measured.pullMs }),
        ...(measured.downloadMs === undefined ? {} : { downloadMs: measured.downloadMs }),
        ...(measured.unpackMs === undefined ? {} : { unpackMs: measured.unpackMs }),
        ...(measured.buildMs === undefined ? {} : { buildMs: measured.buildMs }),
        verifyMs,
        totalMs: performance.now() - this.started,
      },
    };
  }
}

/** Registry hosts that could not be reached in this process: one slow failure is enough. */
const unreachableRegistries = new Set<string>();
const UNREACHABLE =
  /no such host|dial tcp|i\/o timeout|connection refused|network is unreachable|TLS handshake|no pull within/i;

/** An image reference that names no etcd version: used as it is (present, else pulled), never replaced. */
async function obtainNamedImage(
  requested: string,
  reference: string,
  options: ObtainEtcdImageOptions,
  started: number,
): Promise<ObtainedEtcdImage> {
  let cached = true;
  let pullMs: number | undefined;
  if (!(await imagePresent(reference))) {
    const pullStarted = performance.now();
    const failure = await tryPull(reference, options.pullTimeoutMs ?? 20_000);
    pullMs = performance.now() - pullStarted;
    if (failure !== undefined) {
      throw new EtcdImageError(
        `etcd image ${reference} is not present and could not be pulled (${failure}); load it with \`docker load\`, or name a version (\`etcd-lab images\` lists them).`,
      );
    }
    cached = false;
  }
  const verifyStarted = performance.now();
  const versions = await probeEtcdImage(reference);
  const verifyMs = performance.now() - verifyStarted;
  const inspect = await docker().getImage(reference).inspect();
  const labels = inspect.Config.Labels;
  const debian = debianFromLabels(labels);
  const source =
    debian !== undefined ? 'debian' : labels?.['etcd-lab.image'] === 'host-built' ? 'host' : 'image';
  return {
    provenance: {
      requested,
      image: reference,
      imageId: inspect.Id,
      source,
      cached,
      etcdVersion: versions.etcdVersion,
      ...(versions.goVersion === undefined ? {} : { goVersion: versions.goVersion }),
      ...(debian === undefined ? {} : { debian }),
    },
    skipped: [],
    timings: { ...(pullMs === undefined ? {} : { pullMs }), verifyMs, totalMs: performance.now() - started },
  };
}

/** Every etcd image on this host the lab can use by version (official tags and its own labelled builds). */
export async function listCachedImages(): Promise<CachedEtcdImage[]> {
  const images = (await docker().listImages()) as unknown as ListedImage[];
  return cachedEtcdImages(images);
}

/** The host's /usr/bin/etcd version, or undefined when there is none. */
export async function hostEtcdVersion(): Promise<string | undefined> {
  if (!existsSync(HOST_ETCD)) return undefined;
  const result = await execa(HOST_ETCD, ['--version'], { reject: false });
  return parseEtcdVersionOutput(result.stdout).etcdVersion;
}

async function hostPackageVersion(): Promise<string | undefined> {
  const result = await execa('dpkg-query', ['-W', '-f', '${Version}', 'etcd-server'], { reject: false });
  return result.exitCode === 0 && result.stdout.trim() !== ''
    ? `etcd-server ${result.stdout.trim()}`
    : undefined;
}

/** Versions offered here without a registry: cached images, Debian's index (if read), the host's etcd. */
async function availableVersions(
  root: PrivateAptRoot,
  candidates: readonly DebianCandidate[] | undefined,
): Promise<string[]> {
  const versions = new Set((await listCachedImages()).map((image) => image.etcdVersion));
  let offers = candidates;
  if (offers === undefined && (await root.hasLists())) offers = await root.candidates().catch(() => []);
  for (const offer of offers ?? []) versions.add(offer.etcdVersion);
  const host = await hostEtcdVersion();
  if (host !== undefined) versions.add(host);
  return [...versions];
}
