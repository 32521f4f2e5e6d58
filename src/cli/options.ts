import { mkdir, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { InvalidArgumentError } from 'commander';
import { validateEtcdOptions, type EtcdOptions } from '../cluster/etcd-options.ts';
import { BadInputError } from '../errors.ts';
import { etcdMatrixProblem, etcdRequestProblem } from '../host/etcd-choice.ts';
import { imageReferenceProblem } from '../host/image-reference.ts';
import { parseDuration } from '../plans/quorum/model.ts';

/** commander argument parsers that reject bad values with a message naming the value. */
export function integerIn(min: number, max: number): (value: string) => number {
  return (value) => {
    const parsed = Number(value);
    if (!/^-?\d+$/.test(value.trim()) || parsed < min || parsed > max) {
      throw new InvalidArgumentError(`expected an integer from ${min} to ${max}, got "${value}"`);
    }
    return parsed;
  };
}

export function probability(value: string): number {
  const parsed = Number(value);
  if (value.trim() === '' || !Number.isFinite(parsed) || parsed < 0 || parsed > 1) {
    throw new InvalidArgumentError(`expected a probability from 0 to 1, got "${value}"`);
  }
  return parsed;
}

export function positiveInteger(value: string): number {
  const parsed = Number(value);
  if (!/^\d+$/.test(value.trim()) || parsed <= 0 || !Number.isSafeInteger(parsed)) {
    throw new InvalidArgumentError(`expected a positive integer, got "${value}"`);
  }
  return parsed;
}

/** An image reference as Docker reads it ("etcd", "gcr.io/etcd-development/etcd:v3.5.21", …). */
export function imageReference(value: string): string {
  const problem = imageReferenceProblem(value);
  if (problem !== undefined) throw new InvalidArgumentError(problem);
  return value;
}

/** `--etcd`: one etcd version ("3.5.30", "v3.5.30") or an image reference; a list is refused (only `run` takes one). */
export function etcdRequest(value: string): string {
  const problem = etcdRequestProblem(value);
  if (problem !== undefined) throw new InvalidArgumentError(problem);
  return value.trim();
}

/** `run --etcd`: one etcd version or image, or a comma-separated list of them (a version matrix). */
export function etcdRequestOrList(value: string): string {
  const problem = value.includes(',') ? etcdMatrixProblem(value) : etcdRequestProblem(value);
  if (problem !== undefined) throw new InvalidArgumentError(problem);
  return value.trim();
}

/** A duration such as 90s, 30m, 4h, 10y, in hours; `allowZero` for repair times. */
export function durationHours(options: { readonly allowZero?: boolean } = {}): (value: string) => number {
  return (value) => {
    let hours: number;
    try {
      hours = parseDuration(value);
    } catch {
      throw new InvalidArgumentError(
        `expected a number and one unit of s, m, h, d, w or y, such as 90s, 30m, 4h or 10y, got "${value}"`,
      );
    }
    // Hundreds of digits parse to Infinity, which every later check would report in its own words.
    if (!Number.isFinite(hours)) throw new InvalidArgumentError(`too long to count, got "${value}"`);
    if (hours === 0 && options.allowZero !== true) {
      throw new InvalidArgumentError(`must be longer than 0, got "${value}"`);
    }
    return hours;
  };
}

/** A duration such as 300s or 5m, in whole milliseconds (longer than 0). */
export function durationMs(value: string): number {
  const ms = Math.round(durationHours()(value) * 3_600_000);
  if (ms <= 0) throw new InvalidArgumentError(`must be at least 1 ms, got "${value}"`);
  return ms;
}

/**
 * Refuses a results directory that cannot be created or written, before anything starts (not
 * after a whole run). Directories it had to create for the probe are removed again: the run
 * creates them when it writes, and bad input elsewhere leaves nothing behind.
 */
export async function checkWritableDir(what: string, dir: string): Promise<void> {
  if (dir.trim() === '') throw new BadInputError(`${what}: expected a directory, got an empty string`);
  const target = resolve(dir);
  const existing = await stat(target).catch(() => undefined);
  if (existing !== undefined && !existing.isDirectory()) {
    throw new BadInputError(`${what} ${dir}: exists and is not a directory`);
  }
  const created: string[] = [];
  try {
    await makeDirectories(target, created);
    const probe = join(target, `.etcd-lab-write-probe-${process.pid}`);
    await writeFile(probe, '');
    await rm(probe, { force: true });
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    throw new BadInputError(`${what} ${dir}: cannot create or write a directory there (${reason})`);
  } finally {
    const first = created[0];
    if (first !== undefined) await rm(first, { recursive: true, force: true }).catch(() => undefined);
  }
}

/**
 * `mkdir -p` one level at a time, recording what it created. Node's `mkdir({ recursive: true })`
 * spins forever where a parent exists but refuses children with ENOENT (anywhere under /proc).
 */
async function makeDirectories(target: string, created: string[]): Promise<void> {
  const missing: string[] = [];
  for (let dir = target; !(await isDirectory(dir)); dir = dirname(dir)) {
    missing.unshift(dir);
    if (dirname(dir) === dir) break;
  }
  for (const dir of missing) {
    await mkdir(dir);
    created.push(dir);
  }
}

const isDirectory = (path: string): Promise<boolean> =>
  stat(path).then(
    (info) => info.isDirectory(),
    () => false,
  );

/** etcd's own timing rules (election timeout ≥ 5 × heartbeat, …), in the words of the CLI's flags. */
export function checkEtcdTiming(options: EtcdOptions): void {
  try {
    validateEtcdOptions(options);
  } catch (error) {
    if (!(error instanceof BadInputError)) throw error;
    throw new BadInputError(
      error.message
        .replace(/\belectionTimeoutMs\b/g, '--election-timeout-ms')
        .replace(/\bheartbeatMs\b/g, '--heartbeat-ms'),
    );
  }
}
