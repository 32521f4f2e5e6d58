import { docker, ensureDockerEngine, type DockerEngineStatus, type EnsureDockerOptions } from './docker.ts';
import { sweepLeftovers } from './cleanup.ts';
import { resolveEtcdImage, type EtcdImageOptions, type ResolvedEtcdImage } from './etcd-image.ts';

/** testcontainers' reaper image; nothing can pull it here, so the lab may run without it. */
const RYUK_IMAGE = 'testcontainers/ryuk:0.14.0';

export interface HostReport {
  readonly docker: DockerEngineStatus;
  /** True when testcontainers' Ryuk reaper is in use; false when the lab's own labels + sweep do all cleanup. */
  readonly ryuk: boolean;
  readonly ryukDetail: string;
  readonly image: ResolvedEtcdImage;
}

let engineReady: Promise<{ docker: DockerEngineStatus; ryuk: boolean; ryukDetail: string }> | undefined;

/**
 * Everything the lab needs from the host before it starts a cluster, done once per process:
 * a Docker engine, a decision about testcontainers' reaper, a sweep of what killed runs left
 * behind, and an etcd image with a known version.
 */
export async function prepareHost(options: EtcdImageOptions & EnsureDockerOptions = {}): Promise<HostReport> {
  engineReady ??= (async () => {
    const engine = await ensureDockerEngine(options);
    const { ryuk, detail } = await configureReaper();
    // Also stops delay helpers a killed run left running (outside any container).
    await sweepLeftovers();
    return { docker: engine, ryuk, ryukDetail: detail };
  })();
  engineReady.catch(() => (engineReady = undefined));
  const engine = await engineReady;
  const image = await resolveEtcdImage(options);
  return { ...engine, image };
}

async function configureReaper(): Promise<{ ryuk: boolean; detail: string }> {
  if (process.env.TESTCONTAINERS_RYUK_DISABLED === 'true') {
    return { ryuk: false, detail: 'disabled by TESTCONTAINERS_RYUK_DISABLED; cleanup by labels + sweep' };
  }
  try {
    await docker().getImage(RYUK_IMAGE).inspect();
    return { ryuk: true, detail: `${RYUK_IMAGE} present; labels + sweep as well` };
  } catch {
    // Without the image testcontainers would try to pull it and fail every start.
    process.env.TESTCONTAINERS_RYUK_DISABLED = 'true';
    return { ryuk: false, detail: `${RYUK_IMAGE} not available; cleanup by labels + sweep` };
  }
}
