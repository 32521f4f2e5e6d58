// Election time after the leader is lost (SIGKILL, cgroup freeze, network isolation) on a
// 3-member cluster at heartbeat/election timeout 10/100 ms and 100/1000 ms, next to Raft's
// model; then election trials per minute reusing one cluster vs a fresh cluster per trial.
// Usage: npm run bench -- elections [trials at 10/100] [trials at 100/1000] [fresh-cluster trials]
// (each an integer ≥ 0; 0 skips that part)
import { cpus } from 'node:os';
import { EtcdCluster } from '../src/cluster/etcd-cluster.ts';
import { ETCD_DEFAULTS } from '../src/cluster/etcd-options.ts';
import { probeHostCapabilities } from '../src/faults/capabilities.ts';
import { prepareHost } from '../src/host/prepare-host.ts';
import { summarizeElectionTrials, type Distribution } from '../src/measure/election-summary.ts';
import type { LeaderFault } from '../src/measure/election-trial.ts';
import { RunClock } from '../src/util/clock.ts';
import { reportLoad, writeBenchJson } from './lib/bench-output.ts';
import { trialsReusingCluster, trialsWithFreshClusters } from './lib/election-throughput.ts';
import { reportGoal } from './lib/goals.ts';

// Issue #17's goals for trial turnaround and leader-detection precision.
const GOAL_TRIALS_PER_MINUTE = 30;
const GOAL_DETECTION_ERROR_MS = 10;

/** A trial count from the command line, checked before anything starts; 0 skips that part. */
function trialCount(index: number, name: string, fallback: number): number {
  const text = process.argv[index];
  const value = text === undefined ? fallback : Number(text);
  if (!Number.isInteger(value) || value < 0) {
    console.error(`elections: ${name} must be an integer ≥ 0 (0 skips that part), got "${String(text)}"`);
    process.exit(2);
  }
  return value;
}
const fastTrials = trialCount(2, 'trials at 10/100', 10);
const slowTrials = trialCount(3, 'trials at 100/1000', Math.ceil(fastTrials / 2));
const freshTrials = trialCount(4, 'fresh-cluster trials', 3);
const FAULTS: readonly LeaderFault[] = ['kill', 'pause', 'isolate'];
const TIMINGS = [
  { heartbeatMs: 10, electionTimeoutMs: 100, trials: fastTrials },
  // etcd's defaults
  {
    heartbeatMs: ETCD_DEFAULTS.heartbeatMs,
    electionTimeoutMs: ETCD_DEFAULTS.electionTimeoutMs,
    trials: slowTrials,
  },
] as const;

await prepareHost(); // image build / pull is a one-time cost, not part of any figure
const caps = await probeHostCapabilities();
const clock = new RunClock();

const ms = (v: number | null) => (v === null ? '?' : v.toFixed(0));
const dist = (d: Distribution) => `${ms(d.min)}/${ms(d.median)}/${ms(d.p95)}/${ms(d.max)}`;
const pct = (v: number | null) => (v === null ? '?' : `${(100 * v).toFixed(0)}%`);

const benchStartedAt = new Date().toISOString();
const loadAtStart = reportLoad('start');
/** What the result file keeps: per timing and fault, the summary and the trials themselves. */
const parts: Record<string, unknown>[] = [];
let freshPerMinuteFigure: number | undefined;
let environment: Record<string, unknown> = {};

