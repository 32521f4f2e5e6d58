import { createHash } from 'node:crypto';
import type { DebianPackageName } from './debian-index.ts';

/** Where the image that runs came from. */
export type EtcdImageSource =
  /** etcd's own image (gcr.io/etcd-development/etcd, quay.io/coreos/etcd), pulled or already present. */
  | 'registry'
  /** Built here from Debian's etcd-server/etcd-client and its suite's libc6. */
  | 'debian'
  /** Built here from this host's /usr/bin/etcd and /usr/bin/etcdctl. */
  | 'host'
  /** An image reference the user named, used as it is. */
  | 'image';

export interface DebianPackageRecord {
  readonly name: DebianPackageName;
  /** Debian version, e.g. "3.4.23-4+b4". */
  readonly version: string;
  /** SHA256 of the .deb, as in the signed package index (and checked after download). */
  readonly sha256: string;
}

/**
 * What produced a run's etcd, small enough to go into every result: requested and actual
 * version, where the image came from, and for a Debian build the exact packages.
 */
export interface EtcdImageProvenance {
  /** What was asked for: a version ("3.5.30") or an image reference. */
  readonly requested: string;
  /** The version asked for, when one was (from a bare version or an official image's tag). */
  readonly requestedVersion?: string;
  readonly image: string;
  readonly imageId: string;
  readonly source: EtcdImageSource;
  /** True when the image was already here: nothing was pulled, downloaded or built. */
  readonly cached: boolean;
  /** What `etcd --version` inside the image reports. */
  readonly etcdVersion: string;
  /** The Go toolchain `etcd --version` names (Debian builds use Debian's Go, not upstream's). */
  readonly goVersion?: string;
  readonly debian?: {
    readonly suite: string;
    readonly packages: readonly DebianPackageRecord[];
  };
  /** For a host build: the host's etcd-server package version, when dpkg knows it. */
  readonly hostPackage?: string;
}

/** Docker image labels of a Debian-built image; the tag cannot hold a Debian version ('+' is not allowed). */
export const IMAGE_LABEL = {
  /** Kept from the host-built images: `host-built` or `debian-built`. */
  image: 'etcd-lab.image',
  source: 'etcd-lab.source',
  etcdVersion: 'etcd-lab.etcd-version',
  goVersion: 'etcd-lab.go-version',
  recipe: 'etcd-lab.debian.recipe',
  suite: 'etcd-lab.debian.suite',
  package: (name: DebianPackageName) => `etcd-lab.debian.${name}`,
} as const;

export const IMAGE_REPOSITORY = 'etcd-lab/etcd';

const DEBIAN_ORDER: readonly DebianPackageName[] = ['etcd-server', 'etcd-client', 'libc6'];

/**
 * How the image is assembled from the packages (file layout, Dockerfile). Part of the tag's digest:
 * a change here must not be hidden behind a cached image of the same packages.
 * 2: no ENTRYPOINT, PATH set, CMD etcd — `docker run --rm <image> etcd --version` works, as with
 * etcd's own images.
 */
export const DEBIAN_IMAGE_RECIPE = 2;

/**
 * First 12 hex digits of SHA256 over "recipe <n>" and the packages' SHA256s (etcd-server,
 * etcd-client, libc6), one a line.
 */
export function packagesDigest(packages: readonly DebianPackageRecord[]): string {
  const ordered = DEBIAN_ORDER.map((name) => {
    const record = packages.find((candidate) => candidate.name === name);
    if (record === undefined) throw new Error(`package ${name} missing from the image's package list`);
    return record.sha256;
  });
  return createHash('sha256')
    .update([`recipe ${DEBIAN_IMAGE_RECIPE}`, ...ordered].join('\n'))
    .digest('hex')
    .slice(0, 12);
}

/** `etcd-lab/etcd:3.5.30-deb-<sha12>`: a changed package (a new Debian revision, a libc update) is a new tag. */
export const debianImageTag = (etcdVersion: string, packages: readonly DebianPackageRecord[]): string =>
  `${IMAGE_REPOSITORY}:${etcdVersion}-deb-${packagesDigest(packages)}`;

/** The moving alias `etcd-lab/etcd:3.5.30`, pointing at the newest image built for that version. */
export const versionAlias = (etcdVersion: string): string => `${IMAGE_REPOSITORY}:${etcdVersion}`;

export function debianImageLabels(
  etcdVersion: string,
  goVersion: string | undefined,
  suite: string,
  packages: readonly DebianPackageRecord[],
): Record<string, string> {
  const labels: Record<string, string> = {
    [IMAGE_LABEL.image]: 'debian-built',
    [IMAGE_LABEL.source]: 'debian',
    [IMAGE_LABEL.etcdVersion]: etcdVersion,
    [IMAGE_LABEL.suite]: suite,
    [IMAGE_LABEL.recipe]: String(DEBIAN_IMAGE_RECIPE),
  };
  if (goVersion !== undefined) labels[IMAGE_LABEL.goVersion] = goVersion;
  for (const record of packages) {
    labels[IMAGE_LABEL.package(record.name)] = `${record.version} sha256:${record.sha256}`;
  }
  return labels;
}

/** Reads the Debian part of a provenance back from an image's labels; undefined if it is not a Debian build. */
export function debianFromLabels(
  labels: Readonly<Record<string, string>> | null | undefined,
): EtcdImageProvenance['debian'] | undefined {
  if (labels?.[IMAGE_LABEL.source] !== 'debian') return undefined;
  const suite = labels[IMAGE_LABEL.suite];
  if (suite === undefined) return undefined;
  const packages: DebianPackageRecord[] = [];
  for (const name of DEBIAN_ORDER) {
    const match = /^(\S+) sha256:([0-9a-f]{64})$/.exec(labels[IMAGE_LABEL.package(name)] ?? '');
    if (!match?.[1] || !match[2]) return undefined;
    packages.push({ name, version: match[1], sha256: match[2] });
  }
  return { suite, packages };
}

/** A Dockerfile `LABEL` line; keys and values are JSON strings, so spaces and colons are safe. */
export const dockerfileLabelLine = (labels: Readonly<Record<string, string>>): string =>
  `LABEL ${Object.entries(labels)
    .map(([key, value]) => `${JSON.stringify(key)}=${JSON.stringify(value)}`)
    .join(' ')}`;

/** Parses `etcd --version` (3.4 and 3.5 print the same lines). */
export function parseEtcdVersionOutput(output: string): { etcdVersion?: string; goVersion?: string } {
  const etcdVersion = /etcd Version:\s*(\d+\.\d+\.\d+\S*)/.exec(output)?.[1];
  const goVersion = /Go Version:\s*(go\S+)/.exec(output)?.[1];
  return {
    ...(etcdVersion === undefined ? {} : { etcdVersion }),
    ...(goVersion === undefined ? {} : { goVersion }),
  };
}

/** Parses `etcdctl version` ("etcdctl version: 3.5.30"). */
export const parseEtcdctlVersionOutput = (output: string): string | undefined =>
  /etcdctl version:\s*(\d+\.\d+\.\d+\S*)/.exec(output)?.[1];
