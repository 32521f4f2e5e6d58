import { createHash } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { EtcdImageError } from '../../errors.ts';
import {
  DEBIAN_PACKAGES,
  DEBIAN_SUITES,
  debianCandidates,
  packageOfFile,
  parseMadison,
  parsePrintUris,
  type DebianCandidate,
  type MadisonRow,
  type PackageFile,
} from './debian-index.ts';

const MIRROR = 'http://deb.debian.org/debian';
const updatesInFlight = new Map<string, Promise<number>>();
const KEYRING = '/usr/share/keyrings/debian-archive-keyring.gpg';

/** Where the private apt root lives: ETCD_LAB_APT_ROOT, else /var/cache/etcd-lab/apt as root, else ~/.cache. */
export function defaultAptRootDir(): string {
  if (process.env.ETCD_LAB_APT_ROOT) return process.env.ETCD_LAB_APT_ROOT;
  if (process.getuid?.() === 0) return '/var/cache/etcd-lab/apt';
  return join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'etcd-lab', 'apt');
}

export interface DownloadedPackages {
  readonly files: readonly (PackageFile & { readonly path: string; readonly package: string })[];
  /** Wall time of the download; 0 when every file was already in the cache. */
  readonly downloadMs: number;
}

/**
 * An apt configuration of the lab's own, beside the host's: its own sources (all suites that may
 * carry etcd), lists, cache and an empty dpkg status. The host's apt state and its apt.conf.d hooks
 * are never touched: APT_CONFIG is read before apt.conf.d, so Dir::Etc::Parts here keeps them out.
 * apt still verifies the Release signatures (signed-by the Debian archive keyring) and every .deb
 * against the signed index; the .deb SHA256s are checked once more after download.
 */
export class PrivateAptRoot {
  readonly dir: string;

  constructor(dir: string = defaultAptRootDir()) {
    this.dir = dir;
  }

  private get configFile(): string {
    return join(this.dir, 'apt.conf');
  }

  get debDir(): string {
    return join(this.dir, 'debs');
  }

  private sourcesList(): string {
    return DEBIAN_SUITES.map(
      (suite) => `deb [arch=amd64 signed-by=${KEYRING}] ${MIRROR} ${suite} main\n`,
    ).join('');
  }

  private aptConfig(): string {
    const root = this.dir;
    return [
      `Dir::Etc "${root}/etc/";`,
      `Dir::Etc::Parts "${root}/etc/apt.conf.d/";`,
      `Dir::Etc::SourceList "${root}/etc/sources.list";`,
      `Dir::Etc::SourceParts "${root}/etc/sources.list.d/";`,
      `Dir::Etc::PreferencesParts "${root}/etc/preferences.d/";`,
      `Dir::State "${root}/state/";`,
      `Dir::State::status "${root}/state/status";`,
      `Dir::Cache "${root}/cache/";`,
      // Only binary packages are looked up: no source package cache (it would double the cache's size).
      'Dir::Cache::srcpkgcache "";',
      'Acquire::Languages "none";',
      'Acquire::GzipIndexes "true";',
      // The mirror serves frozen snapshots: sid's and forky's Release files carry a Valid-Until that
      // has passed, and apt would refuse them. Signatures are still checked.
      'Acquire::Check-Valid-Until "false";',
      'APT::Architecture "amd64";',
      'APT::Architectures { "amd64"; };',
      // apt drops to _apt for downloads, which cannot write into a root-owned private cache.
      'APT::Sandbox::User "root";',
      '',
    ].join('\n');
  }

  /** Writes the configuration; idempotent. */
  async ensureConfig(): Promise<void> {
    if (!existsSync(KEYRING)) {
      throw new EtcdImageError(
        `${KEYRING} is missing: Debian's archive keyring is needed to verify the packages (apt-get install debian-archive-keyring).`,
      );
    }
    for (const sub of [
      'etc/apt.conf.d',
      'etc/preferences.d',
      'etc/sources.list.d',
      'state/lists/partial',
      'cache/archives/partial',
      'debs',
    ]) {
      await mkdir(join(this.dir, sub), { recursive: true });
    }
    if (!existsSync(join(this.dir, 'state/status'))) await writeFile(join(this.dir, 'state/status'), '');
    await writeIfChanged(join(this.dir, 'etc/sources.list'), this.sourcesList());
    await writeIfChanged(this.configFile, this.aptConfig());
  }

  /** True when every suite's signed index is already here (then nothing needs the network). */
  async hasLists(): Promise<boolean> {
    let names: string[];
    try {
      names = await readdir(join(this.dir, 'state/lists'));
    } catch {
      return false;
    }
    return DEBIAN_SUITES.every((suite) => names.some((name) => name.endsWith(`_dists_${suite}_InRelease`)));
  }

  private apt(command: string, args: readonly string[], cwd?: string) {
    return execa(command, args, {
      env: { ...process.env, APT_CONFIG: this.configFile, DEBIAN_FRONTEND: 'noninteractive', LC_ALL: 'C' },
      reject: false,
      ...(cwd === undefined ? {} : { cwd }),
    });
  }

