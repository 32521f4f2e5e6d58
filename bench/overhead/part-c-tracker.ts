// Part c of the overhead benchmark: the leader tracker's cost (none / 10 ms / 20 ms polls,
// alternating), and a replay of the flagship experiment's pre-fault window (tracker at 20 ms
// right after start, then what the experiment runner does before it injects: leader look-ups
// and the host probe).
import { cpus } from 'node:os';
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import type { StartedEtcdCluster } from '../../src/cluster/started-etcd-cluster.ts';
import { probeHostCapabilities } from '../../src/faults/capabilities.ts';
import { summarizeLatencies } from '../../src/measure/latency-stats.ts';
import { LeaderTracker } from '../../src/measure/leader-tracker.ts';
import { sleep } from '../../src/util/clock.ts';
import { progress } from '../../src/util/log.ts';
import { runWorkload, type WorkloadResult } from '../../src/workload/run-workload.ts';
import { summaryRow } from '../lib/bench-output.ts';
import { serverStatsBetween, type ServerSideStats } from '../lib/server-metrics.ts';
import {
  FLAGSHIP_LOAD,
  lat,
  latenciesIntended,
  ms,
  okLatencies,
  scrape,
  type OverheadRun,
} from './run-state.ts';

interface WindowEvidence {
  readonly durationMs: number;
  readonly server: ServerSideStats;
  /** Share of all cores' time not idle. */
  readonly hostCpuBusy: number;
  /** CPU time of this process over the window, in cores (1 = one core fully busy). */
  readonly labProcessCpu: number;
  readonly eventLoopDelayP99Ms: number;
  readonly eventLoopDelayMaxMs: number;
}

function cpuTimes(): { busy: number; total: number } {
  let busy = 0;
  let total = 0;
  for (const { times } of cpus()) {
    const all = times.user + times.nice + times.sys + times.irq + times.idle;
    total += all;
    busy += all - times.idle;
  }
  return { busy, total };
}

/** Starts measuring a window; `close()` returns what etcd, the host and this process did in it. */
async function openWindow(cluster: StartedEtcdCluster, eventLoop: IntervalHistogram) {
  const metricsBefore = await scrape(cluster);
  const hostBefore = cpuTimes();
  const processBefore = process.cpuUsage();
  const began = performance.now();
  eventLoop.reset();
  eventLoop.enable();
  return {
    close: async (): Promise<WindowEvidence> => {
      const durationMs = performance.now() - began;
      const processUsed = process.cpuUsage(processBefore);
      const hostAfter = cpuTimes();
      const evidence = {
        durationMs,
        hostCpuBusy: (hostAfter.busy - hostBefore.busy) / (hostAfter.total - hostBefore.total),
        labProcessCpu: (processUsed.user + processUsed.system) / 1_000 / durationMs,
        eventLoopDelayP99Ms: eventLoop.percentile(99) / 1e6,
        eventLoopDelayMaxMs: eventLoop.max / 1e6,
      };
      eventLoop.disable();
      return { ...evidence, server: serverStatsBetween(metricsBefore, await scrape(cluster)) };
    },
  };
}

/**
 * The flagship run's timeline, without its kill: a fresh cluster, the tracker at 20 ms, the
 * flagship's load; at 4 s what the experiment runner does before it injects a leader fault —
 * it looks the leader up (once in runMethod, once when the fault resolves "leader") and, as
 * it passes no capabilities, the fault probes the host (sudo, ip netns, tc, iptables, cgroups).
 */
