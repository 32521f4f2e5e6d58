import { EtcdImageError } from '../errors.ts';
import { docker } from './docker.ts';

/**
 * Builds `tag` from a context directory holding `files` (the Dockerfile among them) and waits for
 * the engine to finish. A failure on any build step is an {@link EtcdImageError} naming the tag.
 */
export async function buildImageFromContext(
  context: string,
  files: readonly string[],
  tag: string,
): Promise<void> {
  const stream = await docker().buildImage({ context, src: [...files] }, { t: tag, rm: true, forcerm: true });
  await new Promise<void>((resolve, reject) => {
    docker().modem.followProgress(stream, (error: Error | null, output: { error?: string }[]) => {
      const failure = error?.message ?? output.find((line) => line.error)?.error;
      if (failure) reject(new EtcdImageError(`Building ${tag} failed: ${failure}`));
      else resolve();
    });
  });
}
