import { summarizeRounds } from '../../../measure/election-rounds.ts';
import { describeRounds } from './repetitions.ts';
import { mkdir } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { effectiveAt, type ExperimentResult } from '../run-experiment.ts';
import { saveHistory, type History } from '../../../history/history.ts';
import { saveWatches } from '../../../history/watch-file.ts';
import { blameText, violationText } from '../../../checks/watch/index.ts';
import type { OperationsSummary } from '../../../measure/latency-stats.ts';
import { leaseElectionByTtl } from '../run-lease-election.ts';
import { writeCharts } from './charts.ts';
import {
  checksTable,
  verdictLine,
  writeJunitAndReport,
  writeResultJson,
} from '../../../run/results-envelope.ts';

/**
 * Writes an experiment's results directory: result.json first (atomically: a chart that fails
 * or a second Ctrl-C later still leaves it), then history.jsonl and the charts, then junit.xml
 * (one test case per hypothesis check, for CI systems) and report.md, which shows the charts.
 */
export async function writeResults(
  dir: string,
  result: ExperimentResult,
  history: History,
): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const resultFile = await writeResultJson(dir, result);
  const historyFile = join(dir, 'history.jsonl');
  await saveHistory(historyFile, [...history]);
  const watchFiles: string[] = [];
  if (history.watches.length > 0) {
    watchFiles.push(join(dir, 'watches.jsonl'));
    await saveWatches(join(dir, 'watches.jsonl'), history.watches);
  }
  const charts = await writeCharts(dir, result);
  const svgs = charts.filter((file) => file.endsWith('.svg')).map((file) => basename(file));
  const rest = await writeJunitAndReport(dir, result, renderReport(result, svgs));
  return [resultFile, historyFile, ...watchFiles, ...rest, ...charts];
}

const ms = (v: number | null | undefined) => (v === null || v === undefined ? '–' : v.toFixed(1));

function latencyRow(name: string, s: OperationsSummary): string {
  const l = s.latency;
  return `| ${name} | ${s.outcomes.ok} | ${s.outcomes.fail} | ${s.outcomes.indeterminate} | ${ms(s.throughput)} | ${ms(l.p50)} | ${ms(l.p99)} | ${ms(l.max)} |`;
}

export function renderReport(result: ExperimentResult, charts: readonly string[] = []): string {
  const e = result.experiment;
  const env = result.environment;
  const verdict = verdictLine(result, {
    held: '**HELD** — the hypothesis held',
    deviated: '**DEVIATED** — the hypothesis did not hold',
  });
  const lines = [
    `# ${e.title}`,
    '',
    e.question ? `> ${e.question}\n` : '',
    `Verdict: ${verdict}`,
    '',
    `Run ${result.startedAt}, ${(result.durationMs / 1000).toFixed(1)} s; ${String(env.members)} members, etcd ${String(env.etcdVersion)} (${String(env.image)}${env.image === env.requestedImage ? '' : `, requested ${String(env.requestedImage)}`}); heartbeat ${String(env.heartbeatMs)} ms, election timeout ${String(env.electionTimeoutMs)} ms, pre-vote ${String(env.preVote)}; host ${env.host.hostname} (${env.host.cpus} CPUs, load ${env.host.loadAverage.start[0]?.toFixed(2) ?? '?'} at the start)${(env.host.wallClockSteps ?? []).length > 0 ? `; the host's wall clock stepped ${(env.host.wallClockSteps ?? []).map((step) => `${step.byMs > 0 ? '+' : ''}${(step.byMs / 1000).toFixed(1)} s`).join(', ')} (etcd's log times corrected)` : ''}.`,
    '',
    '## Hypothesis',
    '',
    ...checksTable(result.checks),
    '',
    ...faultSection(result),
    ...electionSection(result),
    ...workloadSection(result),
    ...leaseSection(result),
  ];
  if (charts.length > 0) lines.push('## Charts', '', ...charts.map((c) => `![${c}](${c})`), '');
  if (e.kind === 'fault') {
    lines.push(
      `Recovery after healing (stable leader, members caught up): ${ms(result.recoveryMs)} ms.`,
      '',
      `Acknowledged writes: ${result.acknowledgedWrites?.message ?? 'not checked'}.`,
      '',
      ...linearizabilitySection(result),
      ...watchSection(result),
    );
  }
  return lines.filter((line, i, all) => !(line === '' && all[i - 1] === '')).join('\n');
}

