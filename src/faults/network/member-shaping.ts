import { FaultError } from '../../errors.ts';
import type { HostCapabilities } from '../capabilities.ts';
import type { FaultContext, UndoStack } from '../fault.ts';
import { inNetns, mustInNetns } from '../host-command.ts';
import { runningNamespace } from './ingress-rules.ts';
import { MEMBER_INTERFACE } from './tc.ts';
import { BAND_MATCHES, scopeBands, type TrafficBand, type TrafficScope } from './traffic-scope.ts';

/**
 * Every network fault on one member, composed. Faults are not separate root qdiscs (a second one
 * would replace the first, and healing either would delete the other's): each fault claims what
 * it sets — delay, loss, rate — on the bands of its scope, and the member's one tc tree is
 * rebuilt from all live claims, changing only what differs. Faults produced by iptables/NFQUEUE
 * claim too, so the same setting twice on the same traffic is refused whatever the mechanism.
 *
 * The tree (egress of the member's eth0; htb only classifies, its classes never limit):
 *
 *   1: htb default 30 ── 1:1 ─┬─ 1:10 peers   → 10: netem (delay, loss) → 11: tbf (rate)
 *                             ├─ 1:20 clients → 20: netem …             → 21: tbf …
 *                             └─ 1:30 everything else, untouched
 *
 * Without netem (delay and loss then come from the ingress fallbacks) a band's leaf is the tbf.
 */

/** What one fault sets on the traffic of its scope. */
export interface Impairment {
  readonly delayMs?: number;
  readonly jitterMs?: number;
  readonly lossPercent?: number;
  readonly rate?: { readonly kbit: number; readonly burstBytes: number; readonly latencyMs: number };
}

type Setting = 'delay' | 'loss' | 'rate';

const settingsOf = (i: Impairment): Setting[] => [
  ...(i.delayMs !== undefined ? (['delay'] as const) : []),
  ...(i.lossPercent !== undefined ? (['loss'] as const) : []),
  ...(i.rate !== undefined ? (['rate'] as const) : []),
];

/** One fault's claim on a member. `viaTc` false: another mechanism produces it (claimed for conflicts only). */
export interface Claim {
  readonly faultId: string;
  readonly scope: TrafficScope;
  readonly impairment: Impairment;
  readonly viaTc: boolean;
}

/** A qdisc of a band's chain, as tc wants it. */
export interface QdiscSpec {
  readonly parent: string;
  readonly handle: string;
  readonly kind: 'netem' | 'tbf';
  readonly args: readonly string[];
}

export type Tree = Readonly<Record<TrafficBand, readonly QdiscSpec[]>>;

const BAND_CLASS: Record<TrafficBand, number> = { peers: 10, clients: 20 };
const OTHER_CLASS = 30;
/** A ceiling no member reaches: the htb classes only sort packets into bands. */
const UNLIMITED = '10gbit';
/** Without it htb warns that its computed quantum (rate / r2q) is too big; one MTU is what it needs. */
const QUANTUM = ['quantum', '1514'];

/**
 * netem holds every delayed packet in its queue (1000 packets by default, and it drops beyond
 * that): sized for the delay at a packet rate above what a member sends here (100 000/s), so the
 * queue never decides what is lost.
 */
export const NETEM_PACKETS_PER_SECOND = 100_000;

export function netemLimit(delayMs: number, jitterMs: number): number {
  return Math.max(1_000, Math.ceil(((delayMs + jitterMs) * NETEM_PACKETS_PER_SECOND) / 1_000));
}

/** Refuses a claim that sets what another live claim already sets on the same traffic. */
export function conflictWith(claims: readonly Claim[], claim: Claim): string | undefined {
  const bands = scopeBands(claim.scope);
  for (const other of claims) {
    if (other.faultId === claim.faultId) continue;
    const shared = scopeBands(other.scope).filter((b) => bands.includes(b));
    const both = settingsOf(other.impairment).filter((s) => settingsOf(claim.impairment).includes(s));
    if (shared.length > 0 && both.length > 0) {
      return `${claim.faultId} would set ${both.join(' and ')} on ${shared.join(' and ')} traffic, which ${other.faultId} already sets: heal it first`;
    }
  }
  return undefined;
}

