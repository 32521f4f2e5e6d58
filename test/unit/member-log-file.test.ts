import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MemberLogFile } from '../../src/cluster/member-log-file.ts';

const line = (iso: string, msg: string): string => JSON.stringify({ level: 'info', ts: iso, msg });

/** Resolves once `log` has received `count` lines through onLine, or rejects after 2 s. */
function linesArriving(log: MemberLogFile, count: number): Promise<{ line: string; at: number }[]> {
  const got: { line: string; at: number }[] = [];
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`only ${got.length} of ${count} lines arrived`)), 2_000);
    log.onLine((text, at) => {
      got.push({ line: text, at });
      if (got.length === count) {
        clearTimeout(timer);
        resolve(got);
      }
    });
  });
}

describe('MemberLogFile: a member log read from the file etcd appends to', () => {
  let dir = '';
  let path = '';
  const open: MemberLogFile[] = [];
  // The safety poll is set out of reach: lines must come through inotify.
  const follow = (options: { sinceWallMs?: number } = {}): MemberLogFile => {
    const log = MemberLogFile.follow(path, { safetyPollMs: 60_000, ...options });
    open.push(log);
    return log;
  };
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'member-log-file-'));
    path = join(dir, 'etcd.log');
  });
  afterEach(() => {
    for (const log of open.splice(0)) log.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('takes the backlog from the file’s last megabyte, starting at a whole line', () => {
    const old = line('2026-12-02T03:00:00.000Z', 'x'.repeat(1_000));
    const lines = Array.from({ length: 1_200 }, () => old);
    lines.push(line('2026-12-02T04:00:00.000Z', 'last'), '');
    writeFileSync(path, lines.join('\n'));
    const received = follow().received;
    expect(received.length).toBeLessThan(1_100);
    for (const text of received) expect(() => JSON.parse(text) as unknown).not.toThrow();
    expect(received.at(-1)).toContain('"last"');
    expect(follow({ sinceWallMs: Date.parse('2026-12-02T03:30:00.000Z') }).received).toHaveLength(1);
  });

  it('reads a truncated file again from its start', async () => {
    writeFileSync(path, `${line('2026-12-02T04:00:00.000Z', 'before')}\n`);
    const log = follow();
    const arriving = linesArriving(log, 1);
    writeFileSync(path, `${line('2026-12-02T04:00:01.000Z', 'after')}\n`);
    expect((await arriving)[0]?.line).toContain('"after"');
  });

  it('starts with the lines at or after sinceWallMs by etcd’s own timestamps', () => {
    writeFileSync(
      path,
      [line('2026-12-02T04:00:00.000Z', 'old'), line('2026-12-02T04:00:02.000Z', 'new'), ''].join('\n'),
    );
    const log = follow({ sinceWallMs: Date.parse('2026-12-02T04:00:01.000Z') });
    expect(log.received.map((l) => (JSON.parse(l) as { msg: string }).msg)).toEqual(['new']);
    expect(follow().received).toHaveLength(2);
  });

  it('hands over appended lines as they are written, a partial line only once it is whole', async () => {
    writeFileSync(path, '');
    const log = follow();
    const arriving = linesArriving(log, 2);
    const before = performance.now();
    appendFileSync(path, `${line('2026-12-02T04:00:03.000Z', 'a')}\n{"level":"info","ts":"2026-12-02T04:00`);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(log.received).toHaveLength(1);
    appendFileSync(path, ':04.000Z","msg":"b"}\n');
    const got = await arriving;
    expect(got.map((g) => (JSON.parse(g.line) as { msg: string }).msg)).toEqual(['a', 'b']);
    expect(got[0]?.at).toBeGreaterThan(before);
    expect(log.received).toHaveLength(2);
  });

  it('keeps a character split between two writes whole', async () => {
    writeFileSync(path, '');
    const log = follow();
    const arriving = linesArriving(log, 1);
    const bytes = Buffer.from('member “m1”\n');
    const cut = bytes.indexOf(0xe2) + 1; // inside the three bytes of “
    appendFileSync(path, bytes.subarray(0, cut));
    await new Promise((resolve) => setTimeout(resolve, 50));
    appendFileSync(path, bytes.subarray(cut));
    expect((await arriving)[0]?.line).toBe('member “m1”');
  });

  it('hears nothing after close', async () => {
    writeFileSync(path, '');
    const log = follow();
    const heard: string[] = [];
    log.onLine((text) => heard.push(text));
    log.close();
    appendFileSync(path, `${line('2026-12-02T04:00:05.000Z', 'late')}\n`);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(heard).toEqual([]);
  });

  it('throws when the file is not there', () => {
    expect(() => MemberLogFile.follow(join(dir, 'missing.log'))).toThrow(/ENOENT/);
  });
});
