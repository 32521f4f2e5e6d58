import type { TopLevelSpec } from 'vega-lite';
import { ETCD_DEFAULTS } from '../../cluster/etcd-options.ts';
import type { CellResult } from './cell-result.ts';
import { cellRow } from './cell-table.ts';
import { addedRttMs } from './conditions.ts';
import { conditionLabel, otherOptionLabels } from './cell-labels.ts';
import { seriesKey } from './spurious-elections.ts';
import type { SweepResult } from './sweep-result.ts';

export function sweepChartSpecs(result: SweepResult): Record<string, TopLevelSpec | undefined> {
  return {
    'election-vs-timeout': electionChartSpec(result),
    'spurious-vs-rtt': spuriousChartSpec(result),
    'heal-term-jump': healChartSpec(result),
  };
}

const SCHEMA = 'https://vega.github.io/schema/vega-lite/v6.json';

/** Each trial's election time (from the logs) against the election timeout, with Raft's median. */
function electionChartSpec(result: SweepResult): TopLevelSpec | undefined {
  const withElections = result.cells.filter((c) => c.elections && c.elections.trials.length > 0);
  if (withElections.length === 0) return undefined;
  const trials = withElections.flatMap((c) =>
    (c.elections?.trials ?? []).flatMap((t) =>
      t.logElectedAfterFaultMs === undefined
        ? []
        : [
            {
              et: c.etcdOptions.electionTimeoutMs ?? ETCD_DEFAULTS.electionTimeoutMs,
              ms: t.logElectedAfterFaultMs,
              series: seriesOf(c),
            },
          ],
    ),
  );
  const model = withElections.map((c) => ({
    et: c.etcdOptions.electionTimeoutMs ?? ETCD_DEFAULTS.electionTimeoutMs,
    ms: c.elections?.summary.model.medianAfterFaultMs ?? null,
  }));
  return {
    $schema: SCHEMA,
    title: `${result.sweep.title}: election time vs election timeout (line: Raft's median)`,
    width: 560,
    height: 320,
    layer: [
      {
        data: { values: model },
        mark: { type: 'line', color: '#888', strokeDash: [4, 4], point: true },
        encoding: {
          x: { field: 'et', type: 'quantitative', title: 'election timeout (ms)' },
          y: { field: 'ms', type: 'quantitative' },
        },
      },
      {
        data: { values: trials },
        mark: { type: 'point', filled: true, opacity: 0.7 },
        encoding: {
          x: { field: 'et', type: 'quantitative', title: 'election timeout (ms)' },
          y: { field: 'ms', type: 'quantitative', title: 'fault → new leader elected (ms, logs)' },
          color: { field: 'series', type: 'nominal', title: 'cell' },
        },
      },
    ],
  };
}

/** Leader changes per minute without a fault against election timeout / RTT, one line per series. */
function spuriousChartSpec(result: SweepResult): TopLevelSpec | undefined {
  const points = result.cells.flatMap((c) => {
    const rtt = addedRttMs(c.condition);
    if (rtt === 0 || c.quiet === null || c.quiet.leaderChangesPerMinute === null) return [];
    const row = cellRow(c);
    return [
      {
        ratio: row.election_timeout_over_rtt,
        perMinute: c.quiet.leaderChangesPerMinute,
        changes: c.quiet.leaderChanges,
        series: seriesKey(c),
        rule: row.follows_tuning_rule === true ? 'keeps the rule' : 'breaks the rule',
      },
    ];
  });
  if (points.length === 0) return undefined;
  const observed = result.sweep.quietWindows * result.sweep.quietWindowMs;
  return {
    $schema: SCHEMA,
    title: {
      text: `${result.sweep.title}: leader changes without a fault vs election timeout / RTT`,
      subtitle: `${observed / 1000} s observed per cell (${result.sweep.quietWindows} × ${result.sweep.quietWindowMs / 1000} s); etcd's rule: ET ≥ 10 × RTT, heartbeat 0.5–1.5 × RTT`,
    },
    width: 560,
    height: 320,
    data: { values: points },
    layer: [
      {
        mark: { type: 'line', opacity: 0.5 },
        encoding: {
          x: { field: 'ratio', type: 'quantitative', scale: { type: 'log' } },
          y: { field: 'perMinute', type: 'quantitative' },
          color: { field: 'series', type: 'nominal' },
        },
      },
      {
        mark: { type: 'point', filled: true, size: 90 },
        encoding: {
          x: {
            field: 'ratio',
            type: 'quantitative',
            scale: { type: 'log' },
            title: 'election timeout / added round-trip time (log scale)',
          },
          y: { field: 'perMinute', type: 'quantitative', title: 'leader changes per minute without a fault' },
          color: {
            field: 'series',
            type: 'nominal',
            title: 'series',
            legend: { orient: 'bottom', direction: 'vertical', labelLimit: 520 },
          },
          shape: { field: 'rule', type: 'nominal', title: 'etcd guidance' },
          tooltip: [{ field: 'changes' }, { field: 'perMinute' }],
        },
      },
      {
        mark: { type: 'rule', strokeDash: [4, 4], color: '#888' },
        data: { values: [{ ratio: 10 }] },
        encoding: { x: { field: 'ratio', type: 'quantitative' } },
      },
    ],
  };
}

/** Term jump on the majority side when the isolated member came back, per trial. */
function healChartSpec(result: SweepResult): TopLevelSpec | undefined {
  const points = result.cells.flatMap((c) =>
    (c.heals ?? []).flatMap((h) =>
      h.termJump === null ? [] : [{ cell: c.label, jump: h.termJump, trial: h.trial }],
    ),
  );
  if (points.length === 0) return undefined;
  return {
    $schema: SCHEMA,
    title: `${result.sweep.title}: term jump when the isolated member is healed`,
    width: 480,
    height: { step: 40 },
    data: { values: points },
    mark: { type: 'tick', thickness: 3, size: 24 },
    encoding: {
      y: { field: 'cell', type: 'nominal', title: null, axis: { labelLimit: 480 } },
      x: { field: 'jump', type: 'quantitative', title: 'term after heal − term before (each trial)' },
      color: { field: 'cell', type: 'nominal', legend: null },
    },
  };
}

const seriesOf = (c: CellResult): string =>
  [
    ...(c.etcdOptions.preVote === undefined ? [] : [c.etcdOptions.preVote ? 'pre-vote' : 'no pre-vote']),
    conditionLabel(c.condition),
    ...otherOptionLabels(c.etcdOptions),
  ].join(', ');
