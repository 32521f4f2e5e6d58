import { execa } from 'execa';
import type { Readable } from 'node:stream';
import { readdirSync, readlinkSync } from 'node:fs';
import { FaultError } from '../../errors.ts';
import { recordHelper } from '../../host/helper-processes.ts';
import { buildNfqDelayHelper, NFQ_DELAY_BINARY_PREFIX } from './nfq-delay-build.ts';

/**
 * The nfq-delay helper, run inside a member's network namespace. Three things make sure it dies:
 * heal stops it; `--parent-pid <this process>` ends it with the lab process, even a SIGKILLed one
 * (the kernel sends it SIGTERM when its parent dies, and it refuses to start unless this process is
 * its parent); and a record under .lab/run (src/host/helper-processes.ts) lets the next run's sweep
 * kill helpers whose owning run is gone, should one survive anyway.
 */
const READY_TIMEOUT_MS = 5_000;
const STOP_GRACE_MS = 2_000;

export interface DelayHelperOptions {
  readonly runId: string;
  readonly faultId: string;
  /** Host PID of a process in the namespace (the member's etcd). */
  readonly netnsPid: number;
  readonly queue: number;
  readonly delayMs: number;
  readonly jitterMs: number;
  readonly seed?: number;
}

export interface DelayHelper {
  readonly pid: number;
  readonly queue: number;
  /** Stops it (SIGTERM: held packets are released, not dropped); resolves to its last stderr line. */
  stop(): Promise<string>;
}

let nextQueue = 1_000;

/** NFQUEUE numbers are per network namespace; one counter per lab process keeps them distinct. */
export function allocateQueue(): number {
  const queue = nextQueue;
  nextQueue = nextQueue >= 65_000 ? 1_000 : nextQueue + 1;
  return queue;
}

export async function startDelayHelper(options: DelayHelperOptions): Promise<DelayHelper> {
  const binary = await buildNfqDelayHelper();
  const args = [
    '-t',
    String(options.netnsPid),
    '-n',
    binary,
    '--queue',
    String(options.queue),
    '--delay-ms',
    String(options.delayMs),
    '--jitter-ms',
    String(options.jitterMs),
    ...(options.seed === undefined ? [] : ['--seed', String(options.seed)]),
    // The process whose death ends the helper: this one. nsenter setns()es and execs (it forks only
    // to enter a PID namespace), so the helper is this process's child, which the helper checks.
    '--parent-pid',
    String(process.pid),
  ];
  const child = execa('nsenter', args, { stdin: 'ignore', reject: false, buffer: { stdout: false } });
  const pid = child.pid;
  if (pid === undefined) throw new FaultError('could not spawn nfq-delay');
  await waitReady(child);
  const record = await recordHelper('nfq-delay', pid, { runId: options.runId, faultId: options.faultId });
  let stopping: Promise<string> | undefined;
  return {
    pid,
    queue: options.queue,
    stop: () => {
      stopping ??= (async () => {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
        const result = await child;
        clearTimeout(timer);
        await record.forget();
        const stderr = typeof result.stderr === 'string' ? result.stderr.trim() : '';
        return stderr.split('\n').at(-1) ?? '';
      })();
      return stopping;
    },
  };
}

/** Resolves on the helper's ready line; rejects (after killing it) on exit or timeout. */
interface Spawned {
  readonly stdout: Readable | null;
  readonly stderr: Readable | null;
  kill(signal: NodeJS.Signals): boolean;
  once(event: 'exit', listener: (code: number | null) => void): unknown;
}

function waitReady(child: Spawned): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    let out = '';
    const fail = (why: string): void => {
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(new FaultError(`nfq-delay ${why}: ${out.trim()}`));
    };
    const timer = setTimeout(() => fail(`not ready within ${READY_TIMEOUT_MS} ms`), READY_TIMEOUT_MS);
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      if (/^nfq-delay ready /m.test(out)) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      out += chunk.toString();
    });
    child.once('exit', (code) => fail(`exited (${code}) before it was ready`));
  });
}

/** PIDs of nfq-delay processes running in the network namespace of `netnsPid`. */
export function delayHelpersInNetns(netnsPid: number): number[] {
  let target: string;
  try {
    target = readlinkSync(`/proc/${netnsPid}/ns/net`);
  } catch {
    return [];
  }
  return listPids().filter((pid) => {
    try {
      // A rebuilt helper shows as "<path> (deleted)" in processes started before the rebuild.
      return (
        readlinkSync(`/proc/${pid}/exe`).startsWith(NFQ_DELAY_BINARY_PREFIX) &&
        readlinkSync(`/proc/${pid}/ns/net`) === target
      );
    } catch {
      return false;
    }
  });
}

function listPids(): number[] {
  try {
    return readdirSync('/proc')
      .filter((name) => /^\d+$/.test(name))
      .map(Number);
  } catch {
    return [];
  }
}
