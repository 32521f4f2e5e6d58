import { spawn } from 'node:child_process';
import { parsePhaseMark, type PhaseMark } from './vm-plan.ts';

export interface QemuRunOptions {
  readonly args: readonly string[];
  /** Kill QEMU after this long. */
  readonly timeoutMs: number;
  /** Kill QEMU when this aborts (Ctrl-C). */
  readonly signal: AbortSignal;
  /** Called with each console line as it arrives. */
  readonly onLine: (line: string) => void;
}

export interface QemuRun {
  readonly exitCode: number | null;
  readonly timedOut: boolean;
  readonly aborted: boolean;
  /** Wall time from spawning QEMU to the guest's first-stage init printing its first mark. */
  readonly spawnToInitMs: number | undefined;
  readonly wallMs: number;
  readonly marks: readonly PhaseMark[];
}

/** Time between SIGTERM and SIGKILL when QEMU is stopped. */
const KILL_GRACE_MS = 3_000;

// Escape sequences the guest's console emits (e.g. the kernel resetting the terminal).
// eslint-disable-next-line no-control-regex
const TERMINAL_ESCAPES = /\x1b\[[0-9;?]*[A-Za-z]|\x1bc|\r/g;

/** Runs QEMU with its serial console on stdio, line by line to `onLine`, until it exits or is stopped. */
export function runQemu(options: QemuRunOptions): Promise<QemuRun> {
  const started = performance.now();
  const marks: PhaseMark[] = [];
  let spawnToInitMs: number | undefined;
  let timedOut = false;
  let aborted = false;
  // stdin stays an open pipe nobody writes: with -nographic QEMU reads its console input there.
  const child = spawn('qemu-system-x86_64', options.args, { stdio: ['pipe', 'pipe', 'pipe'] });

  let pending = '';
  const take = (chunk: string): void => {
    pending += chunk;
    const lines = pending.split('\n');
    pending = lines.pop() ?? '';
    for (const line of lines) handle(line);
  };
  // Escapes are stripped per line: the serial console delivers a sequence split across chunks.
  const handle = (raw: string): void => {
    const line = raw.replace(TERMINAL_ESCAPES, '');
    const mark = parsePhaseMark(line);
    if (mark !== undefined) {
      marks.push(mark);
      spawnToInitMs ??= performance.now() - started;
    }
    options.onLine(line);
  };
  // Decoded by the streams, so a character split across two reads (✓ is three bytes) stays whole.
  child.stdout.setEncoding('utf8').on('data', take);
  child.stderr.setEncoding('utf8').on('data', take);

  const stop = (): void => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    setTimeout(() => child.kill('SIGKILL'), KILL_GRACE_MS).unref();
  };
  const timer = setTimeout(() => {
    timedOut = true;
    stop();
  }, options.timeoutMs);
  const onAbort = (): void => {
    aborted = true;
    stop();
  };
  options.signal.addEventListener('abort', onAbort, { once: true });
  if (options.signal.aborted) onAbort();

  return new Promise((resolve, reject) => {
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      options.signal.removeEventListener('abort', onAbort);
      if (pending !== '') handle(pending);
      resolve({
        exitCode: code,
        timedOut,
        aborted,
        spawnToInitMs,
        wallMs: performance.now() - started,
        marks,
      });
    });
  });
}