export async function flagshipReplay(run: OverheadRun, cluster: StartedEtcdCluster): Promise<void> {
  const FAULT_AT_MS = 4_000;
  const AFTER_MS = 3_000;
  progress('c: flagship replay (tracker 20 ms, 200/s, 4 clients, preparation at 4 s)');
  await cluster.waitForStableLeader();
  const tracker = new LeaderTracker(cluster, run.clock, { intervalMs: 20 }).start();
  const marks = { workloadStartMs: NaN, preparationStartMs: NaN, probeStartMs: NaN, preparationEndMs: NaN };
  // Who is slow while the probe runs: etcd (its own Put time), the machine (CPU), or the
  // lab's process (its event loop, where the workload's timers and callbacks run)?
  const eventLoop = monitorEventLoopDelay({ resolution: 5 });
  const evidence: Record<string, WindowEvidence> = {};
  let workload: WorkloadResult;
  try {
    let onStart: (startedMs: number) => void = () => undefined;
    const started = new Promise<number>((resolve) => (onStart = resolve));
    const workloadDone = runWorkload(cluster, {
      mode: 'open-loop',
      ...FLAGSHIP_LOAD,
      durationMs: FAULT_AT_MS + AFTER_MS,
      mix: { put: 1 },
      keyPrefix: 'overhead-flagship/',
      clock: run.clock,
      onStart,
    });
    const preparation = started.then(async (workloadStartMs) => {
      marks.workloadStartMs = workloadStartMs;
      await sleep(Math.max(0, workloadStartMs + 1_000 - run.clock.now()));
      let window = await openWindow(cluster, eventLoop);
      await sleep(Math.max(0, workloadStartMs + FAULT_AT_MS - run.clock.now()));
      evidence.settled = await window.close();
      marks.preparationStartMs = run.clock.now();
      await cluster.waitForStableLeader({ timeoutMs: 10_000 });
      await cluster.waitForStableLeader({ timeoutMs: 10_000 });
      window = await openWindow(cluster, eventLoop);
      marks.probeStartMs = run.clock.now();
      await probeHostCapabilities({ fresh: true });
      marks.preparationEndMs = run.clock.now();
      evidence.hostProbe = await window.close();
    });
    [workload] = await Promise.all([workloadDone, preparation]);
  } finally {
    await tracker.stop();
    eventLoop.disable();
  }
  const t0 = marks.workloadStartMs;
  const windows = {
    firstSecond: latenciesIntended(workload.records, t0, t0 + 1_000),
    settled: latenciesIntended(workload.records, t0 + 1_000, marks.preparationStartMs),
    leaderLookups: latenciesIntended(workload.records, marks.preparationStartMs, marks.probeStartMs),
    hostProbe: latenciesIntended(workload.records, marks.probeStartMs, marks.preparationEndMs),
    after: latenciesIntended(workload.records, marks.preparationEndMs, Infinity),
    wholeBaselineAsReported: latenciesIntended(workload.records, t0, marks.preparationEndMs),
  };
  const probeMs = marks.preparationEndMs - marks.probeStartMs;
  console.log('\nc. flagship replay, write latency by when the write was due:');
  for (const [name, summary] of Object.entries(windows)) console.log(`  ${name.padEnd(24)} ${lat(summary)}`);
  console.log(
    `  leader look-ups took ${ms(marks.probeStartMs - marks.preparationStartMs)} ms, host capability probe ${ms(probeMs)} ms`,
  );
  for (const [name, e] of Object.entries(evidence)) {
    console.log(
      `  ${name.padEnd(9)} (${e.durationMs.toFixed(0)} ms): etcd's own Put mean ${ms(e.server.putMeanMs)} ms, host CPU busy ${(100 * e.hostCpuBusy).toFixed(0)}%, ` +
        `lab process CPU ${(100 * e.labProcessCpu).toFixed(0)}% of a core, event-loop delay p99 ${ms(e.eventLoopDelayP99Ms)} max ${ms(e.eventLoopDelayMaxMs)} ms`,
    );
  }
  run.rows.push(
    summaryRow(
      'c',
      'flagship replay: p99 first 1 s vs settled, ms',
      windows.firstSecond.p99,
      windows.settled.p99,
      'warm-up',
    ),
    summaryRow(
      'c',
      'flagship replay: p99 during host probe vs settled, ms',
      windows.hostProbe.p99,
      windows.settled.p99,
      `probe ${probeMs.toFixed(0)} ms`,
    ),
    summaryRow(
      'c',
      'flagship replay: p99 during leader look-ups vs settled, ms',
      windows.leaderLookups.p99,
      windows.settled.p99,
    ),
    summaryRow(
      'c',
      'flagship replay: p99 baseline incl. preparation vs settled, ms',
      windows.wholeBaselineAsReported.p99,
      windows.settled.p99,
      'as run-experiment reports',
    ),
  );
  run.rows.push(
    summaryRow(
      'c',
      "flagship replay: etcd's own Put mean, probe vs settled, ms",
      evidence.hostProbe?.server.putMeanMs,
      evidence.settled?.server.putMeanMs,
    ),
    summaryRow(
      'c',
      'flagship replay: event-loop delay p99, probe vs settled, ms',
      evidence.hostProbe?.eventLoopDelayP99Ms,
      evidence.settled?.eventLoopDelayP99Ms,
    ),
  );
  run.figures.flagshipReplay = { marks, probeMs, windows, evidence, trackerPolls: tracker.polls };
}

