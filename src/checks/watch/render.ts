import { verdictOfStatus, type Check } from '../check.ts';
import { eventText, type Blame, type WatchCheckResult, type WatchViolation } from './check.ts';
import { GUARANTEES } from './types.ts';

/** "server", or "client library (reconnect resumed from revision X)". */
export function blameText(b: Blame): string {
  if (b.by === 'server') return 'server';
  const from = b.reconnect?.resumedFrom ?? null;
  return `client library (reconnect resumed from revision ${from ?? 'not recorded'}${b.confirmed ? '' : ', unconfirmed'})`;
}

export function violationText(v: WatchViolation): string {
  const lines = [
    `${v.message}`,
    `  revisions ${v.revisions.join(', ')}${v.atMs !== null ? `, at ${v.atMs} ms` : ''}; by ${blameText(v.blame)}: ${v.blame.why}`,
  ];
  if (v.expected.length > 0) lines.push(`  expected: ${v.expected.map(eventText).join('; ')}`);
  if (v.observed.length > 0) lines.push(`  observed: ${v.observed.map(eventText).join('; ')}`);
  return lines.join('\n');
}

/** One line per guarantee, then the violations kept. */
export function resultText(r: WatchCheckResult): string {
  const c = r.counts;
  const head = `watch guarantees: ${r.status} (${c.watchers} watchers, ${c.eventsDelivered} events delivered, ${c.eventsExpected} expected, ${c.progressNotifications} progress notifications, ${c.reconnects} reconnects; ${c.violations} violations: ${c.violationsByServer} server, ${c.violationsByClientLibrary} client library)`;
  const rows = GUARANTEES.map((g) => {
    const v = r.perGuarantee[g];
    const why =
      v.reasons.length > 0
        ? ` — ${v.reasons.slice(0, 3).join('; ')}${v.reasons.length > 3 ? '; …' : ''}`
        : '';
    return `  ${g.padEnd(12)} ${v.status}${v.violations > 0 ? ` (${v.violations})` : ''}${why}`;
  });
  const shown = r.violations.map(violationText);
  const more =
    c.violations > r.violations.length ? [`(${c.violations - r.violations.length} more not kept)`] : [];
  return [head, ...rows, ...shown, ...more].join('\n');
}

/** The watch checker's answer as a Check: held when ok, deviated on a violation, else inconclusive. */
export function watchGuaranteesCheck(r: WatchCheckResult): Check {
  const failed = r.status === 'violation';
  const broken = GUARANTEES.filter((g) => r.perGuarantee[g].status === 'violation');
  const unknown = GUARANTEES.filter((g) => r.perGuarantee[g].status === 'unknown');
  return {
    name: 'watch guarantees',
    expected: 'ordered, unique, atomic, bookmarkable, reliable, resumable',
    observed:
      r.status === 'ok'
        ? `all kept (${r.counts.watchers} watchers, ${r.counts.eventsDelivered} events)`
        : failed
          ? `${r.counts.violations} violations (${broken.join(', ')}): ${r.counts.violationsByServer} server, ${r.counts.violationsByClientLibrary} client library`
          : `not decided: ${unknown.join(', ')}`,
    verdict: verdictOfStatus(failed ? 'failed' : r.status),
    ...(r.status === 'unknown'
      ? { why: r.problem ?? unknown.map((g) => r.perGuarantee[g].reasons[0] ?? g).join('; ') }
      : {}),
    ...(failed ? { details: resultText(r) } : {}),
  };
}
