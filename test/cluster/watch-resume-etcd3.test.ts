import type { Watcher } from 'etcd3';
import { describe, expect, it } from 'vitest';
import { EtcdCluster } from '../../src/cluster/etcd-cluster.ts';
import { findLeftovers, NOTHING_LEFT } from '../support/leftovers.ts';

/**
 * What mixed-faults found on etcd 3.5.16 (two watchers lost 165 changes; the watch checker blames
 * the client library), reproduced on purpose against real etcd. etcd3 (the npm client the lab
 * and its users watch with) sets a watcher's resume revision to the header revision + 1 of the
 * *created* response (watch.js: `on('connected', updateRevision)`). For a watch from an old
 * revision, that header is the store's current revision, and etcd sends the older changes only
 * afterwards (its watch store syncs lagging watchers on a 100 ms tick). A stream cut in that
 * window resumes past changes etcd never sent: they are lost without an error.
 *
 * The window is a race, so the claim is statistical: the member is stopped (SIGSTOP, then
 * SIGKILL) the moment etcd3 reports the watch created, up to ATTEMPTS times; in at least one
 * attempt the watcher must come back resumed past changes it never received. An attempt where
 * etcd's sync won the race delivers everything; it proves nothing, and is counted.
 */
const HISTORY = 1_000; // puts before the watch: revisions 2 … HISTORY + 1
const ATTEMPTS = 3;

interface Attempt {
  /** Changes of the history the watcher received, in the end. */
  readonly delivered: number;
  /** The created response's header revision. */
  readonly createdHeader: number;
  /** etcd3's resume revision right after the created response, with nothing delivered yet. */
  readonly resumeAfterCreated: number;
}

describe('etcd3 watch resume after a cut stream', () => {
  it('resumes past the changes of a historical watch that etcd had not sent yet (client library, not etcd)', async () => {
    let runId = '';
    const attempts: Attempt[] = [];
    {
      await using cluster = await new EtcdCluster().withMembers(1).start();
      runId = cluster.runId;
      const [member] = cluster.members;
      if (member === undefined) throw new Error('no member');
      const writer = cluster.memberClient(member);
      for (let i = 0; i < HISTORY; i += 100) {
        await Promise.all(Array.from({ length: 100 }, (_, k) => writer.put(`resume/${i + k}`).value('x')));
      }
      const reader = cluster.memberClient(member, { deadlineOnStreams: false });
      for (let attempt = 0; attempt < ATTEMPTS && !attempts.some(lost); attempt++) {
        let createdHeader = NaN;
        let resumeAfterCreated = NaN;
        const seen = new Set<number>();
        const watcher: Watcher = reader.watch().prefix('resume/').startRevision('2').watcher();
        watcher.on('put', (kv) => seen.add(Number(kv.mod_revision)));
        watcher.on('error', () => undefined); // the cut stream; etcd3 reconnects by itself
        await new Promise<void>((resolve) => {
          watcher.once('connected', (res: { header: { revision: string } }) => {
            // At once, before etcd's next sync tick can send the history.
            process.kill(member.pid, 'SIGSTOP');
            createdHeader = Number(res.header.revision);
            // etcd3's own 'connected' handler ran first (registered when the watcher was built).
            resumeAfterCreated = Number(watcher.lastRevision());
            resolve();
          });
        });
        await cluster.kill(member);
        await cluster.start(member);
        const marker = await writer.put('resume/marker').value(String(attempt));
        const markerRevision = Number(marker.header.revision);
        const deadline = Date.now() + 10_000;
        while (!seen.has(markerRevision) && Date.now() < deadline)
          await new Promise((r) => setTimeout(r, 20));
        expect(seen.has(markerRevision), 'the watcher came back after the restart').toBe(true);
        attempts.push({
          delivered: [...seen].filter((r) => r <= HISTORY + 1).length,
          createdHeader,
          resumeAfterCreated,
        });
        await watcher.cancel();
      }
      writer.close();
      reader.close();
    }
    // The mechanism, every time: the created header is the store's revision (past the history),
    // and etcd3 takes it as seen before a single change has arrived.
    for (const a of attempts) {
      expect(a.createdHeader).toBeGreaterThanOrEqual(HISTORY + 1);
      expect(a.resumeAfterCreated).toBe(a.createdHeader + 1);
    }
    // The consequence, in at least one attempt: the watcher resumed past changes it never got.
    const losses = attempts.filter(lost);
    expect(losses.length, JSON.stringify(attempts)).toBeGreaterThan(0);
    for (const a of losses) expect(a.delivered).toBeLessThan(HISTORY);
    expect(await findLeftovers({ runId })).toEqual(NOTHING_LEFT);
  });
});

const lost = (a: Attempt): boolean => a.delivered < HISTORY;
