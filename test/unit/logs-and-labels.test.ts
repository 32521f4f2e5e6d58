import { describe, expect, it } from 'vitest';
import { reasonFromLog, countReadyLines } from '../../src/cluster/member-ready-wait.ts';
import { parseEtcdLog } from '../../src/cluster/started-etcd-cluster.ts';
import { demuxDockerLogs } from '../../src/host/one-shot.ts';
import { LABEL, ownerAlive, runLabels } from '../../src/host/run-labels.ts';

function frame(stream: 1 | 2, text: string): Buffer {
  const body = Buffer.from(text);
  const header = Buffer.alloc(8);
  header.writeUInt8(stream, 0);
  header.writeUInt32BE(body.length, 4);
  return Buffer.concat([header, body]);
}

describe('docker log demultiplexing', () => {
  it('strips the 8-byte frame headers of stdout and stderr frames', () => {
    const buffer = Buffer.concat([frame(2, '{"msg":"a"}\n'), frame(1, 'plain\n'), frame(2, 'tail')]);
    expect(demuxDockerLogs(buffer)).toBe('{"msg":"a"}\nplain\ntail');
  });
});

describe('etcd log parsing', () => {
  const log = [
    '{"level":"info","ts":"2026-11-25T02:15:13.200Z","caller":"raft/raft.go:706","msg":"73a4 became follower at term 3"}',
    '{"level":"info","ts":1764036913.25,"msg":"epoch seconds form"}',
    'not json',
    '{"level":"info","ts":"2026-11-25T02:15:13.2',
  ].join('\n');

  it('keeps JSON lines with their timestamp in wall-clock ms and skips the rest', () => {
    const entries = parseEtcdLog(log);
    expect(entries.map((e) => e.msg)).toEqual(['73a4 became follower at term 3', 'epoch seconds form']);
    expect(entries[0]?.tsMs).toBe(Date.parse('2026-11-25T02:15:13.200Z'));
    expect(entries[1]?.tsMs).toBe(1764036913250);
    expect(entries[0]?.caller).toBe('raft/raft.go:706');
  });

  it('counts one ready line per start in 3.4 (zap) and capnslog/3.5 forms', () => {
    expect(
      countReadyLines('{"msg":"serving client traffic insecurely; this is strongly discouraged!"}'),
    ).toBe(1);
    expect(
      countReadyLines('etcdmain: ready to serve client requests\nx\nready to serve client requests'),
    ).toBe(2);
    expect(countReadyLines('{"msg":"published local member to cluster"}')).toBe(0);
  });

  it('finds why etcd quit even when usage text follows', () => {
    const rejected =
      'flag provided but not defined: -no-such-flag\nUsage:\n\n  etcd [flags]\n  lots of usage text';
    expect(reasonFromLog(rejected)).toBe('flag provided but not defined: -no-such-flag');
    const fatal =
      '{"level":"info","msg":"x"}\n{"level":"fatal","msg":"discovery failed"}\n{"level":"info","msg":"y"}';
    expect(reasonFromLog(fatal)).toContain('discovery failed');
  });
});

describe('run labels', () => {
  it('recognise the current process as a live owner, and a dead pid as gone', () => {
    const labels = runLabels('r1');
    expect(labels[LABEL.run]).toBe('r1');
    expect(ownerAlive(labels)).toBe(true);
    expect(ownerAlive({ ...labels, [LABEL.pid]: '999999999' })).toBe(false);
  });

  it('do not mistake a reused pid for the owner (start time differs)', () => {
    expect(ownerAlive({ ...runLabels('r2'), [LABEL.pidStart]: '1' })).toBe(false);
  });

  it('keep persistent clusters alive whoever made them', () => {
    expect(ownerAlive({ ...runLabels('r3', { persistent: true }), [LABEL.pid]: '999999999' })).toBe(true);
  });
});