/** The linearizability check's answer with the checker's numbers and, on a violation, its counterexample. */
function linearizabilitySection(result: ExperimentResult): string[] {
  const l = result.linearizability;
  if (l === undefined || l === null) return [];
  const d = l.dropped;
  return [
    '## Linearizability',
    '',
    `${l.message}.`,
    '',
    `Checked ${l.operations} operations (${l.workloadRecords} workload records, ${l.otherWrites} load-step writes kept for the revision) from ${l.initial === null ? 'absent keys, the revision inferred from the first response' : `revision ${l.initial.revision} with the experiment's keys absent`}; ${l.steps} search steps, ${l.memoEntries} memo entries, ${l.elapsedMs} ms of a ${(l.timeLimitMs / 1000).toFixed(0)} s limit. Left out: ${d.failed} failed, ${d.serializableReads} serializable reads, ${d.indeterminateReads} reads without an answer, ${d.leaseOperations} lease operations, ${d.otherReads} load-step reads.`,
    '',
    ...(l.violation === undefined ? [] : ['```text', l.violation, '```', '']),
  ];
}

/** The watch check's answer: per guarantee, where the truth came from, each violation with who broke it. */
function watchSection(result: ExperimentResult): string[] {
  const w = result.watch;
  if (w === undefined || w === null) return [];
  const r = w.result;
  const t = w.truth;
  const c = r.counts;
  return [
    '## Watch guarantees',
    '',
    `${w.message}.`,
    '',
    `Watchers on \`${w.prefix}\` from revision ${w.initialRevision === null ? 'of their creation' : w.initialRevision + 1}; the truth covers revisions ${t.fromRevision}–${t.toRevision} (${t.events} changes): the history's writes, and ${t.resolvedByRead} revisions its timed-out writes or its end left unknown, read back by range reads after the run; ${t.unknownRevisions.length} still unknown. ${c.eventsDelivered} events delivered, ${c.eventsExpected} expected, ${c.progressNotifications} progress notifications, ${c.reconnects} reconnects of the client library.`,
    '',
    '| guarantee | status | violations | why not decided |',
    '| --- | --- | --- | --- |',
    ...Object.entries(r.perGuarantee).map(
      ([g, v]) => `| ${g} | ${v.status} | ${v.violations} | ${v.reasons.slice(0, 2).join('; ')} |`,
    ),
    '',
    ...(r.violations.length === 0
      ? []
      : [
          `Violations (${c.violationsByServer} by the server, ${c.violationsByClientLibrary} by the client library; ${r.violations[0] === undefined ? '' : `the first by ${blameText(r.violations[0].blame)}`}):`,
          '',
          '```text',
          ...r.violations.map(violationText),
          '```',
          '',
        ]),
  ];
}

const ratio = (v: number | null | undefined) => (v === null || v === undefined ? '–' : `×${v.toFixed(2)}`);
const share = (ok: number, total: number) =>
  total === 0 ? '–' : `${((100 * ok) / total).toFixed(1)} % of ${total}`;

/**
 * Every election after a fault that took the leader, as the members' logs tell it: rounds
 * (terms used up), who campaigned, who refused whom and why; the rounds distribution first.
 */
function electionSection(result: ExperimentResult): string[] {
  const elections = result.steps
    .map((s, i) => ({ s, i }))
    .filter(({ s }) => s.election !== null && s.election !== undefined);
  if (elections.length === 0) return [];
  const rounds = summarizeRounds(elections.map(({ s }) => s.election ?? undefined));
  return [
    '## Elections',
    '',
    `${describeRounds(rounds)}${rounds.noLeader > 0 ? `; ${rounds.noLeader} without a logged leader` : ''}. Why a second round: without pre-vote, the first candidate's vote request usually reaches the other survivor while that one is still inside its leader lease (it heard from the old leader less than an election timeout ago) and is ignored; the other then campaigns in the same term and each keeps its own vote — a split vote, and the next term decides. A survivor whose log is behind is refused term after term until the other times out. With pre-vote neither costs a term.`,
    '',
    '| step | new leader after (ms) | rounds | what the logs say |',
    '| --- | --- | --- | --- |',
    ...elections.map(({ s, i }) => {
      const e = s.election;
      const elected = s.leaderChange?.majorityAgreesAtMs;
      return `| ${i + 1} | ${elected === undefined ? '–' : ms(elected - effectiveAt(s.fault, s.step))} | ${e?.rounds.length ?? '–'} | ${e?.summary ?? ''} |`;
    }),
    '',
  ];
}

