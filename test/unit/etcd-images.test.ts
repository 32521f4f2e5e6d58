import { describe, expect, it } from 'vitest';
import { cachedEtcdImages, pickCachedImage, type ListedImage } from '../../src/host/images/cached-images.ts';
import {
  debianCandidates,
  parseMadison,
  parsePrintUris,
  upstreamVersion,
} from '../../src/host/images/debian-index.ts';
import {
  compareVersions,
  officialImageVersion,
  parseEtcdRequest,
  unavailableVersionMessage,
  upstreamImageReferences,
} from '../../src/host/images/etcd-request.ts';
import {
  debianFromLabels,
  debianImageLabels,
  debianImageTag,
  dockerfileLabelLine,
  packagesDigest,
  parseEtcdctlVersionOutput,
  parseEtcdVersionOutput,
  type DebianPackageRecord,
} from '../../src/host/images/provenance.ts';
import { imageReferenceProblem } from '../../src/host/image-reference.ts';
import { etcdVersionOffers, formatVersionOffers } from '../../src/host/images/version-offers.ts';

// `apt-cache madison etcd-server etcd-client libc6` in the private apt root, 2026-11-30.
const MADISON = `etcd-server |   3.5.30-2 | http://deb.debian.org/debian forky/main amd64 Packages
etcd-server |   3.5.30-2 | http://deb.debian.org/debian sid/main amd64 Packages
etcd-server |   3.5.16-4 | http://deb.debian.org/debian trixie/main amd64 Packages
etcd-server | 3.4.23-4+b4 | http://deb.debian.org/debian bookworm/main amd64 Packages
etcd-client |   3.5.30-2 | http://deb.debian.org/debian forky/main amd64 Packages
etcd-client |   3.5.30-2 | http://deb.debian.org/debian sid/main amd64 Packages
etcd-client |   3.5.16-4 | http://deb.debian.org/debian trixie/main amd64 Packages
etcd-client | 3.4.23-4+b4 | http://deb.debian.org/debian bookworm/main amd64 Packages
     libc6 |     2.43-7 | http://deb.debian.org/debian forky/main amd64 Packages
     libc6 |     2.43-7 | http://deb.debian.org/debian sid/main amd64 Packages
     libc6 | 2.41-12+deb13u5 | http://deb.debian.org/debian trixie/main amd64 Packages
     libc6 | 2.36-9+deb12u14 | http://deb.debian.org/debian bookworm/main amd64 Packages
`;

// `apt-get download --print-uris etcd-server=3.5.30-2 etcd-client=3.5.30-2 libc6/forky`.
const PRINT_URIS = `'http://deb.debian.org/debian/pool/main/e/etcd/etcd-client_3.5.30-2_amd64.deb' etcd-client_3.5.30-2_amd64.deb 5898812 SHA256:1e66ad2aba4cba6842a1ac35d5c525e750102b8fb42748225bcb2e34d6595931
'http://deb.debian.org/debian/pool/main/e/etcd/etcd-server_3.5.30-2_amd64.deb' etcd-server_3.5.30-2_amd64.deb 12057556 SHA256:11a4f7e350c5020b83edff5160a6063d4e56ac9cd014d21ce8916378bf96de79
'http://deb.debian.org/debian/pool/main/g/glibc/libc6_2.43-7_amd64.deb' libc6_2.43-7_amd64.deb 1866392 SHA256:5c71715c51103beb4fbba9fe9f8dff604af6610dfa71c70bff342f54a7860803
`;

const PACKAGES_3_5_30: DebianPackageRecord[] = [
  {
    name: 'etcd-server',
    version: '3.5.30-2',
    sha256: '11a4f7e350c5020b83edff5160a6063d4e56ac9cd014d21ce8916378bf96de79',
  },
  {
    name: 'etcd-client',
    version: '3.5.30-2',
    sha256: '1e66ad2aba4cba6842a1ac35d5c525e750102b8fb42748225bcb2e34d6595931',
  },
  {
    name: 'libc6',
    version: '2.43-7',
    sha256: '5c71715c51103beb4fbba9fe9f8dff604af6610dfa71c70bff342f54a7860803',
  },
];

