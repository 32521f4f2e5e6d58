import { copyFile, lstat, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { EtcdImageError } from '../../errors.ts';
import { progress } from '../../util/log.ts';
import { buildImageFromContext } from '../docker-build.ts';
import { docker } from '../docker.ts';
import { ETCD_BINARY, ETCDCTL_BINARY } from './image-sources.ts';
import type { PrivateAptRoot } from './apt-root.ts';
import { packageOfFile, type DebianCandidate, type DebianPackageName } from './debian-index.ts';
import {
  debianImageLabels,
  debianImageTag,
  dockerfileLabelLine,
  versionAlias,
  type DebianPackageRecord,
} from './provenance.ts';
import { probeEtcdImage, type ImageVersions } from './probe.ts';

const ETCDUTL_BINARY = '/usr/local/bin/etcdutl';
/** Where the loader looks without an ld.so.cache; regular files, since a scratch image has no /lib64 symlink. */
const LOADER_PATH = '/lib64/ld-linux-x86-64.so.2';
const LIBC_PATH = '/lib/x86_64-linux-gnu/libc.so.6';
/** libc6's layout differs by suite: bookworm ships /lib/…, trixie and later are merged-/usr (/usr/lib/…). */
const LIBRARY_DIRS = ['usr/lib/x86_64-linux-gnu', 'lib/x86_64-linux-gnu'];

export interface DebianBuild {
  readonly image: string;
  readonly packages: readonly DebianPackageRecord[];
  readonly versions: ImageVersions;
  /** Wall times: apt download (0 when the .debs were cached), unpacking into the build context, docker build, `etcd --version` check. */
  readonly downloadMs: number;
  readonly unpackMs: number;
  readonly buildMs: number;
  readonly verifyMs: number;
  /** True when the tag for these exact packages already existed: nothing was built. */
  readonly reused: boolean;
}

/**
 * Downloads the candidate's etcd-server, etcd-client and libc6, unpacks them (dpkg-deb -x: no
 * maintainer scripts, nothing installed) and builds a FROM-scratch image with etcd, etcdctl,
 * etcdutl when the package has it, and the suite's own libc.so.6 and loader. The image is then
 * run once: `etcd --version` must report the candidate's version, else the build is an error.
 */
export async function buildImageFromDebian(
  root: PrivateAptRoot,
  candidate: DebianCandidate,
): Promise<DebianBuild> {
  // The tag needs only the signed index's SHA256s, so a cached image costs no download.
  const indexed = await root.packageFiles(candidate);
  const packages: DebianPackageRecord[] = indexed.map((file) => {
    const name = packageOfFile(file.filename) as DebianPackageName;
    return { name, version: candidate.packages[name], sha256: file.sha256 };
  });
  const tag = debianImageTag(candidate.etcdVersion, packages);
  if (await imageExists(tag)) {
    const verifyStarted = performance.now();
    const versions = await verifiedVersions(tag, candidate.etcdVersion);
    return {
      image: tag,
      packages,
      versions,
      downloadMs: 0,
      unpackMs: 0,
      buildMs: 0,
      verifyMs: performance.now() - verifyStarted,
      reused: true,
    };
  }

  const downloaded = await root.download(candidate);
  progress(
    `building ${tag} from Debian ${candidate.suite} (etcd-server ${candidate.packages['etcd-server']})…`,
  );
  const unpackStarted = performance.now();
  const workDir = await mkdtemp(join(tmpdir(), 'etcd-lab-deb-'));
  try {
    const unpacked = join(workDir, 'root');
    const context = join(workDir, 'context');
    await mkdir(context);
    for (const file of downloaded.files) {
      const result = await execa('dpkg-deb', ['-x', file.path, unpacked], { reject: false });
      if (result.exitCode !== 0) {
        throw new EtcdImageError(
          `dpkg-deb -x ${file.filename} failed: ${result.stderr.trim().slice(0, 300)}`,
        );
      }
    }
    const files: string[] = [];
    const copyLines: string[] = [];
    const add = async (from: string, name: string, to: string) => {
      await copyFile(from, join(context, name));
      files.push(name);
      copyLines.push(`COPY ${name} ${to}`);
    };
    for (const [binary, target, required] of [
      ['etcd', ETCD_BINARY, true],
      ['etcdctl', ETCDCTL_BINARY, true],
      ['etcdutl', ETCDUTL_BINARY, false],
    ] as const) {
      const path = join(unpacked, 'usr/bin', binary);
      if (existsSync(path)) await add(path, binary, target);
      else if (required)
        throw new EtcdImageError(
          `Debian's etcd packages for ${candidate.etcdVersion} have no /usr/bin/${binary}`,
        );
    }
    await add(await regularLibrary(unpacked, 'ld-linux-x86-64.so.2'), 'ld-linux-x86-64.so.2', LOADER_PATH);
    await add(await regularLibrary(unpacked, 'libc.so.6'), 'libc.so.6', LIBC_PATH);
    await mkdir(join(context, 'empty'));
    files.push('empty');

    // Labels need `etcd --version`'s Go version; the binary cannot run before the image exists,
    // so the Go version is read back after the build and recorded in the provenance instead.
    await writeFile(
      join(context, 'Dockerfile'),
      [
        'FROM scratch',
        ...copyLines,
        'COPY empty /tmp',
        'COPY empty /var/lib/etcd',
        dockerfileLabelLine(debianImageLabels(candidate.etcdVersion, undefined, candidate.suite, packages)),
        'EXPOSE 2379 2380',
        // Like etcd's own images: no entrypoint, so `docker run --rm <image> etcd --version` works.
        // The lab sets its own entrypoint (the etcd binary) when it starts a member.
        'ENV PATH=/usr/local/bin',
        `CMD ["${ETCD_BINARY}"]`,
        '',
      ].join('\n'),
    );
    files.push('Dockerfile');
    const unpackMs = performance.now() - unpackStarted;
    const buildStarted = performance.now();
    await buildImageFromContext(context, files, tag);
    const buildMs = performance.now() - buildStarted;

    const verifyStarted = performance.now();
    let versions: ImageVersions;
    try {
      versions = await verifiedVersions(tag, candidate.etcdVersion);
    } catch (error) {
      // An image that does not run the version it is labelled with must not be found as cached.
      await docker()
        .getImage(tag)
        .remove({ force: true })
        .catch(() => undefined);
      throw error;
    }
    const verifyMs = performance.now() - verifyStarted;
    const [repo, aliasTag] = versionAlias(candidate.etcdVersion).split(':') as [string, string];
    await docker().getImage(tag).tag({ repo, tag: aliasTag });
    return {
      image: tag,
      packages,
      versions,
      downloadMs: downloaded.downloadMs,
      unpackMs,
      buildMs,
      verifyMs,
      reused: false,
    };
  } finally {
    await rm(workDir, { recursive: true, force: true });
  }
}

/** Runs the image once and insists on the requested version from both etcd and etcdctl. */
export async function verifiedVersions(image: string, expected: string): Promise<ImageVersions> {
  const versions = await probeEtcdImage(image);
  if (versions.etcdVersion !== expected || (versions.etcdctlVersion ?? expected) !== expected) {
    throw new EtcdImageError(
      `Image ${image} should run etcd ${expected}, but etcd --version reports ${versions.etcdVersion}` +
        (versions.etcdctlVersion === undefined ? '' : ` and etcdctl version ${versions.etcdctlVersion}`),
    );
  }
  return versions;
}

async function regularLibrary(unpacked: string, name: string): Promise<string> {
  for (const dir of LIBRARY_DIRS) {
    const path = join(unpacked, dir, name);
    const info = await lstat(path).catch(() => undefined);
    if (info?.isFile()) return path;
  }
  throw new EtcdImageError(`libc6 has no regular file ${name} in ${LIBRARY_DIRS.join(' or ')}`);
}

async function imageExists(image: string): Promise<boolean> {
  try {
    await docker().getImage(image).inspect();
    return true;
  } catch {
    return false;
  }
}
