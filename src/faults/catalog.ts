import { z } from 'zod';
import type { Fault } from './fault.ts';
import { MOVE_LEADER_MECHANISM, MOVE_LEADER_ROLES, MoveLeaderFault } from './leadership/move-leader.ts';
import { BandwidthFault } from './network/bandwidth.ts';
import { ClientDelayFault } from './network/client-delay.ts';
import { DelayFault } from './network/delay.ts';
import { LossFault } from './network/loss.ts';
import { isolate } from './network/partition.ts';
import { TRAFFIC_SCOPES, type TrafficScope } from './network/traffic-scope.ts';
import { ProcessFault, type ProcessAction } from './process/process-fault.ts';
import { CpuThrottleFault } from './resources/cpu-throttle.ts';

/**
 * The fault catalog: every fault kind an experiment step can name, with
 * - its settings as a zod shape (what a step may say besides fault, at, repeat, expect and for),
 * - its factory (settings, seed → a {@link Fault}), and
 * - its traits, which is all the runners need to know about it.
 *
 * Adding a fault kind is one entry here plus its implementation (a class implementing Fault):
 * experiments accept it as `fault: <kind>`, and the runners read its traits. Like etcd's
 * robustness failpoints, it is the one list of faults.
 */

/** A role (leader, follower, minority, majority, all), one member name, or several. */
export const targetSchema = z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]);

/** What the runners need to know about a fault kind. */
export interface FaultTraits {
  /**
   * What the fault does to leadership:
   * - `taken-when-targeted`: hitting the leader takes it away (the member dies, freezes or is cut
   *   off), so an election after it is the point, not a spurious one;
   * - `moved-to-target`: leadership goes to the target, whatever member was leader;
   * - `kept`: the fault slows or starves members, and any election after it is a finding.
   */
  readonly leadership: 'taken-when-targeted' | 'moved-to-target' | 'kept';
  /**
   * When the fault takes effect: `at-once` when the first thing its injection does is the fault
   * itself (a signal, a freeze; the rest is Docker's bookkeeping), `when-in-place` when its last
   * rule or limit is in (network rules and cgroup limits go in member by member).
   */
  readonly actsAt: 'at-once' | 'when-in-place';
  /**
   * What happens to the target member's process: `restarted` (stopped; heal starts it again, in
   * a new network namespace, so network faults on it are gone), `frozen` (the same process is
   * resumed by heal) or `untouched`. A restarted or frozen member comes back behind the others:
   * the lab measures how long it takes to catch up.
   */
  readonly process: 'restarted' | 'frozen' | 'untouched';
  /**
   * Whether the targets are cut off from the other members while it lasts, so their logs do not
   * see the cluster's election: an isolated old leader keeps campaigning on its own, in terms
   * nobody else is in. An election after it is read from the other members' logs only.
   */
  readonly cutsTargetsOff: boolean;
  /**
   * Whether the peer round trip is measured around it: etcd's peer RTT metrics are read before
   * it goes in and, with the lab's probe, before it is healed (a slowed link is the point).
   */
  readonly measuresPeerRtt: boolean;
  /** Where it acts (also the folder of its implementation under src/faults). */
  readonly family: 'process' | 'network' | 'resources' | 'leadership';
  /** The mechanisms its check() may pick on a host, in order of preference (see FaultRecord.mechanism). */
  readonly mechanisms: readonly string[];
}

export interface FaultKindEntry<S extends z.ZodRawShape = z.ZodRawShape> {
  /** One line for help texts and reports. */
  readonly summary: string;
  /** The kind's settings, `target` included. */
  readonly settings: S;
  /** Settings that make a valid step of this kind (for help texts; the catalog's tests use it). */
  readonly example: z.input<z.ZodObject<S>>;
  /**
   * Whether a step must say how long the fault lasts (`for`). When it may leave it out, the
   * fault stays until the run heals everything at the end of the workload (a member left down).
   */
  readonly needsDuration: boolean;
  /**
   * Builds the fault. The seed is for what the fault itself draws at random (a delay's jitter);
   * roles are resolved when it is injected, with the run's seed in the fault context.
   */
  readonly create: (settings: z.output<z.ZodObject<S>>, seed: number) => Fault;
  readonly traits: FaultTraits;
}

/** Keeps each entry's settings type (so steps are typed per kind) while checking its shape. */
const entry = <const S extends z.ZodRawShape>(e: FaultKindEntry<S>): FaultKindEntry<S> => e;

const processEntry = (
  action: ProcessAction,
  summary: string,
  traits: Pick<FaultTraits, 'process' | 'mechanisms'>,
) =>
  entry({
    summary,
    settings: { target: targetSchema },
    example: { target: 'leader' },
    needsDuration: false,
    create: (s) => new ProcessFault({ action, target: s.target }),
    traits: {
      leadership: 'taken-when-targeted',
      actsAt: 'at-once',
      cutsTargetsOff: false,
      measuresPeerRtt: false,
      family: 'process',
      ...traits,
    },
  });