describe('Debian package index', () => {
  it('parses madison rows into package, Debian version and suite', () => {
    const rows = parseMadison(MADISON);
    expect(rows).toHaveLength(12);
    expect(rows[3]).toEqual({ package: 'etcd-server', version: '3.4.23-4+b4', suite: 'bookworm' });
    expect(rows[10]).toEqual({ package: 'libc6', version: '2.41-12+deb13u5', suite: 'trixie' });
  });

  it('skips source rows, update suites keep their name, and noise is ignored', () => {
    const rows = parseMadison(
      [
        '      etcd | 3.4.23-4 | http://deb.debian.org/debian bookworm/main Sources',
        '     libc6 | 2.36-9+deb12u15 | http://deb.debian.org/debian bookworm-updates/main amd64 Packages',
        'N: Unable to locate package nothing',
        '',
      ].join('\n'),
    );
    expect(rows).toEqual([{ package: 'libc6', version: '2.36-9+deb12u15', suite: 'bookworm-updates' }]);
  });

  it('strips epoch, Debian revision and repack suffix to get the upstream version', () => {
    expect(upstreamVersion('3.4.23-4+b4')).toBe('3.4.23');
    expect(upstreamVersion('3.5.30-2')).toBe('3.5.30');
    expect(upstreamVersion('1:3.5.16+dfsg-4+b1')).toBe('3.5.16');
    expect(upstreamVersion('3.6.0~rc.1-1')).toBe('3.6.0');
    expect(upstreamVersion('garbage')).toBeUndefined();
  });

  it('maps each etcd version to one suite from the index: bookworm 3.4.23, trixie 3.5.16, forky 3.5.30', () => {
    const candidates = debianCandidates(parseMadison(MADISON));
    expect(
      candidates.map((c) => [c.etcdVersion, c.suite, c.packages['etcd-server'], c.packages.libc6]),
    ).toEqual([
      ['3.4.23', 'bookworm', '3.4.23-4+b4', '2.36-9+deb12u14'],
      ['3.5.16', 'trixie', '3.5.16-4', '2.41-12+deb13u5'],
      ['3.5.30', 'forky', '3.5.30-2', '2.43-7'],
    ]);
    // sid carries the same 3.5.30-2: the more stable suite is named, sid is recorded as an alternative.
    expect(candidates[2]?.alsoIn).toEqual(['sid']);
  });

  it('follows the index, not a table: a new sid version appears, a suite without libc6 or with mismatched client does not', () => {
    const moved = MADISON.replace(
      'etcd-server |   3.5.30-2 | http://deb.debian.org/debian sid',
      'etcd-server |   3.6.5-1 | http://deb.debian.org/debian sid',
    ).replace(
      'etcd-client |   3.5.30-2 | http://deb.debian.org/debian sid',
      'etcd-client |   3.6.5-1 | http://deb.debian.org/debian sid',
    );
    expect(debianCandidates(parseMadison(moved)).map((c) => `${c.etcdVersion}@${c.suite}`)).toEqual([
      '3.4.23@bookworm',
      '3.5.16@trixie',
      '3.5.30@forky',
      '3.6.5@sid',
    ]);
    const noClient = MADISON.split('\n')
      .filter((line) => !line.includes('etcd-client |   3.5.16-4'))
      .join('\n');
    expect(debianCandidates(parseMadison(noClient)).map((c) => c.etcdVersion)).toEqual(['3.4.23', '3.5.30']);
    expect(debianCandidates(parseMadison(MADISON), ['trixie']).map((c) => c.etcdVersion)).toEqual(['3.5.16']);
  });

  it('parses apt-get download --print-uris with the signed index SHA256s', () => {
    const files = parsePrintUris(PRINT_URIS);
    expect(files).toHaveLength(3);
    expect(files[1]).toEqual({
      url: 'http://deb.debian.org/debian/pool/main/e/etcd/etcd-server_3.5.30-2_amd64.deb',
      filename: 'etcd-server_3.5.30-2_amd64.deb',
      size: 12_057_556,
      sha256: '11a4f7e350c5020b83edff5160a6063d4e56ac9cd014d21ce8916378bf96de79',
    });
    expect(parsePrintUris("'http://x/y.deb' y.deb 12 MD5Sum:abc\n")).toEqual([]);
  });
});