/**
 * Steps that went in a second or more after their `at` (a repetition waits until the previous one
 * is healed and its member caught up), and steps that did not run at all.
 */
export function lateAndNotRun(result: ExperimentResult): string[] {
  const late = result.steps
    .map((s, i) => ({ i, lateMs: s.startedLateMs ?? 0 }))
    .filter(({ lateMs }) => lateMs >= 1_000);
  const notRun = result.notRun ?? [];
  const lines: string[] = [];
  if (late.length > 0) {
    lines.push(
      `Went in late, after waiting for the previous repetition to be over and for a stable leader: ${late.map(({ i, lateMs }) => `step ${i + 1} by ${ms(lateMs)} ms`).join(', ')}.`,
      '',
    );
  }
  if (notRun.length > 0) {
    lines.push(
      `Not run (${notRun.length} of ${notRun.length + result.steps.length} steps): ${notRun.map((n) => `the step planned at ${ms(n.at)} ms — ${n.reason}`).join('; ')}. Lengthen workload.durationMs or repeat.everyMs to leave the cluster time to recover.`,
      '',
    );
  }
  return lines;
}

function faultSection(result: ExperimentResult): string[] {
  if (result.steps.length === 0) return [];
  const lines = [
    '## Steps',
    '',
    'Windows run from when a fault was in place to its heal. Latency ratios compare the workload inside the window with the time before any fault.',
    '',
    '| step | fault | target | mechanism | in place at (ms) | healed at (ms) | new leader after (ms) | leader changes | longest write stall (ms) | ok in window | p50 ratio | p99 ratio | caught up after heal (ms) |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
    ...result.steps.map((s, i) => {
      const faultAt = effectiveAt(s.fault, s.step);
      const elected = s.leaderTargeted ? s.leaderChange?.majorityAgreesAtMs : undefined;
      const all = s.success?.all;
      return `| ${i + 1} | ${s.step.fault} | ${s.fault.targets.join(', ') || 'cluster'} | ${s.fault.mechanism} | ${ms(faultAt)} | ${ms(s.fault.healedAtMs)} | ${elected === undefined ? '–' : ms(elected - faultAt)} | ${s.leaderChangesInWindow} | ${ms(s.writeStall?.durationMs)} | ${all ? share(all.ok, all.total) : '–'} | ${ratio(s.vsBaseline?.p50)} | ${ratio(s.vsBaseline?.p99)} | ${ms(s.catchUpMs)} |`;
    }),
    '',
    ...lateAndNotRun(result),
  ];
  const withKinds = result.steps.filter(
    (s) => s.success && (s.success.get.total > 0 || s.success.serializableGet.total > 0),
  );
  if (withKinds.length > 0) {
    lines.push(
      'Success by operation inside each window:',
      '',
      '| step | puts | linearizable reads | serializable reads |',
      '| --- | --- | --- | --- |',
      ...withKinds.map((s) => {
        const k = s.success!;
        return `| ${result.steps.indexOf(s) + 1} | ${share(k.put.ok, k.put.total)} | ${share(k.get.ok, k.get.total)} | ${share(k.serializableGet.ok, k.serializableGet.total)} |`;
      }),
      '',
    );
  }
  const loads = result.steps.filter((s) => s.load !== null);
  if (loads.length > 0) {
    lines.push(
      "Extra load (the load step's own clients, as their callers saw it):",
      '',
      '| step | kind | ok | failed | indeterminate | ok/s | p50 ms | p99 ms | max ms |',
      '| --- | --- | --- | --- | --- | --- | --- | --- | --- |',
      ...loads.map((s) => latencyRow(`${result.steps.indexOf(s) + 1} | ${s.step.fault}`, s.load!)),
      '',
    );
  }
  const rtts = result.steps.filter((s) => s.peerRtt !== null);
  if (rtts.length > 0) {
    const et = Number(result.environment.electionTimeoutMs);
    lines.push(
      `Peer round trips on the slow member's links (election timeout ${et} ms). etcd's metric \`etcd_network_peer_round_trip_time_seconds\` is a smoothed RTT published every 30 s when healthy, so a short window may hold no sample; the lab's own probe is a TCP connect to the member's peer port.`,
      '',
      '| step | lab probe (ms) | probe ÷ election timeout | etcd metric: samples | etcd metric: mean (ms) |',
      '| --- | --- | --- | --- | --- |',
      ...rtts.map((s) => {
        const r = s.peerRtt!;
        const samples = r.etcdMetric.reduce((n, x) => n + x.samples, 0);
        const sum = r.etcdMetric.reduce((n, x) => n + (x.meanMs ?? 0) * x.samples, 0);
        return `| ${result.steps.indexOf(s) + 1} | ${ms(r.labProbeMedianMs)} | ${r.labProbeMedianMs === null ? '–' : (r.labProbeMedianMs / et).toFixed(2)} | ${samples} | ${samples === 0 ? '–' : ms(sum / samples)} |`;
      }),
      '',
    );
  }
  return lines;
}

