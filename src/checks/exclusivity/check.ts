import type { Check } from '../check.ts';

/**
 * Exclusivity of a lock or an election: how long did two or more candidates believe at once
 * that they held it? Input is what each candidate's client library told it (the "you lead" /
 * lock-acquired callback, then the "you lost" callback, a resign, or the run's end) on the
 * run's clock, and optionally etcd's own record of who owned the key at which revision.
 *
 * Why overlaps are expected, and why the number is the measurement. etcd's lock and election
 * keys are exclusive in etcd: at any revision one session's key is first in line. But a holder's
 * belief is not etcd's state. With lease-based locks (the controller-manager pattern: replicas
 * campaign with session leases; the seed text's kube-controller-manager "acquiring a lease in
 * etcd" that "needs to be renewed before it expires"), a holder that is paused — SIGSTOP, a GC
 * stall, a frozen VM, a partition from etcd — keeps believing it leads while its keep-alives
 * stop, its lease expires, etcd deletes its key, and another candidate is elected and told so.
 * The paused holder learns it lost only once it runs again and its keep-alive fails or its
 * watch fires. For that whole stretch two candidates believe they lead. No lease TTL removes
 * it; a shorter TTL only moves it (more renewals, faster failover). Safety then rests on
 * fencing (the key's revision passed to whatever the leader writes), not on beliefs. So this
 * module reports overlaps as data: a verdict (`exclusivityCheck`) compares them with a bound
 * the experiment states (`maxExclusivityOverlapMs`); it does not call every overlap a bug.
 *
 * Pure: no I/O, no clock.
 */

/** One stretch during which a candidate believed it held the lock. */
export interface Tenure {
  readonly candidate: string;
  /** The client library's "you lead" / lock-acquired callback. */
  readonly acquiredMs: number;
  /**
   * When it stopped believing: the "you lost" callback, its resign, or the run's end. null: still
   * believing when the record ends (open-ended).
   */
  readonly lostMs: number | null;
  readonly endedBy?: 'lost' | 'resigned' | 'run-end';
}

/** etcd's record: who owned the election / lock key from one revision to another. */
export interface OwnershipSpan {
  /** The candidate whose key was first in line; null: nobody's. */
  readonly owner: string | null;
  readonly fromRevision: number;
  /** Inclusive; null: still at the last revision observed. */
  readonly toRevision: number | null;
}

/**
 * A moment the store's revision was seen: a read (or watch response) made between `atMs` and
 * `untilMs` (default `atMs`) returned header revision `revision`. etcd was at that revision at
 * some instant in the interval.
 */
export interface RevisionObservation {
  readonly atMs: number;
  readonly untilMs?: number;
  readonly revision: number;
}

export interface OwnershipTruth {
  readonly spans: readonly OwnershipSpan[];
  readonly observations: readonly RevisionObservation[];
}

export interface ExclusivityOptions {
  /** Where open-ended tenures end; default the latest time in the input. */
  readonly endMs?: number;
  readonly truth?: OwnershipTruth;
}

/** A stretch during which the same two or more candidates believed they held the lock. */
export interface Overlap {
  readonly candidates: readonly string[];
  readonly fromMs: number;
  readonly toMs: number;
  readonly lengthMs: number;
  /** It lasts until the record ends (an open-ended tenure): its length is a lower bound. */
  readonly openEnded: boolean;
}

/** A tenure during which etcd said someone else owned the key. */
export interface UnbackedTenure {
  readonly tenure: Tenure;
  /** The observations made inside it at which etcd had another owner (or none). */
  readonly contradictions: readonly {
    readonly atMs: number;
    readonly revision: number;
    readonly owner: string | null;
  }[];
}