/** A fault that slows or degrades the target without taking leadership: it acts once in place. */
const degradingTraits = (
  family: FaultTraits['family'],
  mechanisms: FaultTraits['mechanisms'],
  traits: Partial<FaultTraits> = {},
): FaultTraits => ({
  leadership: 'kept',
  actsAt: 'when-in-place',
  process: 'untouched',
  cutsTargetsOff: false,
  measuresPeerRtt: false,
  family,
  mechanisms,
  ...traits,
});

const delaySettings = {
  target: targetSchema,
  delayMs: z.number().int().positive(),
  jitterMs: z.number().int().nonnegative().optional(),
};

/** Which of the target's traffic a network fault acts on (src/faults/network/traffic-scope.ts). */
const scopeSchema = z.enum(TRAFFIC_SCOPES as [TrafficScope, ...TrafficScope[]]).optional();
const withScope = (scope: TrafficScope | undefined) => (scope === undefined ? {} : { scope });

// Mechanism names as the faults' check() reports them (src/faults/**).
export const FAULT_CATALOG = {
  kill: processEntry('kill', 'SIGKILL the target; heal starts it again', {
    process: 'restarted',
    mechanisms: ['sigkill'],
  }),
  stop: processEntry(
    'stop',
    'SIGTERM the target (a stopping leader hands leadership over first); heal starts it again',
    { process: 'restarted', mechanisms: ['docker-stop-sigterm'] },
  ),
  pause: processEntry('pause', 'freeze the target with the cgroup freezer; heal thaws it', {
    process: 'frozen',
    mechanisms: ['cgroup-freezer'],
  }),
  sigstop: processEntry('sigstop', 'SIGSTOP the target; heal sends SIGCONT', {
    process: 'frozen',
    mechanisms: ['sigstop-sigcont'],
  }),
  // A rolling restart's step: over when injected (the member serves again), heal has nothing to undo.
  restart: processEntry(
    'restart',
    'SIGTERM the target (a leader hands over first) and start it again at once, waiting until it serves',
    { process: 'restarted', mechanisms: ['docker-stop-start'] },
  ),
  isolate: entry({
    summary: 'cut the target off from every other member (iptables DROP); heal reconnects it',
    settings: { target: targetSchema },
    example: { target: 'leader' },
    needsDuration: true,
    create: (s) => isolate(s.target),
    traits: {
      leadership: 'taken-when-targeted',
      actsAt: 'when-in-place',
      process: 'untouched',
      cutsTargetsOff: true,
      measuresPeerRtt: false,
      family: 'network',
      mechanisms: ['iptables-drop-ingress'],
    },
  }),
  delay: entry({
    summary:
      "delay the target's packets to the other members (scope: peers, the default), its clients or all by delayMs ± jitterMs",
    settings: { ...delaySettings, scope: scopeSchema },
    example: { target: 'follower', delayMs: 50, jitterMs: 10 },
    needsDuration: true,
    create: (s, seed) =>
      new DelayFault({
        target: s.target,
        delayMs: s.delayMs,
        seed,
        ...(s.jitterMs === undefined ? {} : { jitterMs: s.jitterMs }),
        ...withScope(s.scope),
      }),
    traits: degradingTraits('network', ['tc-netem', 'nfq-delay-ingress', 'nfq-delay-client-ingress'], {
      measuresPeerRtt: true,
    }),
  }),
  'client-delay': entry({
    summary: "delay the clients' requests to the target by delayMs ± jitterMs",
    settings: delaySettings,
    example: { target: 'leader', delayMs: 50 },
    needsDuration: true,
    create: (s, seed) =>
      new ClientDelayFault({
        target: s.target,
        delayMs: s.delayMs,
        seed,
        ...(s.jitterMs === undefined ? {} : { jitterMs: s.jitterMs }),
      }),
    traits: degradingTraits('network', ['tc-netem', 'nfq-delay-client-ingress']),
  }),
  loss: entry({
    summary:
      "drop lossPercent % of the target's packets to the other members (scope: peers), its clients or all",
    settings: { target: targetSchema, lossPercent: z.number().gt(0).max(100), scope: scopeSchema },
    example: { target: 'minority', lossPercent: 30 },
    needsDuration: true,
    create: (s) => new LossFault({ target: s.target, lossPercent: s.lossPercent, ...withScope(s.scope) }),
    traits: degradingTraits('network', ['tc-netem', 'iptables-statistic-ingress']),
  }),
  bandwidth: entry({
    summary: "limit the rate of the target's packets to the other members (scope: peers), its clients or all",
    settings: {
      target: targetSchema,
      rateKbit: z.number().int().positive(),
      burstBytes: z.number().int().positive().optional(),
      latencyMs: z.number().int().positive().optional(),
      scope: scopeSchema,
    },
    example: { target: 'leader', rateKbit: 4000 },
    needsDuration: true,
    create: (s) =>
      new BandwidthFault({
        target: s.target,
        rateKbit: s.rateKbit,
        ...(s.burstBytes === undefined ? {} : { burstBytes: s.burstBytes }),
        ...(s.latencyMs === undefined ? {} : { latencyMs: s.latencyMs }),
        ...withScope(s.scope),
      }),
    traits: degradingTraits('network', ['tc-tbf']),
  }),
  cpu: entry({
    summary: 'limit the target to `cpus` CPUs (cgroup CPU quota)',
    settings: { target: targetSchema, cpus: z.number().positive() },
    example: { target: 'all', cpus: 0.5 },
    needsDuration: true,
    create: (s) => new CpuThrottleFault({ target: s.target, cpus: s.cpus }),
    traits: degradingTraits('resources', ['cgroup-v2-cpu-max', 'cgroup-v1-cfs-quota']),
  }),
  'move-leader': entry({
    summary: "hand leadership to the target through etcd's MoveLeader API; nothing to heal",
    settings: {
      target: z
        .string()
        .refine(
          (t) => MOVE_LEADER_ROLES.includes(t) || /^m\d+$/.test(t),
          `the member to hand leadership to: ${MOVE_LEADER_ROLES.join(', ')} or a member (m1…)`,
        ),
    },
    example: { target: 'follower' },
    // `for` only ends the step's window: heal has nothing to undo.
    needsDuration: false,
    create: (s) => new MoveLeaderFault({ target: s.target }),
    traits: {
      leadership: 'moved-to-target',
      // The call returns once the transferee leads: the transfer is under way from its start.
      actsAt: 'at-once',
      process: 'untouched',
      cutsTargetsOff: false,
      measuresPeerRtt: false,
      family: 'leadership',
      mechanisms: [MOVE_LEADER_MECHANISM],
    },
  }),
};