function workloadSection(result: ExperimentResult): string[] {
  const w = result.workload;
  if (!w) return [];
  return [
    '## Workload',
    '',
    `As callers saw it (retries folded into one operation); ${w.attempts} calls were made in all.`,
    '',
    '| window | ok | failed | indeterminate | ok/s | p50 ms | p99 ms | max ms |',
    '| --- | --- | --- | --- | --- | --- | --- | --- |',
    latencyRow('before the faults', w.baseline),
    latencyRow('while faults were active', w.duringFault),
    latencyRow('after healing', w.afterHeal),
    '',
    `During vs before: p50 ${ratio(w.duringVsBaseline.p50)}, p99 ${ratio(w.duringVsBaseline.p99)}; after healing vs before: p50 ${ratio(w.afterVsBaseline.p50)}, p99 ${ratio(w.afterVsBaseline.p99)}.`,
    '',
  ];
}

function leaseSection(result: ExperimentResult): string[] {
  if (!result.leaseElection) return [];
  return [
    '## Leader election on leases',
    '',
    '| TTL (s) | trials | failover (ms, median) | failover − TTL (ms) | lease renewals per second |',
    '| --- | --- | --- | --- | --- |',
    ...leaseElectionByTtl(result.leaseElection).map(
      (r) =>
        `| ${r.ttlSeconds} | ${r.trials} | ${ms(r.failoverMs)} | ${ms(r.failoverMs - r.ttlSeconds * 1000)} | ${r.keepAlivesPerSecond.toFixed(2)} |`,
    ),
    '',
    ...exclusivityRows(result.leaseElection),
  ];
}

/** Per failover: each candidate's believed tenure and how long two believed at once. */
function exclusivityRows(failovers: NonNullable<ExperimentResult['leaseElection']>): string[] {
  const measured = failovers.filter((f) => f.exclusivity !== undefined);
  if (measured.length === 0) return [];
  const tenure = (t: { candidate: string; acquiredMs: number; lostMs: number | null; endedBy?: string }) =>
    `${t.candidate} ${ms(t.acquiredMs)}–${t.lostMs === null ? 'still believing' : `${ms(t.lostMs)} (${t.endedBy ?? '?'})`}`;
  return [
    'Believed tenures (from etcd3\'s "elected" callback to its "lost" callback, the crash, or the end of the measurement; ms on the run clock) and their overlap:',
    '',
    '| TTL (s) | holder | tenures | longest overlap (ms) |',
    '| --- | --- | --- | --- |',
    ...measured.map(
      (f) =>
        `| ${f.ttlSeconds} | ${f.holderFault ?? 'crash'} | ${(f.tenures ?? []).map(tenure).join('; ')} | ${ms(f.exclusivity?.maxOverlapMs)}${f.exclusivity?.maxOverlapOpenEnded === true ? ' (open-ended)' : ''} |`,
    ),
    '',
  ];
}
