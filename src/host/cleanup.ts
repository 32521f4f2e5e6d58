import { readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { progress, warn } from '../util/log.ts';
import { sweepHelperProcesses } from './helper-processes.ts';
import { LABEL, ownerAlive } from './run-labels.ts';

/**
 * Cleanup that cannot be skipped. Live resources register an undo here; the undos run in
 * reverse order on normal exit paths (the owner calls them), when a stop signal ends the
 * process (see ownStopSignals) and on uncaught errors. What a SIGKILLed run leaves behind is found by its
 * labels and removed by {@link sweepLeftovers} at the next start or by `etcd-lab clean`.
 */
type Cleanup = { readonly name: string; readonly run: () => Promise<void> };
const cleanups: Cleanup[] = [];

export function registerCleanup(name: string, run: () => Promise<void>): () => void {
  const entry = { name, run };
  cleanups.push(entry);
  return () => {
    const index = cleanups.indexOf(entry);
    if (index >= 0) cleanups.splice(index, 1);
  };
}

/** The cleanup run in progress; a second caller waits for it instead of starting another. */
let cleanupRun: Promise<void> | undefined;

/**
 * Runs every registered cleanup, newest first, one at a time. Single-flight: a caller that
 * arrives while a run is in progress (a forced cleanup on Ctrl-C, then the CLI's own before it
 * exits) gets that run's promise, so it returns only when every entry — including those the
 * first caller took — has finished, and the reverse order holds. Entries registered while it runs
 * are run by it too.
 */
export function runAllCleanups(): Promise<void> {
  cleanupRun ??= drainCleanups().finally(() => {
    cleanupRun = undefined;
  });
  return cleanupRun;
}

async function drainCleanups(): Promise<void> {
  while (cleanups.length > 0) {
    const entry = cleanups.pop();
    if (!entry) break;
    try {
      await entry.run();
    } catch (error) {
      warn(`cleanup "${entry.name}" failed: ${(error as Error).message}`);
    }
  }
}

/** The signals that stop a run. */
export type StopSignal = 'SIGINT' | 'SIGTERM' | 'SIGHUP';

/** The exit code of a process stopped by each signal: 128 + its number, as shells report it. */
export const STOP_SIGNAL_EXIT: Readonly<Record<StopSignal, number>> = {
  SIGINT: 130,
  SIGTERM: 143,
  SIGHUP: 129,
};

let stopSignalOwner: string | undefined;

/**
 * Hands SIGINT, SIGTERM and SIGHUP to one owner for the life of the process: `onSignal` gets
 * each signal and how many have arrived so far (1 for the first). There is exactly one owner —
 * the CLI (src/cli/interrupt.ts) or {@link installExitHandlers} in scripts and fixtures — so no
 * two handlers race to exit; a second claim throws.
 */
export function ownStopSignals(owner: string, onSignal: (signal: StopSignal, count: number) => void): void {
  if (stopSignalOwner !== undefined) {
    throw new Error(`stop signals are already handled by ${stopSignalOwner}; ${owner} cannot take them`);
  }
  stopSignalOwner = owner;
  let count = 0;
  for (const signal of Object.keys(STOP_SIGNAL_EXIT) as StopSignal[]) {
    process.on(signal, () => onSignal(signal, ++count));
  }
}

let crashHandlersInstalled = false;
/** Set once an exit is under way (a crash or a signal), so a second cause does not start another. */
let exiting = false;

/**
 * An uncaught exception or unhandled rejection heals faults and removes clusters, then exits 2
 * (a lab failure) with one line on stderr, like every other CLI error.
 */
export function installCrashHandlers(): void {
  if (crashHandlersInstalled) return;
  crashHandlersInstalled = true;
  const onCrash = (error: unknown) => {
    if (exiting) return;
    exiting = true;
    // One line, like every other CLI error; the stack only on request.
    const message = error instanceof Error ? error.message.split('\n')[0] : String(error);
    const stack = process.env.ETCD_LAB_DEBUG === '1' && error instanceof Error ? `\n${error.stack}` : '';
    process.stderr.write(`etcd-lab: internal error: ${message}${stack}\n`);
    void runAllCleanups().finally(() => process.exit(2));
  };
  process.on('uncaughtException', onCrash);
  process.on('unhandledRejection', onCrash);
}

let exitHandlersInstalled = false;

/**
 * For scripts, benches and test fixtures, which have no results to write when stopped: Ctrl-C,
 * SIGTERM and SIGHUP heal faults and remove clusters, then exit 128 + the signal's number; a
 * second signal while cleanup runs exits at once (the next run's sweep finishes the job). With
 * `uncaught`, crashes too (see installCrashHandlers). The CLI does not use this: it stops the
 * command through an abort signal so that an interrupted run still writes its result.
 */
export function installExitHandlers(options: { readonly uncaught?: boolean } = {}): void {
  if (options.uncaught === true) installCrashHandlers();
  if (exitHandlersInstalled) return;
  ownStopSignals('installExitHandlers', (signal) => {
    const code = STOP_SIGNAL_EXIT[signal];
    if (exiting) process.exit(code);
    exiting = true;
    process.stderr.write(`\netcd-lab: ${signal}: healing faults and removing the cluster…\n`);
    void runAllCleanups().finally(() => process.exit(code));
  });
  // Only once the signals are ours: when another owner has them (ownStopSignals threw), a later
  // call must try again and throw again, not return as if installed.
  exitHandlersInstalled = true;
}

/**
 * Where members keep their data when it is on host tmpfs (see the cluster's dataDir option). One
 * root per user: a user's lab creates, owns and removes what is in its own (members of a lab that
 * is not root run as its user, see member-launcher.ts), and another user's directory is not in the way.
 */
const uid = process.getuid?.() ?? 0;
export const MEMORY_DATA_ROOT = uid === 0 ? '/dev/shm/etcd-lab' : `/dev/shm/etcd-lab-${uid}`;

/** How many leftovers one removal took away, by kind (a tuning sweep's result is SweepResult). */
export interface LeftoverRemovalResult {
  readonly containers: number;
  readonly networks: number;
  readonly volumes: number;
  readonly dataDirs: number;
  readonly other: number;
}

export interface SweepOptions {
  /** Also remove resources of runs that are still alive (`etcd-lab clean --all`). */
  readonly includeLive?: boolean;
  /** Only this run's resources (used by a run's own teardown as a last resort). */
  readonly runId?: string;
}

/**
 * Removes every labelled resource whose owning run is gone (or all of them, see options), and
 * the helper processes faults start outside containers (nfq-delay; src/host/helper-processes.ts),
 * so a library user calling this alone sweeps them too.
 */
export async function sweepLeftovers(options: SweepOptions = {}): Promise<LeftoverRemovalResult> {
  // Loaded here, not at the top: the CLI installs its exit handlers from this module, and a
  // command refusing bad input should not wait for the Docker client to load.
  const { docker } = await import('./docker.ts');
  const filters = { label: [options.runId ? `${LABEL.run}=${options.runId}` : `${LABEL.lab}=true`] };
  const doomed = (labels: Record<string, string> | undefined) =>
    options.includeLive === true || options.runId !== undefined || !ownerAlive(labels);

  // A run interrupted while its cluster starts can still be creating containers as this runs;
  // a network with a fresh container on it refuses removal, so go round again (a few times).
  const removedContainers = new Set<string>();
  const removedNetworks = new Set<string>();
  for (let pass = 1; pass <= 4; pass++) {
    const containers = (await docker().listContainers({ all: true, filters })).filter((c) =>
      doomed(c.Labels),
    );
    await Promise.all(
      containers.map((c) =>
        docker()
          .getContainer(c.Id)
          .remove({ force: true, v: true })
          .then(() => removedContainers.add(c.Id))
          .catch((error: Error) =>
            warn(`could not remove container ${c.Names[0] ?? c.Id}: ${error.message}`),
          ),
      ),
    );
    const networks = (await docker().listNetworks({ filters })).filter((n) => doomed(n.Labels));
    let busy = 0;
    for (const network of networks) {
      await docker()
        .getNetwork(network.Id)
        .remove()
        .then(() => removedNetworks.add(network.Id))
        .catch((error: Error) => {
          if (pass < 4 && /active endpoints/.test(error.message)) busy += 1;
          else warn(`could not remove network ${network.Name}: ${error.message}`);
        });
    }
    if (busy === 0) break;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  const containers = [...removedContainers];
  const networks = [...removedNetworks];
  const volumeList = await docker().listVolumes({ filters });
  const volumes = (volumeList.Volumes ?? []).filter((v) => doomed(v.Labels as Record<string, string>));
  for (const volume of volumes) {
    await docker()
      .getVolume(volume.Name)
      .remove()
      .catch((error: Error) => warn(`could not remove volume ${volume.Name}: ${error.message}`));
  }
  const dataDirs = await sweepMemoryDataDirs(options, doomed);
  const other = await sweepHelperProcesses(options);

  const total = containers.length + networks.length + volumes.length + dataDirs + other;
  if (total > 0 && options.runId === undefined) {
    progress(
      `swept leftovers: ${containers.length} containers, ${networks.length} networks, ${volumes.length} volumes, ${dataDirs} data dirs, ${other} other`,
    );
  }
  return {
    containers: containers.length,
    networks: networks.length,
    volumes: volumes.length,
    dataDirs,
    other,
  };
}

async function sweepMemoryDataDirs(
  options: SweepOptions,
  doomed: (labels: Record<string, string> | undefined) => boolean,
): Promise<number> {
  let entries: string[];
  try {
    entries = await readdir(MEMORY_DATA_ROOT);
  } catch {
    return 0;
  }
  let removed = 0;
  for (const runId of entries) {
    if (options.runId !== undefined && runId !== options.runId) continue;
    const dir = join(MEMORY_DATA_ROOT, runId);
    let labels: Record<string, string> | undefined;
    try {
      labels = JSON.parse(await readFile(join(dir, 'owner.json'), 'utf8')) as Record<string, string>;
    } catch {
      labels = undefined; // no owner file: a half-created dir, nobody's
    }
    if (!doomed(labels)) continue;
    await rm(dir, { recursive: true, force: true });
    removed += 1;
  }
  return removed;
}
