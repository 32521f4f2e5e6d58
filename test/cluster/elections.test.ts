import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EtcdCluster } from '../../src/cluster/etcd-cluster.ts';
import type { StartedEtcdCluster } from '../../src/cluster/started-etcd-cluster.ts';
import { judgeFraction } from '../../src/checks/distribution-claims.ts';
import { sampleQuantile } from '../../src/measure/confidence.ts';
import { summarizeElectionTrials } from '../../src/measure/election-summary.ts';
import { runElectionTrials, type ElectionTrial, type LeaderFault } from '../../src/run/leader-loss-trials.ts';
import { summarizeLatencies } from '../../src/measure/latency-stats.ts';
import { RunClock } from '../../src/util/clock.ts';

const HEARTBEAT_MS = 10;
const ELECTION_TIMEOUT_MS = 100;
const TRACKER_INTERVAL_MS = 10;
/** Scheduling noise allowed on a loaded 2-core machine (Go timers, container CPU shares). */
const NOISE_MS = 60;

/**
 * A clean election: every survivor's /metrics counted exactly one leader change. Extra
 * changes are a random process (a short-lived leader under a starved CPU, a member cut off
 * before the others): the share of clean elections is judged, not every trial. At least
 * half clean at 95 % confidence must not be refuted — measured 19/20 and 10/10 on a quiet
 * machine; refuted only if most elections flapped.
 */
function expectMostlyClean(trials: readonly ElectionTrial[]): void {
  const clean = trials.filter((t) => t.survivors.every((name) => t.leaderChangesSeen[name] === 1)).length;
  const judged = judgeFraction(clean, trials.length, { min: 0.5 }, 0.95);
  expect(judged.verdict, `${clean} of ${trials.length} elections clean`).not.toBe('deviated');
  expect(clean / trials.length).toBeGreaterThanOrEqual(0.5);
}

/**
 * Starts a 3-member cluster with the scaled timing for the enclosing describe block, runs
 * the trials up front (the tests then only look at them) and removes the cluster after.
 * The returned array is filled in beforeAll.
 */
function trialsOnOwnCluster(fault: LeaderFault, count: number): ElectionTrial[] {
  const trials: ElectionTrial[] = [];
  let cluster: StartedEtcdCluster | undefined;
  beforeAll(async () => {
    cluster = await new EtcdCluster()
      .withMembers(3)
      .withEtcdOptions({ heartbeatMs: HEARTBEAT_MS, electionTimeoutMs: ELECTION_TIMEOUT_MS })
      .start();
    trials.push(
      ...(await runElectionTrials(cluster, {
        trials: count,
        fault,
        clock: new RunClock(),
        trackerIntervalMs: TRACKER_INTERVAL_MS,
      })),
    );
  }, 300_000);
  afterAll(async () => {
    await cluster?.dispose();
  });
  return trials;
}

describe('leader elections measured over 20 leader kills (heartbeat 10 ms, election timeout 100 ms)', () => {
  const trials = trialsOnOwnCluster('kill', 20);

  it('elects a new leader, in a higher term, after every kill', () => {
    expect(trials).toHaveLength(20);
    for (const t of trials) {
      expect(t.newLeader, `trial ${t.trial}`).toBeDefined();
      expect(t.newLeader).not.toBe(t.oldLeader);
      expect(t.newTerm ?? 0).toBeGreaterThan(t.previousTerm);
    }
  });

  it('starts campaigning after every kill, typically within Raft’s window (the model window itself: below)', () => {
    // Raft's window is [ET − HB, 2·ET): the last heartbeat arrived at most one heartbeat before
    // the kill and the first follower timer, drawn from [ET, 2·ET), fires before 2·ET. On a
    // 2-core machine that also runs the lab, etcd's own timers slip: a starved leader's last
    // heartbeats come late (campaigns from 75 ms seen at load 11) and a follower's campaign can
    // start tens of ms after its timer fired (260+ ms seen; 47.6 ms after a kill seen in CI).
    // So every kill must see a campaign, and the bounds hold for the distribution: the median
    // in [ET/2, 2·ET + noise] and 9 in 10 within the outer 4·ET. The share inside the model
    // window is checked separately.
    for (const t of trials) expect(t.firstCampaignAfterFaultMs, `trial ${t.trial}`).toBeDefined();
    const campaigns = trials.map((t) => t.firstCampaignAfterFaultMs ?? Infinity);
    expect(sampleQuantile(campaigns, 0.5)).toBeGreaterThanOrEqual(ELECTION_TIMEOUT_MS / 2);
    expect(sampleQuantile(campaigns, 0.5)).toBeLessThan(2 * ELECTION_TIMEOUT_MS + NOISE_MS);
    expect(sampleQuantile(campaigns, 0.9)).toBeLessThanOrEqual(4 * ELECTION_TIMEOUT_MS);
  });

  it('has a median election time within the model’s window', () => {
    const elected = summarizeLatencies(trials.map((t) => t.logElectedAfterFaultMs ?? Infinity));
    expect(elected.p50 ?? Infinity).toBeGreaterThanOrEqual(ELECTION_TIMEOUT_MS - 2 * HEARTBEAT_MS);
    expect(elected.p50 ?? Infinity).toBeLessThan(2 * ELECTION_TIMEOUT_MS + NOISE_MS);
  });

  it('detects the new leader no earlier than the logs say, and within a few poll intervals', () => {
    const errors = trials.map((t) => t.trackerErrorMs ?? Infinity);
    // The tracker stamps when an answer arrived; etcd logs whole milliseconds.
    for (const error of errors) expect(error).toBeGreaterThanOrEqual(-2);
    // One poll interval plus a status call; status calls slow down on a starved machine
    // (median 52 ms seen at load 11 on 2 cores), so the bound leaves room for that.
    expect(summarizeLatencies(errors).p50 ?? Infinity).toBeLessThan(6 * TRACKER_INTERVAL_MS + 20);
  });

  it('hears the new leader from the streamed logs as etcd writes the line', () => {
    for (const t of trials) {
      // Streamed from before the fault, so the line's arrival is known in every trial…
      expect(t.logStreamErrorMs, `trial ${t.trial}`).toBeDefined();
      // …and it cannot arrive before etcd wrote it (etcd logs whole milliseconds).
      expect(t.logStreamErrorMs ?? -Infinity, `trial ${t.trial}`).toBeGreaterThanOrEqual(-1);
      // A memory data dir (the default) holds the log file etcd also writes: read from the host,
      // with no dockerd in between, which delays lines while it tears the killed member down.
      expect(t.logStreamSource, `trial ${t.trial}`).toBe('log file');
    }
  });

  it('sees the first successful write only after the new leader was elected', () => {
    for (const t of trials) {
      expect(t.firstWriteOkAfterFaultMs, `trial ${t.trial}`).toBeDefined();
      expect(t.firstWriteOkAfterFaultMs ?? 0).toBeGreaterThanOrEqual(
        (t.logElectedAfterFaultMs ?? Infinity) - 2,
      );
    }
  });

  it('agrees with /metrics: every survivor saw the leader change and has a leader after; most elections are clean', () => {
    for (const t of trials) {
      for (const name of t.survivors)
        expect(t.leaderChangesSeen[name], `trial ${t.trial} ${name}`).toBeGreaterThanOrEqual(1);
      expect(t.survivorsHaveLeader, `trial ${t.trial}`).toBe(true);
    }
    expectMostlyClean(trials);
  });

  it('puts most first campaigns inside the model window [ET − HB, 2·ET)', () => {
    const summary = summarizeElectionTrials(trials, {
      electionTimeoutMs: ELECTION_TIMEOUT_MS,
      heartbeatMs: HEARTBEAT_MS,
    });
    console.log(`[figure] kill at ${HEARTBEAT_MS}/${ELECTION_TIMEOUT_MS} ms: ${JSON.stringify(summary)}`);
    expect(summary.model.windowMs).toEqual([ELECTION_TIMEOUT_MS - HEARTBEAT_MS, 2 * ELECTION_TIMEOUT_MS]);
    // Late heartbeats from a starved leader move a few campaigns earlier (see above); most are inside.
    expect(summary.campaignInsideWindow ?? 0).toBeGreaterThanOrEqual(0.6);
    expect(summary.cleanElections).toBeGreaterThanOrEqual(trials.length / 2);
  });
});