export interface ExclusivityResult {
  /** Maximal stretches with one set of believers (two or more), in time order. */
  readonly overlaps: readonly Overlap[];
  /** Time during which two or more candidates believed at once (ms; not double counted). */
  readonly totalOverlapMs: number;
  /** The longest contiguous time with two or more believers (ms; adjacent overlaps joined). */
  readonly maxOverlapMs: number;
  /** Whether that longest stretch lasts until the record ends (so it may be longer). */
  readonly maxOverlapOpenEnded: boolean;
  readonly unbacked: readonly UnbackedTenure[];
  readonly counts: {
    readonly tenures: number;
    readonly candidates: number;
    readonly openEnded: number;
    /** Observations inside some tenure whose revision no span covers: not judged. */
    readonly observationsNotCovered: number;
    readonly observationsJudged: number;
  };
  /** Tenures that make no sense (lost before acquired): left out. */
  readonly malformed: readonly Tenure[];
  readonly endMs: number;
}

/** Overlaps of beliefs, and tenures etcd's truth contradicts. */
export function checkExclusivity(
  tenures: readonly Tenure[],
  options: ExclusivityOptions = {},
): ExclusivityResult {
  const malformed = tenures.filter((t) => t.lostMs !== null && t.lostMs < t.acquiredMs);
  const valid = tenures.filter((t) => !malformed.includes(t));
  const times = [
    ...valid.flatMap((t) => (t.lostMs === null ? [t.acquiredMs] : [t.acquiredMs, t.lostMs])),
    ...(options.truth?.observations ?? []).map((o) => o.untilMs ?? o.atMs),
  ];
  const endMs = options.endMs ?? (times.length > 0 ? Math.max(...times) : 0);
  const end = (t: Tenure): number => t.lostMs ?? Math.max(endMs, t.acquiredMs);

  // Sweep: at each instant, the distinct candidates believing. Tenures are [acquired, lost):
  // one that ends when another begins does not overlap it.
  const points = [...new Set(valid.flatMap((t) => [t.acquiredMs, end(t)]))].sort((a, b) => a - b);
  const overlaps: Overlap[] = [];
  for (let i = 0; i + 1 < points.length; i += 1) {
    const from = points[i] as number;
    const to = points[i + 1] as number;
    const believers = [
      ...new Set(valid.filter((t) => t.acquiredMs <= from && end(t) >= to).map((t) => t.candidate)),
    ].sort();
    if (believers.length < 2) continue;
    const openEnded = valid.some((t) => t.lostMs === null && believers.includes(t.candidate) && to >= end(t));
    const last = overlaps[overlaps.length - 1];
    if (last && last.toMs === from && last.candidates.join('\0') === believers.join('\0')) {
      overlaps[overlaps.length - 1] = { ...last, toMs: to, lengthMs: to - last.fromMs, openEnded };
    } else overlaps.push({ candidates: believers, fromMs: from, toMs: to, lengthMs: to - from, openEnded });
  }
  let totalOverlapMs = 0;
  let maxOverlapMs = 0;
  let maxOverlapOpenEnded = false;
  let stretch: { from: number; to: number; open: boolean } | null = null;
  const closeStretch = (): void => {
    if (!stretch) return;
    if (
      stretch.to - stretch.from > maxOverlapMs ||
      (stretch.to - stretch.from === maxOverlapMs && stretch.open)
    ) {
      maxOverlapMs = stretch.to - stretch.from;
      maxOverlapOpenEnded = stretch.open;
    }
    stretch = null;
  };
  for (const o of overlaps) {
    totalOverlapMs += o.lengthMs;
    if (stretch && stretch.to === o.fromMs) stretch = { from: stretch.from, to: o.toMs, open: o.openEnded };
    else {
      closeStretch();
      stretch = { from: o.fromMs, to: o.toMs, open: o.openEnded };
    }
  }
  closeStretch();

  // Backing: observations made wholly inside a tenure, at a revision etcd gave another owner.
  const unbacked: UnbackedTenure[] = [];
  let observationsNotCovered = 0;
  let observationsJudged = 0;
  const truth = options.truth;
  if (truth) {
    const ownerAt = (revision: number): { owner: string | null } | undefined =>
      truth.spans.find(
        (s) => s.fromRevision <= revision && (s.toRevision === null || revision <= s.toRevision),
      );
    for (const t of valid) {
      const contradictions: UnbackedTenure['contradictions'][number][] = [];
      for (const o of truth.observations) {
        const until = o.untilMs ?? o.atMs;
        if (!(o.atMs >= t.acquiredMs && until < end(t))) continue;
        const span = ownerAt(o.revision);
        if (!span) {
          observationsNotCovered += 1;
          continue;
        }
        observationsJudged += 1;
        if (span.owner !== t.candidate)
          contradictions.push({ atMs: o.atMs, revision: o.revision, owner: span.owner });
      }
      if (contradictions.length > 0) unbacked.push({ tenure: t, contradictions });
    }
  }

  return {
    overlaps,
    totalOverlapMs,
    maxOverlapMs,
    maxOverlapOpenEnded,
    unbacked,
    counts: {
      tenures: valid.length,
      candidates: new Set(valid.map((t) => t.candidate)).size,
      openEnded: valid.filter((t) => t.lostMs === null).length,
      observationsNotCovered,
      observationsJudged,
    },
    malformed,
    endMs,
  };
}

