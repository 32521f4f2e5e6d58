import { execa } from 'execa';
import { readFileSync } from 'node:fs';
import { readdir, readFile, rm } from 'node:fs/promises';
import { hostname } from 'node:os';
import path from 'node:path';
import { writeJsonAtomically } from '../util/atomic-json.ts';
import { sleep } from '../util/clock.ts';
import { packagePath } from '../util/package-root.ts';
import { LABEL, ownerAlive, processStartTime } from './run-labels.ts';

/**
 * Processes the lab starts on the host outside any container (the nfq-delay fault helper, which
 * runs in a member's network namespace): each is recorded in a file under .lab/run with the same
 * labels a container gets, so the leftover sweep (cleanup.ts) stops those whose run is gone, like
 * it removes that run's containers. Here in host/, not with the fault that starts them, so the
 * sweep needs nothing from faults/.
 */

export const HELPER_RUN_DIR = packagePath('.lab', 'run');

/** A record file's fields: the run labels (LABEL.*) and the helper's own pid and start time. */
interface HelperRecord {
  readonly [key: string]: string;
}

export interface RecordedHelper {
  readonly kind: string;
  readonly pid: number;
  readonly runId: string;
  readonly faultId: string;
  /** Removes the record: call once the helper has exited. */
  forget(): Promise<void>;
}

/** `<kind>-<pid>.json`; the kind names the helper (a lowercase word, hyphens allowed). */
const RECORD_FILE = /^([a-z][a-z-]*)-(\d+)\.json$/;

/** Records a helper this process started, for `runId`'s fault `faultId`. */
export async function recordHelper(
  kind: string,
  pid: number,
  owner: { readonly runId: string; readonly faultId: string },
): Promise<RecordedHelper> {
  const file = helperRecordFile(kind, pid);
  const record: HelperRecord = {
    [LABEL.lab]: 'true',
    [LABEL.run]: owner.runId,
    [LABEL.pid]: String(process.pid),
    [LABEL.pidStart]: processStartTime(process.pid) ?? '',
    [LABEL.host]: hostname(),
    faultId: owner.faultId,
    helperPid: String(pid),
    helperStart: processStartTime(pid) ?? '',
  };
  // Atomically: tests and other runs' sweeps read these files while runs write them, and a
  // truncated file read mid-write would look like a dead run's half-written one.
  await writeJsonAtomically(file, record, 'compact');
  return { kind, pid, ...owner, forget: () => rm(file, { force: true }) };
}

/** The path of the record of helper `pid` of this kind (whether or not it exists). */
export const helperRecordFile = (kind: string, pid: number): string =>
  path.join(HELPER_RUN_DIR, `${kind}-${pid}.json`);

/**
 * Every record file and its fields. An unreadable one can only be a run's crash mid-write (the
 * writes are atomic); `removeUnreadable` (the sweep) deletes it, a query leaves it.
 */
async function recordedHelpers(removeUnreadable = false): Promise<{ file: string; data: HelperRecord }[]> {
  let names: string[];
  try {
    names = await readdir(HELPER_RUN_DIR);
  } catch {
    return [];
  }
  const out: { file: string; data: HelperRecord }[] = [];
  for (const name of names.filter((n) => RECORD_FILE.test(n))) {
    const file = path.join(HELPER_RUN_DIR, name);
    try {
      out.push({ file, data: JSON.parse(await readFile(file, 'utf8')) as HelperRecord });
    } catch {
      if (removeUnreadable) await rm(file, { force: true });
    }
  }
  return out;
}

/** PIDs of helpers a run has recorded and not yet stopped (their records are still there). */
export async function recordedHelperPids(runId: string): Promise<number[]> {
  return (await recordedHelpers())
    .filter(({ data }) => data[LABEL.run] === runId)
    .map(({ data }) => Number(data.helperPid));
}

export interface HelperSweepOptions {
  /** Also helpers of runs that are still alive. */
  readonly includeLive?: boolean;
  /** Only this run's helpers. */
  readonly runId?: string;
}

/** Stops recorded helpers whose run is gone (or this run's / all, see options); returns how many. */
export async function sweepHelperProcesses(options: HelperSweepOptions = {}): Promise<number> {
  let killed = 0;
  for (const { file, data } of await recordedHelpers(true)) {
    const doomed =
      options.includeLive === true ||
      (options.runId !== undefined ? data[LABEL.run] === options.runId : !ownerAlive(data));
    if (!doomed) continue;
    const pid = Number(data.helperPid);
    // Only the very process recorded: a pid reused by something else is left alone.
    if (Number.isInteger(pid) && pid > 0 && stillRunning(pid, data.helperStart)) {
      if (await signalProcess(pid, 'SIGTERM')) {
        killed += 1;
        for (let i = 0; i < 20 && stillRunning(pid, data.helperStart); i++) await sleep(50);
        if (stillRunning(pid, data.helperStart)) await signalProcess(pid, 'SIGKILL');
      }
    }
    await rm(file, { force: true });
  }
  return killed;
}

/**
 * Sends `signal` to `pid`; false when it is gone. A helper started through sudo runs as root, so a
 * lab that is not root signals it through `sudo -n kill` (how it started it).
 */
export async function signalProcess(pid: number, signal: 'SIGTERM' | 'SIGKILL'): Promise<boolean> {
  try {
    process.kill(pid, signal);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return false;
    const name = signal.replace(/^SIG/, '');
    const result = await execa('sudo', ['-n', 'kill', `-${name}`, String(pid)], {
      reject: false,
      stdin: 'ignore',
      timeout: 15_000,
    });
    return !result.failed;
  }
}

/**
 * The recorded helper still runs: same pid and start time, and not a zombie. A helper that died
 * with its lab stays a zombie until its new parent reaps it; it holds nothing and needs no kill.
 */
function stillRunning(pid: number, startTime: string | undefined): boolean {
  if (processStartTime(pid) !== startTime) return false;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.charAt(stat.lastIndexOf(')') + 2) !== 'Z';
  } catch {
    return false;
  }
}