describe('leader elections measured over 10 leader isolations (heartbeat 10 ms, election timeout 100 ms)', () => {
  const trials = trialsOnOwnCluster('isolate', 10);

  it('elects one of the connected members, in a higher term, after every isolation', () => {
    expect(trials).toHaveLength(10);
    for (const t of trials) {
      expect(t.fault).toBe('isolate');
      expect(t.survivors, `trial ${t.trial}`).toContain(t.newLeader);
      expect(t.newTerm ?? 0).toBeGreaterThan(t.previousTerm);
    }
  });

  it('starts campaigning once the followers’ timers run out, as after a kill', () => {
    for (const t of trials) expect(t.firstCampaignAfterFaultMs, `trial ${t.trial}`).toBeDefined();
    // When is a distribution: faultAtMs is when the DROP rules started going in, and each
    // follower was cut off when its own rule landed (up to faultSpreadMs later), so its timer
    // may have started that late. Typically nobody campaigns before a timeout without
    // heartbeats, and the median net of that spread (which can go below 0: a follower cut off
    // by an early rule) is inside Raft's window.
    const campaigns = trials.map((t) => t.firstCampaignAfterFaultMs ?? Infinity);
    expect(sampleQuantile(campaigns, 0.5)).toBeGreaterThanOrEqual(ELECTION_TIMEOUT_MS / 2);
    const netOfSpread = trials.map((t) => (t.firstCampaignAfterFaultMs ?? Infinity) - t.faultSpreadMs);
    expect(sampleQuantile(netOfSpread, 0.5)).toBeLessThan(2 * ELECTION_TIMEOUT_MS + NOISE_MS);
  });

  it('takes writes again on the majority side, and /metrics shows one clean election', () => {
    for (const t of trials) {
      expect(t.firstWriteOkAfterFaultMs, `trial ${t.trial}`).toBeDefined();
      expect(t.firstWriteOkAfterFaultMs ?? 0).toBeGreaterThanOrEqual(
        (t.logElectedAfterFaultMs ?? Infinity) - 2,
      );
      for (const name of t.survivors)
        expect(t.leaderChangesSeen[name], `trial ${t.trial} ${name}`).toBeGreaterThanOrEqual(1);
      expect(t.survivorsHaveLeader).toBe(true);
    }
    // A survivor can see two changes: the rules go in one at a time, and a member cut off
    // first may elect itself briefly before the last rule lands (seen once in CI, trial 9 of 10).
    expectMostlyClean(trials);
    const summary = summarizeElectionTrials(trials, {
      electionTimeoutMs: ELECTION_TIMEOUT_MS,
      heartbeatMs: HEARTBEAT_MS,
    });
    console.log(`[figure] isolate at ${HEARTBEAT_MS}/${ELECTION_TIMEOUT_MS} ms: ${JSON.stringify(summary)}`);
  });
});