export function overlapText(o: Overlap): string {
  return `${o.candidates.join(' + ')} from ${o.fromMs} to ${o.toMs} ms (${o.lengthMs} ms${o.openEnded ? ', still at the end of the record' : ''})`;
}

export function unbackedText(u: UnbackedTenure): string {
  const t = u.tenure;
  const c = u.contradictions[0];
  const first = c
    ? `at ${c.atMs} ms etcd's key at revision ${c.revision} was ${c.owner === null ? "nobody's" : `${c.owner}'s`}`
    : '';
  return `${t.candidate} believed it held the lock from ${t.acquiredMs} to ${t.lostMs ?? 'the end'} ms, but ${first}${u.contradictions.length > 1 ? ` (and ${u.contradictions.length - 1} more observations)` : ''}`;
}

/**
 * The verdict against a bound: held when the longest stretch of two or more believers is at
 * most `maxExclusivityOverlapMs`; deviated when it is longer (an open-ended one already longer
 * counts: it can only grow); inconclusive when an open-ended stretch is still within the bound
 * (it may go on), or when no candidate ever believed it held the lock (nothing was measured).
 * Tenures etcd's truth contradicts are said in `why` and `details`: they show stale beliefs,
 * which the overlap bound is about, but one observation cannot say for how long.
 */
export function exclusivityCheck(result: ExclusivityResult, maxExclusivityOverlapMs: number): Check {
  const longest = `${result.maxOverlapMs} ms${result.maxOverlapOpenEnded ? ' (still going at the end of the record)' : ''}`;
  const observed =
    result.overlaps.length === 0
      ? `no overlap (${result.counts.tenures} tenures, ${result.counts.candidates} candidates)`
      : `longest overlap ${longest}, total ${result.totalOverlapMs} ms over ${result.overlaps.length} stretches`;
  const verdict =
    result.maxOverlapMs > maxExclusivityOverlapMs
      ? 'deviated'
      : result.counts.tenures === 0 || result.maxOverlapOpenEnded
        ? 'inconclusive'
        : 'held';
  const whyParts = [
    ...(result.counts.tenures === 0 ? ['no candidate ever believed it held the lock'] : []),
    ...(verdict === 'inconclusive' && result.maxOverlapOpenEnded
      ? ['the longest overlap lasts until the record ends and may go on']
      : []),
    ...(result.unbacked.length > 0
      ? [`${result.unbacked.length} tenures believed while etcd had another owner`]
      : []),
  ];
  const details = [
    ...result.overlaps.map((o) => `overlap: ${overlapText(o)}`),
    ...result.unbacked.map((u) => `unbacked: ${unbackedText(u)}`),
  ];
  return {
    name: 'lock exclusivity (overlap of believed tenures)',
    expected: `≤ ${maxExclusivityOverlapMs} ms with two or more believing they hold it`,
    observed,
    verdict,
    ...(whyParts.length > 0 ? { why: whyParts.join('; ') } : {}),
    ...(details.length > 0 ? { details: details.join('\n') } : {}),
  };
}
