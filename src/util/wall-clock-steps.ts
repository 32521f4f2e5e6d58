/**
 * The wall clock can step while the lab runs (NTP, a VM paused and resumed: a CI run here saw a
 * 13.5 s forward step that put every election read from etcd's logs 13.5 s late). etcd's log
 * timestamps are wall-clock, everything the lab measures is monotonic. This module watches the
 * offset between the two (every RunClock reading and every conversion looks) and maps wall-clock
 * times onto one steady timeline: the monotonic clock plus the offset seen when the process
 * started. Forward steps are undone exactly once noticed; a backward step makes the wall times
 * around it ambiguous, and they are mapped by the offset in force at their (later) notice.
 */
import { performance } from 'node:perf_hooks';

/** A change of the wall clock against the monotonic one. */
export interface WallClockStep {
  /** `performance.now()` when the step was noticed. */
  readonly atMonotonicMs: number;
  /** How far the wall clock moved: + forward, − back. */
  readonly byMs: number;
}

/** Wall minus monotonic, from this monotonic reading on. */
interface OffsetSegment {
  readonly monotonicMs: number;
  readonly offsetMs: number;
}

/**
 * Offsets closer than this are the same: Date.now() has ms resolution, and NTP slewing moves
 * the offset by at most 0.5 ms a second. A larger change is a step.
 */
const STEP_THRESHOLD_MS = 50;

/** The offsets seen, as readings of both clocks arrive; maps wall times onto the first offset's timeline. */
export class SteadyTimeline {
  private readonly segments: OffsetSegment[];
  readonly baseOffsetMs: number;

  constructor(monotonicMs: number, wallMs: number) {
    this.baseOffsetMs = wallMs - monotonicMs;
    this.segments = [{ monotonicMs, offsetMs: this.baseOffsetMs }];
  }

  /** Records the offset of these readings when it differs from the last one by more than a step. */
  note(monotonicMs: number, wallMs: number): void {
    const offset = wallMs - monotonicMs;
    const last = this.segments.at(-1) as OffsetSegment;
    if (Math.abs(offset - last.offsetMs) > STEP_THRESHOLD_MS)
      this.segments.push({ monotonicMs, offsetMs: offset });
  }

  /** A wall-clock time on the steady timeline. */
  steady(wallMs: number): number {
    // The last segment that had begun, in its own wall time, by wallMs. A time written just after
    // a forward step but before it was noticed maps past the next segment's start with the old
    // offset, which cannot be: it belongs to the next segment.
    let index = 0;
    for (let i = 1; i < this.segments.length; i++) {
      const s = this.segments[i] as OffsetSegment;
      if (s.monotonicMs + s.offsetMs <= wallMs) index = i;
    }
    let segment = this.segments[index] as OffsetSegment;
    const next = this.segments[index + 1];
    if (next !== undefined && wallMs - segment.offsetMs >= next.monotonicMs) segment = next;
    return wallMs - segment.offsetMs + this.baseOffsetMs;
  }

  steps(): WallClockStep[] {
    return this.segments.slice(1).map((s, i) => ({
      atMonotonicMs: s.monotonicMs,
      byMs: s.offsetMs - (this.segments[i] as OffsetSegment).offsetMs,
    }));
  }
}

/** The process's timeline, from the moment this module was loaded. */
const timeline = new SteadyTimeline(performance.now(), Date.now());

/** Compares the two clocks now and records a step. */
export function noteWallClock(): void {
  timeline.note(performance.now(), Date.now());
}

/** Now on the steady timeline (equal to Date.now() until the wall clock steps). */
export function steadyNow(): number {
  noteWallClock();
  return performance.now() + timeline.baseOffsetMs;
}

/** A wall-clock time (e.g. an etcd log timestamp) on the steady timeline. */
export function steadyWall(wallMs: number): number {
  noteWallClock();
  return timeline.steady(wallMs);
}

/** The steps noticed since the process started (none on a well-behaved host). */
export function wallClockSteps(): WallClockStep[] {
  return timeline.steps();
}
