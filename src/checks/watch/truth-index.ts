import type { KvEvent, WriteTruth } from './types.ts';

/** One write changes a key once: (revision, key) names a change, in the truth and in a stream. */
export const eventId = (e: { revision: number; key: string }): string => `${e.revision}\0${e.key}`;

/** The truth, indexed once for all watchers. */
export class TruthIndex {
  readonly byId = new Map<string, number>();
  private readonly unknown: readonly number[];
  constructor(readonly truth: WriteTruth) {
    truth.events.forEach((e, i) => this.byId.set(eventId(e), i));
    this.unknown = [...truth.unknownRevisions].sort((a, b) => a - b);
  }
  /** The truth's changes at one revision. */
  atRevision(revision: number): KvEvent[] {
    const events = this.truth.events;
    let lo = 0;
    let hi = events.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((events[mid] as KvEvent).revision < revision) lo = mid + 1;
      else hi = mid;
    }
    const out: KvEvent[] = [];
    for (let k = lo; k < events.length && (events[k] as KvEvent).revision === revision; k += 1)
      out.push(events[k] as KvEvent);
    return out;
  }
  /** Whether every revision in [low, high] is known. */
  knows(low: number, high: number): boolean {
    if (high < low) return true;
    if (low < this.truth.fromRevision || high > this.truth.toRevision) return false;
    let lo = 0;
    let hi = this.unknown.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((this.unknown[mid] as number) < low) lo = mid + 1;
      else hi = mid;
    }
    const next = this.unknown[lo];
    return next === undefined || next > high;
  }
  /** Which revisions in [low, high] are unknown (at most `limit`; outside the range as one note). */
  unknownIn(low: number, high: number, limit = 5): string {
    const out: string[] = [];
    if (low < this.truth.fromRevision) out.push(`below ${this.truth.fromRevision}`);
    if (high > this.truth.toRevision) out.push(`above ${this.truth.toRevision}`);
    for (const r of this.unknown) if (r >= low && r <= high && out.length < limit) out.push(String(r));
    return out.join(', ');
  }
}