export async function trackerCost(run: OverheadRun, cluster: StartedEtcdCluster): Promise<void> {
  const INTERVALS = [null, 10, 20] as const; // null: no tracker
  const latencies = new Map<number | null, number[]>(INTERVALS.map((i) => [i, []]));
  const polls = new Map<number | null, number>();
  for (let round = 1; round <= run.args.trackerRounds; round++) {
    // Alternating A/B/C, A/B/C…, so a drift in the machine's load falls on every condition alike.
    for (const intervalMs of INTERVALS) {
      progress(`c: round ${round}, tracker ${intervalMs === null ? 'off' : `every ${intervalMs} ms`}`);
      const tracker =
        intervalMs === null ? undefined : new LeaderTracker(cluster, run.clock, { intervalMs }).start();
      const began = performance.now();
      let result: WorkloadResult;
      try {
        result = await runWorkload(cluster, {
          mode: 'open-loop',
          ...FLAGSHIP_LOAD,
          durationMs: run.args.trackerSeconds * 1_000,
          mix: { put: 1 },
          keyPrefix: 'overhead-c/',
          clock: run.clock,
        });
      } finally {
        await tracker?.stop();
      }
      latencies.get(intervalMs)?.push(...okLatencies(result.records));
      if (tracker)
        polls.set(
          intervalMs,
          (polls.get(intervalMs) ?? 0) + tracker.polls / ((performance.now() - began) / 1_000),
        );
    }
  }
  const summaries = new Map(
    [...latencies].map(([interval, samples]) => [interval, summarizeLatencies(samples)]),
  );
  const off = summaries.get(null);
  console.log(
    `\nc. tracker cost, ${run.args.trackerRounds} rounds × ${run.args.trackerSeconds} s each, flagship load (200/s, 4 clients):`,
  );
  for (const [interval, summary] of summaries) {
    const pollRate = polls.get(interval);
    console.log(
      `  tracker ${interval === null ? 'off   ' : `${interval} ms`}: ${lat(summary)}` +
        (pollRate === undefined ? '' : `; ${(pollRate / run.args.trackerRounds).toFixed(0)} status calls/s`),
    );
    if (interval !== null) {
      run.rows.push(
        summaryRow('c', `tracker ${interval} ms vs off: write p50, ms`, summary.p50, off?.p50),
        summaryRow('c', `tracker ${interval} ms vs off: write p99, ms`, summary.p99, off?.p99),
      );
    }
  }
  run.figures.trackerCost = {
    rounds: run.args.trackerRounds,
    secondsPerRun: run.args.trackerSeconds,
    byInterval: Object.fromEntries([...summaries].map(([i, s]) => [i === null ? 'off' : `${i}ms`, s])),
    statusCallsPerSecond: Object.fromEntries(
      [...polls].map(([i, p]) => [`${i}ms`, p / run.args.trackerRounds]),
    ),
  };
}