describe('image tag and labels', () => {
  it('tags by version and a digest of the three package SHA256s, a valid Docker reference without "+"', () => {
    const tag = debianImageTag('3.5.30', PACKAGES_3_5_30);
    expect(tag).toMatch(/^etcd-lab\/etcd:3\.5\.30-deb-[0-9a-f]{12}$/);
    expect(imageReferenceProblem(tag)).toBeUndefined();
    // Order of the records does not matter; any changed package (a libc update) changes the tag.
    expect(debianImageTag('3.5.30', [...PACKAGES_3_5_30].reverse())).toBe(tag);
    const newLibc = PACKAGES_3_5_30.map((p) => (p.name === 'libc6' ? { ...p, sha256: '0'.repeat(64) } : p));
    expect(debianImageTag('3.5.30', newLibc)).not.toBe(tag);
    expect(() => packagesDigest(PACKAGES_3_5_30.slice(0, 2))).toThrow(/libc6 missing/);
  });

  it('keeps Debian versions ("+b4") and SHA256s in labels, and reads them back', () => {
    const packages = PACKAGES_3_5_30.map((p) =>
      p.name === 'etcd-server' ? { ...p, version: '3.4.23-4+b4' } : p,
    );
    const labels = debianImageLabels('3.5.30', undefined, 'forky', packages);
    expect(labels['etcd-lab.source']).toBe('debian');
    expect(labels['etcd-lab.etcd-version']).toBe('3.5.30');
    expect(labels['etcd-lab.debian.etcd-server']).toBe(
      '3.4.23-4+b4 sha256:11a4f7e350c5020b83edff5160a6063d4e56ac9cd014d21ce8916378bf96de79',
    );
    expect(debianFromLabels(labels)).toEqual({ suite: 'forky', packages });
    expect(debianFromLabels({ 'etcd-lab.image': 'host-built' })).toBeUndefined();
    expect(debianFromLabels(null)).toBeUndefined();
  });

  it('writes labels as one Dockerfile LABEL line with quoted keys and values', () => {
    expect(dockerfileLabelLine({ 'a.b': '1 sha256:ff', c: 'x"y' })).toBe(
      'LABEL "a.b"="1 sha256:ff" "c"="x\\"y"',
    );
  });
});

describe('etcd --version and etcdctl version output', () => {
  it('reads etcd and Go versions (3.4 and 3.5 print the same lines)', () => {
    const output =
      'etcd Version: 3.5.30\nGit SHA: Not provided (use ./build instead of go build)\nGo Version: go1.26.4\nGo OS/Arch: linux/amd64\n';
    expect(parseEtcdVersionOutput(output)).toEqual({ etcdVersion: '3.5.30', goVersion: 'go1.26.4' });
    expect(parseEtcdVersionOutput('exec format error')).toEqual({});
    expect(parseEtcdctlVersionOutput('etcdctl version: 3.4.23\nAPI version: 3.4\n')).toBe('3.4.23');
  });
});

describe('what --etcd may name', () => {
  it('reads a bare or v-prefixed version as a version, not as a repository called "3.5.30"', () => {
    expect(parseEtcdRequest('3.5.30')).toEqual({ kind: 'version', version: '3.5.30' });
    expect(parseEtcdRequest(' v3.4.23 ')).toEqual({ kind: 'version', version: '3.4.23' });
  });

  it('reads image references, and the version an official image tag implies', () => {
    expect(parseEtcdRequest('gcr.io/etcd-development/etcd:v3.5.16')).toEqual({
      kind: 'image',
      reference: 'gcr.io/etcd-development/etcd:v3.5.16',
      impliedVersion: '3.5.16',
    });
    expect(parseEtcdRequest('etcd-lab/etcd:3.5.30-deb-0266a6311838')).toEqual({
      kind: 'image',
      reference: 'etcd-lab/etcd:3.5.30-deb-0266a6311838',
    });
    expect(officialImageVersion('quay.io/coreos/etcd:v3.4.23')).toBe('3.4.23');
    expect(officialImageVersion('quay.io/coreos/etcd:latest')).toBeUndefined();
    expect(upstreamImageReferences('3.5.30')).toEqual([
      'gcr.io/etcd-development/etcd:v3.5.30',
      'quay.io/coreos/etcd:v3.5.30',
    ]);
  });

  it('rejects what is neither, with a message naming both forms', () => {
    const parsed = parseEtcdRequest('Etcd 3.5');
    expect(parsed).toHaveProperty('problem');
    expect((parsed as { problem: string }).problem).toMatch(
      /^expected an etcd version such as 3\.5\.30 or an image/,
    );
  });

  it('names the available versions in numeric order in one line', () => {
    const message = unavailableVersionMessage('3.6.0', ['3.5.30', '3.4.23', '3.5.16', '3.5.30']);
    expect(message).toBe(
      'etcd 3.6.0 cannot be obtained here (no cached image, registry, Debian package or host binary has it); ' +
        'available: 3.4.23, 3.5.16, 3.5.30 (`etcd-lab images` shows how each is obtained)',
    );
    expect(message).not.toContain('\n');
    expect(unavailableVersionMessage('3.6.0', [])).toContain('available: none');
    expect(compareVersions('3.5.9', '3.5.16')).toBeLessThan(0);
  });
});

