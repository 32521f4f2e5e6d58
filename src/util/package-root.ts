import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Where etcd-lab's own files are: the repository in development (src/ run through tsx), or
 * node_modules/etcd-lab in an installed copy (dist/). Found by walking up from this file to the
 * package.json named etcd-lab, not by a fixed count of `../`: src/util and dist/util happen to be
 * as deep, but a moved file or another build layout must not silently point at the wrong place.
 */
const PACKAGE_NAME = 'etcd-lab';

export function findPackageRoot(start: string): string {
  for (let dir = start; ; dir = path.dirname(dir)) {
    const manifest = path.join(dir, 'package.json');
    if (existsSync(manifest) && readManifest(manifest).name === PACKAGE_NAME) return dir;
    if (path.dirname(dir) === dir) {
      throw new Error(`no package.json named ${PACKAGE_NAME} above ${start}`);
    }
  }
}

function readManifest(file: string): { name?: unknown; version?: unknown } {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as { name?: unknown; version?: unknown };
  } catch {
    return {};
  }
}

export const PACKAGE_ROOT = findPackageRoot(path.dirname(fileURLToPath(import.meta.url)));

/** A path inside the package: `packagePath('lab', 'sweeps')`. */
export function packagePath(...segments: string[]): string {
  return path.join(PACKAGE_ROOT, ...segments);
}

/** The version in package.json (what `etcd-lab --version` prints). */
const { version } = readManifest(packagePath('package.json'));
export const PACKAGE_VERSION = typeof version === 'string' ? version : 'unknown';