console.log('times in ms after the fault, as min/median/p95/max');
let reusePerMinute: number | undefined;
for (const timing of TIMINGS) {
  const { heartbeatMs, electionTimeoutMs, trials } = timing;
  if (trials === 0) continue; // no cluster for a part that was asked for no trials
  const startedAt = performance.now();
  await using cluster = await new EtcdCluster()
    .withMembers(3)
    .withEtcdOptions({ heartbeatMs, electionTimeoutMs })
    .start();
  const startMs = performance.now() - startedAt;
  environment = cluster.describe();
  for (const fault of FAULTS) {
    const { rate, results } = await trialsReusingCluster(cluster, { trials, fault, clock, caps });
    const s = summarizeElectionTrials(results, { electionTimeoutMs, heartbeatMs });
    const perMinute = rate.perMinute;
    parts.push({
      heartbeatMs,
      electionTimeoutMs,
      fault,
      trialsPerMinute: perMinute,
      summary: s,
      trials: results,
    });
    if (fault === 'kill' && heartbeatMs === 10) reusePerMinute = perMinute;
    if (heartbeatMs === 10) {
      reportGoal({
        what: `election trials per minute, ${fault}, HB/ET 10/100, one cluster reused`,
        goal: `≥ ${GOAL_TRIALS_PER_MINUTE}`,
        measured: `${perMinute.toFixed(1)} (${results.length} trials)`,
        met: perMinute >= GOAL_TRIALS_PER_MINUTE,
      });
      const error = s.logStreamError.median;
      const sources = [...new Set(results.map((t) => t.logStreamSource ?? 'docker'))].join(' and ');
      reportGoal({
        what: `leader detection error (streamed "elected" line: arrival − member's timestamp), ${fault}, HB/ET 10/100, median`,
        goal: `≤ ${GOAL_DETECTION_ERROR_MS} ms`,
        measured:
          `${ms(error)} ms (p95 ${ms(s.logStreamError.p95)} ms, ${s.logStreamError.count} trials, lines from ${sources}; ` +
          `status-poll tracker every 10 ms: median ${ms(s.trackerError.median)} ms)`,
        met: error === null ? undefined : Math.abs(error) <= GOAL_DETECTION_ERROR_MS,
      });
    }
    console.log(
      [
        `${fault.padEnd(7)} HB/ET ${heartbeatMs}/${electionTimeoutMs}, ${results.length} trials:`,
        `  campaign ${dist(s.firstCampaign)} | elected (logs) ${dist(s.logElected)} | majority ${dist(s.majorityAgrees)} | first write ${dist(s.firstWriteOk)}`,
        `  tracker detection ${dist(s.trackerDetection)} | tracker − logs ${dist(s.trackerError)} | streamed log arrival − its timestamp ${dist(s.logStreamError)} | fault spread ${dist(s.faultSpread)}`,
        `  model: window [${s.model.windowMs[0]}, ${s.model.windowMs[1]}), first-timer median ${ms(s.model.firstTimeoutMedianMs)} (from the fault ${ms(s.model.medianAfterFaultMs)}), mean ${ms(s.model.firstTimeoutMeanMs)} for k=${s.model.survivors}` +
          ` | campaign inside ${pct(s.campaignInsideWindow)}, elected inside ${pct(s.electedInsideWindow)}`,
        `  /metrics: ${s.cleanElections}/${s.trials} clean (each survivor saw 1 leader change), ${s.survivorsHaveLeader}/${s.trials} with has_leader=1 on all survivors`,
        `  turnaround per trial: prepare ${dist(s.turnaround.prepare)} | election ${dist(s.turnaround.election)} | record ${dist(s.turnaround.record)} | restore ${dist(s.turnaround.restore)}`,
        `  ${perMinute.toFixed(1)} trials/min on one cluster (its start, ${(startMs / 1_000).toFixed(1)} s, not counted)`,
      ].join('\n'),
    );
  }
}

// A fresh cluster per trial: start, one kill trial, dispose — what reuse saves.
if (freshTrials > 0) {
  const { perMinute: freshPerMinute } = await trialsWithFreshClusters(
    { heartbeatMs: 10, electionTimeoutMs: 100 },
    { trials: freshTrials, fault: 'kill', clock },
  );
  console.log(
    `trials per minute (kill, HB/ET 10/100): reusing one cluster ${reusePerMinute?.toFixed(1) ?? '?'}, ` +
      `fresh cluster per trial ${freshPerMinute.toFixed(1)} (${freshTrials} trials, start and dispose included); ` +
      `reuse is ${reusePerMinute === undefined ? '?' : (reusePerMinute / freshPerMinute).toFixed(1)}× faster`,
  );
  freshPerMinuteFigure = freshPerMinute;
}

const path = writeBenchJson('elections', {
  bench: 'elections',
  startedAt: benchStartedAt,
  args: { fastTrials, slowTrials, freshTrials },
  cpus: cpus().length,
  loadAverage: { start: loadAtStart, end: reportLoad('end') },
  environment,
  freshClusterTrialsPerMinute: freshPerMinuteFigure ?? null,
  parts,
});
console.log(`\nfigures written to ${path}`);
