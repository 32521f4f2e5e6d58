import { createHash } from 'node:crypto';
import { chmod, mkdir, mkdtemp, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { packagePath } from '../../util/package-root.ts';
import { runCommand } from '../host-command.ts';
import { available, exists, shellJoin, unavailable, type Probe } from '../probes/probe.ts';

/**
 * Building the nfq-delay helper (native/nfq-delay, the userspace delay used where tc netem is
 * missing): where its build lives, compiling it, and the probe that says whether it can be.
 */

const COMPILE_TIMEOUT_MS = 60_000;
export const NFQ_DELAY_INSTALL_HINT = 'apt-get install -y gcc libnetfilter-queue-dev';

// In an installed copy these are node_modules/etcd-lab/native/… and node_modules/etcd-lab/.lab/bin.
export const NFQ_DELAY_SOURCE = packagePath('native', 'nfq-delay', 'nfq-delay.c');
const NFQ_DELAY_BIN_DIR = packagePath('.lab', 'bin');
/** Every build of the helper is a file whose path starts with this (see {@link nfqDelayBinaryPath}). */
export const NFQ_DELAY_BINARY_PREFIX = path.join(NFQ_DELAY_BIN_DIR, 'nfq-delay');
const NFQ_DELAY_CFLAGS = ['-O2', '-Wall'] as const;
const NFQ_DELAY_LIBS = ['-lnetfilter_queue'] as const;

/**
 * Where the build of the current source lives: `.lab/bin/nfq-delay-<hash of source and flags>`.
 * A binary is never stale: a changed source (or a checkout that leaves an old binary newer than
 * the source, which an mtime comparison would trust) has another name, so it is built afresh.
 */
export async function nfqDelayBinaryPath(): Promise<string> {
  const hash = createHash('sha256')
    .update(await readFile(NFQ_DELAY_SOURCE))
    .update(JSON.stringify([NFQ_DELAY_CFLAGS, NFQ_DELAY_LIBS]))
    .digest('hex')
    .slice(0, 12);
  return `${NFQ_DELAY_BINARY_PREFIX}-${hash}`;
}

async function isExecutableFile(binary: string): Promise<boolean> {
  try {
    const info = await stat(binary);
    return info.isFile() && (info.mode & 0o111) !== 0;
  } catch {
    return false;
  }
}

/** Compiles the helper to `output`; resolves to an error message (with install hint) or undefined. */
async function compileNfqDelay(output: string): Promise<string | undefined> {
  if (!(await exists(NFQ_DELAY_SOURCE))) return `nfq-delay source not found at ${NFQ_DELAY_SOURCE}`;
  const gcc = await runCommand('gcc', ['--version']);
  if (!gcc.ok) return `gcc not usable (${gcc.reason}); install with: ${NFQ_DELAY_INSTALL_HINT}`;
  const args = [...NFQ_DELAY_CFLAGS, '-o', output, NFQ_DELAY_SOURCE, ...NFQ_DELAY_LIBS];
  const r = await runCommand('gcc', args, { timeoutMs: COMPILE_TIMEOUT_MS });
  if (r.ok) return undefined;
  const missingLib = /libnetfilter_queue|lnetfilter_queue|libnfnetlink/.test(r.stderr);
  const why = missingLib ? 'libnetfilter_queue headers/library missing' : 'compilation failed';
  return `${why}: ${shellJoin('gcc', args)}: ${r.reason}; install with: ${NFQ_DELAY_INSTALL_HINT}`;
}

export async function probeNfqDelayHelper(): Promise<Probe> {
  if (!(await exists(NFQ_DELAY_SOURCE)))
    return unavailable(`nfq-delay source not found at ${NFQ_DELAY_SOURCE}`);
  const binary = await nfqDelayBinaryPath();
  if (await isExecutableFile(binary)) return available(`built: ${binary}`);
  const dir = await mkdtemp(path.join(os.tmpdir(), 'etcdlab-nfq-probe-'));
  try {
    const error = await compileNfqDelay(path.join(dir, 'nfq-delay'));
    return error === undefined
      ? available(`not built yet, but compiles (gcc + libnetfilter_queue); buildNfqDelayHelper() → ${binary}`)
      : unavailable(error);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

let building: Promise<string> | undefined;

/**
 * Compiles native/nfq-delay into .lab/bin (under a name that hashes its source, see
 * {@link nfqDelayBinaryPath}) unless that build exists, and returns the binary's path. Rejects with
 * the apt-get line to run when gcc or libnetfilter_queue is missing.
 */
export function buildNfqDelayHelper(): Promise<string> {
  building ??= (async () => {
    try {
      const binary = await nfqDelayBinaryPath();
      if (await isExecutableFile(binary)) return binary;
      await mkdir(NFQ_DELAY_BIN_DIR, { recursive: true });
      // Build beside the target and rename: concurrent lab processes never see a half-written binary.
      const tmp = `${binary}.tmp-${process.pid}-${Date.now()}`;
      try {
        const error = await compileNfqDelay(tmp);
        if (error !== undefined) throw new Error(`cannot build the nfq-delay helper: ${error}`);
        await chmod(tmp, 0o755);
        await rename(tmp, binary);
      } finally {
        await rm(tmp, { force: true });
      }
      await removeOtherBuilds(binary);
      return binary;
    } finally {
      building = undefined;
    }
  })();
  return building;
}

/** Older builds (and the unhashed name of earlier versions). A helper running one keeps running. */
async function removeOtherBuilds(current: string): Promise<void> {
  const names = await readdir(NFQ_DELAY_BIN_DIR).catch(() => [] as string[]);
  for (const name of names) {
    const file = path.join(NFQ_DELAY_BIN_DIR, name);
    if (file === current || !file.startsWith(NFQ_DELAY_BINARY_PREFIX) || name.includes('.tmp-')) continue;
    await rm(file, { force: true }).catch(() => undefined);
  }
}
