import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, readFile, readdir, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { hasPvhEntryNote, moduleLoadOrder, STAGE1_MODULES, xzPayloadOffset } from './vm-plan.ts';

/**
 * The host side of the VM harness, each step idempotent and cached under .lab/vm/: the tools
 * (apt), Debian's kernel package (downloaded once, unpacked once per package version), the
 * initramfs (rebuilt when its inputs change) and the etcd images as `docker save` archives
 * (saved once per image id).
 */

const TOOLS: readonly { readonly command: string; readonly aptPackage: string }[] = [
  { command: 'qemu-system-x86_64', aptPackage: 'qemu-system-x86' },
  { command: 'cpio', aptPackage: 'cpio' },
  { command: 'depmod', aptPackage: 'kmod' },
  // The guest's `--as-user` runs the lab's privileged commands through it (the guest's root is this machine's).
  { command: 'sudo', aptPackage: 'sudo' },
];
/** Must be the statically linked busybox: the initramfs has no libc. */
const STATIC_BUSYBOX = '/bin/busybox';
const KERNEL_META_PACKAGE = 'linux-image-amd64';

export async function installMissingTools(): Promise<string[]> {
  const missing: string[] = [];
  for (const tool of TOOLS) {
    if (!(await commandExists(tool.command))) missing.push(tool.aptPackage);
  }
  if (!(await isStaticBusybox())) missing.push('busybox-static');
  if (missing.length === 0) return [];
  await aptGet(['install', '-y', '-qq', '--no-install-recommends', ...missing]);
  return missing;
}

async function commandExists(command: string): Promise<boolean> {
  return (await execa('sh', ['-c', `command -v ${command}`], { reject: false })).exitCode === 0;
}

async function isStaticBusybox(): Promise<boolean> {
  if (!existsSync(STATIC_BUSYBOX)) return false;
  // dpkg knows which package owns it: `busybox` (dynamic) and `busybox-static` both install /bin/busybox.
  const owner = await execa('dpkg-query', ['-S', STATIC_BUSYBOX], { reject: false });
  return owner.stdout.startsWith('busybox-static:');
}

let aptUpdated = false;
async function aptGet(args: readonly string[], cwd?: string): Promise<void> {
  const env = { DEBIAN_FRONTEND: 'noninteractive' };
  const first = await execa('apt-get', args, { reject: false, env, ...(cwd ? { cwd } : {}) });
  if (first.exitCode === 0) return;
  // A fresh machine may have no package lists yet: update once and try again.
  if (!aptUpdated) {
    await execa('apt-get', ['update', '-qq'], { env });
    aptUpdated = true;
    await execa('apt-get', args, { env, ...(cwd ? { cwd } : {}) });
    return;
  }
  throw new Error(`apt-get ${args.join(' ')} failed: ${first.stderr.trim()}`);
}

export interface UnpackedKernel {
  /** e.g. linux-image-6.1.0-57-amd64 */
  readonly packageName: string;
  readonly packageVersion: string;
  /** uname -r of the kernel, e.g. 6.1.0-57-amd64 */
  readonly kernelVersion: string;
  /** The unpacked package: boot/vmlinuz-<version>, lib/modules/<version>/ with modules.dep. */
  readonly root: string;
  readonly vmlinuz: string;
  readonly downloaded: boolean;
  readonly unpacked: boolean;
}

/**
 * Debian's stock kernel, the package linux-image-amd64 points to (linux-image-<abi>-amd64),
 * downloaded with apt-get and unpacked with dpkg-deb, with modules.dep rebuilt by depmod. The
 * unpacked tree is keyed by package name and version, so a new kernel gets a new tree.
 */