describe('cached images', () => {
  const debianLabels = debianImageLabels('3.5.30', undefined, 'forky', PACKAGES_3_5_30);
  const images: ListedImage[] = [
    {
      Id: 'sha256:old',
      RepoTags: ['etcd-lab/etcd:3.5.30-deb-aaaaaaaaaaaa'],
      Labels: debianLabels,
      Created: 100,
    },
    {
      Id: 'sha256:new',
      RepoTags: ['etcd-lab/etcd:3.5.30', 'etcd-lab/etcd:3.5.30-deb-bbbbbbbbbbbb'],
      Labels: debianLabels,
      Created: 200,
    },
    {
      Id: 'sha256:host',
      RepoTags: ['etcd-lab/etcd:3.4.23-host-9abd59ad5107', 'etcd-lab/etcd:local'],
      Labels: { 'etcd-lab.image': 'host-built', 'etcd-lab.etcd-version': '3.4.23' },
      Created: 50,
    },
    { Id: 'sha256:gcr', RepoTags: ['gcr.io/etcd-development/etcd:v3.5.30'], Labels: null, Created: 10 },
    {
      Id: 'sha256:other',
      RepoTags: ['busybox:latest'],
      Labels: { 'etcd-lab.etcd-version': '9.9.9' },
      Created: 1,
    },
    { Id: 'sha256:dangling', RepoTags: null, Labels: debianLabels, Created: 300 },
    {
      Id: 'sha256:recipe1',
      RepoTags: ['etcd-lab/etcd:3.5.30-deb-cccccccccccc'],
      Labels: { ...debianLabels, 'etcd-lab.debian.recipe': '1' },
      Created: 400,
    },
  ];

  it('finds official tags and the lab’s labelled builds by their content tag, newest first, skipping older recipes', () => {
    const cached = cachedEtcdImages(images);
    expect(cached.map((image) => `${image.image} ${image.source}`)).toEqual([
      'etcd-lab/etcd:3.5.30-deb-bbbbbbbbbbbb debian',
      'etcd-lab/etcd:3.5.30-deb-aaaaaaaaaaaa debian',
      'etcd-lab/etcd:3.4.23-host-9abd59ad5107 host',
      'gcr.io/etcd-development/etcd:v3.5.30 registry',
    ]);
  });

  it('prefers the sources in the order given, and never picks a host build unless asked', () => {
    const cached = cachedEtcdImages(images);
    expect(pickCachedImage(cached, '3.5.30', ['registry', 'debian'])?.image).toBe(
      'gcr.io/etcd-development/etcd:v3.5.30',
    );
    expect(pickCachedImage(cached, '3.5.30', ['debian'])?.imageId).toBe('sha256:new');
    expect(pickCachedImage(cached, '3.4.23', ['registry', 'debian'])).toBeUndefined();
    expect(pickCachedImage(cached, '3.4.23', ['host'])?.image).toBe('etcd-lab/etcd:3.4.23-host-9abd59ad5107');
  });
});

describe('the versions `etcd-lab images` lists', () => {
  const candidates = debianCandidates(parseMadison(MADISON));
  const cached = cachedEtcdImages([
    {
      Id: 'sha256:h',
      RepoTags: ['etcd-lab/etcd:3.4.23-host-9abd59ad5107'],
      Labels: { 'etcd-lab.image': 'host-built', 'etcd-lab.etcd-version': '3.4.23' },
      Created: 1,
    },
    {
      Id: 'sha256:d',
      RepoTags: ['etcd-lab/etcd:3.5.30-deb-0266a6311838'],
      Labels: debianImageLabels('3.5.30', undefined, 'forky', PACKAGES_3_5_30),
      Created: 2,
    },
  ]);

  it('joins cache, Debian index and host binary, in the order images are obtained', () => {
    const offers = etcdVersionOffers(cached, candidates, '3.4.23');
    expect(offers.map((offer) => [offer.version, offer.plan, offer.host])).toEqual([
      // A cached host build does not stand in for a Debian build of the same version.
      ['3.4.23', 'debian-build', true],
      ['3.5.16', 'debian-build', false],
      ['3.5.30', 'cached', false],
    ]);
    expect(etcdVersionOffers(cached, [], '3.4.23').map((offer) => [offer.version, offer.plan])).toEqual([
      ['3.4.23', 'cached'],
      ['3.5.30', 'cached'],
    ]);
    expect(etcdVersionOffers([], [], '3.4.23')[0]?.plan).toBe('host-build');
  });

  it('prints one row per version and where the index came from', () => {
    const lines = formatVersionOffers(etcdVersionOffers(cached, candidates, '3.4.23'), {
      dir: '/var/cache/etcd-lab/apt',
      dates: { trixie: '2026-11-21' },
    });
    expect(lines[0]).toMatch(/^VERSION\s+OBTAINED AS\s+DEBIAN PACKAGES\s+HOST$/);
    expect(lines[1]).toMatch(
      /^3\.4\.23\s+built from Debian on first use\s+bookworm: etcd-server 3\.4\.23-4\+b4/,
    );
    expect(lines[3]).toContain('cached debian image etcd-lab/etcd:3.5.30-deb-0266a6311838');
    expect(lines[3]).toContain('forky (also sid)');
    expect(lines).toContain('Debian index: /var/cache/etcd-lab/apt (trixie 2026-11-21)');
  });
});
