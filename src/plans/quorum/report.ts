/**
 * Results of a quorum-claims run on disk: the results envelope (result.json with everything,
 * junit.xml with one test case per claim, report.md with claims, matrix table and grid, latency,
 * availability), matrix.json (the cells), history.jsonl (every put and get of the cells) and
 * Vega-Lite charts. Also the model's unavailability-vs-p chart for
 * `etcd-lab quorum --out`.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { TopLevelSpec } from 'vega-lite';
import { saveHistory } from '../../history/history.ts';
import { renderChart } from '../../report/render-chart.ts';
import {
  checksTable,
  runLine,
  verdictLine,
  writeJunitAndReport,
  writeResultJson,
} from '../../run/results-envelope.ts';
import { MECHANISMS, type MatrixCell } from './matrix.ts';
import { renderMatrixGrid, renderMatrixTable } from './matrix-render.ts';
import { formatProbability, unavailability } from './model.ts';
import type { QuorumClaimsResult } from './run-quorum-claims.ts';
import type { QuorumMatrixResult } from './run-matrix.ts';

const ms = (x: number | null | undefined): string => (x === null || x === undefined ? '–' : x.toFixed(0));
const fraction = (x: number): string => formatProbability(Math.min(1, Math.max(0, x)));

export function renderQuorumClaimsReport(result: QuorumClaimsResult, charts: readonly string[]): string {
  const verdict = verdictLine(result, {
    held: '**HELD** — every cell matched the model and every claim held',
    deviated: '**DEVIATED** — observation and model disagree somewhere (see below)',
    inconclusive: '**INCONCLUSIVE** — a claim could not be decided (see below)',
  });
  const lines = [
    `# ${result.title}`,
    '',
    `Verdict: ${verdict}`,
    '',
    runLine(result),
    '',
    '## Claims',
    '',
    ...checksTable(result.checks, 'claim'),
    '',
  ];
  const m = result.matrix;
  if (m !== null) {
    const s = m.settings;
    const env = m.clusters[0]?.environment ?? {};
    lines.push(
      '## The matrix',
      '',
      `etcd ${String(env.etcdVersion)} (${String(env.image)}), heartbeat ${s.heartbeatMs} ms, election timeout ${s.electionTimeoutMs} ms, pre-vote ${String(s.preVote)}; ` +
        `each question may take ${s.observeMs} ms to be answered, each attempt ${s.callTimeoutMs} ms. ` +
        'Members are taken down leader first, then followers in name order; `kill` is SIGKILL (restarted with their data to heal), ' +
        '`isolate` cuts each of them off from every other member (iptables DROP on the receiving side) while they still answer clients. ' +
        'A leader exists when a member says it leads and a majority of all members name it in its term, on two polls in a row.',
      '',
      ...MECHANISMS.filter((mech) => m.cells.some((c) => c.mechanism === mech)).flatMap((mech) => [
        `### ${mech}: writes acknowledged (W) or refused (·); ! = differs from the model`,
        '',
        renderMatrixGrid(m.cells, mech),
        '',
      ]),
      '### Every cell',
      '',
      renderMatrixTable(m.cells),
      '',
      '| cluster | wall time (s) | acknowledged writes | left behind by faults |',
      '| --- | --- | --- | --- |',
      ...m.clusters.map(
        (c) =>
          `| ${c.members} members | ${(c.wallTimeMs / 1000).toFixed(1)} | ${c.acknowledgedWrites?.message ?? 'not checked'} | ` +
          `${c.faultResidue.length === 0 ? 'nothing' : c.faultResidue.map((r) => `${r.member}: ${r.kind}`).join(', ')} |`,
      ),
      '',
    );
    if (m.latency.length > 0 && s.latencyLoad !== null) {
      const load = s.latencyLoad;
      lines.push(
        '## Write latency by cluster size',
        '',
        `Open loop ${load.ratePerSecond} writes/s from ${load.clients} clients for ${load.durationMs} ms (latency from the intended send time); ` +
          `closed loop ${load.closedLoopClients} clients for ${load.durationMs} ms (throughput). All members share this machine's CPUs, ` +
          'so a larger cluster also means more processes competing for them.',
        '',
        '| members | p50 ms | p99 ms | max ms | failed | closed-loop writes/s | closed-loop p50 ms |',
        '| --- | --- | --- | --- | --- | --- | --- |',
        ...m.latency.map(
          (l) =>
            `| ${l.members} | ${l.openLoop.latency.p50?.toFixed(2) ?? '–'} | ${l.openLoop.latency.p99?.toFixed(2) ?? '–'} | ${l.openLoop.latency.max?.toFixed(1) ?? '–'} | ` +
            `${l.openLoop.outcomes.fail + l.openLoop.outcomes.indeterminate} | ${ms(l.closedLoop.throughput)} | ${l.closedLoop.latency.p50?.toFixed(2) ?? '–'} |`,
        ),
        '',
      );
    }
  }
  const a = result.availability;
  if (a !== null) {
    const row = (name: string, f: { fraction: number; interval: { low: number; high: number } }): string =>
      `| ${name} | ${fraction(f.fraction)} | ${fraction(f.interval.low)}..${fraction(f.interval.high)} |`;
    lines.push(
      '## Availability under random failures (time-compressed)',
      '',
      `${a.members} members; each fails (${a.faultMechanism}) and is repaired with exponential times, MTTF ${a.mttfMs / 1000} s, MTTR ${a.mttrMs / 1000} s ` +
        `(p = MTTR/(MTTF+MTTR) = ${a.p.toFixed(3)}), for ${a.durationMs / 1000} s, seed ${a.seed}; ${a.failures} member outages; ` +
        `probe every ${(a.durationMs / Math.max(1, a.probed.samples)).toFixed(0)} ms on average (${a.probed.samples} samples). ` +
        `95% intervals: ${a.probed.interval.method}.`,
      '',
      '| time without quorum | fraction | 95% interval |',
      '| --- | --- | --- |',
      `| model, p = ${a.p.toFixed(3)} | ${fraction(a.predicted)} | – |`,
      row('schedule as planned', a.planned),
      row('schedule as executed (kill → restart returned)', a.executed),
      `| model at the executed per-member down fraction ${a.executed.memberDownFraction.toFixed(3)} | ${fraction(a.executed.predictedAtObservedP)} | – |`,
      row('probed on the cluster (no leader with a majority)', a.probed),
      '',
    );
  }
  if (charts.length > 0) lines.push('## Charts', '', ...charts.map((c) => `![${c}](${c})`), '');
  return lines.join('\n');
}

/** Heat map of n × k per mechanism, coloured by whether writes were acknowledged; mismatches marked ✗. */
export function matrixChartSpec(cells: readonly MatrixCell[]): TopLevelSpec {
  const values = cells.map((c) => ({
    mechanism: c.mechanism,
    n: c.members,
    k: c.down,
    writes: c.observation === null ? 'n/a' : c.observation.write.ok ? 'acknowledged' : 'refused',
    mark: c.verdict === 'mismatch' ? '✗' : c.verdict === 'match' ? '✓' : '',
  }));
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: 'Writes with k of n members down (✓ matches the model, ✗ differs)',
    data: { values },
    facet: { column: { field: 'mechanism', type: 'nominal', title: null, sort: [...MECHANISMS] } },
    spec: {
      width: 240,
      height: 240,
      encoding: {
        x: { field: 'k', type: 'ordinal', title: 'members down (k)' },
        y: { field: 'n', type: 'ordinal', title: 'cluster size (n)', sort: 'descending' },
      },
      layer: [
        {
          mark: 'rect',
          encoding: {
            color: {
              field: 'writes',
              type: 'nominal',
              title: 'writes',
              scale: { domain: ['acknowledged', 'refused', 'n/a'], range: ['#2ca02c', '#d62728', '#cccccc'] },
            },
          },
        },
        { mark: { type: 'text', fontSize: 14, color: 'white' }, encoding: { text: { field: 'mark' } } },
      ],
    },
  };
}

