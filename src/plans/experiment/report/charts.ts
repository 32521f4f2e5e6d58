import type { TopLevelSpec } from 'vega-lite';
import { renderChart } from '../../../report/render-chart.ts';
import type { ExperimentResult } from '../run-experiment.ts';
import { leaseElectionByTtl } from '../run-lease-election.ts';
import { electionMs, tookLeader } from '../hypothesis.ts';
import { runsInColumn, type ComparedRun, type VersionComparison } from './version-comparison.ts';

const seconds = (ms: number, originMs: number) => Math.round(ms - originMs) / 1000;

/** Fault windows as shaded bands, on the same time axis as the data (seconds since the workload started). */
function faultBands(result: ExperimentResult, originMs: number) {
  return result.steps.map((s) => ({
    from: seconds(s.fault.injectedAtMs, originMs),
    to: seconds(Math.max(s.window.toMs, s.fault.healedAtMs ?? s.window.toMs), originMs),
    fault: `${s.step.fault} ${s.fault.targets.join(',')}`,
  }));
}

/** Latency (p50, p99 per 100 ms bucket) and failed/indeterminate operations over time, fault windows shaded. */
export function latencyChartSpec(result: ExperimentResult): TopLevelSpec | undefined {
  const timeline = result.workload?.timeline;
  const origin = timeline?.[0]?.startMs;
  if (!timeline || origin === undefined) return undefined;
  const latency = timeline.flatMap((b) => [
    ...(b.p50 === null ? [] : [{ t: seconds(b.startMs, origin), ms: b.p50, series: 'p50' }]),
    ...(b.p99 === null ? [] : [{ t: seconds(b.startMs, origin), ms: b.p99, series: 'p99' }]),
  ]);
  const errors = timeline.flatMap((b) => [
    { t: seconds(b.startMs, origin), count: b.failed, series: 'failed' },
    { t: seconds(b.startMs, origin), count: b.indeterminate, series: 'indeterminate' },
  ]);
  const end = seconds((timeline.at(-1)?.startMs ?? origin) + 100, origin);
  const x = {
    field: 't',
    type: 'quantitative' as const,
    title: 'seconds since the workload started',
    scale: { domain: [0, end], nice: false },
  };
  const bands = {
    data: { values: faultBands(result, origin) },
    mark: { type: 'rect' as const, opacity: 0.15, color: '#d62728' },
    encoding: {
      x: { field: 'from', type: 'quantitative' as const, scale: { domain: [0, end], nice: false } },
      x2: { field: 'to' },
    },
  };
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: `${result.experiment.title}: latency as callers saw it (faults shaded)`,
    resolve: { scale: { color: 'independent' } },
    vconcat: [
      {
        width: 720,
        height: 240,
        layer: [
          bands,
          {
            data: { values: latency },
            mark: { type: 'line', interpolate: 'step-after' },
            encoding: {
              x,
              y: {
                field: 'ms',
                type: 'quantitative',
                title: 'latency (ms)',
                scale: { type: 'symlog' },
              },
              color: { field: 'series', type: 'nominal', title: 'latency' },
            },
          },
        ],
      },
      {
        width: 720,
        height: 100,
        layer: [
          bands,
          {
            data: { values: errors },
            mark: { type: 'bar' },
            encoding: {
              x,
              y: { field: 'count', type: 'quantitative', title: 'errors per 100 ms', stack: true },
              color: {
                field: 'series',
                type: 'nominal',
                title: 'operations',
                scale: { range: ['#d62728', '#ff7f0e'] },
              },
            },
          },
        ],
      },
    ],
  };
}

/**
 * Whom each member follows over time, one row per member: a bar per stretch of time with
 * the same leader and term, labelled with the term. Shows who led, who lost contact (no
 * answer), elections (no leader) and term changes at a glance.
 */
