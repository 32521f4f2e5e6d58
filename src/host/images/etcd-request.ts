import { imageReferenceProblem } from '../image-reference.ts';

/**
 * What a user may ask for with `--etcd` (once wired): an etcd version ("3.5.30", "v3.5.30") or
 * a Docker image reference. A bare version is checked first: "3.5.30" is also a valid Docker
 * repository name, and nobody means that.
 */
export type EtcdRequest =
  | { readonly kind: 'version'; readonly version: string }
  | {
      readonly kind: 'image';
      readonly reference: string;
      /** The etcd version an official image's tag names (gcr.io/…/etcd:v3.5.16 → "3.5.16"). */
      readonly impliedVersion?: string;
    };

/**
 * The versions this lab was checked with, and where Debian's archive had them on 2026-11-30.
 * Documentation only: which versions can be had is read from the package index at run time
 * (`apt-cache madison` in the private apt root), never from this table.
 */
export const KNOWN_DEBIAN_VERSIONS = [
  { version: '3.4.23', suite: 'bookworm', package: '3.4.23-4+b4', libc6: '2.36-9+deb12u14' },
  { version: '3.5.16', suite: 'trixie', package: '3.5.16-4', libc6: '2.41-12+deb13u5' },
  { version: '3.5.30', suite: 'forky', package: '3.5.30-2', libc6: '2.43-7' },
] as const;

/** Repositories of etcd's own images, in the order they are tried; tags are `v<version>`. */
export const UPSTREAM_REPOSITORIES = ['gcr.io/etcd-development/etcd', 'quay.io/coreos/etcd'] as const;

const VERSION = /^v?(\d+)\.(\d+)\.(\d+)$/;

/** Parses `--etcd` input; returns a problem string for input that is neither a version nor an image. */
export function parseEtcdRequest(value: string): EtcdRequest | { readonly problem: string } {
  const trimmed = value.trim();
  const version = VERSION.exec(trimmed);
  if (version) return { kind: 'version', version: `${version[1]}.${version[2]}.${version[3]}` };
  const problem = imageReferenceProblem(trimmed);
  if (problem !== undefined) {
    return { problem: `expected an etcd version such as 3.5.30 or an image reference; ${problem}` };
  }
  const impliedVersion = officialImageVersion(trimmed);
  return impliedVersion === undefined
    ? { kind: 'image', reference: trimmed }
    : { kind: 'image', reference: trimmed, impliedVersion };
}

/** "gcr.io/etcd-development/etcd:v3.5.16" → "3.5.16"; undefined for anything else. */
export function officialImageVersion(reference: string): string | undefined {
  for (const repository of UPSTREAM_REPOSITORIES) {
    if (!reference.startsWith(`${repository}:`)) continue;
    const match = VERSION.exec(reference.slice(repository.length + 1));
    if (match) return `${match[1]}.${match[2]}.${match[3]}`;
  }
  return undefined;
}

export const upstreamImageReferences = (version: string): string[] =>
  UPSTREAM_REPOSITORIES.map((repository) => `${repository}:v${version}`);

/** Orders "3.4.23" < "3.5.16" < "3.5.30" numerically (not as strings: "3.5.9" < "3.5.16"). */
export function compareVersions(a: string, b: string): number {
  const parts = (version: string) => version.split('.').map((part) => Number.parseInt(part, 10) || 0);
  const left = parts(a);
  const right = parts(b);
  for (let i = 0; i < Math.max(left.length, right.length); i++) {
    const difference = (left[i] ?? 0) - (right[i] ?? 0);
    if (difference !== 0) return difference;
  }
  return 0;
}

/** The one line a user sees for a version the lab cannot obtain here. */
export function unavailableVersionMessage(requested: string, available: readonly string[]): string {
  const sorted = [...new Set(available)].sort(compareVersions);
  const list = sorted.length === 0 ? 'none' : sorted.join(', ');
  return (
    `etcd ${requested} cannot be obtained here (no cached image, registry, Debian package or host binary ` +
    `has it); available: ${list} (\`etcd-lab images\` shows how each is obtained)`
  );
}
