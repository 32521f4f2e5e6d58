import { execa } from 'execa';
import type { Readable } from 'node:stream';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { FaultError } from '../../errors.ts';
import { recordHelper, signalProcess } from '../../host/helper-processes.ts';
import { processStartTime } from '../../host/run-labels.ts';
import { privilegeRoute, privilegedCommandLine, runPrivileged } from '../host-command.ts';
import { buildNfqDelayHelper, NFQ_DELAY_BINARY_PREFIX } from './nfq-delay-build.ts';

/**
 * The nfq-delay helper, run inside a member's network namespace. Three things make sure it dies:
 * heal stops it; it is tied to the lab process and ends with it, even a SIGKILLed one; and a record
 * under .lab/run (src/host/helper-processes.ts) lets the next run's sweep kill helpers whose owning
 * run is gone, should one survive anyway.
 *
 * The tie depends on how it was started. As root, `--parent-pid <this process>`: nsenter execs it,
 * so it is this process's child, the kernel sends it SIGTERM when its parent dies, and it refuses
 * to start otherwise. Through sudo (not root), sudo forks and is the parent, so instead
 * `--watch-pid <this process> --watch-start <its start time>`: it watches this process and stops
 * within half a second of its death. Either way it prints its own pid when ready, which is the pid
 * recorded and signalled (through sudo it is not the child's).
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
  const route = privilegeRoute();
  const nsenterArgs = [
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
    // to enter a PID namespace), so as root the helper is this process's child, which it checks.
    ...(route === 'root'
      ? ['--parent-pid', String(process.pid)]
      : ['--watch-pid', String(process.pid), '--watch-start', processStartTime(process.pid) ?? '']),
  ];
  const [file, args] = privilegedCommandLine('nsenter', nsenterArgs);
  const child = execa(file, args, { stdin: 'ignore', reject: false, buffer: { stdout: false } });
  if (child.pid === undefined) throw new FaultError('could not spawn nfq-delay');
  const pid = await waitReady(child);
  const record = await recordHelper('nfq-delay', pid, { runId: options.runId, faultId: options.faultId });
  let stopping: Promise<string> | undefined;
  return {
    pid,
    queue: options.queue,
    stop: () => {
      stopping ??= (async () => {
        // Through sudo the child is sudo, which relays the SIGTERM to the helper.
        child.kill('SIGTERM');
        const timer = setTimeout(() => {
          void signalProcess(pid, 'SIGKILL');
          child.kill('SIGKILL');
        }, STOP_GRACE_MS);
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

interface Spawned {
  readonly stdout: Readable | null;
  readonly stderr: Readable | null;
  kill(signal: NodeJS.Signals): boolean;
  once(event: 'exit', listener: (code: number | null) => void): unknown;
}

/** Resolves to the helper's pid on its ready line; rejects (after killing it) on exit or timeout. */
function waitReady(child: Spawned): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    let out = '';
    const fail = (why: string): void => {
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(new FaultError(`nfq-delay ${why}: ${out.trim()}`));
    };
    const timer = setTimeout(() => fail(`not ready within ${READY_TIMEOUT_MS} ms`), READY_TIMEOUT_MS);
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const ready = /^nfq-delay ready .*\bpid=(\d+)$/m.exec(out);
      if (ready) {
        clearTimeout(timer);
        resolve(Number(ready[1]));
      }
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      out += chunk.toString();
    });
    child.once('exit', (code) => fail(`exited (${code}) before it was ready`));
  });
}

/**
 * PIDs of nfq-delay processes running in the network namespace of `netnsPid`. A helper is known by
 * its command line (readable for anyone's process; /proc/<pid>/exe is not, and shows a rebuilt
 * helper as "<path> (deleted)"); the namespaces are compared through sudo when the lab is not root
 * and the processes (etcd in its container, the helpers) are root's.
 */
export async function delayHelpersInNetns(netnsPid: number): Promise<number[]> {
  const helpers = listPids().filter((pid) => commandOf(pid)?.startsWith(NFQ_DELAY_BINARY_PREFIX) === true);
  if (helpers.length === 0) return [];
  const target = await netnsOf(netnsPid);
  if (target === undefined) return [];
  const found: number[] = [];
  for (const pid of helpers) if ((await netnsOf(pid)) === target) found.push(pid);
  return found;
}

/** argv[0] of `pid`, or undefined when it is gone (or a kernel thread, which has none). */
function commandOf(pid: number): string | undefined {
  try {
    const argv0 = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')[0];
    return argv0 === '' ? undefined : argv0;
  } catch {
    return undefined;
  }
}

/** The network namespace of `pid` ("net:[4026531992]"), or undefined when it is gone. */
async function netnsOf(pid: number): Promise<string | undefined> {
  const link = `/proc/${pid}/ns/net`;
  try {
    return readlinkSync(link);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EACCES' || privilegeRoute() === 'root') return undefined;
    const outcome = await runPrivileged('readlink', [link]);
    return outcome.ok ? outcome.stdout.trim() : undefined;
  }
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
