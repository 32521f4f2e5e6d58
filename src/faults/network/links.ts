import { BadInputError } from '../../errors.ts';
import { resolveTargetNames, validateTargetSpec, type ClusterView, type TargetSpec } from '../targets.ts';

/** Packets from `from` to `to` (member names): the unit every network fault acts on. */
export interface Link {
  readonly from: string;
  readonly to: string;
}

/** Every member not named in any other group of the same partition. */
export const REST = 'rest';
/** A target, or {@link REST}. */
export type GroupSpec = TargetSpec;

/**
 * Partition shapes.
 * - `split`: the groups cannot reach each other in either direction (isolation = `[target, 'rest']`);
 * - `one-way`: packets from `from` never reach `to`; the reverse direction still works;
 * - `bridge`: the two sides cannot reach each other, but the bridge members reach and are reached by both.
 * Members left out are refused unless `allowUnlisted`; unlisted members keep full connectivity.
 */
export type PartitionShape =
  | { readonly kind: 'split'; readonly groups: readonly GroupSpec[]; readonly allowUnlisted?: boolean }
  | { readonly kind: 'one-way'; readonly from: TargetSpec; readonly to: TargetSpec }
  | {
      readonly kind: 'bridge';
      readonly sides: readonly [GroupSpec, GroupSpec];
      readonly bridge: TargetSpec;
      readonly allowUnlisted?: boolean;
    };

/** Explicit names are checked up front; role overlaps can only be checked once roles are resolved. */
export function validatePartitionShape(shape: PartitionShape, members: readonly string[]): void {
  const specs = shapeSpecs(shape);
  if (shape.kind === 'split' && shape.groups.length < 2) {
    throw new BadInputError(`a split needs at least two groups, got ${shape.groups.length}`);
  }
  if (specs.filter((s) => s === REST).length > 1) {
    throw new BadInputError(`only one group may be "${REST}"`);
  }
  specs.forEach((spec, i) => {
    if (spec !== REST) validateTargetSpec(spec, members, `partition group ${i + 1}`);
  });
}

export function shapeSpecs(shape: PartitionShape): GroupSpec[] {
  switch (shape.kind) {
    case 'split':
      return [...shape.groups];
    case 'one-way':
      return [shape.from, shape.to];
    case 'bridge':
      return [shape.sides[0], shape.sides[1], shape.bridge];
  }
}

export interface ResolvedPartition {
  /** Member names per group, in the order the shape lists them (bridge: left, right, bridge). */
  readonly groups: readonly (readonly string[])[];
  readonly blocked: readonly Link[];
}

/** Resolves roles and `rest`, checks groups are disjoint, non-empty and (unless allowed) cover everyone. */
export function resolvePartition(
  shape: PartitionShape,
  view: ClusterView,
  random: () => number,
): ResolvedPartition {
  validatePartitionShape(shape, view.members);
  const specs = shapeSpecs(shape);
  const groups: (string[] | undefined)[] = specs.map((spec) =>
    spec === REST ? undefined : resolveTargetNames(spec, view, random),
  );
  const named = new Map<string, number>();
  groups.forEach((group, i) => {
    for (const member of group ?? []) {
      const earlier = named.get(member);
      if (earlier !== undefined) {
        throw new BadInputError(
          `partition groups overlap: ${member} is in group ${earlier + 1} and group ${i + 1}`,
        );
      }
      named.set(member, i);
    }
  });
  const restIndex = specs.indexOf(REST);
  if (restIndex >= 0) groups[restIndex] = view.members.filter((m) => !named.has(m));
  const resolved = groups.map((g) => g ?? []);
  resolved.forEach((group, i) => {
    if (group.length === 0) throw new BadInputError(`partition group ${i + 1} resolves to no members`);
  });
  const allowUnlisted = shape.kind !== 'one-way' && shape.allowUnlisted === true;
  const listed = new Set(resolved.flat());
  const unlisted = view.members.filter((m) => !listed.has(m));
  if (shape.kind !== 'one-way' && unlisted.length > 0 && !allowUnlisted) {
    throw new BadInputError(
      `partition leaves out ${unlisted.join(', ')}: put them in a group, use "${REST}", or set allowUnlisted`,
    );
  }
  return { groups: resolved, blocked: blockedLinks(shape.kind, resolved) };
}

function blockedLinks(kind: PartitionShape['kind'], groups: readonly (readonly string[])[]): Link[] {
  const links: Link[] = [];
  const both = (a: readonly string[], b: readonly string[]): void => {
    for (const from of a) for (const to of b) links.push({ from, to }, { from: to, to: from });
  };
  if (kind === 'one-way') {
    for (const from of groups[0] ?? []) for (const to of groups[1] ?? []) links.push({ from, to });
  } else if (kind === 'bridge') {
    both(groups[0] ?? [], groups[1] ?? []);
  } else {
    groups.forEach((a, i) => groups.slice(i + 1).forEach((b) => both(a, b)));
  }
  return links;
}

/** Links out of each target: to every other member, or only to `receivers` when given. */
export function egressLinks(
  targets: readonly string[],
  members: readonly string[],
  receivers?: readonly string[],
): Link[] {
  const to = receivers ?? members;
  return targets.flatMap((from) => to.filter((r) => r !== from).map((r) => ({ from, to: r })));
}

/** Groups links by receiving member: ingress-side mechanisms act in the receiver's namespace. */
export function byReceiver(links: readonly Link[]): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const { from, to } of links) out.set(to, [...(out.get(to) ?? []), from]);
  return out;
}
