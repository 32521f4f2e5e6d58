/** One worker's time as the active one, on the process's monotonic clock (performance.now()). */
export interface Tenure {
  readonly worker: string;
  readonly startMs: number;
  /** null while it is still active. */
  endMs: number | null;
  /** Why it stopped: its own deadline passed, etcd3 reported the lease lost, or it was stopped. */
  endedBy: 'fenced' | 'lease-lost' | 'stopped' | null;
}

/**
 * How long two different workers were active at the same time, summed over every pair of
 * tenures (a tenure still open counts up to `nowMs`). The pool's guarantee is that this is 0.
 */
export function overlapMs(tenures: readonly Tenure[], nowMs: number): number {
  let total = 0;
  for (let i = 0; i < tenures.length; i++) {
    for (let j = i + 1; j < tenures.length; j++) {
      const a = tenures[i]!;
      const b = tenures[j]!;
      if (a.worker === b.worker) continue;
      const from = Math.max(a.startMs, b.startMs);
      const to = Math.min(a.endMs ?? nowMs, b.endMs ?? nowMs);
      if (to > from) total += to - from;
    }
  }
  return total;
}
