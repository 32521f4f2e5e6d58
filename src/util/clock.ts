import { performance } from 'node:perf_hooks';
import { noteWallClock, steadyNow } from './wall-clock-steps.ts';

/**
 * One monotonic clock per run. Every recorded time (operations, faults, leader changes)
 * is milliseconds since the run's base on this clock, so they can be compared directly;
 * wall-clock time is kept only to display when the run happened and to line up etcd's
 * own log timestamps. Wall-clock times here are on the steady timeline of wall-clock-steps.ts
 * (Date.now() until the host's clock steps), so a step during a run does not move them.
 */
export class RunClock {
  readonly baseMonotonicMs: number;
  readonly baseWallMs: number;

  constructor() {
    this.baseMonotonicMs = performance.now();
    this.baseWallMs = steadyNow();
  }

  /** Milliseconds since the run started (monotonic, sub-millisecond resolution). */
  now(): number {
    noteWallClock();
    return performance.now() - this.baseMonotonicMs;
  }

  /** Converts a `performance.now()` reading taken elsewhere (e.g. in the cluster) to run time. */
  fromPerformanceNow(performanceMs: number): number {
    return performanceMs - this.baseMonotonicMs;
  }

  /** Converts run time to a `performance.now()` reading (e.g. a fault handle's `tookEffectAtMs`). */
  toPerformanceNow(runMs: number): number {
    return runMs + this.baseMonotonicMs;
  }

  /**
   * Converts a time on the steady timeline (etcd log entries from StartedEtcdCluster.logEntries
   * are on it) to run time.
   */
  fromWall(wallMs: number): number {
    return wallMs - this.baseWallMs;
  }

  /** Converts run time to wall-clock milliseconds for display. */
  toWall(runMs: number): number {
    return this.baseWallMs + runMs;
  }
}

export const sleep = (ms: number, signal?: AbortSignal): Promise<void> =>
  new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason as Error);
      return;
    }
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal?.reason as Error);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
