// What one overhead run collects as its parts go (summary rows, load averages, figures,
// failures) and the helpers the parts share. The state is one object passed to every part,
// not module globals, so a part says what it reads and writes.
import type { StartedEtcdCluster } from '../../src/cluster/started-etcd-cluster.ts';
import type { OperationRecord } from '../../src/history/operation-record.ts';
import {
  summarizeLatencies,
  summarizeOperations,
  type LatencySummary,
} from '../../src/measure/latency-stats.ts';
import { RunClock } from '../../src/util/clock.ts';
import type { WorkloadResult } from '../../src/workload/run-workload.ts';
import { reportLoad, type LoadAverage, type SummaryRow } from '../lib/bench-output.ts';
import type { OverheadArgs } from './args.ts';

export interface OverheadRun {
  readonly args: OverheadArgs;
  /** One clock for every workload of the run. */
  readonly clock: RunClock;
  readonly rows: SummaryRow[];
  readonly loads: Record<string, LoadAverage>;
  readonly figures: Record<string, unknown>;
  /** Part name → the stack of the error that ended it. */
  readonly failures: Record<string, string>;
}

export const newOverheadRun = (args: OverheadArgs): OverheadRun => ({
  args,
  clock: new RunClock(),
  rows: [],
  loads: {},
  figures: {},
  failures: {},
});

/** Runs one part; a part that fails is reported and the others still run. */
export async function runPart(run: OverheadRun, name: string, part: () => Promise<void>): Promise<void> {
  run.loads[`${name} start`] = reportLoad(`before part ${name}`);
  try {
    await part();
  } catch (error) {
    run.failures[name] = (error as Error).stack ?? String(error);
    console.log(`part ${name} failed: ${(error as Error).message}`);
  }
}

/** The flagship experiment's workload (lab/leader-loss.yaml): what "write latency at rest" means there. */
export const FLAGSHIP_LOAD = { ratePerSecond: 200, clients: 4, keyCount: 1_000, valueBytes: 64 } as const;

export const scrape = (cluster: StartedEtcdCluster): Promise<string[]> =>
  Promise.all(cluster.members.map((m) => cluster.metrics(m, 10_000)));

export const okLatencies = (records: readonly OperationRecord[]): number[] =>
  records.filter((r) => r.outcome === 'ok').map((r) => r.endMs - r.startMs);

/** ok latencies of operations intended (startMs) inside [fromMs, toMs). */
export const latenciesIntended = (
  records: readonly OperationRecord[],
  fromMs: number,
  toMs: number,
): LatencySummary =>
  summarizeLatencies(okLatencies(records.filter((r) => r.startMs >= fromMs && r.startMs < toMs)));

/** How late the lab's open-loop scheduler sent operations after their intended time. */
const sendLag = (records: readonly OperationRecord[]): LatencySummary =>
  summarizeLatencies(records.map((r) => (r.sentMs ?? r.startMs) - r.startMs));

export function workloadFigures(run: WorkloadResult) {
  const summary = summarizeOperations(run.records, { fromMs: run.startedMs, toMs: run.endedMs + 1 });
  return {
    mode: run.mode,
    clients: run.clients,
    ratePerSecond: run.ratePerSecond ?? null,
    throughput: summary.throughput,
    outcomes: summary.outcomes,
    latency: summary.latency,
    sendLag: run.mode === 'open-loop' ? sendLag(run.records) : null,
    backlogged: run.backlogged,
  };
}

export const ms = (v: number | null | undefined): string =>
  v === null || v === undefined ? '?' : v.toFixed(1);
export const lat = (s: LatencySummary): string =>
  `p50 ${ms(s.p50)} p99 ${ms(s.p99)} mean ${ms(s.mean)} sd ${ms(s.stddev)} max ${ms(s.max)} ms (n=${s.count})`;
