import { docker } from './docker.ts';
import { newRunId, runLabels } from './run-labels.ts';

/**
 * Runs a command in a throwaway container of `image` and returns its combined output.
 * Labelled like everything else, so a crash mid-way leaves nothing the sweep cannot find.
 */
export async function runOneShot(
  image: string,
  command: readonly string[],
  timeoutMs = 30_000,
): Promise<{ output: string; exitCode: number }> {
  const [entrypoint, ...args] = command;
  const container = await docker().createContainer({
    Image: image,
    Entrypoint: entrypoint === undefined ? [] : [entrypoint],
    Cmd: args,
    Labels: runLabels(`oneshot-${newRunId()}`),
    HostConfig: { NetworkMode: 'none' },
  });
  try {
    await container.start();
    const waited = (await Promise.race([
      container.wait(),
      new Promise((resolve) => setTimeout(() => resolve({ StatusCode: -1 }), timeoutMs).unref()),
    ])) as { StatusCode: number };
    const logs = await container.logs({ stdout: true, stderr: true, follow: false });
    return { output: demuxDockerLogs(logs), exitCode: waited.StatusCode };
  } finally {
    await container.remove({ force: true }).catch(() => undefined);
  }
}

/**
 * Docker multiplexes stdout/stderr of a non-TTY container into frames with an 8-byte
 * header (stream, 0, 0, 0, big-endian length); strip them to get the text.
 */
export function demuxDockerLogs(buffer: Buffer): string {
  const chunks: Buffer[] = [];
  let offset = 0;
  while (offset + 8 <= buffer.length) {
    const length = buffer.readUInt32BE(offset + 4);
    chunks.push(buffer.subarray(offset + 8, offset + 8 + length));
    offset += 8 + length;
  }
  return Buffer.concat(chunks).toString('utf8');
}
