import { compareVersions } from './etcd-request.ts';

/**
 * The suites the private apt root reads, most stable first. When several suites carry the same
 * upstream etcd version (forky and sid both have 3.5.30-2, byte-identical), the first one wins,
 * so the choice is deterministic and names the more stable suite.
 */
export const DEBIAN_SUITES = ['bookworm', 'trixie', 'forky', 'sid'] as const;

/** The packages an image is built from: etcd and etcdctl(+etcdutl), and the suite's C library. */
export const DEBIAN_PACKAGES = ['etcd-server', 'etcd-client', 'libc6'] as const;
export type DebianPackageName = (typeof DEBIAN_PACKAGES)[number];

/** One row of `apt-cache madison`. */
export interface MadisonRow {
  readonly package: string;
  /** Debian version, e.g. "3.4.23-4+b4". */
  readonly version: string;
  /** Suite (codename) the row comes from, e.g. "bookworm". */
  readonly suite: string;
}

/**
 * Parses `apt-cache madison etcd-server etcd-client libc6`:
 * `etcd-server | 3.4.23-4+b4 | http://deb.debian.org/debian bookworm/main amd64 Packages`.
 * Source rows ("… Sources") and anything else that does not fit are skipped.
 */
export function parseMadison(text: string): MadisonRow[] {
  const rows: MadisonRow[] = [];
  for (const line of text.split('\n')) {
    const fields = line.split('|').map((field) => field.trim());
    if (fields.length !== 3) continue;
    const [name, version, origin] = fields as [string, string, string];
    const where = /^\S+\s+([^/\s]+)\/\S+\s+\S+\s+Packages$/.exec(origin);
    if (!name || !version || !where?.[1]) continue;
    rows.push({ package: name, version, suite: where[1] });
  }
  return rows;
}

/** "1:3.5.16+dfsg-4+b1" → "3.5.16": no epoch, no Debian revision, no repack suffix. */
export function upstreamVersion(debianVersion: string): string | undefined {
  const withoutEpoch = debianVersion.replace(/^\d+:/, '');
  const dash = withoutEpoch.lastIndexOf('-');
  const upstream = dash === -1 ? withoutEpoch : withoutEpoch.slice(0, dash);
  return /^\d+\.\d+\.\d+/.exec(upstream)?.[0];
}

/** What Debian offers for one etcd version: the suite chosen and the package versions in it. */
export interface DebianCandidate {
  /** Upstream etcd version, e.g. "3.5.30". */
  readonly etcdVersion: string;
  readonly suite: string;
  /** Other suites with the same upstream version (not used, recorded for the listing). */
  readonly alsoIn: readonly string[];
  readonly packages: Readonly<Record<DebianPackageName, string>>;
}

/**
 * The version → suite map, from madison rows: a suite offers etcd X when its etcd-server and
 * etcd-client have the same Debian version (upstream X) and it has a libc6. Sorted by version.
 */
export function debianCandidates(
  rows: readonly MadisonRow[],
  suites: readonly string[] = DEBIAN_SUITES,
): DebianCandidate[] {
  const inSuite = (name: string, suite: string) =>
    rows.find((row) => row.package === name && row.suite === suite)?.version;
  const bySuite = suites.flatMap((suite) => {
    const server = inSuite('etcd-server', suite);
    const client = inSuite('etcd-client', suite);
    const libc6 = inSuite('libc6', suite);
    const etcdVersion = server === undefined ? undefined : upstreamVersion(server);
    if (server === undefined || client !== server || libc6 === undefined || etcdVersion === undefined)
      return [];
    return [{ suite, etcdVersion, packages: { 'etcd-server': server, 'etcd-client': client, libc6 } }];
  });
  const candidates = new Map<string, DebianCandidate>();
  for (const offer of bySuite) {
    const first = candidates.get(offer.etcdVersion);
    if (first === undefined) candidates.set(offer.etcdVersion, { ...offer, alsoIn: [] });
    else candidates.set(offer.etcdVersion, { ...first, alsoIn: [...first.alsoIn, offer.suite] });
  }
  return [...candidates.values()].sort((a, b) => compareVersions(a.etcdVersion, b.etcdVersion));
}

/** One line of `apt-get download --print-uris`: what apt will fetch, with the signed index's SHA256. */
export interface PackageFile {
  readonly url: string;
  readonly filename: string;
  readonly size: number;
  readonly sha256: string;
}

/** `'http://…/etcd-server_3.5.30-2_amd64.deb' etcd-server_3.5.30-2_amd64.deb 12057556 SHA256:11a4…` */
export function parsePrintUris(text: string): PackageFile[] {
  const files: PackageFile[] = [];
  for (const line of text.split('\n')) {
    const match = /^'([^']+)'\s+(\S+)\s+(\d+)\s+SHA256:([0-9a-f]{64})\s*$/.exec(line.trim());
    if (match?.[1] && match[2] && match[3] && match[4]) {
      files.push({ url: match[1], filename: match[2], size: Number(match[3]), sha256: match[4] });
    }
  }
  return files;
}

/** "etcd-server_3.5.30-2_amd64.deb" → "etcd-server". */
export const packageOfFile = (filename: string): string => filename.split('_')[0] ?? filename;
