import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { sweepLeftovers } from '../../src/host/cleanup.ts';
import { findLeftovers, NOTHING_LEFT } from '../support/leftovers.ts';

const FIXTURE = 'test/cluster/fixtures/start-cluster-and-wait.ts';

/** Starts the fixture and resolves with its run ID once its cluster is up. */
function startChild() {
  const child = execa('node', ['--import', 'tsx', FIXTURE], {
    reject: false,
    buffer: false,
    stdin: 'ignore',
  });
  const runId = new Promise<string>((resolve, reject) => {
    let seen = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      seen += chunk.toString();
      const match = /RUN (\S+)/.exec(seen);
      if (match?.[1]) resolve(match[1]);
    });
    void child.then((result) => reject(new Error(`fixture exited early: ${String(result.exitCode)}`)));
  });
  return { child, runId };
}

describe('cleanup', () => {
  it('sweeps what a SIGKILLed run left behind, and nothing of a live run', async () => {
    const { child, runId: pending } = startChild();
    const runId = await pending;
    // While the owner lives, a sweep must not touch its cluster.
    await sweepLeftovers();
    const live = await findLeftovers({ runId });
    expect(live.containers).toHaveLength(1);
    expect(live.networks).toHaveLength(1);
    expect(live.dataDirs).toHaveLength(1);

    child.kill('SIGKILL');
    await child;
    // SIGKILL runs no handler: everything is still there until the next sweep.
    expect((await findLeftovers({ runId })).containers).toHaveLength(1);
    const swept = await sweepLeftovers();
    expect(swept.containers).toBeGreaterThanOrEqual(1);
    expect(await findLeftovers({ runId })).toEqual(NOTHING_LEFT);
  });

  it.each(['SIGINT', 'SIGTERM'] as const)('removes the cluster itself on %s', async (signal) => {
    const { child, runId: pending } = startChild();
    const runId = await pending;
    expect((await findLeftovers({ runId })).containers).toHaveLength(1);
    child.kill(signal);
    const result = await child;
    expect(result.exitCode).toBe(signal === 'SIGINT' ? 130 : 143);
    expect(await findLeftovers({ runId })).toEqual(NOTHING_LEFT);
  });
});
