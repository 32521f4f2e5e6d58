import type { StartedEtcdCluster } from '../cluster/started-etcd-cluster.ts';
import { BadInputError, FaultError } from '../errors.ts';
import { registerCleanup } from '../host/cleanup.ts';
import type { RunClock } from '../util/clock.ts';
import { warn } from '../util/log.ts';
import { probeHostCapabilities, type HostCapabilities } from './capabilities.ts';

/** Whether this host can produce a fault, and with which mechanism (null when it cannot). */
export interface FaultCheck {
  readonly available: boolean;
  readonly mechanism: string | null;
  /** What will be used, or why nothing can be. */
  readonly detail: string;
}

/** A fault as plain data: its kind, configured values and target as the user gave them. */
export interface FaultDescription {
  readonly fault: string;
  readonly [setting: string]: unknown;
}

export interface FaultContext {
  readonly cluster: StartedEtcdCluster;
  /** The run's monotonic clock: injection and heal times are recorded on it. */
  readonly clock: RunClock;
  /** Probed (once per process) when absent. */
  readonly caps?: HostCapabilities;
  /** Seeds role resolution ('follower', 'minority') so a run can be repeated. Default 1. */
  readonly seed?: number;
  /** How long role resolution may wait for a stable leader. Default 10 s. */
  readonly leaderTimeoutMs?: number;
  /**
   * Hears when a fault whose whole effect is one instant took effect, on the run clock, as soon
   * as it did: a kill's signal, a graceful stop's SIGTERM. Their injection returns only after
   * Docker's teardown (seconds, sometimes); a caller measuring what follows the fault (leader-loss
   * trials) starts at this instant instead. Faults that go in step by step do not call it.
   */
  readonly onTookEffect?: (atRunMs: number) => void;
}

/** What an injected fault was and did, as plain data for results. */
export interface FaultRecord {
  readonly faultId: string;
  readonly description: FaultDescription;
  readonly mechanism: string;
  /** Member names the target resolved to at injection time (roles resolved, e.g. the leader then). */
  readonly targets: readonly string[];
  /** Run-clock time when injection started; the fault is fully in place injectionLatencyMs later. */
  readonly injectedAtMs: number;
  readonly injectionLatencyMs: number;
  /**
   * Run-clock instant a fault whose whole effect is one act took effect (a kill's signal, a stop's
   * SIGTERM); null for the others, which take effect over their injection. Measure what follows
   * such a fault from here: under load the call that injects it can take a second or more before
   * and after that instant. Absent in results written before it was recorded.
   */
  readonly tookEffectAtMs?: number | null;
  /** Run-clock time when healing started (null while active); fully undone healLatencyMs later. */
  readonly healedAtMs: number | null;
  readonly healLatencyMs: number | null;
  /** Undo steps that failed while healing (null when healing succeeded or has not happened). */
  readonly healError: string | null;
  /** How the fault ended: healed by heal(), or replaced by a later injection of the same fault. */
  readonly endedBy: 'heal' | 'replaced' | null;
  /** Mechanism-specific facts (rules added, helper pids, queue numbers…). */
  readonly details: Readonly<Record<string, unknown>>;
}

export interface FaultHandle {
  readonly faultId: string;
  readonly mechanism: string;
  readonly targets: readonly string[];
  readonly injectedAtMs: number;
  readonly injectionLatencyMs: number;
  /** See {@link FaultRecord.tookEffectAtMs}. */
  readonly tookEffectAtMs: number | null;
  readonly healedAtMs: number | null;
  readonly healLatencyMs: number | null;
  /** True once heal() (or a replacing injection) has run, successfully or not: see record().healError. */
  readonly healed: boolean;
  /**
   * Undoes the fault. Idempotent: later calls return the first call's promise. Rejects with a
   * FaultError when some undo step failed (every step is still attempted).
   */
  heal(): Promise<void>;
  record(): FaultRecord;
}

/** A fault: a name, whether this host can do it, and inject → handle with an idempotent heal. */
export interface Fault {
  readonly name: string;
  describe(): FaultDescription;
  check(caps: HostCapabilities): FaultCheck;
  /**
   * Validates, resolves targets, and applies the fault. Bad input is a BadInputError, a fault the
   * host cannot produce a FaultError, both before anything is applied. A partial injection is
   * rolled back before the error is thrown.
   */
  inject(ctx: FaultContext): Promise<FaultHandle>;
}

/** Undo steps collected while a fault is applied; run in reverse order. */
export class UndoStack {
  private readonly steps: { readonly what: string; readonly undo: () => Promise<void> }[] = [];

  push(what: string, undo: () => Promise<void>): void {
    this.steps.push({ what, undo });
  }

  /** Runs every step (newest first) even when some fail; returns the failures. */
  async runAll(): Promise<string[]> {
    const failures: string[] = [];
    while (this.steps.length > 0) {
      const step = this.steps.pop();
      if (step === undefined) break;
      try {
        await step.undo();
      } catch (error) {
        failures.push(`${step.what}: ${(error as Error).message}`);
      }
    }
    return failures;
  }
}

export interface Application {
  readonly mechanism: string;
  readonly targets: readonly string[];
  /** Identifies "the same fault on the same target": a second injection with this key replaces the first. */
  readonly faultId: string;
  /**
   * Applies the fault, pushing an undo for every step taken. Details are merged into the record.
   * A fault whose effect is one instant calls `tookEffect` with it (run clock) as soon as it knows.
   */
  apply(
    undo: UndoStack,
    details: Record<string, unknown>,
    tookEffect: (atRunMs: number) => void,
  ): Promise<void>;
}

