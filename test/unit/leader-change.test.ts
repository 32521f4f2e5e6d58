import { describe, expect, it } from 'vitest';
import { raftEvents } from '../../src/measure/election-log.ts';
import {
  agreedLeaderships,
  deriveLeaderChange,
  type LeaderObservation,
} from '../../src/measure/leader-tracker.ts';

const obs = (
  atMs: number,
  member: string,
  leaderId: string | undefined,
  term: number | undefined,
): LeaderObservation => ({
  atMs,
  member,
  leaderId,
  term,
});

describe('deriving a leader change from tracker observations', () => {
  // m1 (id "1") leads in term 5 and is killed at t=1000.
  const before = [obs(0, 'm1', '1', 5), obs(0, 'm2', '1', 5), obs(0, 'm3', '1', 5)];

  it('finds loss, first new leader and majority agreement', () => {
    const change = deriveLeaderChange(
      [
        ...before,
        obs(1010, 'm1', undefined, undefined),
        obs(1150, 'm2', '0', 6),
        obs(1160, 'm3', '3', 6),
        obs(1175, 'm2', '3', 6),
      ],
      { sinceMs: 1000, previousLeaderId: '1', previousTerm: 5, clusterSize: 3 },
    );
    expect(change.leaderLostAtMs).toBe(1150);
    expect(change.newLeaderAtMs).toBe(1160);
    expect(change.majorityAgreesAtMs).toBe(1175); // m3 alone is 1 of 3; with m2 it is 2 of 3
    expect(change.newLeaderId).toBe('3');
    expect(change.newTerm).toBe(6);
  });

  it('counts the majority against the membership, not against members that answer', () => {
    const change = deriveLeaderChange([...before, obs(1100, 'm3', '3', 6)], {
      sinceMs: 1000,
      previousLeaderId: '1',
      previousTerm: 5,
      clusterSize: 5,
    });
    expect(change.newLeaderAtMs).toBe(1100);
    expect(change.majorityAgreesAtMs).toBeUndefined();
  });

  it('ignores the old leader in the old term and changes before the window', () => {
    const change = deriveLeaderChange([...before, obs(500, 'm2', '2', 4), obs(1200, 'm2', '1', 5)], {
      sinceMs: 1000,
      previousLeaderId: '1',
      previousTerm: 5,
      clusterSize: 3,
    });
    expect(change.newLeaderAtMs).toBeUndefined();
    expect(change.leaderLostAtMs).toBeUndefined();
  });
});

describe('raft events from etcd log lines', () => {
  const line = (msg: string, ts = '2026-11-25T02:15:13.200Z') => ({ tsMs: Date.parse(ts), msg });
  it('recognises campaigns, role changes and leader notices with their terms', () => {
    const events = raftEvents('m2', [
      line('5c80 is starting a new election at term 3'),
      line('5c80 became pre-candidate at term 3'),
      line('5c80 became candidate at term 4'),
      line('5c80 became leader at term 4'),
      line('raft.node: 5c80 elected leader 5c80 at term 4'),
      line('raft.node: 73a4 lost leader 73a4 at term 3'),
      line('published local member to cluster through raft'),
    ]);
    expect(events.map((e) => `${e.kind}@${e.term}`)).toEqual([
      'campaign@3',
      'pre-candidate@3',
      'candidate@4',
      'leader@4',
      'elected@4',
      'lost@3',
    ]);
    expect(events[4]?.leaderIdHex).toBe('5c80');
    expect(events.every((e) => e.member === 'm2')).toBe(true);
  });
});

describe('agreed leaderships', () => {
  it('lists each leadership once, when a majority of the membership first followed it', () => {
    const agreed = agreedLeaderships(
      [
        obs(0, 'm1', '1', 5),
        obs(0, 'm2', '1', 5),
        obs(0, 'm3', '1', 5),
        obs(900, 'm2', '0', 6), // campaigning: no leader
        obs(950, 'm2', '2', 6), // m2 alone says it leads: no majority yet
        obs(990, 'm3', '2', 6),
        obs(2000, 'm1', '2', 6), // a third follower of the same leadership changes nothing
        obs(3000, 'm3', '3', 7),
      ],
      3,
    );
    expect(agreed).toEqual([
      { leaderId: '1', term: 5, agreedAtMs: 0 },
      { leaderId: '2', term: 6, agreedAtMs: 990 },
    ]);
  });

  it('counts the majority against the membership, not the members that answer', () => {
    // Two of five members answering cannot agree a leadership.
    expect(agreedLeaderships([obs(0, 'm1', '1', 2), obs(0, 'm2', '1', 2)], 5)).toEqual([]);
    expect(agreedLeaderships([obs(0, 'm1', '1', 2)], 1)).toEqual([{ leaderId: '1', term: 2, agreedAtMs: 0 }]);
  });
});
