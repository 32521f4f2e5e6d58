import type Dockerode from 'dockerode';
import { ClusterError } from '../errors.ts';
import { sleep } from '../util/clock.ts';
import { demuxDockerLogs } from '../host/one-shot.ts';

// Logged once the member has joined the cluster and serves clients. 3.4 with zap logs only the
// second form; capnslog and 3.5+ log the first (too).
export const READY_LOG_LINE = /ready to serve client requests|serving client traffic (?:in)?securely/;

/** How many times the member has logged that it is ready (once per start of its container). */
export const countReadyLines = (logs: string): number =>
  logs.match(new RegExp(READY_LOG_LINE.source, 'g'))?.length ?? 0;

/**
 * Waits for etcd's "ready to serve client requests" log line (or its 3.4 equivalent), but fails
 * at once (with the member's last log lines) when the container exits, e.g. because etcd rejected
 * a flag, instead of waiting out the timeout; and at once when `signal` aborts.
 */
export async function waitForReadyLogLine(
  container: Dockerode.Container,
  memberName: string,
  timeoutMs: number,
  readyLinesBefore: number,
  signal?: AbortSignal,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    signal?.throwIfAborted();
    const logs = demuxDockerLogs(await container.logs({ stdout: true, stderr: true, follow: false }));
    if (countReadyLines(logs) > readyLinesBefore) return;
    const state = (await container.inspect()).State;
    if (!state.Running) {
      // Read the logs again: etcd may have written its last words and exited after the read
      // above (seen on a busy machine: "no output"). Docker has them all once it reports the exit.
      const last = demuxDockerLogs(await container.logs({ stdout: true, stderr: true, follow: false }));
      throw new ClusterError(
        `etcd member ${memberName} exited (code ${state.ExitCode}) before it was ready: ${reasonFromLog(last)}\nLast log lines:\n${tail(last, 8)}`,
      );
    }
    if (Date.now() > deadline) {
      throw new ClusterError(
        `etcd member ${memberName} was not ready within ${timeoutMs / 1000} s. Last log lines:\n${tail(logs, 8)}`,
      );
    }
    await sleep(100, signal);
  }
}

const tail = (text: string, lines: number): string =>
  text
    .trimEnd()
    .split('\n')
    .slice(-lines)
    .map((line) => `  ${line}`)
    .join('\n');

/**
 * The line that says why etcd quit. A rejected flag prints one line and then the whole
 * usage text, so the tail alone would hide it.
 */
export function reasonFromLog(logs: string): string {
  const lines = logs.split('\n');
  const found =
    lines.find((line) => /flag provided but not defined|invalid value|error verifying flags/i.test(line)) ??
    lines.find((line) => /"level":"(fatal|panic|error)"/.test(line)) ??
    lines.findLast((line) => line.trim() !== '');
  return found?.trim() ?? 'no output';
}
