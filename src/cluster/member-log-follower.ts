import { PassThrough } from 'node:stream';
import type Dockerode from 'dockerode';
import { ClusterError } from '../errors.ts';
import { docker } from '../host/docker.ts';
import { reasonFromLog } from './member-ready-wait.ts';

/**
 * A member's log lines as etcd writes them: Docker's follow stream, split into lines, with
 * waiters for a line that matches. Used while a cluster boots, where polling the whole log
 * every 100 ms would add up to 100 ms per member to every start.
 *
 * The stream ends when the container stops; a waiter still waiting then fails at once with
 * the member's exit code and etcd's own last words rather than waiting out its timeout.
 */
export class MemberLogFollower {
  private readonly lines: string[] = [];
  private partial = '';
  private ended = false;
  private readonly waiters = new Set<() => void>();
  private readonly listeners = new Set<(line: string, arrivedAtPerfMs: number) => void>();

  private constructor(
    private readonly container: Dockerode.Container,
    private readonly memberName: string,
    private readonly stream: NodeJS.ReadableStream & { destroy?: () => void },
  ) {}

  /**
   * Follows the container's log from its first line — or from `sinceWallMs`, a wall-clock time
   * (Docker timestamps lines as it receives them, on this host's clock) — so lines written
   * before this call are seen too (Docker keeps them), and a container that already exited
   * yields its whole log.
   */
  static async follow(
    container: Dockerode.Container,
    memberName: string,
    options: { readonly sinceWallMs?: number } = {},
  ): Promise<MemberLogFollower> {
    const raw = (await container.logs({
      follow: true,
      stdout: true,
      stderr: true,
      // Docker reads "seconds.nanoseconds"; dockerode passes the string through.
      ...(options.sinceWallMs === undefined
        ? {}
        : { since: (options.sinceWallMs / 1_000).toFixed(6) as unknown as number }),
    })) as unknown as NodeJS.ReadableStream & { destroy?: () => void };
    const follower = new MemberLogFollower(container, memberName, raw);
    // A non-TTY container's log is multiplexed (8-byte frame headers); both streams go to one text.
    const text = new PassThrough();
    docker().modem.demuxStream(raw, text, text);
    text.on('data', (chunk: Buffer) => follower.take(chunk.toString('utf8')));
    const end = (): void => follower.end();
    raw.on('end', end);
    raw.on('close', end);
    raw.on('error', end);
    return follower;
  }

  /**
   * Resolves with the first line (already written or still to come) that matches `pattern`;
   * `what` names the awaited state in the timeout's message ("did not log that it is …").
   */
  async waitFor(pattern: RegExp, what: string, timeoutMs: number, signal?: AbortSignal): Promise<string> {
    signal?.throwIfAborted();
    let seen = 0;
    const scan = (): string | undefined => {
      for (; seen < this.lines.length; seen++) {
        const line = this.lines[seen] as string;
        if (pattern.test(line)) return line;
      }
      return undefined;
    };
    const found = scan();
    if (found !== undefined) return found;
    return new Promise<string>((resolve, reject) => {
      const finish = (settle: () => void): void => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        this.waiters.delete(check);
        settle();
      };
      const check = (): void => {
        const line = scan();
        if (line !== undefined) finish(() => resolve(line));
        else if (this.ended) finish(() => void this.exitError().then(reject, reject));
      };
      const onAbort = (): void =>
        finish(() => reject(signal?.reason instanceof Error ? signal.reason : new Error('aborted')));
      const timer = setTimeout(
        () =>
          finish(() =>
            reject(
              new ClusterError(
                `etcd member ${this.memberName} did not log that it is ${what} within ${timeoutMs / 1000} s. Last log lines:\n${this.tail(8)}`,
              ),
            ),
          ),
        timeoutMs,
      );
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiters.add(check);
      check();
    });
  }

  /**
   * Hears every line as it arrives (`performance.now()` of its arrival), from now on; lines
   * already received are in {@link received}.
   */
  onLine(listener: (line: string, arrivedAtPerfMs: number) => void): void {
    this.listeners.add(listener);
  }

  /** The lines received so far. */
  get received(): readonly string[] {
    return this.lines;
  }

  /** Whether the stream has ended (the container stopped, or {@link close}). */
  get hasEnded(): boolean {
    return this.ended;
  }

  /** Stops following; the container is untouched. */
  close(): void {
    this.stream.destroy?.();
    this.end();
  }

  private take(text: string): void {
    const parts = (this.partial + text).split('\n');
    this.partial = parts.pop() ?? '';
    if (parts.length === 0) return;
    const arrivedAtPerfMs = performance.now();
    this.lines.push(...parts);
    for (const listener of this.listeners) for (const line of parts) listener(line, arrivedAtPerfMs);
    for (const waiter of [...this.waiters]) waiter();
  }

  private end(): void {
    if (this.ended) return;
    if (this.partial !== '') this.lines.push(this.partial);
    this.partial = '';
    this.ended = true;
    for (const waiter of [...this.waiters]) waiter();
  }

  private async exitError(): Promise<ClusterError> {
    const state = await this.container.inspect().then(
      (info) => info.State,
      () => undefined,
    );
    const text = this.lines.join('\n');
    const how = state === undefined ? 'was removed' : `exited (code ${state.ExitCode})`;
    return new ClusterError(
      `etcd member ${this.memberName} ${how} before it was ready: ${reasonFromLog(text)}\nLast log lines:\n${this.tail(8)}`,
    );
  }

  private tail(count: number): string {
    const lines = this.lines.filter((line) => line.trim() !== '').slice(-count);
    return lines.length === 0 ? '  (no output)' : lines.map((line) => `  ${line}`).join('\n');
  }
}
