import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseEtcdLog } from '../../src/cluster/started-etcd-cluster.ts';
import { raftEvents, voteEvents } from '../../src/measure/election-log.ts';
import {
  explainElectionFromLogs,
  summarizeRounds,
  type ElectionExplanation,
  type MemberLog,
} from '../../src/measure/election-rounds.ts';

/**
 * Real etcd 3.4.23 logs (heartbeat 100 ms, election timeout 1000 ms, 3 members, 200 puts/s), one
 * JSON line each as etcd wrote them (m1.jsonl …), cut to the election and without the per-request
 * trace and dropped-message lines; meta.json says how each was produced, whom it killed and when.
 */
interface Fixture {
  readonly meta: {
    readonly memberIdsHex: Readonly<Record<string, string>>;
    readonly oldLeader: string;
    readonly survivors: readonly string[];
    readonly previousTerm: number;
    readonly faultAtWallMs: number;
    readonly electedAtWallMs: number;
  };
  readonly logs: readonly MemberLog[];
}

const FIXTURES = join(import.meta.dirname, 'fixtures', 'elections');

function fixture(name: string): Fixture {
  const meta = JSON.parse(readFileSync(join(FIXTURES, name, 'meta.json'), 'utf8')) as Fixture['meta'];
  const logs = Object.entries(meta.memberIdsHex).map(([member, idHex]) => ({
    member,
    idHex,
    entries: parseEtcdLog(readFileSync(join(FIXTURES, name, `${member}.jsonl`), 'utf8')),
  }));
  return { meta, logs };
}

function explain(name: string, options: { survivorsOnly?: boolean } = {}): ElectionExplanation {
  const { meta, logs } = fixture(name);
  return explainElectionFromLogs(
    options.survivorsOnly ? logs.filter((l) => meta.survivors.includes(l.member)) : logs,
    {
      faultAtWallMs: meta.faultAtWallMs,
      electedAtWallMs: meta.electedAtWallMs,
      previousTerm: meta.previousTerm,
    },
  );
}

describe('vote lines of etcd 3.4.23', () => {
  const at = (msg: string) => [{ tsMs: 0, msg }];
  it('reads requests, grants, rejections, lease ignores and answers as logged', () => {
    // Verbatim from the fixtures' logs; the tally line carries no term and is not needed.
    const lines = [
      '99ca28e6955b3c91 [logterm: 2, index: 178] sent MsgVote request to cd86299f66e1c24e at term 3',
      'cd86299f66e1c24e [logterm: 2, index: 281, vote: ffd9753cba4558b0] ignored MsgVote from 99ca28e6955b3c91 [logterm: 2, index: 178] at term 2: lease is not expired (remaining ticks: 5)',
      'cd86299f66e1c24e [logterm: 2, index: 281, vote: 0] rejected MsgVote from 99ca28e6955b3c91 [logterm: 2, index: 178] at term 4',
      '99ca28e6955b3c91 received MsgVoteResp rejection from cd86299f66e1c24e at term 4',
      '99ca28e6955b3c91 [logterm: 2, index: 178, vote: 0] cast MsgVote for cd86299f66e1c24e [logterm: 2, index: 281] at term 5',
      'cd86299f66e1c24e received MsgVoteResp from 99ca28e6955b3c91 at term 5',
      'a8e51a594aaa4903 [logterm: 4, index: 1772] sent MsgPreVote request to 7a6cb5bdba53db8f at term 4',
      '7a6cb5bdba53db8f [logterm: 4, index: 1864, vote: 0] rejected MsgPreVote from a8e51a594aaa4903 [logterm: 4, index: 1772] at term 4',
      'a8e51a594aaa4903 received MsgPreVoteResp rejection from 7a6cb5bdba53db8f at term 4',
      '99ca28e6955b3c91 has received 1 MsgVoteResp votes and 1 vote rejections',
    ];
    const events = lines.flatMap((msg) => voteEvents('m', at(msg)));
    expect(events.map((e) => `${e.kind}/${e.phase}@${e.term}`)).toEqual([
      'request/vote@3',
      'ignored-in-lease/vote@2',
      'rejected/vote@4',
      'response/vote@4',
      'cast/vote@5',
      'response/vote@5',
      'request/pre-vote@4',
      'rejected/pre-vote@4',
      'response/pre-vote@4',
    ]);
    expect(events[1]).toMatchObject({
      candidateHex: '99ca28e6955b3c91',
      voterLog: { term: 2, index: 281 },
      candidateLog: { term: 2, index: 178 },
      votedForHex: 'ffd9753cba4558b0',
      remainingTicks: 5,
    });
    expect(events[3]).toMatchObject({ fromHex: 'cd86299f66e1c24e', granted: false });
    expect(events[5]).toMatchObject({ fromHex: '99ca28e6955b3c91', granted: true });
    expect(events[8]).toMatchObject({ fromHex: '7a6cb5bdba53db8f', granted: false });
  });

  it('leaves the role events as they were', () => {
    const { logs } = fixture('behind-log');
    const m3 = logs.find((l) => l.member === 'm3');
    expect(raftEvents('m3', m3?.entries ?? []).map((e) => `${e.kind}@${e.term}`)).toEqual([
      'follower@4',
      'lost@4',
      'campaign@4',
      'candidate@5',
      'leader@5',
      'elected@5',
    ]);
  });
});

