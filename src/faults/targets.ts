import type { EtcdMember } from '../cluster/etcd-member.ts';
import { BadInputError } from '../errors.ts';
import type { FaultContext } from './fault.ts';

/**
 * Roles, resolved when the fault is injected:
 * - `leader`: the member every running member agrees is leader;
 * - `follower`: one non-leader, picked with the run's seed;
 * - `minority`: ⌊(n−1)/2⌋ members — the leader plus seeded random followers (so cutting it off
 *   forces an election);
 * - `majority`: everyone not in `minority` (a quorum without the leader);
 * - `all`: every member (e.g. a slow network in front of the whole cluster).
 */
export type Role = 'leader' | 'follower' | 'minority' | 'majority' | 'all';
export const ROLES: readonly Role[] = ['leader', 'follower', 'minority', 'majority', 'all'];

/** A {@link Role}, one member name ("m1"), or several member names. */
export type TargetSpec = string | readonly string[];

/** What role resolution needs to know about the cluster, as data (so it can be tested without one). */
export interface ClusterView {
  /** Member names, in cluster order. */
  readonly members: readonly string[];
  /** Name of the current leader; needed only for roles. */
  readonly leader?: string;
}

const isRole = (spec: TargetSpec): spec is Role =>
  typeof spec === 'string' && (ROLES as readonly string[]).includes(spec);

export function usesRoles(spec: TargetSpec): boolean {
  return isRole(spec);
}

/** Checks explicit member names (roles always resolve); throws BadInputError before anything happens. */
export function validateTargetSpec(spec: TargetSpec, members: readonly string[], what = 'target'): void {
  if (isRole(spec)) return;
  const names = typeof spec === 'string' ? [spec] : spec;
  if (names.length === 0) throw new BadInputError(`${what} names no members`);
  for (const name of names) {
    if (!members.includes(name)) {
      throw new BadInputError(
        `${what}: no member "${name}" in this cluster (members: ${members.join(', ')}; roles: ${ROLES.join(', ')})`,
      );
    }
  }
  if (new Set(names).size !== names.length) throw new BadInputError(`${what} names a member twice`);
}

/** Resolves a target to member names. `random` must be the run's seeded generator. */
export function resolveTargetNames(spec: TargetSpec, view: ClusterView, random: () => number): string[] {
  validateTargetSpec(spec, view.members);
  if (!isRole(spec)) return typeof spec === 'string' ? [spec] : [...spec];
  if (spec === 'all') return [...view.members];
  const leader = view.leader;
  if (leader === undefined) throw new BadInputError(`target "${spec}" needs a leader, and there is none`);
  const followers = view.members.filter((m) => m !== leader);
  const minority = (): string[] => {
    const size = Math.floor((view.members.length - 1) / 2);
    return size === 0 ? [] : [leader, ...shuffled(followers, random).slice(0, size - 1)];
  };
  switch (spec) {
    case 'leader':
      return [leader];
    case 'follower': {
      const pick = shuffled(followers, random)[0];
      if (pick === undefined) throw new BadInputError('target "follower": the cluster has no follower');
      return [pick];
    }
    case 'minority': {
      const names = minority();
      if (names.length === 0)
        throw new BadInputError(`a ${view.members.length}-member cluster has no minority`);
      return names;
    }
    case 'majority': {
      const minor = new Set(minority());
      return view.members.filter((m) => !minor.has(m));
    }
  }
  throw new BadInputError(`unknown role "${String(spec)}"`);
}

/** Fisher–Yates on a copy, sorted first so the result depends only on the names and the seed. */
function shuffled(names: readonly string[], random: () => number): string[] {
  const out = [...names].sort();
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    const a = out[i];
    const b = out[j];
    if (a === undefined || b === undefined) continue;
    out[i] = b;
    out[j] = a;
  }
  return out;
}

/** mulberry32: small, fast, and enough for picking members reproducibly. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** Builds the view for the specs given (asks for the leader only when a role needs it). */
export async function clusterView(ctx: FaultContext, specs: readonly TargetSpec[]): Promise<ClusterView> {
  const members = ctx.cluster.members.map((m) => m.name);
  for (const spec of specs) validateTargetSpec(spec, members);
  if (!specs.some(usesRoles)) return { members };
  const { leader } = await ctx.cluster.waitForStableLeader({ timeoutMs: ctx.leaderTimeoutMs ?? 10_000 });
  return { members, leader: leader.name };
}

export function membersByName(ctx: FaultContext, names: readonly string[]): EtcdMember[] {
  return names.map((name) => ctx.cluster.member(name));
}
