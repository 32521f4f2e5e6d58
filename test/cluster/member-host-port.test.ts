import { createServer, type Server } from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { EtcdCluster } from '../../src/cluster/etcd-cluster.ts';
import * as hostPorts from '../../src/cluster/member-host-port.ts';
import type { StartedEtcdCluster } from '../../src/cluster/started-etcd-cluster.ts';
import { findLeftovers, NOTHING_LEFT } from '../support/leftovers.ts';

// The first port picked can be forced, to play the process that takes a port between the pick
// and Docker's start (the race two CI tiers ran into); every later pick is the real one.
const forced: number[] = [];
vi.mock('../../src/cluster/member-host-port.ts', async (importOriginal) => {
  const real = await importOriginal<typeof hostPorts>();
  return { ...real, pickMemberHostPort: () => Promise.resolve(forced.shift() ?? real.pickMemberHostPort()) };
});

/** Holds a port on every address, as Docker's proxy for a published port would. */
async function holdPort(port = 0): Promise<Server> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port, host: '0.0.0.0', exclusive: true }, resolve);
  });
  return server;
}

function portOf(server: Server): number {
  const address = server.address();
  if (typeof address !== 'object' || address === null) throw new Error('not listening');
  return address.port;
}

const close = (server: Server) => new Promise<void>((resolve) => server.close(() => resolve()));

describe('members’ host ports', () => {
  let cluster: StartedEtcdCluster | undefined;
  let held: Server | undefined;
  afterEach(async () => {
    if (held) await close(held);
    held = undefined;
    forced.length = 0;
    if (cluster) {
      const runId = cluster.runId;
      await cluster.dispose();
      expect(await findLeftovers({ runId })).toEqual(NOTHING_LEFT);
    }
    cluster = undefined;
  });

  it('a new member whose port was taken before Docker started it is created again on another port', async () => {
    held = await holdPort();
    const taken = portOf(held);
    forced.push(taken);
    cluster = await new EtcdCluster().withMembers(1).start();
    const [member] = cluster.members;
    expect(member?.hostClientPort).not.toBe(taken);
    expect(member?.state).toBe('running');
    await cluster.memberClient('m1').put('k').value('v');
    expect(await cluster.memberClient('m1').get('k').string()).toBe('v');
    // Only the member that runs is left of the first attempt.
    expect(await findLeftovers({ runId: cluster.runId })).toMatchObject({ containers: [expect.any(String)] });
  });

  it('picks ports outside the ephemeral range and keeps off a killed member’s port; a restart onto a taken port fails naming it', async () => {
    cluster = await new EtcdCluster().withMembers(1).start();
    const member = cluster.member('m1');
    const port = member.hostClientPort;
    const ephemeral = hostPorts.parseEphemeralRange(
      await import('node:fs/promises').then((fs) =>
        fs.readFile('/proc/sys/net/ipv4/ip_local_port_range', 'utf8'),
      ),
    );
    if (ephemeral && hostPorts.memberPortRange(ephemeral))
      expect(port < ephemeral.from || port > ephemeral.to, `port ${String(port)}`).toBe(true);

    await cluster.kill('m1');
    // Down, its port is free to the kernel, but still its: another lab process will not pick it.
    expect(await hostPorts.labPublishedPorts()).toContain(port);

    held = await holdPort(port);
    await expect(cluster.start('m1')).rejects.toThrow(
      `member m1 cannot start again: its host port ${String(port)} was taken by another process while it was down`,
    );
    await close(held);
    held = undefined;
    await cluster.start('m1');
    expect(member.hostClientPort).toBe(port);
    await cluster.memberClient('m1').put('k').value('again');
  });
});