describe('elections explained from real logs', () => {
  it('a single round: one candidate, one vote, elected in the next term', () => {
    const e = explain('single-round');
    expect(e).toMatchObject({ previousTerm: 3, newTerm: 4, termJump: 1, winner: 'm2', preVote: false });
    expect(e.rounds).toHaveLength(1);
    expect(e.rounds[0]).toMatchObject({
      term: 4,
      outcome: 'won',
      winner: 'm2',
      campaigns: [{ member: 'm2', phase: 'vote', log: { term: 3, index: 1069 } }],
      votes: [{ voter: 'm3', candidate: 'm2', phase: 'vote' }],
      refusals: [],
    });
    // Between one and two election timeouts after the kill, as Raft's model says.
    expect(e.electedAfterFaultMs).toBeGreaterThan(900);
    expect(e.electedAfterFaultMs).toBeLessThan(2_000);
    expect(e.summary).toMatch(/^1 round \(term 3 → 4, \d+ ms\): term 4 m2 won$/);
  });

  it('a split vote: the first candidate is ignored inside the lease, the second refused by the first', () => {
    const e = explain('split-vote');
    expect(e).toMatchObject({ previousTerm: 5, newTerm: 7, termJump: 2, winner: 'm3' });
    expect(e.rounds.map((r) => [r.term, r.outcome])).toEqual([
      [6, 'split-vote'],
      [7, 'won'],
    ]);
    const [split] = e.rounds;
    expect(split?.campaigns.map((c) => c.member)).toEqual(['m3', 'm2']);
    expect(split?.refusals).toMatchObject([
      { voter: 'm2', candidate: 'm3', reason: 'in-lease', remainingTicks: 1 },
      { voter: 'm3', candidate: 'm2', reason: 'already-voted', detail: 'already voted for m3' },
    ]);
    expect(e.rounds[1]?.votes).toMatchObject([{ voter: 'm2', candidate: 'm3' }]);
    expect(e.refusals).toEqual({ 'log-not-up-to-date': 0, 'in-lease': 1, 'already-voted': 1, other: 0 });
    expect(e.summary).toBe(
      `2 rounds (term 5 → 7, ${Math.round(e.electedAfterFaultMs ?? NaN)} ms): term 6 split vote: m3 and m2 campaigned, m2 ignored m3 (in leader lease, 1 tick left), m3 refused m2 (already voted for m3); term 7 m3 won`,
    );
  });

  it('a candidate whose log is behind: ignored in the lease, then refused, until the other times out', () => {
    const e = explain('behind-log');
    expect(e).toMatchObject({ previousTerm: 2, newTerm: 5, termJump: 3, winner: 'm3' });
    expect(e.rounds.map((r) => [r.term, r.outcome, r.refusals.map((x) => x.reason)])).toEqual([
      [3, 'refused', ['in-lease']],
      [4, 'refused', ['log-not-up-to-date']],
      [5, 'won', []],
    ]);
    expect(e.rounds[1]?.refusals[0]).toMatchObject({
      voter: 'm3',
      candidate: 'm1',
      voterLog: { term: 2, index: 281 },
      candidateLog: { term: 2, index: 178 },
    });
    // The behind member, cut off before the kill, campaigns before one election timeout has passed.
    expect(e.rounds[0]?.startedAfterFaultMs).toBeLessThan(1_000);
    expect(e.rounds[2]?.votes).toMatchObject([{ voter: 'm1', candidate: 'm3', phase: 'vote' }]);
    expect(e.electedAfterFaultMs).toBeGreaterThan(2_000);
    expect(e.summary).toContain('term 4 m1 campaigned, m3 refused m1 (log not up to date: m1 is behind');
    expect(e.summary).toMatch(
      /^3 rounds \(term 2 → 5, \d+ ms\): term 3 m1 campaigned, m3 ignored m1 \(in leader lease, 5 ticks left\), no majority; /,
    );
  });

  it('with pre-vote: a pre-candidate wins its pre-vote, then the vote, in one term', () => {
    const e = explain('pre-vote');
    expect(e).toMatchObject({ previousTerm: 3, newTerm: 4, termJump: 1, winner: 'm2', preVote: true });
    expect(e.rounds).toHaveLength(1);
    expect(e.rounds[0]?.campaigns.map((c) => `${c.member}/${c.phase}`)).toEqual(['m2/pre-vote', 'm2/vote']);
    expect(e.rounds[0]?.votes.map((v) => `${v.voter}→${v.candidate}/${v.phase}`)).toEqual([
      'm1→m2/pre-vote',
      'm1→m2/vote',
    ]);
    expect(e.summary).toMatch(/: term 4 m2 won$/);
  });

  it('with pre-vote: the behind member’s pre-vote is refused and costs no term', () => {
    const e = explain('pre-vote-behind-log');
    expect(e).toMatchObject({ previousTerm: 4, newTerm: 5, termJump: 1, winner: 'm2', preVote: true });
    expect(e.rounds).toHaveLength(1);
    expect(e.rounds[0]?.refusals).toMatchObject([
      {
        voter: 'm2',
        candidate: 'm1',
        phase: 'pre-vote',
        reason: 'log-not-up-to-date',
        candidateLog: { term: 4, index: 1772 },
        voterLog: { term: 4, index: 1864 },
      },
    ]);
    expect(e.summary).toMatch(
      /: term 5 m1 asked for pre-votes, m2 refused m1's pre-vote \(log not up to date: m1 is behind \(4\/1772 < 4\/1864\)\), m2 won$/,
    );
  });

  it('gives the same answer from the survivors’ logs alone', () => {
    for (const name of ['single-round', 'split-vote', 'behind-log', 'pre-vote', 'pre-vote-behind-log']) {
      expect(explain(name, { survivorsOnly: true }), name).toEqual(explain(name));
    }
  });
});