export function leaderChartSpec(result: ExperimentResult): TopLevelSpec | undefined {
  const observations = result.leaderObservations;
  const origin = result.workload?.timeline[0]?.startMs ?? observations[0]?.atMs;
  if (origin === undefined || observations.length === 0) return undefined;
  const endMs = Math.max(
    ...observations.map((o) => o.atMs),
    result.workload?.timeline.at(-1)?.startMs ?? origin,
  );
  const names = new Map(Object.entries((result.environment.memberNames ?? {}) as Record<string, string>));
  const segments: { member: string; from: number; to: number; follows: string; term: string }[] = [];
  for (const member of [...new Set(observations.map((o) => o.member))].sort()) {
    const own = observations.filter((o) => o.member === member).sort((p, q) => p.atMs - q.atMs);
    own.forEach((o, i) => {
      const follows =
        o.leaderId === undefined
          ? 'no answer'
          : o.leaderId === '0'
            ? 'no leader'
            : `leader ${names.get(o.leaderId) ?? o.leaderId}`;
      segments.push({
        member,
        from: seconds(Math.max(o.atMs, origin), origin),
        to: seconds(own[i + 1]?.atMs ?? endMs, origin),
        follows,
        term: o.term === undefined ? '' : `term ${o.term}`,
      });
    });
  }
  const x = {
    type: 'quantitative' as const,
    title: 'seconds since the workload started',
    scale: { domain: [0, seconds(endMs, origin)], nice: false },
  };
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: `${result.experiment.title}: whom each member follows (fault shaded)`,
    width: 720,
    height: { step: 34 },
    layer: [
      {
        data: { values: segments },
        mark: { type: 'bar', height: { band: 0.7 } },
        encoding: {
          x: { field: 'from', ...x },
          x2: { field: 'to' },
          y: { field: 'member', type: 'nominal', title: null },
          color: { field: 'follows', type: 'nominal', title: 'member follows' },
        },
      },
      {
        data: { values: segments },
        mark: { type: 'text', align: 'left', dx: 3, color: 'black', fontSize: 10 },
        encoding: {
          x: { field: 'from', ...x },
          y: { field: 'member', type: 'nominal' },
          text: { field: 'term' },
        },
      },
      {
        data: { values: faultBands(result, origin) },
        mark: { type: 'rect', opacity: 0.15, color: '#d62728' },
        encoding: { x: { field: 'from', ...x }, x2: { field: 'to' } },
      },
    ],
  };
}

/**
 * Time to a new leader after every fault that took the leader, split by the rounds each
 * election took (from the members' logs); only with at least 3 such faults.
 */
export function experimentElectionChartSpec(result: ExperimentResult): TopLevelSpec | undefined {
  const elections = result.steps
    .filter((s) => tookLeader(s) && s.leaderChange?.majorityAgreesAtMs !== undefined)
    .map((s) => ({ electionMs: electionMs(s), rounds: s.election?.rounds.length }));
  if (elections.length < 3) return undefined;
  return electionChartSpec(elections, Number(result.environment.electionTimeoutMs), {
    title: `${result.experiment.title}: time to a new leader by rounds (${elections.length} faults)`,
  });
}

/** One election for {@link electionChartSpec}: time to a new leader and the rounds (terms) it took. */
export interface ElectionSample {
  readonly electionMs: number;
  /** Terms campaigned for (`ElectionExplanation.rounds.length`); undefined when the logs did not say. */
  readonly rounds: number | undefined;
}

const roundsLabel = (rounds: number | undefined) =>
  rounds === undefined ? 'unknown' : `${rounds} round${rounds === 1 ? '' : 's'}`;

/**
 * Time to a new leader split by the number of rounds the election took: a histogram stacked by
 * rounds over a strip of every election, one row per round count, with the election timeout and
 * twice it marked (Raft's window for a one-round election is [ET, 2·ET) after the last heartbeat).
 * Undefined without elections.
 */
export function electionChartSpec(
  elections: readonly ElectionSample[],
  electionTimeoutMs: number,
  options: { readonly title?: string } = {},
): TopLevelSpec | undefined {
  if (elections.length === 0) return undefined;
  const et = electionTimeoutMs;
  const values = elections.map((e) => ({
    ms: e.electionMs,
    rounds: roundsLabel(e.rounds),
    order: e.rounds ?? Number.MAX_SAFE_INTEGER,
  }));
  const labels = [...new Map(values.map((v) => [v.rounds, v.order])).entries()]
    .sort((a, b) => a[1] - b[1])
    .map(([label]) => label);
  const binStep = Math.max(5, Math.round(et / 20));
  const extentMs = Math.ceil(Math.max(2 * et, ...values.map((v) => v.ms)) / binStep + 1) * binStep;
  // Ticks every half election timeout: the bins' own edges would crowd the axis.
  const tickStep = et / 2;
  const ticks = Array.from({ length: Math.floor(extentMs / tickStep) + 1 }, (_, i) => i * tickStep);
  const x = {
    type: 'quantitative' as const,
    scale: { domain: [0, extentMs], nice: false },
    axis: { values: ticks },
  };
  const color = {
    field: 'rounds',
    type: 'ordinal' as const,
    title: 'election took',
    scale: { domain: labels, scheme: 'category10' },
    sort: labels,
  };
  const rules = {
    mark: { type: 'rule' as const, strokeDash: [4, 4], color: '#555' },
    encoding: { x: { field: 'ms', ...x } },
  };
  const boundsData = {
    values: [
      { ms: et, label: 'ET' },
      { ms: 2 * et, label: '2·ET' },
    ],
  };
  const multiRound = elections.filter((e) => (e.rounds ?? 0) > 1).length;
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: {
      text: options.title ?? 'Time to a new leader, by rounds (terms) the election took',
      subtitle: `${elections.length} elections, ${multiRound} in more than one round; dashed: election timeout (ET ${et} ms) and twice it`,
    },
    vconcat: [
      {
        width: 560,
        height: 180,
        layer: [
          {
            data: { values },
            mark: { type: 'bar' },
            encoding: {
              x: { field: 'ms', ...x, bin: { step: binStep, extent: [0, extentMs] }, title: null },
              y: { aggregate: 'count', type: 'quantitative', title: 'elections', stack: true },
              color,
              order: { field: 'order', type: 'quantitative' },
            },
          },
          { data: boundsData, ...rules },
          {
            data: boundsData,
            mark: { type: 'text', align: 'left', baseline: 'top', dx: 3, y: 2, color: '#555' },
            encoding: { x: { field: 'ms', ...x }, text: { field: 'label' } },
          },
        ],
      },
      {
        width: 560,
        height: { step: 26 },
        layer: [
          {
            data: { values },
            mark: { type: 'tick', thickness: 2, opacity: 0.8 },
            encoding: {
              x: { field: 'ms', ...x, title: 'fault → new leader (ms)' },
              y: { field: 'rounds', type: 'ordinal', sort: labels, title: null },
              color,
            },
          },
          { data: boundsData, ...rules },
        ],
      },
    ],
  };
}