  /**
   * `apt-get update` of the private lists; returns its wall time. Single-flight per apt root in
   * this process: obtaining several versions at once must not race for apt's lists lock.
   */
  update(): Promise<number> {
    let pending = updatesInFlight.get(this.dir);
    if (pending === undefined) {
      pending = this.updateNow().finally(() => updatesInFlight.delete(this.dir));
      updatesInFlight.set(this.dir, pending);
    }
    return pending;
  }

  private async updateNow(): Promise<number> {
    await this.ensureConfig();
    const started = performance.now();
    const result = await this.apt('apt-get', ['update', '-q']);
    const elapsedMs = performance.now() - started;
    // apt-get update exits 0 even when a source failed; its "W:"/"E:" lines say so.
    const failed = result.exitCode !== 0 || /^(E:|W: Failed to fetch)/m.test(result.stderr);
    if (failed) {
      throw new EtcdImageError(
        `apt-get update of the private apt root ${this.dir} failed (exit ${result.exitCode}): ${lastLines(result.stderr)}`,
      );
    }
    return elapsedMs;
  }

  /** Reads the local lists (no network): every suite's etcd-server, etcd-client and libc6. */
  async madison(): Promise<MadisonRow[]> {
    const result = await this.apt('apt-cache', ['madison', ...DEBIAN_PACKAGES]);
    if (result.exitCode !== 0) {
      throw new EtcdImageError(`apt-cache madison failed in ${this.dir}: ${lastLines(result.stderr)}`);
    }
    return parseMadison(result.stdout);
  }

  async candidates(): Promise<DebianCandidate[]> {
    return debianCandidates(await this.madison());
  }

  /** Package specs that take each package from the candidate's suite (`libc6/forky`). */
  private specs(candidate: DebianCandidate): string[] {
    return DEBIAN_PACKAGES.map((name) => `${name}=${candidate.packages[name]}`).map((spec, i) =>
      // libc6 by suite: the C library of the suite that has this etcd, whatever its version.
      DEBIAN_PACKAGES[i] === 'libc6' ? `libc6/${candidate.suite}` : spec,
    );
  }

  /** URLs, sizes and index SHA256s of the candidate's three packages (no network). */
  async packageFiles(candidate: DebianCandidate): Promise<PackageFile[]> {
    const result = await this.apt('apt-get', ['download', '--print-uris', '-q', ...this.specs(candidate)]);
    const files = parsePrintUris(result.stdout);
    if (result.exitCode !== 0 || files.length !== DEBIAN_PACKAGES.length) {
      throw new EtcdImageError(
        `apt-get download --print-uris ${this.specs(candidate).join(' ')} failed (exit ${result.exitCode}): ${lastLines(result.stderr)}`,
      );
    }
    return files;
  }

  /** Downloads what is not already in debs/ with the right SHA256, then checks every file's SHA256. */
  async download(candidate: DebianCandidate): Promise<DownloadedPackages> {
    await this.ensureConfig();
    const wanted = await this.packageFiles(candidate);
    const missing: PackageFile[] = [];
    for (const file of wanted) {
      const path = join(this.debDir, file.filename);
      if (!existsSync(path) || (await sha256OfFile(path)) !== file.sha256) missing.push(file);
    }
    let downloadMs = 0;
    if (missing.length > 0) {
      const started = performance.now();
      const specs = this.specs(candidate).filter((spec) =>
        missing.some((file) => spec.split(/[=/]/)[0] === packageOfFile(file.filename)),
      );
      const result = await this.apt('apt-get', ['download', '-q', ...specs], this.debDir);
      downloadMs = performance.now() - started;
      if (result.exitCode !== 0) {
        throw new EtcdImageError(
          `apt-get download ${specs.join(' ')} failed (exit ${result.exitCode}): ${lastLines(result.stderr)}`,
        );
      }
    }
    const files = [];
    for (const file of wanted) {
      const path = join(this.debDir, file.filename);
      const actual = await sha256OfFile(path);
      if (actual !== file.sha256) {
        throw new EtcdImageError(
          `${file.filename}: SHA256 ${actual} does not match the signed package index (${file.sha256})`,
        );
      }
      files.push({ ...file, path, package: packageOfFile(file.filename) });
    }
    return { files, downloadMs };
  }

  /** The lists' InRelease dates, for the listing ("index of 2026-10-30"). */
  async indexDates(): Promise<Record<string, string>> {
    const dates: Record<string, string> = {};
    const lists = join(this.dir, 'state/lists');
    for (const suite of DEBIAN_SUITES) {
      const name = (await readdir(lists).catch(() => [] as string[])).find((entry) =>
        entry.endsWith(`_dists_${suite}_InRelease`),
      );
      if (name === undefined) continue;
      const text = await readFile(join(lists, name), 'utf8');
      const date = /^Date:\s*(.+)$/m.exec(text)?.[1];
      if (date !== undefined) dates[suite] = new Date(date).toISOString().slice(0, 10);
    }
    return dates;
  }
}

/**
 * Rewriting an unchanged sources.list would still change its mtime, and apt then rebuilds its
 * ~90 MB package cache on the next call (about 10 s here instead of 25 ms).
 */
async function writeIfChanged(path: string, content: string): Promise<void> {
  const current = await readFile(path, 'utf8').catch(() => undefined);
  if (current !== content) await writeFile(path, content);
}

async function sha256OfFile(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

const lastLines = (text: string): string => text.trim().split('\n').slice(-3).join(' / ').slice(0, 500);