/** Write latency p50/p99 and closed-loop throughput by cluster size. */
export function latencyChartSpec(latency: QuorumMatrixResult['latency']): TopLevelSpec {
  const points = latency.flatMap((l) => [
    ...(l.openLoop.latency.p50 === null ? [] : [{ n: l.members, ms: l.openLoop.latency.p50, series: 'p50' }]),
    ...(l.openLoop.latency.p99 === null ? [] : [{ n: l.members, ms: l.openLoop.latency.p99, series: 'p99' }]),
  ]);
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: 'Writes by cluster size, same load',
    hconcat: [
      {
        width: 300,
        height: 220,
        data: { values: points },
        mark: { type: 'line', point: true },
        encoding: {
          x: { field: 'n', type: 'ordinal', title: 'members' },
          y: { field: 'ms', type: 'quantitative', title: 'write latency, open loop (ms)' },
          color: { field: 'series', type: 'nominal', title: null },
        },
      },
      {
        width: 300,
        height: 220,
        data: { values: latency.map((l) => ({ n: l.members, throughput: l.closedLoop.throughput ?? 0 })) },
        mark: 'bar',
        encoding: {
          x: { field: 'n', type: 'ordinal', title: 'members' },
          y: { field: 'throughput', type: 'quantitative', title: 'writes/s, closed loop' },
        },
      },
    ],
  };
}

