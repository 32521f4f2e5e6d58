import { readFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { docker } from '../host/docker.ts';
import { LABEL } from '../host/run-labels.ts';
import { freePort } from '../util/free-port.ts';

/*
 * Host ports for the members' published client ports.
 *
 * A member keeps its host port across a kill and restart, so its clients keep working. Two things
 * can take that port while the member is down, or between picking it and starting the container:
 * - another lab process (CI runs its long tier beside the main one): asking the kernel for a free
 *   port says nothing of a port a stopped lab container has published;
 * - any outgoing connection, whose local port the kernel picks from its ephemeral range.
 * So a port is picked at random outside the ephemeral range, skipping every port a lab container,
 * running or stopped, has published, and checked free by binding it. What is left (two processes
 * drawing the same port in the same instant, a foreign listener) Docker reports at start, and a new
 * member is then created again on another port (see MemberLauncher.start).
 */

const EPHEMERAL_RANGE_FILE = '/proc/sys/net/ipv4/ip_local_port_range';
/** Below this are well-known and commonly configured service ports. */
const LOWEST = 10_000;
const HIGHEST = 65_535;
/** A range narrower than this is not worth drawing from: fall back to the kernel's choice. */
const MIN_RANGE = 1_000;
const DRAWS = 64;

export interface PortRange {
  readonly from: number;
  readonly to: number;
}

/** The range members' ports are drawn from: the larger free span beside the ephemeral range, or none. */
export function memberPortRange(ephemeral: PortRange): PortRange | null {
  const below: PortRange = { from: LOWEST, to: ephemeral.from - 1 };
  const above: PortRange = { from: ephemeral.to + 1, to: HIGHEST };
  const width = (range: PortRange) => range.to - range.from + 1;
  const best = width(below) >= width(above) ? below : above;
  return width(best) >= MIN_RANGE ? best : null;
}

/** Parses ip_local_port_range ("32768\t60999"); null when it is not two ports in order. */
export function parseEphemeralRange(text: string): PortRange | null {
  const [from, to] = text.trim().split(/\s+/).map(Number);
  if (from === undefined || to === undefined || !Number.isInteger(from) || !Number.isInteger(to)) return null;
  return from >= 1 && from <= to && to <= HIGHEST ? { from, to } : null;
}

/** Docker's words when a container's published port is taken (its allocator, or the proxy's bind). */
export function isPortTakenError(error: unknown): boolean {
  const message = error instanceof Error ? error.message : String(error);
  return /port is already allocated|address already in use/i.test(message);
}

/** A host port for a new member: see the comment at the top of this file. */
export async function pickMemberHostPort(): Promise<number> {
  const ephemeral = parseEphemeralRange(await readFile(EPHEMERAL_RANGE_FILE, 'utf8').catch(() => ''));
  const range = ephemeral ? memberPortRange(ephemeral) : null;
  if (range === null) return freePort();
  const published = await labPublishedPorts();
  for (let draw = 0; draw < DRAWS; draw++) {
    const port = range.from + Math.floor(Math.random() * (range.to - range.from + 1));
    if (!published.has(port) && (await canBind(port))) return port;
  }
  return freePort();
}

/** Every host port a lab container publishes, stopped ones included (a killed member's, kept for its restart). */
export async function labPublishedPorts(): Promise<Set<number>> {
  const containers = await docker().listContainers({ all: true, filters: { label: [LABEL.lab] } });
  const ports = new Set<number>();
  await Promise.all(
    containers.map(async (summary) => {
      const info = await docker()
        .getContainer(summary.Id)
        .inspect()
        .catch(() => null); // removed meanwhile: its port is free again
      // dockerode types PortBindings as any: Docker sends { "2379/tcp": [{ HostIp, HostPort }] } or null lists.
      const bindings = (info?.HostConfig.PortBindings ?? {}) as Record<
        string,
        { HostPort?: string }[] | null
      >;
      for (const list of Object.values(bindings))
        for (const binding of list ?? []) if (binding.HostPort) ports.add(Number(binding.HostPort));
    }),
  );
  return ports;
}

/** Whether nothing on the host holds the port (Docker's proxy binds every address, so test that). */
function canBind(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.unref();
    server.once('error', () => resolve(false));
    server.listen({ port, host: '0.0.0.0', exclusive: true }, () => server.close(() => resolve(true)));
  });
}
