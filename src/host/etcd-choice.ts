import { z } from 'zod';
import { BadInputError } from '../errors.ts';
import { parseEtcdRequest } from './images/etcd-request.ts';

/**
 * Which etcd a run uses, and who asked for it: `--etcd 3.5.30` (or `--image <ref>`, its alias),
 * else the plan file's `etcd: 3.5.30` (or its older `cluster.image`), else ETCD_IMAGE, else the
 * default image. The request is a version or an image reference (src/host/images/etcd-request.ts);
 * `origin` is how errors name it ("--etcd", "lab/x.yaml: etcd").
 */
export interface EtcdChoice {
  readonly request: string;
  readonly origin: string;
}

/** Said for a list of versions where only one is taken: the matrix runs experiments (run, compare). */
export const MATRIX_NOT_SUPPORTED =
  'a version matrix (several versions in one run) is supported by `etcd-lab run` and experiment files only; give one version or image';

/** At most this many versions in one matrix: each is a whole run of the experiment. */
export const MAX_MATRIX_VERSIONS = 6;

/** Why `value` is not one etcd version or image reference, or undefined when it is. */
export function etcdRequestProblem(value: string): string | undefined {
  // No image reference holds a comma: "3.4.23,3.5.30" can only mean several versions.
  if (value.includes(',')) return `${MATRIX_NOT_SUPPORTED}, got "${value}"`;
  const parsed = parseEtcdRequest(value);
  return 'problem' in parsed ? parsed.problem : undefined;
}

/**
 * Why `value` is not one etcd request or a comma-separated list of them ("3.4.23,3.5.30": a
 * version matrix), or undefined when it is. Each entry is judged as etcdRequestProblem judges one;
 * an entry twice is refused (its column would be the same run twice).
 */
export function etcdMatrixProblem(value: string): string | undefined {
  return etcdListProblem(value.split(',').map((entry) => entry.trim()));
}

/** The entries of a version list ("3.4.23, 3.5.30" or a YAML list), trimmed; check etcdListProblem first. */
export const etcdRequestList = (value: string | readonly string[]): string[] =>
  (typeof value === 'string' ? value.split(',') : [...value]).map((entry) => entry.trim());

function etcdListProblem(entries: readonly string[]): string | undefined {
  if (entries.length > MAX_MATRIX_VERSIONS) {
    return `at most ${MAX_MATRIX_VERSIONS} versions in one matrix (each is a whole run), got ${entries.length}`;
  }
  const seen = new Set<string>();
  for (const entry of entries) {
    if (entry === '') return 'an empty entry in the version list';
    const problem = etcdRequestProblem(entry);
    if (problem !== undefined) return `${entry}: ${problem}`;
    const key = entry.replace(/^v/, '');
    if (seen.has(key)) return `${entry} is listed twice`;
    seen.add(key);
  }
  return undefined;
}

/**
 * The `etcd:` field of experiment files: one version or image reference, or a list of them (YAML
 * list or "3.4.23, 3.5.30": a version matrix, `etcd-lab run` runs the experiment once per entry).
 * A one-entry list is that one request.
 */
export const etcdRequestOrListField = z.unknown().transform((value, ctx): string | readonly string[] => {
  if (typeof value === 'string' && value.includes(',')) return etcdListValue(value.split(','), ctx);
  if (!Array.isArray(value)) {
    const problem = singleRequestProblem(value);
    if (problem !== undefined) {
      ctx.addIssue({ code: 'custom', message: problem });
      return z.NEVER;
    }
    return (value as string).trim();
  }
  return etcdListValue(value, ctx);
});

function etcdListValue(list: readonly unknown[], ctx: z.RefinementCtx): string | readonly string[] {
  if (list.length === 0) {
    ctx.addIssue({ code: 'custom', message: 'an empty version list; give one version or several' });
    return z.NEVER;
  }
  const nonString = list.find((entry) => typeof entry !== 'string');
  if (nonString !== undefined) {
    ctx.addIssue({
      code: 'custom',
      message: `expected etcd versions such as 3.5.30 (quoted if YAML reads them as numbers), got ${JSON.stringify(nonString)}`,
    });
    return z.NEVER;
  }
  const entries = etcdRequestList(list as string[]);
  const problem = etcdListProblem(entries);
  if (problem !== undefined) {
    ctx.addIssue({ code: 'custom', message: problem });
    return z.NEVER;
  }
  return entries.length === 1 ? (entries[0] as string) : entries;
}

/**
 * The `etcd:` field of sweep files: one version ("3.5.30", "v3.5.30") or image reference. A list
 * is refused in one line (versions are not a sweep dimension yet), as is a number (YAML reads
 * `etcd: 3.5` as one; no version is that short).
 */