/** The chains the live claims ask for (pure: this is what the unit tests pin). */
export function desiredTree(claims: readonly Claim[], netem: boolean): Tree {
  const chain = (band: TrafficBand): QdiscSpec[] => {
    const mine = claims.filter((c) => c.viaTc && scopeBands(c.scope).includes(band));
    if (mine.length === 0) return [];
    const merged: Impairment = Object.assign({}, ...mine.map((c) => c.impairment)) as Impairment;
    const n = BAND_CLASS[band];
    const out: QdiscSpec[] = [];
    const needsNetem = merged.delayMs !== undefined || merged.lossPercent !== undefined;
    if (needsNetem && !netem) throw new FaultError('delay and loss on tc need sch_netem');
    // Once a band has netem it keeps it while anything is claimed there, so adding or healing a
    // rate never removes the queue that holds delayed packets.
    if (netem) {
      const delayMs = merged.delayMs ?? 0;
      const jitterMs = merged.jitterMs ?? 0;
      out.push({
        parent: `1:${n}`,
        handle: `${n}:`,
        kind: 'netem',
        args: [
          'limit',
          String(netemLimit(delayMs, jitterMs)),
          'delay',
          `${delayMs}ms`,
          ...(jitterMs > 0 ? [`${jitterMs}ms`] : []),
          ...(merged.lossPercent !== undefined ? ['loss', `${merged.lossPercent}%`] : []),
        ],
      });
    }
    if (merged.rate !== undefined) {
      const { kbit, burstBytes, latencyMs } = merged.rate;
      out.push({
        parent: netem ? `${n}:1` : `1:${n}`,
        handle: netem ? `${n + 1}:` : `${n}:`,
        kind: 'tbf',
        args: ['rate', `${kbit}kbit`, 'burst', String(burstBytes), 'latency', `${latencyMs}ms`],
      });
    }
    return out;
  };
  return { peers: chain('peers'), clients: chain('clients') };
}

const isEmpty = (tree: Tree | undefined): boolean =>
  tree === undefined || (tree.peers.length === 0 && tree.clients.length === 0);

/** The tc argument lists that turn `before` into `after` (pure; undefined: no tree installed). */
export function treeCommands(before: Tree | undefined, after: Tree): string[][] {
  const dev = ['dev', MEMBER_INTERFACE];
  if (isEmpty(after)) return isEmpty(before) ? [] : [['qdisc', 'del', ...dev, 'root']];
  const commands: string[][] = [];
  if (isEmpty(before)) {
    commands.push(['qdisc', 'add', ...dev, 'root', 'handle', '1:', 'htb', 'default', String(OTHER_CLASS)]);
    commands.push([
      'class',
      'add',
      ...dev,
      'parent',
      '1:',
      'classid',
      '1:1',
      'htb',
      'rate',
      UNLIMITED,
      ...QUANTUM,
    ]);
    for (const n of [BAND_CLASS.peers, BAND_CLASS.clients, OTHER_CLASS]) {
      commands.push([
        'class',
        'add',
        ...dev,
        'parent',
        '1:1',
        'classid',
        `1:${n}`,
        'htb',
        'rate',
        UNLIMITED,
        ...QUANTUM,
      ]);
    }
    for (const band of ['peers', 'clients'] as const) {
      for (const match of BAND_MATCHES[band]) {
        commands.push([
          'filter',
          'add',
          ...dev,
          'parent',
          '1:',
          'protocol',
          'ip',
          'prio',
          '1',
          'u32',
          'match',
          ...match,
          'flowid',
          `1:${BAND_CLASS[band]}`,
        ]);
      }
    }
  }
  for (const band of ['peers', 'clients'] as const) {
    const was = isEmpty(before) ? [] : (before?.[band] ?? []);
    const now = after[band];
    let same = 0;
    while (same < was.length && same < now.length && was[same]?.kind === now[same]?.kind) same += 1;
    for (let i = 0; i < same; i++) {
      const q = now[i];
      if (q !== undefined && q.args.join(' ') !== was[i]?.args.join(' ')) {
        commands.push(['qdisc', 'change', ...dev, 'parent', q.parent, 'handle', q.handle, q.kind, ...q.args]);
      }
    }
    // Deleting a qdisc deletes its children: the rest of the old chain goes with its first element.
    const firstGone = was[same];
    if (firstGone !== undefined) {
      commands.push(['qdisc', 'del', ...dev, 'parent', firstGone.parent, 'handle', firstGone.handle]);
    }
    for (const q of now.slice(same)) {
      commands.push(['qdisc', 'add', ...dev, 'parent', q.parent, 'handle', q.handle, q.kind, ...q.args]);
    }
  }
  return commands;
}

// ------------------------------------------------------------------ live state, per namespace

interface MemberState {
  readonly claims: Claim[];
  installed: Tree | undefined;
  /** The host has sch_netem: set by the first claim made through tc. */
  netem: boolean;
  /** tc changes to one member run one after another: two faults may be injected at once. */
  queue: Promise<unknown>;
}

/** By the host PID the faults enter the namespace through; a restarted member is a new entry. */
const members = new Map<number, MemberState>();

function stateOf(pid: number): MemberState {
  let state = members.get(pid);
  if (state === undefined) {
    state = { claims: [], installed: undefined, netem: false, queue: Promise.resolve() };
    members.set(pid, state);
  }
  return state;
}

function serialized<T>(state: MemberState, work: () => Promise<T>): Promise<T> {
  const run = state.queue.then(work, work);
  state.queue = run.catch(() => undefined);
  return run;
}