/** Probabilities for the model chart: 1e-4 … 0.5, five points per decade. */
export function chartProbabilities(): number[] {
  const ps: number[] = [];
  for (let exponent = -4; exponent < 0; exponent += 0.2) {
    const p = Number((10 ** exponent).toPrecision(3));
    if (p <= 0.5) ps.push(p);
  }
  return [...ps, 0.5];
}

/** The model: unavailability against per-member down probability p, one line per size (log–log). */
export function unavailabilityChartSpec(sizes: readonly number[], ps: readonly number[]): TopLevelSpec {
  const values = sizes.flatMap((n) =>
    ps.map((p) => ({ p, n: `${n}`, unavailability: unavailability(n, p), even: n % 2 === 0 })),
  );
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: 'Cluster unavailability vs member down probability (even sizes dashed)',
    width: 560,
    height: 360,
    data: { values },
    mark: { type: 'line' },
    encoding: {
      x: {
        field: 'p',
        type: 'quantitative',
        scale: { type: 'log' },
        title: 'p (each member down, independently)',
      },
      y: {
        field: 'unavailability',
        type: 'quantitative',
        scale: { type: 'log' },
        title: 'P(no quorum)',
        axis: { format: '.0e' },
      },
      color: { field: 'n', type: 'nominal', title: 'members', scale: { scheme: 'category10' } },
      strokeDash: { field: 'even', type: 'nominal', legend: null },
    },
  };
}

/**
 * Writes result.json first (atomically: a chart that fails or a second Ctrl-C later still leaves
 * it), then matrix.json, history.jsonl and the charts, then junit.xml and report.md; returns the
 * paths (result.json, junit.xml, report.md, then the rest).
 */
export async function writeQuorumClaimsResults(
  dir: string,
  result: QuorumClaimsResult,
  history: QuorumMatrixResult['history'] | null,
): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const resultFile = await writeResultJson(dir, result);
  const files: string[] = [];
  if (result.matrix !== null) {
    await writeFile(join(dir, 'matrix.json'), `${JSON.stringify(result.matrix.cells, null, 2)}\n`);
    files.push(join(dir, 'matrix.json'));
  }
  if (history !== null) {
    await saveHistory(join(dir, 'history.jsonl'), history);
    files.push(join(dir, 'history.jsonl'));
  }
  const charts: string[] = [];
  if (result.matrix !== null && result.matrix.cells.length > 0) {
    charts.push(...(await renderChart(matrixChartSpec(result.matrix.cells), join(dir, 'matrix'))));
  }
  if (result.matrix !== null && result.matrix.latency.length > 0) {
    charts.push(
      ...(await renderChart(latencyChartSpec(result.matrix.latency), join(dir, 'latency-by-size'))),
    );
  }
  const report = renderQuorumClaimsReport(
    result,
    charts.filter((c) => c.endsWith('.svg')).map((c) => c.slice(dir.length + 1)),
  );
  return [resultFile, ...(await writeJunitAndReport(dir, result, report)), ...files, ...charts];
}
