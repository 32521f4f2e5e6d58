import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { MEMORY_DATA_ROOT } from '../../src/host/cleanup.ts';
import { docker } from '../../src/host/docker.ts';
import { LABEL, ownerAlive } from '../../src/host/run-labels.ts';

export interface Leftovers {
  readonly containers: string[];
  readonly networks: string[];
  readonly volumes: string[];
  readonly dataDirs: string[];
}

export interface LeftoverQuery {
  /** Only this run's resources. */
  readonly runId?: string;
  /** Only resources whose owning process has exited (what a finished test run leaked). */
  readonly orphansOnly?: boolean;
  /**
   * Only resources these processes created (their pid label): what a test's own code or its
   * CLI children made, whatever else uses the lab on this machine at the same time (the
   * long-test tier runs beside the cluster tests).
   */
  readonly ownerPids?: readonly number[];
}

/**
 * Everything labelled as the lab's that still exists: one run's, orphans only, some processes'
 * or all (the latter is affected by anything else using the lab on this machine at the same time).
 */
export async function findLeftovers(query: LeftoverQuery = {}): Promise<Leftovers> {
  const { runId, orphansOnly = false, ownerPids } = query;
  const filters = { label: [runId ? `${LABEL.run}=${runId}` : `${LABEL.lab}=true`] };
  const owners = ownerPids?.map(String);
  const keep = (labels: Record<string, string> | undefined) =>
    (!orphansOnly || !ownerAlive(labels)) &&
    (owners === undefined || owners.includes(labels?.[LABEL.pid] ?? ''));
  const containers = (await docker().listContainers({ all: true, filters }))
    .filter((c) => keep(c.Labels))
    .map((c) => c.Names[0] ?? c.Id);
  const networks = (await docker().listNetworks({ filters }))
    .filter((n) => keep(n.Labels))
    .map((n) => n.Name);
  const volumes = ((await docker().listVolumes({ filters })).Volumes ?? [])
    .filter((v) => keep(v.Labels as Record<string, string>))
    .map((v) => v.Name);
  const dataDirs = existsSync(MEMORY_DATA_ROOT)
    ? readdirSync(MEMORY_DATA_ROOT)
        .filter((name) => runId === undefined || name === runId)
        .filter((name) => keep(readOwner(join(MEMORY_DATA_ROOT, name))))
        .map((name) => join(MEMORY_DATA_ROOT, name))
    : [];
  return { containers, networks, volumes, dataDirs };
}

export const NOTHING_LEFT: Leftovers = { containers: [], networks: [], volumes: [], dataDirs: [] };

function readOwner(dir: string): Record<string, string> | undefined {
  try {
    return JSON.parse(readFileSync(join(dir, 'owner.json'), 'utf8')) as Record<string, string>;
  } catch {
    return undefined;
  }
}
