import { mkdir, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { processAlive } from './process-alive.ts';

/**
 * JSON files other processes may read while they are written (result files, sweep cells, the
 * records of fault helpers): written to a temporary file and renamed into place, so a reader
 * sees the whole file or none. A plain writeFile truncates first, and a reader polling at that
 * moment reads an empty file.
 */

/** `<file>.<pid>.tmp`: the temporary file {@link writeJsonAtomically} renames into place. */
const ATOMIC_TEMP_FILE = /^.+\.(\d+)\.tmp$/;

/**
 * Writes JSON to a temporary file next to `path` and renames it into place, first removing
 * temporary files there that a dead writer left behind.
 */
export async function writeJsonAtomically(
  path: string,
  value: unknown,
  format: 'pretty' | 'compact' = 'pretty',
): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  await removeStaleTempFiles(dirname(path));
  const tmp = `${path}.${process.pid}.tmp`;
  const text = format === 'pretty' ? `${JSON.stringify(value, null, 2)}\n` : JSON.stringify(value);
  await writeFile(tmp, text);
  await rename(tmp, path);
}

/**
 * Removes the temporary files of atomic writes in `dir` whose writer is gone: a process that
 * died between write and rename leaves its `<file>.<pid>.tmp` behind for good. A live pid's file
 * (this process's, or a concurrent run's) is a write in progress and is kept. Returns the names removed.
 */
export async function removeStaleTempFiles(dir: string): Promise<string[]> {
  const names = await readdir(dir).catch(() => [] as string[]);
  const stale = names.filter((name) => {
    const pid = Number(ATOMIC_TEMP_FILE.exec(name)?.[1]);
    return Number.isSafeInteger(pid) && pid > 0 && pid !== process.pid && !processAlive(pid);
  });
  await Promise.all(stale.map((name) => rm(join(dir, name), { force: true })));
  return stale;
}
