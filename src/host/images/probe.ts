import { EtcdImageError } from '../../errors.ts';
import { ETCD_BINARY, ETCDCTL_BINARY } from './image-sources.ts';
import { runOneShot } from '../one-shot.ts';
import { parseEtcdctlVersionOutput, parseEtcdVersionOutput } from './provenance.ts';

export interface ImageVersions {
  readonly etcdVersion: string;
  readonly goVersion?: string;
  /** What `etcdctl version` reports; undefined when the image has no etcdctl where the lab expects it. */
  readonly etcdctlVersion?: string;
}

/**
 * Runs `etcd --version` and `etcdctl version` in throwaway containers of `image` (no network,
 * labelled for the sweep): the same as `docker run --rm <image> etcd --version`.
 */
export async function probeEtcdImage(image: string): Promise<ImageVersions> {
  const etcd = await runOneShot(image, [ETCD_BINARY, '--version']);
  const { etcdVersion, goVersion } = parseEtcdVersionOutput(etcd.output);
  if (etcd.exitCode !== 0 || etcdVersion === undefined) {
    throw new EtcdImageError(
      `Image ${image} does not run etcd at ${ETCD_BINARY} (exit ${etcd.exitCode}): ${etcd.output.trim().slice(0, 300)}`,
    );
  }
  const etcdctl = await runOneShot(image, [ETCDCTL_BINARY, 'version']);
  const etcdctlVersion = etcdctl.exitCode === 0 ? parseEtcdctlVersionOutput(etcdctl.output) : undefined;
  return {
    etcdVersion,
    ...(goVersion === undefined ? {} : { goVersion }),
    ...(etcdctlVersion === undefined ? {} : { etcdctlVersion }),
  };
}