export const etcdRequestField = z.unknown().transform((value, ctx): string => {
  if (Array.isArray(value)) {
    ctx.addIssue({ code: 'custom', message: MATRIX_NOT_SUPPORTED });
    return z.NEVER;
  }
  const problem = singleRequestProblem(value);
  if (problem !== undefined) {
    ctx.addIssue({ code: 'custom', message: problem });
    return z.NEVER;
  }
  return (value as string).trim();
});

function singleRequestProblem(value: unknown): string | undefined {
  if (typeof value !== 'string') {
    return `expected an etcd version such as 3.5.30 or an image reference, got ${JSON.stringify(value)}`;
  }
  return etcdRequestProblem(value);
}

/** A plan file's two ways to name etcd; both at once is refused (which one would win is not obvious). */
export interface EtcdInFile {
  /** A list only in experiment files (a version matrix). */
  readonly etcd?: string | readonly string[] | undefined;
  readonly cluster: { readonly image?: string | undefined };
}

/** The problem line (`  field: message`, as the spec validators list them) when a file names etcd twice. */
export function etcdFieldConflict(spec: EtcdInFile): string | undefined {
  return spec.etcd !== undefined && spec.cluster.image !== undefined
    ? `  etcd: give etcd or cluster.image, not both (etcd: ${String(spec.etcd)}, cluster.image: ${spec.cluster.image})`
    : undefined;
}

/** The request a file makes, if any: `etcd`, else the older `cluster.image`. */
export const fileEtcdRequest = (spec: {
  readonly etcd?: string | undefined;
  readonly cluster: { readonly image?: string | undefined };
}): string | undefined => spec.etcd ?? spec.cluster.image;

/** The spec with the command line's choice in place of whatever the file named (`etcd` set, `cluster.image` dropped). */
export function withEtcdRequest<T extends EtcdInFile>(spec: T, request: string): T {
  const { image: _dropped, ...cluster } = spec.cluster;
  return { ...spec, etcd: request, cluster };
}

/** The command line's flags for etcd: `--etcd`, and `--image` (an alias kept for existing scripts). */
export interface EtcdFlags {
  readonly etcd?: string | undefined;
  readonly image?: string | undefined;
}

/**
 * The choice of the flags, the file and nothing else (ETCD_IMAGE and the default are
 * resolveEtcdImage's): a flag overrides the file. Both flags at once is refused in one line.
 */
export function chooseEtcd(
  flags: EtcdFlags,
  file?: { readonly spec: EtcdInFile; readonly source: string },
): EtcdChoice | undefined {
  if (flags.etcd !== undefined && flags.image !== undefined) {
    throw new BadInputError(
      `--etcd and --image both given (${flags.etcd}, ${flags.image}): --image is an alias of --etcd; give one`,
    );
  }
  if (flags.etcd !== undefined) return { request: flags.etcd, origin: '--etcd' };
  if (flags.image !== undefined) return { request: flags.image, origin: '--image' };
  if (file === undefined) return undefined;
  const { spec, source } = file;
  if (typeof spec.etcd === 'string') return { request: spec.etcd, origin: `${source}: etcd` };
  if (spec.etcd !== undefined) throw new BadInputError(`${source}: etcd: ${MATRIX_NOT_SUPPORTED}`);
  if (spec.cluster.image !== undefined)
    return { request: spec.cluster.image, origin: `${source}: cluster.image` };
  return undefined;
}

/**
 * The etcd of each run an experiment command makes: one choice as chooseEtcd makes it, or a
 * version matrix — `--etcd 3.4.23,3.5.30` or a list in the file's `etcd:` — one choice per entry,
 * in the order given. Empty: nothing named etcd (ETCD_IMAGE or the default decides).
 */
export function chooseEtcdRuns(
  flags: EtcdFlags,
  file?: { readonly spec: EtcdInFile; readonly source: string },
): EtcdChoice[] {
  if (flags.etcd !== undefined && flags.image === undefined && flags.etcd.includes(',')) {
    const problem = etcdMatrixProblem(flags.etcd);
    if (problem !== undefined) throw new BadInputError(`--etcd: ${problem}`);
    return etcdRequestList(flags.etcd).map((request) => ({ request, origin: '--etcd' }));
  }
  if (flags.etcd === undefined && flags.image === undefined && Array.isArray(file?.spec.etcd)) {
    return etcdRequestList(file.spec.etcd).map((request) => ({ request, origin: `${file.source}: etcd` }));
  }
  const one = chooseEtcd(flags, file);
  return one === undefined ? [] : [one];
}
