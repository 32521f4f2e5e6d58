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

/** Said for a list of versions wherever one is given (flag or file): the version matrix is issue #12 item 3. */
export const MATRIX_NOT_SUPPORTED =
  'a version matrix (several versions in one run) is not supported yet; give one version or image';

/** Why `value` is not one etcd version or image reference, or undefined when it is. */
export function etcdRequestProblem(value: string): string | undefined {
  // No image reference holds a comma: "3.4.23,3.5.30" can only mean several versions.
  if (value.includes(',')) return `${MATRIX_NOT_SUPPORTED}, got "${value}"`;
  const parsed = parseEtcdRequest(value);
  return 'problem' in parsed ? parsed.problem : undefined;
}

/**
 * The `etcd:` field of experiment and sweep files: one version ("3.5.30", "v3.5.30") or image
 * reference. A list is refused in one line (the matrix is not built yet), as is a number
 * (YAML reads `etcd: 3.5` as one; no version is that short).
 */
export const etcdRequestField = z.unknown().transform((value, ctx): string => {
  if (Array.isArray(value)) {
    ctx.addIssue({ code: 'custom', message: MATRIX_NOT_SUPPORTED });
    return z.NEVER;
  }
  if (typeof value !== 'string') {
    ctx.addIssue({
      code: 'custom',
      message: `expected an etcd version such as 3.5.30 or an image reference, got ${JSON.stringify(value)}`,
    });
    return z.NEVER;
  }
  const problem = etcdRequestProblem(value);
  if (problem !== undefined) {
    ctx.addIssue({ code: 'custom', message: problem });
    return z.NEVER;
  }
  return value.trim();
});

/** A plan file's two ways to name etcd; both at once is refused (which one would win is not obvious). */
export interface EtcdInFile {
  readonly etcd?: string | undefined;
  readonly cluster: { readonly image?: string | undefined };
}

/** The problem line (`  field: message`, as the spec validators list them) when a file names etcd twice. */
export function etcdFieldConflict(spec: EtcdInFile): string | undefined {
  return spec.etcd !== undefined && spec.cluster.image !== undefined
    ? `  etcd: give etcd or cluster.image, not both (etcd: ${spec.etcd}, cluster.image: ${spec.cluster.image})`
    : undefined;
}

/** The request a file makes, if any: `etcd`, else the older `cluster.image`. */
export const fileEtcdRequest = (spec: EtcdInFile): string | undefined => spec.etcd ?? spec.cluster.image;

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
  if (spec.etcd !== undefined) return { request: spec.etcd, origin: `${source}: etcd` };
  if (spec.cluster.image !== undefined)
    return { request: spec.cluster.image, origin: `${source}: cluster.image` };
  return undefined;
}
