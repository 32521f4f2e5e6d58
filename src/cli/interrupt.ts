/**
 * The CLI's one owner of Ctrl-C (and SIGTERM, SIGHUP). A command that runs something stoppable
 * takes the run's abort signal ({@link takeRunSignal}); the first signal aborts it, the command
 * stops in order — faults healed, clusters removed — writes an 'aborted' result, and the CLI
 * exits 128 + the signal's number (130 for Ctrl-C, 143 for SIGTERM). Nothing else exits on a
 * signal, so whether the result gets written is no longer a race.
 *
 * - A second signal stops waiting for the command: registered cleanups (heal, remove) run now
 *   and the CLI exits when they are done, without a result unless the command had written its
 *   result.json already (the writers write it first, before history, charts and report.md).
 * - A third exits at once; what is left is removed by the next run's sweep or `etcd-lab clean`.
 * - A command that took no signal (up, doctor, clean) has nothing to write: the first signal
 *   cleans up and exits, as before.
 * - A command that does not stop within {@link STOP_GRACE_MS} is treated like a second signal.
 * - A signal that arrives once the run has completed (its result is being written, see
 *   {@link markRunCompleted}) does not change the exit code: the result's own code stands.
 */
import { ownStopSignals, runAllCleanups, STOP_SIGNAL_EXIT, type StopSignal } from '../host/cleanup.ts';

/** How long a command may take to stop in order after the first signal (heal, remove, write). */
export const STOP_GRACE_MS = 60_000;

/** What the interrupt does to the process; the CLI's are the real ones, tests pass their own. */
export interface InterruptEffects {
  /** Heals faults and removes clusters that are still registered (runAllCleanups). */
  readonly cleanup: () => Promise<void>;
  readonly exit: (code: number) => void;
  /** One line for the user (stderr). */
  readonly say: (line: string) => void;
  /** Runs `run` after `ms` unless the process exits first. */
  readonly after: (ms: number, run: () => void) => void;
  readonly graceMs: number;
}

export class Interrupt {
  readonly #controller = new AbortController();
  readonly #effects: InterruptEffects;
  #taken = false;
  #forced = false;
  #stoppedBy: StopSignal | undefined;
  #completed = false;

  constructor(effects: InterruptEffects) {
    this.#effects = effects;
  }

  /**
   * The run's abort signal, for a command that stops on it and writes an aborted result. Taking
   * it tells the interrupt to wait for the command (up to the grace time) instead of exiting.
   */
  takeSignal(): AbortSignal {
    this.#taken = true;
    return this.#controller.signal;
  }

  /** The signal that stopped the run; undefined while none has arrived. */
  get stoppedBy(): StopSignal | undefined {
    return this.#stoppedBy;
  }

  /**
   * The run ran to completion: its result is complete and being written, so a signal from now
   * on (or one that came too late to stop anything) leaves the result's exit code alone.
   */
  markCompleted(): void {
    this.#completed = true;
  }

  /**
   * The exit code a signal imposes: 128 + the stopping signal's number; undefined while none has
   * arrived, and once the run has completed ({@link markCompleted}): its result's code stands.
   */
  get exitCode(): number | undefined {
    return this.#stoppedBy === undefined || this.#completed ? undefined : STOP_SIGNAL_EXIT[this.#stoppedBy];
  }

  /** The `count`-th stop signal of the process has arrived (see ownStopSignals). */
  onSignal(signal: StopSignal, count: number): void {
    this.#stoppedBy ??= signal;
    const code = STOP_SIGNAL_EXIT[this.#stoppedBy];
    if (count === 1) {
      this.#controller.abort(new Error(`interrupted by ${signal}`));
      if (!this.#taken) {
        this.#effects.say(`\netcd-lab: ${signal}: healing faults and removing the cluster…`);
        this.#force(code);
        return;
      }
      this.#effects.say(
        `\netcd-lab: ${signal}: stopping — healing faults, removing the cluster, writing the results (again: stop waiting)…`,
      );
      this.#effects.after(this.#effects.graceMs, () => {
        if (this.#forced) return;
        this.#effects.say(
          `etcd-lab: the run did not stop within ${this.#effects.graceMs / 1000} s: healing faults and removing the cluster…`,
        );
        this.#force(code);
      });
      return;
    }
    if (!this.#forced) {
      this.#effects.say(
        `\netcd-lab: ${signal}: not waiting for the results; healing faults and removing the cluster…`,
      );
      this.#force(code);
      return;
    }
    this.#effects.say(`\netcd-lab: ${signal}: exiting now; \`etcd-lab clean\` removes what is left`);
    this.#effects.exit(code);
  }

  #force(code: number): void {
    this.#forced = true;
    void this.#effects.cleanup().finally(() => this.#effects.exit(code));
  }
}

let cliInterrupt: Interrupt | undefined;

/** Makes the CLI the owner of the stop signals (once per process); returns the interrupt. */
export function installCliInterrupt(): Interrupt {
  if (cliInterrupt !== undefined) return cliInterrupt;
  const interrupt = new Interrupt({
    cleanup: runAllCleanups,
    exit: (code) => process.exit(code),
    say: (line) => process.stderr.write(`${line}\n`),
    // Unreferenced: a command that finished in time must not keep the process alive for it.
    after: (ms, run) => setTimeout(run, ms).unref(),
    graceMs: STOP_GRACE_MS,
  });
  ownStopSignals('the CLI', (signal, count) => interrupt.onSignal(signal, count));
  cliInterrupt = interrupt;
  return interrupt;
}

/**
 * Tells the CLI's interrupt that the command's run completed (its result's status is
 * 'completed'): Ctrl-C while the results are written then keeps the result's exit code instead
 * of 130. Outside the CLI, nothing.
 */
export function markRunCompleted(): void {
  cliInterrupt?.markCompleted();
}

/**
 * The run's abort signal for a command (see Interrupt.takeSignal). Outside the CLI (a command
 * registered in a test program) there is no owner: a signal that never fires.
 */
export function takeRunSignal(): AbortSignal {
  return cliInterrupt?.takeSignal() ?? new AbortController().signal;
}