export type FaultKind = keyof typeof FAULT_CATALOG;
/** Every fault kind, in catalog order. */
export const FAULT_KINDS = Object.keys(FAULT_CATALOG) as FaultKind[];
/** The settings of one kind's step, as validated (target included). */
export type FaultSettings<K extends FaultKind> = z.output<z.ZodObject<(typeof FAULT_CATALOG)[K]['settings']>>;

export const isFaultKind = (kind: string): kind is FaultKind => Object.hasOwn(FAULT_CATALOG, kind);

export function faultTraits(kind: FaultKind): FaultTraits {
  return FAULT_CATALOG[kind].traits;
}

/** Builds a fault of this kind from its validated settings (extra step fields are ignored). */
export function createFault<K extends FaultKind>(kind: K, settings: FaultSettings<K>, seed = 1): Fault {
  // One catalog lookup; TS cannot follow the kind from the key to the factory's parameter.
  const create = FAULT_CATALOG[kind].create as (s: FaultSettings<K>, seed: number) => Fault;
  return create(settings, seed);
}

/** Kinds that take leadership away when they hit the leader. */
export const LEADER_TAKING_KINDS: readonly FaultKind[] = FAULT_KINDS.filter(
  (k) => FAULT_CATALOG[k].traits.leadership === 'taken-when-targeted',
);

/**
 * Whether a fault of this kind took leadership away from the leader it saw: it hit that leader
 * and takes a leader it hits, or it moved leadership to a target that was not leading (a move to
 * the leader itself changes nothing). Load steps (not faults) never do.
 */
export function tookLeadership(kind: string, hitLeader: boolean): boolean {
  if (!isFaultKind(kind)) return false;
  switch (FAULT_CATALOG[kind].traits.leadership) {
    case 'taken-when-targeted':
      return hitLeader;
    case 'moved-to-target':
      return !hitLeader;
    case 'kept':
      return false;
  }
}

/** Whether a fault of this kind stops or freezes its target's process, which heal brings back. */
export function bringsMemberBack(kind: string): boolean {
  return isFaultKind(kind) && FAULT_CATALOG[kind].traits.process !== 'untouched';
}

/** Whether a fault of this kind acts at once (from its injection's start) rather than when in place. */
export function actsAtOnce(kind: string): boolean {
  return isFaultKind(kind) && FAULT_CATALOG[kind].traits.actsAt === 'at-once';
}

/** Whether a fault of this kind cuts its targets off, so their logs miss the cluster's election. */
export function cutsTargetsOff(kind: string): boolean {
  return isFaultKind(kind) && FAULT_CATALOG[kind].traits.cutsTargetsOff;
}

/** Whether the peer round trip is measured around a fault of this kind. */
export function measuresPeerRtt(kind: string): boolean {
  return isFaultKind(kind) && FAULT_CATALOG[kind].traits.measuresPeerRtt;
}

/** The one mechanism of a kind that has exactly one (process faults); throws for the others. */
export function onlyMechanism(kind: FaultKind): string {
  const [mechanism, ...others] = FAULT_CATALOG[kind].traits.mechanisms;
  if (mechanism === undefined || others.length > 0) {
    throw new Error(
      `fault ${kind} has ${others.length + (mechanism === undefined ? 0 : 1)} mechanisms, not one`,
    );
  }
  return mechanism;
}
