import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { MEMORY_DATA_ROOT } from '../../src/host/cleanup.ts';
import { docker } from '../../src/host/docker.ts';
import { LABEL } from '../../src/host/run-labels.ts';

export interface Leftovers {
  readonly containers: string[];
  readonly networks: string[];
  readonly volumes: string[];
  readonly dataDirs: string[];
}

/** Everything labelled as the lab's (optionally: one run's) that still exists. */
export async function findLeftovers(runId?: string): Promise<Leftovers> {
  const filters = { label: [runId ? `${LABEL.run}=${runId}` : `${LABEL.lab}=true`] };
  const containers = (await docker().listContainers({ all: true, filters })).map((c) => c.Names[0] ?? c.Id);
  const networks = (await docker().listNetworks({ filters })).map((n) => n.Name);
  const volumes = ((await docker().listVolumes({ filters })).Volumes ?? []).map((v) => v.Name);
  const dataDirs = existsSync(MEMORY_DATA_ROOT)
    ? readdirSync(MEMORY_DATA_ROOT)
        .filter((name) => runId === undefined || name === runId)
        .map((name) => join(MEMORY_DATA_ROOT, name))
    : [];
  return { containers, networks, volumes, dataDirs };
}

export const NOTHING_LEFT: Leftovers = { containers: [], networks: [], volumes: [], dataDirs: [] };
