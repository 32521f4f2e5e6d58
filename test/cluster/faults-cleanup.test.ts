import { execa } from 'execa';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { sweepLeftovers } from '../../src/host/cleanup.ts';
import { processStartTime } from '../../src/host/run-labels.ts';
import { HELPER_RUN_DIR } from '../../src/host/helper-processes.ts';
import { findLeftovers, NOTHING_LEFT } from '../support/leftovers.ts';

const SRC = path.resolve(import.meta.dirname, '../../src');

// A lab process with a delay (one nfq-delay helper per peer), a partition, a paused member and a
// CPU quota in place, waiting to be signalled.
const CHILD = `
const { EtcdCluster } = await import('${SRC}/cluster/etcd-cluster.ts');
const { installExitHandlers } = await import('${SRC}/host/cleanup.ts');
const { RunClock } = await import('${SRC}/util/clock.ts');
const { DelayFault } = await import('${SRC}/faults/network/delay.ts');
const { oneWay } = await import('${SRC}/faults/network/partition.ts');
const { pause } = await import('${SRC}/faults/process/process-fault.ts');
const { CpuThrottleFault } = await import('${SRC}/faults/resources/cpu-throttle.ts');
installExitHandlers();
const cluster = await new EtcdCluster().withMembers(3).start();
const ctx = { cluster, clock: new RunClock() };
const delay = await new DelayFault({ target: 'm1', delayMs: 50 }).inject(ctx);
await oneWay('m2', 'm3').inject(ctx);
await new CpuThrottleFault({ target: 'm2', cpus: 0.5 }).inject(ctx);
await pause('m3').inject(ctx);
const helpers = delay.record().details.helpers.map((h) => h.pid);
process.stdout.write('READY ' + cluster.runId + ' ' + helpers.join(',') + '\\n');
setInterval(() => undefined, 60_000);
`;

async function startChild() {
  const child = execa(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', CHILD], {
    reject: false,
    cwd: path.resolve(SRC, '..'),
  });
  const line = await new Promise<string>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`child not ready: ${out}`)), 120_000);
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const ready = /^READY .*$/m.exec(out);
      if (ready) {
        clearTimeout(timer);
        resolve(ready[0]);
      }
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      out += chunk.toString();
    });
  });
  const [, runId = '', helpers = ''] = line.split(' ');
  return { child, runId, helpers: helpers.split(',').map(Number) };
}

const alive = (pid: number): boolean => processStartTime(pid) !== undefined;
const pidFiles = (pids: readonly number[]): string[] =>
  pids.map((pid) => path.join(HELPER_RUN_DIR, `nfq-delay-${pid}.json`)).filter((f) => existsSync(f));

describe('faults are healed when the lab process is stopped or killed', () => {
  it.each(['SIGTERM', 'SIGINT'] as const)(
    '%s: every fault is healed and the cluster removed',
    async (signal) => {
      const { child, runId, helpers } = await startChild();
      expect(helpers).toHaveLength(2);
      expect(helpers.every(alive)).toBe(true);
      child.kill(signal);
      await child;
      expect(helpers.some(alive)).toBe(false);
      expect(pidFiles(helpers)).toEqual([]);
      expect(await findLeftovers({ runId })).toEqual(NOTHING_LEFT);
    },
  );

  it('SIGKILL: the delay helpers die with the lab, and the next sweep removes the rest', async () => {
    const { child, runId, helpers } = await startChild();
    child.kill('SIGKILL');
    await child;
    // PR_SET_PDEATHSIG: no cleanup code ran, yet the helpers are gone.
    const deadline = Date.now() + 2_000;
    while (helpers.some(alive) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(helpers.some(alive)).toBe(false);
    expect(pidFiles(helpers)).toHaveLength(2);
    await sweepLeftovers();
    expect(pidFiles(helpers)).toEqual([]);
    expect(await findLeftovers({ runId })).toEqual(NOTHING_LEFT);
  });
});
