import { createHash } from 'node:crypto';
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { execa } from 'execa';
import { EtcdImageError } from '../../errors.ts';
import { progress } from '../../util/log.ts';
import { aptInstall, docker } from '../docker.ts';
import { buildImageFromContext } from '../docker-build.ts';

/**
 * Where an etcd image comes from besides Debian's packages (debian-build.ts): the local image
 * store, a registry pull, or the host's own etcd binaries. Below etcd-image.ts (which picks
 * among the sources) and obtain-etcd-image.ts, so neither imports the other's caller.
 */

/** Where etcd lives in the official images, and in the image the lab builds. */
export const ETCD_BINARY = '/usr/local/bin/etcd';
export const ETCDCTL_BINARY = '/usr/local/bin/etcdctl';

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
