import { closeSync, fstatSync, openSync, readSync, watch, type FSWatcher } from 'node:fs';
import { StringDecoder } from 'node:string_decoder';
import { parseEtcdLog } from './etcd-log.ts';

/** What a followed member log offers: the lines so far, and each new one as it arrives. */
export interface FollowedMemberLog {
  /** The lines received so far (a backlog first, then the lines that arrived). */
  readonly received: readonly string[];
  /** Hears every line as it arrives (`performance.now()` of its arrival), from now on. */
  onLine(listener: (line: string, arrivedAtPerfMs: number) => void): void;
  close(): void;
}

/** How much of the file's end the backlog reads: many minutes of etcd's log at trial rates. */
const BACKLOG_BYTES = 1 << 20;
/** inotify is the signal; this poll only guards against a missed event. */
const SAFETY_POLL_MS = 200;

/**
 * A member's log read from the file etcd writes it to beside its data (`--log-outputs`, memory
 * data dirs: see MemberLauncher), on the host, woken by inotify. Unlike Docker's follow stream
 * no daemon sits between etcd and the lab: while dockerd tears a killed member's container down
 * (0.2–2 s), it hands the survivors' lines over 10–65 ms late, which is the moment an election
 * trial wants them (`npm run bench -- elections`, kill: streamed-line delay median 30 ms).
 */
export class MemberLogFile implements FollowedMemberLog {
  private readonly lines: string[] = [];
  private readonly listeners = new Set<(line: string, arrivedAtPerfMs: number) => void>();
  private partial = '';
  /** A character split between two reads is held back, not garbled. */
  private readonly decoder = new StringDecoder('utf8');
  private offset: number;
  private closed = false;
  private watcher: FSWatcher | undefined;
  private poll: NodeJS.Timeout | undefined;

  private constructor(
    private readonly fd: number,
    size: number,
  ) {
    this.offset = size;
  }

  /**
   * Follows `path` from its end; the backlog is the lines at or after `sinceWallMs` (etcd's own
   * timestamps) from the file's last {@link BACKLOG_BYTES}. Throws when the file cannot be read.
   */
  static follow(
    path: string,
    options: { readonly sinceWallMs?: number; readonly safetyPollMs?: number } = {},
  ): MemberLogFile {
    const fd = openSync(path, 'r');
    try {
      const { size } = fstatSync(fd);
      const from = Math.max(0, size - BACKLOG_BYTES);
      const buffer = Buffer.alloc(size - from);
      readSync(fd, buffer, 0, buffer.length, from);
      const log = new MemberLogFile(fd, size);
      const text = log.decoder.write(buffer);
      // Reading from the middle of the file starts inside a line: drop it.
      const whole = from === 0 ? text : text.slice(text.indexOf('\n') + 1);
      const parts = whole.split('\n');
      log.partial = parts.pop() ?? '';
      log.lines.push(...linesSince(parts, options.sinceWallMs));
      log.watcher = watch(path, { persistent: false }, () => log.readNew());
      log.watcher.on('error', () => undefined); // the safety poll carries on
      log.poll = setInterval(() => log.readNew(), options.safetyPollMs ?? SAFETY_POLL_MS);
      log.poll.unref();
      log.readNew(); // what was written between the stat and the watch
      return log;
    } catch (error) {
      closeSync(fd);
      throw error;
    }
  }

  get received(): readonly string[] {
    return this.lines;
  }

  onLine(listener: (line: string, arrivedAtPerfMs: number) => void): void {
    this.listeners.add(listener);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.watcher?.close();
    clearInterval(this.poll);
    closeSync(this.fd);
  }

  /**
   * Reads what was appended since the last read. Synchronously: the file is on the host's tmpfs
   * (/dev/shm), so this takes microseconds, where the thread pool's two hops (stat, read) added
   * milliseconds behind whatever else the pool was doing.
   */
  private readNew(): void {
    if (this.closed) return;
    let chunk: string;
    try {
      const { size } = fstatSync(this.fd);
      if (size < this.offset) {
        // Truncated (etcd only appends; someone else did this): read it again from its start.
        this.offset = 0;
        this.partial = '';
      }
      if (size <= this.offset) return;
      const buffer = Buffer.alloc(size - this.offset);
      const bytesRead = readSync(this.fd, buffer, 0, buffer.length, this.offset);
      if (bytesRead === 0) return;
      this.offset += bytesRead;
      chunk = this.decoder.write(buffer.subarray(0, bytesRead));
    } catch {
      return; // the safety poll tries again
    }
    const parts = (this.partial + chunk).split('\n');
    this.partial = parts.pop() ?? '';
    if (parts.length === 0) return;
    const arrivedAtPerfMs = performance.now();
    this.lines.push(...parts);
    for (const listener of this.listeners) for (const line of parts) listener(line, arrivedAtPerfMs);
  }
}

/**
 * The lines at or after `sinceWallMs` by etcd's own timestamps, parsing from the end back only as
 * far as that time (the backlog can be a megabyte; a trial wants its last second).
 */
function linesSince(lines: readonly string[], sinceWallMs: number | undefined): string[] {
  if (sinceWallMs === undefined) return [...lines];
  let first = lines.length;
  while (first > 0) {
    const tsMs = parseEtcdLog(lines[first - 1] as string)[0]?.tsMs;
    if (tsMs !== undefined && tsMs < sinceWallMs) break;
    first -= 1;
  }
  return lines.slice(first).filter((line) => (parseEtcdLog(line)[0]?.tsMs ?? -Infinity) >= sinceWallMs);
}
