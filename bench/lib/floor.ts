// The machine's floor for one write: a round trip to a member and an fsync where the data lives.
import { closeSync, fdatasyncSync, openSync, rmSync, writeSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';

/**
 * Times `count` TCP connects to host:port one after another (a connect is one round trip,
 * SYN → SYN-ACK, with no server work). Failed attempts are counted, not timed.
 */
export async function tcpConnectRtts(
  host: string,
  port: number,
  count = 200,
): Promise<{ readonly rttsMs: number[]; readonly failed: number }> {
  const rttsMs: number[] = [];
  let failed = 0;
  for (let i = 0; i < count; i++) {
    await new Promise<void>((resolve) => {
      const started = performance.now();
      const socket = connect({ host, port });
      const done = (ok: boolean): void => {
        if (ok) rttsMs.push(performance.now() - started);
        else failed += 1;
        socket.destroy();
        resolve();
      };
      socket.setTimeout(2_000, () => done(false));
      socket.once('connect', () => done(true));
      socket.once('error', () => done(false));
    });
  }
  return { rttsMs, failed };
}

/**
 * Times `count` small appends, each followed by fdatasync, to a new file in `dir`. An append
 * makes the sync commit the file's new size too; etcd's WAL is in the same position, as it
 * writes into a segment preallocated with fallocate, whose unwritten extents each sync must
 * mark written. Synchronous on purpose: nothing else should run while the disk is timed.
 */
export function fdatasyncLatencies(dir: string, count = 200, bytes = 512): number[] {
  const path = join(dir, `.etcd-lab-fsync-probe-${process.pid}`);
  const block = Buffer.alloc(bytes, 0x61);
  const fd = openSync(path, 'w');
  try {
    const latencies: number[] = [];
    for (let i = 0; i < count; i++) {
      const started = performance.now();
      writeSync(fd, block);
      fdatasyncSync(fd);
      latencies.push(performance.now() - started);
    }
    return latencies;
  } finally {
    closeSync(fd);
    rmSync(path, { force: true });
  }
}
