import { afterAll, describe, expect, it } from 'vitest';
import { EtcdCluster } from '../../src/cluster/etcd-cluster.ts';
import { parseEtcdLog, type EtcdLogEntry } from '../../src/cluster/etcd-log.ts';
import type { DataDirKind } from '../../src/cluster/member-launcher.ts';
import type { StartedEtcdCluster } from '../../src/cluster/started-etcd-cluster.ts';
import { LiveRaftLog } from '../../src/measure/live-raft-log.ts';
import { RunClock } from '../../src/util/clock.ts';

/**
 * Election trials stream the members' logs. With a memory data dir etcd also writes its log to
 * a file there, which the lab reads from the host with no dockerd in between; a disk volume is
 * Docker's, so there the lines come from Docker's stream, and the trial says which it used.
 */
/** The items of `from` left once each item of `take` has taken one equal item away (multisets). */
function withoutEach(from: readonly string[], take: readonly string[]): string[] {
  const left = [...from];
  for (const item of take) {
    const at = left.indexOf(item);
    if (at >= 0) left.splice(at, 1);
  }
  return left;
}

describe('streamed member logs: the log file beside a memory data dir, else Docker', () => {
  const clusters: StartedEtcdCluster[] = [];
  afterAll(async () => {
    await Promise.all(clusters.map((c) => c.dispose()));
  });
  const start = async (dataDir: DataDirKind): Promise<StartedEtcdCluster> => {
    const cluster = await new EtcdCluster().withMembers(1).withDataDir(dataDir).start();
    clusters.push(cluster);
    return cluster;
  };

  it('reads a memory member’s file: the same lines as Docker’s stream, new ones as they are written', async () => {
    const cluster = await start('memory');
    const [member] = cluster.members;
    expect(member?.hostLogFile).toMatch(/etcd\.log$/);
    const clock = new RunClock();
    const sinceWallMs = Date.now() - 60_000;
    const live = await LiveRaftLog.follow(cluster.members, { clock, sinceWallMs });
    try {
      expect(live.sources).toEqual(['log file']);
      expect(live.source).toBe('log file');
      // The boot's election is in the backlog, with etcd's own timestamp and no arrival time.
      const booted = live.events(clock.fromWall(sinceWallMs), 0).filter((e) => e.kind === 'leader');
      expect(booted.length).toBeGreaterThan(0);
      expect(booted[0]?.arrivedAtMs).toBeUndefined();
      // A kill and start: etcd appends to the same file, and the new lines arrive with their arrival.
      await cluster.kill(member!);
      await cluster.start(member!);
      await cluster.waitForStableLeader();
      const fromFile = live.events(clock.fromWall(sinceWallMs), 0).filter((e) => e.kind === 'leader');
      expect(fromFile.length).toBeGreaterThan(booted.length);
      expect(fromFile.at(-1)?.arrivedAtMs).toBeDefined();
      // Docker's log of the container (both starts) has the same lines as the file; it may hand
      // over the last ones a little later, and etcd's raft and server loggers write their two
      // outputs separately, so two lines close together can be in either order.
      // (Docker's follow stream ends at a stop, which is one more reason for the file.)
      const key = (e: EtcdLogEntry): string => `${String(e.ts)} ${e.msg}`;
      // Both ways: no line garbled or made up in the file, none dropped from it.
      const sameLines = async (): Promise<{ onlyInFile: string[]; onlyInDocker: string[] }> => {
        const inFile = live.memberLogs()[0]!.entries.map(key);
        const inDocker = parseEtcdLog(await cluster.logs(member!)).map(key);
        return { onlyInFile: withoutEach(inFile, inDocker), onlyInDocker: withoutEach(inDocker, inFile) };
      };
      await expect.poll(sameLines, { timeout: 5_000 }).toEqual({ onlyInFile: [], onlyInDocker: [] });
    } finally {
      live.close();
    }
  });

  it('falls back to Docker’s stream for a disk member, and says so', async () => {
    const cluster = await start('disk');
    expect(cluster.members[0]?.hostLogFile).toBeUndefined();
    const clock = new RunClock();
    const sinceWallMs = Date.now() - 60_000;
    const live = await LiveRaftLog.follow(cluster.members, { clock, sinceWallMs });
    try {
      expect(live.sources).toEqual(['docker']);
      // Docker replays the backlog over its stream, a moment after following began.
      await expect
        .poll(() => live.events(clock.fromWall(sinceWallMs), 0).filter((e) => e.kind === 'leader').length)
        .toBeGreaterThan(0);
    } finally {
      live.close();
    }
  });
});