describe('the election window', () => {
  it('finds the previous term in the logs when not told', () => {
    const { meta, logs } = fixture('split-vote');
    const e = explainElectionFromLogs(logs, { faultAtWallMs: meta.faultAtWallMs });
    expect(e).toMatchObject({ previousTerm: 5, newTerm: 7, winner: 'm3' });
  });

  it('ignores a leader logged long after the lab saw one, and lines from before the fault', () => {
    const { meta, logs } = fixture('split-vote');
    const early = explainElectionFromLogs(logs, {
      faultAtWallMs: meta.faultAtWallMs,
      electedAtWallMs: meta.faultAtWallMs + 1_500, // before the logs' leader (2.5 s)
      previousTerm: 5,
    });
    expect(early).toMatchObject({ newTerm: undefined, winner: undefined, termJump: undefined });
    expect(early.rounds.map((r) => [r.term, r.outcome])).toEqual([[6, 'split-vote']]);
    expect(early.summary).toMatch(/^1 round, no leader elected: term 6 split vote/);

    const late = explainElectionFromLogs(logs, { faultAtWallMs: meta.electedAtWallMs + 1_000 });
    expect(late.rounds).toEqual([]);
    expect(late.summary).toBe('no campaign and no new leader in the logs');
  });

  it('leaves out stale vote requests that arrive after the election', () => {
    const { meta, logs } = fixture('single-round');
    const stale = {
      tsMs: meta.electedAtWallMs + 4_000,
      msg: `${meta.memberIdsHex.m1} [logterm: 4, index: 1200, vote: 0] rejected MsgVote from ${meta.memberIdsHex.m3} [logterm: 3, index: 1069] at term 4`,
    };
    const withStale = logs.map((l) => (l.member === 'm1' ? { ...l, entries: [...l.entries, stale] } : l));
    const e = explainElectionFromLogs(withStale, { faultAtWallMs: meta.faultAtWallMs, previousTerm: 3 });
    expect(e.rounds[0]?.refusals).toEqual([]);
  });
});

describe('rounds over many elections', () => {
  it('counts elections by rounds and refusals by reason', () => {
    const names = ['single-round', 'split-vote', 'behind-log', 'pre-vote', 'pre-vote-behind-log'];
    const summary = summarizeRounds([...names.map((name) => explain(name)), undefined]);
    expect(summary).toEqual({
      elections: 5,
      byRounds: { 1: 3, 2: 1, 3: 1 },
      multiRound: 2,
      noLeader: 0,
      refusals: { 'log-not-up-to-date': 2, 'in-lease': 2, 'already-voted': 1, other: 0 },
      electionsWithRefusal: { 'log-not-up-to-date': 2, 'in-lease': 2, 'already-voted': 1, other: 0 },
    });
  });
});