/** Active faults by run and fault id, so injecting the same fault again replaces it. */
const active = new Map<string, FaultHandleImpl>();

/**
 * The shared inject path: replace a running fault with the same id, register the undo with the
 * process-wide cleanup (Ctrl-C, SIGTERM, crash handlers), apply, time it, roll back on failure.
 */
export async function applyFault(
  ctx: FaultContext,
  description: FaultDescription,
  application: Application,
): Promise<FaultHandle> {
  const key = `${ctx.cluster.runId}:${application.faultId}`;
  const previous = active.get(key);
  if (previous !== undefined) await previous.end('replaced');

  const undo = new UndoStack();
  const details: Record<string, unknown> = {};
  const handle = new FaultHandleImpl(ctx.clock, description, application, undo, details, () =>
    active.delete(key),
  );
  // Registered before the first step: a signal arriving mid-injection still undoes what was done.
  handle.unregister = registerCleanup(`fault ${application.faultId}`, () => handle.heal());
  const startMs = ctx.clock.now();
  try {
    await application.apply(undo, details, (atRunMs) => {
      handle.tookEffectAtMs ??= atRunMs; // several targets: the first signal
      ctx.onTookEffect?.(atRunMs);
    });
  } catch (error) {
    const failures = await undo.runAll();
    handle.unregister();
    if (failures.length > 0) warn(`rolling back ${application.faultId} left: ${failures.join('; ')}`);
    if (error instanceof BadInputError || error instanceof FaultError) throw error;
    throw new FaultError(`could not inject ${application.faultId}: ${(error as Error).message}`, {
      cause: error,
    });
  }
  handle.injected(startMs, ctx.clock.now());
  active.set(key, handle);
  return handle;
}

class FaultHandleImpl implements FaultHandle {
  unregister: () => void = () => undefined;
  injectedAtMs = 0;
  injectionLatencyMs = 0;
  tookEffectAtMs: number | null = null;
  healedAtMs: number | null = null;
  healLatencyMs: number | null = null;
  private endedBy: 'heal' | 'replaced' | null = null;
  private healError: string | null = null;
  private healing: Promise<void> | undefined;

  constructor(
    private readonly clock: RunClock,
    private readonly description: FaultDescription,
    private readonly application: Application,
    private readonly undo: UndoStack,
    private readonly details: Record<string, unknown>,
    private readonly forget: () => void,
  ) {}

  get faultId(): string {
    return this.application.faultId;
  }

  get mechanism(): string {
    return this.application.mechanism;
  }

  get targets(): readonly string[] {
    return this.application.targets;
  }

  get healed(): boolean {
    return this.healedAtMs !== null;
  }

  injected(startMs: number, endMs: number): void {
    this.injectedAtMs = startMs;
    this.injectionLatencyMs = endMs - startMs;
  }

  heal(): Promise<void> {
    return this.end('heal');
  }

  end(how: 'heal' | 'replaced'): Promise<void> {
    this.healing ??= (async () => {
      this.endedBy = how;
      const startMs = this.clock.now();
      const failures = await this.undo.runAll();
      const endMs = this.clock.now();
      this.healedAtMs = startMs;
      this.healLatencyMs = endMs - startMs;
      this.unregister();
      this.forget();
      if (failures.length > 0) {
        this.healError = failures.join('; ');
        throw new FaultError(`healing ${this.faultId} failed: ${this.healError}`);
      }
    })();
    return this.healing;
  }

  record(): FaultRecord {
    return {
      faultId: this.faultId,
      description: this.description,
      mechanism: this.mechanism,
      targets: this.targets,
      injectedAtMs: this.injectedAtMs,
      injectionLatencyMs: this.injectionLatencyMs,
      tookEffectAtMs: this.tookEffectAtMs,
      healedAtMs: this.healedAtMs,
      healLatencyMs: this.healLatencyMs,
      healError: this.healError,
      endedBy: this.endedBy,
      details: { ...this.details },
    };
  }
}

/** Refuses a fault this host cannot produce, with the check's reason. */
export function requireAvailable(fault: Fault, caps: HostCapabilities): string {
  const check = fault.check(caps);
  if (!check.available || check.mechanism === null) {
    throw new FaultError(`${fault.name} cannot be injected on this host: ${check.detail}`);
  }
  return check.mechanism;
}

/** A fault id safe in an iptables comment and readable in results, e.g. "delay-m1". */
export function faultId(kind: string, ...parts: readonly string[]): string {
  return [kind, ...parts].join('-').replace(/[^A-Za-z0-9_.+|=-]/g, '_');
}

export async function capabilitiesOf(ctx: FaultContext): Promise<HostCapabilities> {
  return ctx.caps ?? (await probeHostCapabilities());
}

/** Checks that a value is a finite number in [min, max] (and an integer when asked), else BadInputError. */
export function requireNumber(
  what: string,
  value: number,
  min: number,
  max: number,
  options: { readonly integer?: boolean; readonly unit?: string } = {},
): void {
  const unit = options.unit ?? '';
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max) {
    throw new BadInputError(
      `${what} must be from ${min}${unit} to ${max}${unit}, got ${String(value)}${unit}`,
    );
  }
  if (options.integer === true && !Number.isInteger(value)) {
    throw new BadInputError(`${what} must be a whole number, got ${value}`);
  }
}

/**
 * Runs `step` for every item at once and waits for all of them before reporting the first failure,
 * so a rollback never races a step that is still adding things to undo.
 */
export async function allSettledOrThrow<T>(
  items: readonly T[],
  step: (item: T, index: number) => Promise<void>,
): Promise<void> {
  const results = await Promise.allSettled(items.map((item, index) => step(item, index)));
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed !== undefined) throw failed.reason;
}