export async function fetchKernel(cacheDir: string): Promise<UnpackedKernel> {
  const packageName = await kernelPackageName();
  const packageVersion = await candidateVersion(packageName);
  const kernelVersion = packageName.replace(/^linux-image-/, '');
  const debDir = path.join(cacheDir, 'debs');
  const root = path.join(cacheDir, 'kernel', `${packageName}_${packageVersion}`);
  const vmlinuz = path.join(root, 'boot', `vmlinuz-${kernelVersion}`);
  const doneMarker = path.join(root, '.unpacked');
  if (existsSync(doneMarker)) {
    return { packageName, packageVersion, kernelVersion, root, vmlinuz, downloaded: false, unpacked: false };
  }
  await mkdir(debDir, { recursive: true });
  const deb = await findDeb(debDir, packageName, packageVersion);
  let downloaded = false;
  if (deb === undefined) {
    await aptGet(['download', '-qq', `${packageName}=${packageVersion}`], debDir);
    downloaded = true;
  }
  const debFile = (await findDeb(debDir, packageName, packageVersion)) ?? '';
  if (debFile === '') throw new Error(`apt-get download left no ${packageName} package in ${debDir}`);
  // Unpack beside, then rename: an interrupted unpack never looks complete.
  const partial = `${root}.partial`;
  await rm(partial, { recursive: true, force: true });
  await mkdir(partial, { recursive: true });
  await execa('dpkg-deb', ['-x', debFile, partial]);
  await execa('depmod', ['-b', partial, kernelVersion]);
  await rm(root, { recursive: true, force: true });
  await rename(partial, root);
  await writeFile(doneMarker, `${packageName} ${packageVersion}\n`);
  return { packageName, packageVersion, kernelVersion, root, vmlinuz, downloaded, unpacked: true };
}

async function kernelPackageName(): Promise<string> {
  const depends = await aptCache(['depends', KERNEL_META_PACKAGE]);
  const name = /Depends:\s*(linux-image-\S+-amd64)/.exec(depends)?.[1];
  if (name === undefined) throw new Error(`apt-cache depends ${KERNEL_META_PACKAGE} names no kernel package`);
  return name;
}

async function candidateVersion(packageName: string): Promise<string> {
  const policy = await aptCache(['policy', packageName]);
  const version = /Candidate:\s*(\S+)/.exec(policy)?.[1];
  if (version === undefined || version === '(none)')
    throw new Error(`apt has no candidate for ${packageName}`);
  return version;
}

/** apt-cache answers from the local package lists; on a fresh machine those need an update first. */
async function aptCache(args: readonly string[]): Promise<string> {
  const result = await execa('apt-cache', args, { reject: false });
  if (result.exitCode === 0 && result.stdout.trim() !== '' && !result.stdout.includes('(none)'))
    return result.stdout;
  if (!aptUpdated) {
    await execa('apt-get', ['update', '-qq'], { env: { DEBIAN_FRONTEND: 'noninteractive' } });
    aptUpdated = true;
  }
  return (await execa('apt-cache', args)).stdout;
}

async function findDeb(dir: string, packageName: string, version: string): Promise<string | undefined> {
  // apt-get download writes <name>_<version with ':' as %3a>_amd64.deb.
  const expected = `${packageName}_${version.replace(/:/g, '%3a')}_amd64.deb`;
  return (await readdir(dir)).includes(expected) ? path.join(dir, expected) : undefined;
}

export interface BootableKernel {
  /** What QEMU's -kernel gets: the uncompressed vmlinux when it has a PVH entry, else the bzImage. */
  readonly file: string;
  readonly pvh: boolean;
  readonly extracted: boolean;
}

/**
 * The kernel uncompressed, once: under emulation the bzImage's own xz decompression takes
 * seconds, and an ELF vmlinux with a PVH entry note boots directly. Falls back to the bzImage
 * when the payload is not xz or the vmlinux has no PVH entry.
 */
export async function bootableKernel(kernel: UnpackedKernel): Promise<BootableKernel> {
  const vmlinux = path.join(kernel.root, 'boot', `vmlinux-${kernel.kernelVersion}`);
  if (existsSync(vmlinux)) return { file: vmlinux, pvh: true, extracted: false };
  const bzImage = await readFile(kernel.vmlinuz);
  const offset = xzPayloadOffset(bzImage);
  if (offset < 0) return { file: kernel.vmlinuz, pvh: false, extracted: false };
  const partial = `${vmlinux}.partial`;
  // --single-stream: the bzImage goes on after the xz stream; that tail is not kernel.
  const unpacked = await execa('xz', ['-dc', '--single-stream'], {
    input: bzImage.subarray(offset),
    encoding: 'buffer',
    reject: false,
  });
  if (unpacked.exitCode !== 0 || !hasPvhEntryNote(unpacked.stdout)) {
    return { file: kernel.vmlinuz, pvh: false, extracted: false };
  }
  await writeFile(partial, unpacked.stdout);
  await rename(partial, vmlinux);
  return { file: vmlinux, pvh: true, extracted: true };
}

