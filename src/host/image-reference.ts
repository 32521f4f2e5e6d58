/** What users elsewhere run; tried first, and recorded as "requested" when it cannot be had. */
export const DEFAULT_ETCD_IMAGE = 'gcr.io/etcd-development/etcd:v3.5.21';

// Docker's reference grammar (github.com/distribution/reference): [domain[:port]/]path[:tag][@digest].
const PATH_COMPONENT = '[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*';
const DOMAIN_COMPONENT = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const DOMAIN = `(?:${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*|\\[[a-fA-F0-9:]+\\])(?::[0-9]+)?`;
const TAG = '[\\w][\\w.-]{0,127}';
const DIGEST = '[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}';
const IMAGE_REFERENCE = new RegExp(
  `^(?<name>(?:${DOMAIN}/)?${PATH_COMPONENT}(?:/${PATH_COMPONENT})*)(?::${TAG})?(?:@${DIGEST})?$`,
);
const MAX_NAME_LENGTH = 255;

/**
 * Why `reference` is not a Docker image reference, or undefined when it is one. Checked before
 * anything starts: the engine's own answers to a malformed name are confusing (an empty name
 * even ends in a DNS lookup of "images").
 */
export function imageReferenceProblem(reference: string): string | undefined {
  const expected = `expected an image reference such as ${DEFAULT_ETCD_IMAGE}`;
  if (reference.trim() === '') return `${expected}, got an empty string`;
  const match = IMAGE_REFERENCE.exec(reference);
  if (match === null) {
    // Tags, digests and registry hosts may hold capitals; only the repository path may not.
    return IMAGE_REFERENCE.test(reference.toLowerCase())
      ? `${expected}, got "${reference}" (the repository name must be lowercase)`
      : `${expected}, got "${reference}"`;
  }
  if ((match.groups?.name ?? '').length > MAX_NAME_LENGTH) {
    return `${expected}, got a name longer than ${MAX_NAME_LENGTH} characters`;
  }
  return undefined;
}
