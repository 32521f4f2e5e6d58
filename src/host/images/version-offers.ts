import type { CachedEtcdImage } from './cached-images.ts';
import type { DebianCandidate } from './debian-index.ts';
import { compareVersions } from './etcd-request.ts';

/** How `obtainEtcdImage` would get a version now, without trying a registry. */
export type ObtainPlan = 'cached' | 'debian-build' | 'host-build';

/** One etcd version this host can run, and every way it can be had. */
export interface EtcdVersionOffer {
  readonly version: string;
  readonly plan: ObtainPlan;
  /** Images of this version already here, preferred first. */
  readonly cached: readonly CachedEtcdImage[];
  readonly debian?: DebianCandidate;
  /** True when the host's /usr/bin/etcd is this version. */
  readonly host: boolean;
}

const CACHED_PREFERENCE: readonly CachedEtcdImage['source'][] = ['registry', 'debian', 'host'];

/**
 * Joins what is here (cached images), what Debian's index offers and the host's etcd into one
 * row per version, in the order obtainEtcdImage tries them: a cached registry or Debian image,
 * then a Debian build, then the host's binary (a cached host build counts as that).
 */
export function etcdVersionOffers(
  cached: readonly CachedEtcdImage[],
  candidates: readonly DebianCandidate[],
  hostVersion: string | undefined,
): EtcdVersionOffer[] {
  const versions = new Set<string>([
    ...cached.map((image) => image.etcdVersion),
    ...candidates.map((candidate) => candidate.etcdVersion),
    ...(hostVersion === undefined ? [] : [hostVersion]),
  ]);
  return [...versions].sort(compareVersions).map((version) => {
    const images = cached
      .filter((image) => image.etcdVersion === version)
      .sort((a, b) => CACHED_PREFERENCE.indexOf(a.source) - CACHED_PREFERENCE.indexOf(b.source));
    const debian = candidates.find((candidate) => candidate.etcdVersion === version);
    const host = hostVersion === version;
    const plan: ObtainPlan = images.some((image) => image.source !== 'host')
      ? 'cached'
      : debian !== undefined
        ? 'debian-build'
        : images.length > 0
          ? 'cached'
          : 'host-build';
    return { version, plan, cached: images, ...(debian === undefined ? {} : { debian }), host };
  });
}

/** The listing `etcd-lab images` prints: one line per version, then where the Debian index came from. */
export function formatVersionOffers(
  offers: readonly EtcdVersionOffer[],
  index: {
    readonly dir: string;
    readonly dates: Readonly<Record<string, string>>;
    readonly problem?: string;
  },
): string[] {
  const how = (offer: EtcdVersionOffer): string => {
    const first = offer.cached[0];
    if (offer.plan === 'cached' && first !== undefined) return `cached ${first.source} image ${first.image}`;
    if (offer.plan === 'debian-build') return 'built from Debian on first use';
    return `built from ${offer.host ? 'the host’s /usr/bin/etcd' : '?'} on first use`;
  };
  const debian = (offer: EtcdVersionOffer): string => {
    if (offer.debian === undefined) return '-';
    const { suite, packages, alsoIn } = offer.debian;
    const also = alsoIn.length > 0 ? ` (also ${alsoIn.join(', ')})` : '';
    return `${suite}${also}: etcd-server ${packages['etcd-server']}, libc6 ${packages.libc6}`;
  };
  const rows = offers.map((offer) => [offer.version, how(offer), debian(offer), offer.host ? 'yes' : '-']);
  const header = ['VERSION', 'OBTAINED AS', 'DEBIAN PACKAGES', 'HOST'];
  const widths = header.map((title, column) =>
    Math.max(title.length, ...rows.map((row) => (row[column] ?? '').length)),
  );
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, column) => (column === cells.length - 1 ? cell : cell.padEnd(widths[column] ?? 0)))
      .join('  ');
  const dates = Object.entries(index.dates)
    .map(([suite, date]) => `${suite} ${date}`)
    .join(', ');
  return [
    line(header),
    ...rows.map(line),
    '',
    `Debian index: ${index.dir}${dates === '' ? '' : ` (${dates})`}${index.problem === undefined ? '' : `; ${index.problem}`}`,
    'A version that is not cached is first tried from gcr.io/etcd-development/etcd and quay.io/coreos/etcd (5 s each).',
  ];
}