export interface BuiltInitramfs {
  readonly file: string;
  readonly built: boolean;
}

/**
 * An uncompressed newc cpio (no decompression under emulation): the static busybox, the
 * first-stage init, the .ko files the first stage insmods and their load order. Named by a hash
 * of all of these, so any change builds a new one.
 */
export async function buildInitramfs(
  cacheDir: string,
  kernel: UnpackedKernel,
  initScript: string,
): Promise<BuiltInitramfs> {
  const modulesDir = path.join(kernel.root, 'lib', 'modules', kernel.kernelVersion);
  const order = moduleLoadOrder(await readFile(path.join(modulesDir, 'modules.dep'), 'utf8'), STAGE1_MODULES);
  const hash = createHash('sha256');
  hash.update(await readFile(STATIC_BUSYBOX));
  hash.update(await readFile(initScript));
  for (const ko of order) hash.update(ko).update(await readFile(path.join(modulesDir, ko)));
  const file = path.join(cacheDir, `initramfs-${hash.digest('hex').slice(0, 16)}.cpio`);
  if (existsSync(file)) return { file, built: false };

  const tree = path.join(cacheDir, 'initramfs-tree');
  await rm(tree, { recursive: true, force: true });
  for (const dir of ['bin', 'dev', 'proc', 'sys', 'mods', 'host', 't', 'newroot']) {
    await mkdir(path.join(tree, dir), { recursive: true });
  }
  await copyFile(STATIC_BUSYBOX, path.join(tree, 'bin', 'busybox'));
  await copyFile(initScript, path.join(tree, 'init'));
  const names: string[] = [];
  for (const ko of order) {
    const name = path.basename(ko);
    if (!name.endsWith('.ko'))
      throw new Error(`compressed module ${ko}: busybox insmod needs plain .ko files`);
    await copyFile(path.join(modulesDir, ko), path.join(tree, 'mods', name));
    names.push(name);
  }
  await writeFile(path.join(tree, 'modules.order'), `${names.join('\n')}\n`);
  await execa('chmod', ['0755', path.join(tree, 'init'), path.join(tree, 'bin', 'busybox')]);
  const partial = `${file}.partial`;
  await execa('sh', ['-c', `find . -print0 | cpio --null -o -H newc --quiet > ${JSON.stringify(partial)}`], {
    cwd: tree,
  });
  await rename(partial, file);
  await rm(tree, { recursive: true, force: true });
  return { file, built: true };
}

export interface SavedImage {
  readonly image: string;
  readonly imageId: string;
  readonly archive: string;
  readonly saved: boolean;
}

/**
 * The image as a `docker save` archive named by its image id, with every tag it has here (the
 * lab finds the host-built image by its etcd-lab/etcd:<version>-host-<hash> tag).
 */
export async function saveImage(cacheDir: string, image: string): Promise<SavedImage> {
  const inspect = JSON.parse((await execa('docker', ['image', 'inspect', image])).stdout) as {
    Id: string;
    RepoTags: string[] | null;
  }[];
  const info = inspect[0];
  if (info === undefined) throw new Error(`docker image inspect ${image} returned nothing`);
  const imageId = info.Id.replace(/^sha256:/, '');
  const dir = path.join(cacheDir, 'images');
  await mkdir(dir, { recursive: true });
  const tags = [...new Set([image, ...(info.RepoTags ?? [])])].sort();
  // The tags are part of the name: a new tag on the same image saves again.
  const tagHash = createHash('sha256').update(tags.join('\n')).digest('hex').slice(0, 8);
  const archive = path.join(dir, `${imageId.slice(0, 16)}-${tagHash}.tar`);
  if (existsSync(archive)) return { image, imageId, archive, saved: false };
  const partial = `${archive}.partial`;
  await execa('docker', ['save', '-o', partial, ...tags]);
  await rename(partial, archive);
  return { image, imageId, archive, saved: true };
}