async function converge(pid: number, state: MemberState): Promise<void> {
  const after = desiredTree(state.claims, state.netem);
  try {
    for (const args of treeCommands(state.installed, after)) await mustInNetns(pid, 'tc', args);
  } catch (error) {
    // Half changed: start over from no tree, so what is installed is known again.
    await inNetns(pid, 'tc', ['qdisc', 'del', 'dev', MEMBER_INTERFACE, 'root']);
    state.installed = undefined;
    throw error;
  }
  state.installed = isEmpty(after) ? undefined : after;
}

export interface ClaimOptions {
  readonly scope: TrafficScope;
  readonly impairment: Impairment;
  /** False when iptables/NFQUEUE produce it: claimed so conflicts are refused, not put in the tree. */
  readonly viaTc: boolean;
  /** The host has sch_netem (only asked when viaTc). */
  readonly netem: boolean;
}

/**
 * Claims `impairment` on `member`'s traffic of `scope` for fault `faultId`, applies the member's
 * composed tree, and pushes the release (which rebuilds the tree from the claims left). Returns
 * the chains now installed, for the fault's record.
 */
export async function claimOnMember(
  ctx: FaultContext,
  undo: UndoStack,
  name: string,
  faultId: string,
  options: ClaimOptions,
): Promise<Tree | undefined> {
  const { member, pid } = runningNamespace(ctx, name);
  const state = stateOf(pid);
  const claim: Claim = {
    faultId,
    scope: options.scope,
    impairment: options.impairment,
    viaTc: options.viaTc,
  };
  return serialized(state, async () => {
    const conflict = conflictWith(state.claims, claim);
    if (conflict !== undefined) throw new FaultError(`${name}: ${conflict}`);
    state.claims.push(claim);
    const release = async (): Promise<void> => {
      state.claims.splice(state.claims.indexOf(claim), 1);
      // A restarted member has a new namespace: the old one, and its tree, are gone.
      if (member.pid === pid && (claim.viaTc || state.installed !== undefined)) await converge(pid, state);
      if (state.claims.length === 0) members.delete(pid);
    };
    if (claim.viaTc) {
      state.netem = options.netem;
      try {
        await converge(pid, state);
      } catch (error) {
        // Not applied: withdraw the claim and put the others' tree back before reporting it.
        await release().catch(() => undefined);
        throw error;
      }
    }
    undo.push(`release ${faultId} on ${name}`, () => serialized(state, release));
    return state.installed;
  });
}

/** Why the composed tc tree cannot carry what a fault needs here, or undefined when it can. */
export function tcShapingMissing(
  caps: HostCapabilities,
  needs: { readonly netem?: boolean; readonly tbf?: boolean },
): string | undefined {
  if (needs.netem === true && !caps.tcNetem.available) return `tc netem: ${caps.tcNetem.detail}`;
  if (needs.tbf === true && !caps.tcTbf.available) return `tc tbf: ${caps.tcTbf.detail}`;
  if (!caps.tcHtb.available)
    return `tc htb with u32 filters (sorts traffic into bands): ${caps.tcHtb.detail}`;
  return undefined;
}

/** {@link claimOnMember} on every target; returns each member's installed chains (tc claims), for the record. */
export async function claimEach(
  ctx: FaultContext,
  undo: UndoStack,
  targets: readonly string[],
  faultId: string,
  options: ClaimOptions,
): Promise<Record<string, string>> {
  const installed: Record<string, string> = {};
  for (const name of targets) {
    const tree = await claimOnMember(ctx, undo, name, faultId, options);
    if (options.viaTc) installed[name] = describeTree(tree);
  }
  return installed;
}

/** "peers: netem … → tbf …; clients: …" — a tree as one line. */
export function describeTree(tree: Tree | undefined): string {
  if (tree === undefined) return 'none';
  return (['peers', 'clients'] as const)
    .filter((band) => tree[band].length > 0)
    .map((band) => `${band}: ${tree[band].map((q) => [q.kind, ...q.args].join(' ')).join(' → ')}`)
    .join('; ');
}

/**
 * A delay or loss fault's first step on either mechanism: on tc-netem its claim is the fault (it
 * goes into each target's tree; returns true); otherwise the claim only guards against a second
 * fault setting the same thing on the same traffic, and the caller installs its ingress rules.
 */
export async function claimNetemOrGuard(
  ctx: FaultContext,
  undo: UndoStack,
  details: Record<string, unknown>,
  targets: readonly string[],
  faultId: string,
  claim: { readonly scope: TrafficScope; readonly impairment: Impairment; readonly viaNetem: boolean },
): Promise<boolean> {
  const options = { scope: claim.scope, impairment: claim.impairment, netem: true, viaTc: claim.viaNetem };
  details.scope = claim.scope;
  if (!claim.viaNetem) {
    await claimEach(ctx, undo, targets, faultId, options);
    return false;
  }
  details.netemSeeded = false; // netem draws jitter and losses from the kernel's unseeded PRNG
  details.tc = await claimEach(ctx, undo, targets, faultId, options);
  return true;
}