/** Lease-election experiments: failover time and keep-alive load against the TTL. */
export function leaseTradeOffSpec(result: ExperimentResult): TopLevelSpec | undefined {
  if (!result.leaseElection || result.leaseElection.length === 0) return undefined;
  const rows = leaseElectionByTtl(result.leaseElection);
  const x = { field: 'ttlSeconds', type: 'quantitative' as const, title: 'session lease TTL (s)' };
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: `${result.experiment.title}: failover vs keep-alive load`,
    hconcat: [
      {
        width: 300,
        height: 200,
        data: { values: rows.map((r) => ({ ...r, failoverS: r.failoverMs / 1000 })) },
        mark: { type: 'line', point: true },
        encoding: { x, y: { field: 'failoverS', type: 'quantitative', title: 'failover (s)' } },
      },
      {
        width: 300,
        height: 200,
        data: { values: rows },
        mark: { type: 'line', point: true, color: '#d62728' },
        encoding: {
          x,
          y: { field: 'keepAlivesPerSecond', type: 'quantitative', title: 'lease renewals per second' },
        },
      },
    ],
  };
}

/** Renders every chart that has data; returns the files written. */
export async function writeCharts(dir: string, result: ExperimentResult): Promise<string[]> {
  const charts: [string, TopLevelSpec | undefined][] = [
    ['latency', latencyChartSpec(result)],
    ['leader-term', leaderChartSpec(result)],
    ['election', experimentElectionChartSpec(result)],
    ['lease-trade-off', leaseTradeOffSpec(result)],
  ];
  const files: string[] = [];
  for (const [name, spec] of charts) if (spec) files.push(...(await renderChart(spec, `${dir}/${name}`)));
  return files;
}

/**
 * Every election of every run, one strip per version, coloured by the rounds it took: how the
 * versions' election-time distributions overlay. Undefined when no run took a leader.
 */
export function versionElectionChartSpec(
  comparison: VersionComparison,
  runs: readonly ComparedRun[],
): TopLevelSpec | undefined {
  const values = comparison.columns.flatMap((c) =>
    runsInColumn(c, runs).flatMap((r) =>
      r.result.steps
        .filter((s) => tookLeader(s) && Number.isFinite(electionMs(s)))
        .map((s) => {
          const rounds = s.election?.rounds.length;
          return {
            version: `etcd ${c.label}`,
            ms: electionMs(s),
            rounds: rounds === undefined ? 'unknown' : `${rounds} round${rounds === 1 ? '' : 's'}`,
          };
        }),
    ),
  );
  if (values.length === 0) return undefined;
  const order = comparison.columns.map((c) => `etcd ${c.label}`);
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: {
      text: `${comparison.title}: time to a new leader by etcd version`,
      subtitle: `${values.length} elections; colour: rounds (terms) the election took, from the members' logs`,
    },
    width: 560,
    height: { step: 34 },
    data: { values },
    mark: { type: 'tick', thickness: 2, opacity: 0.8 },
    encoding: {
      x: { field: 'ms', type: 'quantitative', title: 'fault → new leader (ms)' },
      y: { field: 'version', type: 'ordinal', sort: order, title: null },
      color: { field: 'rounds', type: 'ordinal', title: 'election took', scale: { scheme: 'category10' } },
    },
  };
}
