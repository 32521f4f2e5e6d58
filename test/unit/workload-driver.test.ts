import { GRPCDeadlineExceededError } from 'etcd3';
import { describe, expect, it } from 'vitest';

import { History } from '../../src/history/history.ts';
import type { OperationRecord, OperationRequest } from '../../src/history/operation-record.ts';
import { recordOperation } from '../../src/history/recording-client.ts';
import { summarizeOperations } from '../../src/measure/latency-stats.ts';
import {
  driveWorkload,
  type DriveOptions,
  type DriverClient,
  type WorkloadProgress,
  type WorkloadRuntime,
} from '../../src/workload/driver.ts';
import { OperationGenerator, type PlannedOperation } from '../../src/workload/operation-generator.ts';

interface Timer {
  readonly atMs: number;
  readonly order: number;
  readonly fire: () => void;
}

/**
 * Discrete-event virtual time: nothing waits for real time. `run` lets every promise chain
 * settle, then jumps the clock to the earliest pending timer, until the driven promise settles.
 */
class VirtualTime implements WorkloadRuntime {
  private nowMs = 0;
  private order = 0;
  private timers: Timer[] = [];
  /** Added to every sleep of the driver when set: a load generator whose event loop lags. */
  lagOnce: { readonly afterMs: number; readonly lagMs: number } | undefined;
  /** Every sleep of the driver ends this much early, as Node timers can (whole-millisecond loop time). */
  earlyByMs = 0;

  readonly clock = { now: (): number => this.nowMs };

  readonly sleep = (ms: number, signal: AbortSignal): Promise<void> => {
    let delayMs = Math.max(0, ms >= 1 ? ms - this.earlyByMs : ms);
    if (this.lagOnce && this.nowMs + delayMs >= this.lagOnce.afterMs) {
      delayMs += this.lagOnce.lagMs;
      this.lagOnce = undefined;
    }
    return new Promise<void>((resolve, reject) => {
      if (signal.aborted) {
        reject(signal.reason as Error);
        return;
      }
      const onAbort = (): void => {
        this.timers = this.timers.filter((timer) => timer !== entry);
        reject(signal.reason as Error);
      };
      const entry = this.schedule(this.nowMs + delayMs, () => {
        signal.removeEventListener('abort', onAbort);
        resolve();
      });
      signal.addEventListener('abort', onAbort, { once: true });
    });
  };

  /** Waits `ms` of virtual time (for fake etcd calls; not subject to lag or abort). */
  wait(ms: number): Promise<void> {
    return new Promise((resolve) => this.schedule(this.nowMs + ms, resolve));
  }

  /** Runs `action` at virtual time `atMs`. */
  at(atMs: number, action: () => void): void {
    this.schedule(atMs, action);
  }

  async run<T>(promise: Promise<T>): Promise<T> {
    let settled = false;
    promise.then(
      () => (settled = true),
      () => (settled = true),
    );
    for (;;) {
      await new Promise((resolve) => setImmediate(resolve));
      if (settled) return promise;
      const next = this.timers.reduce<Timer | undefined>(
        (earliest, timer) =>
          earliest === undefined ||
          timer.atMs < earliest.atMs ||
          (timer.atMs === earliest.atMs && timer.order < earliest.order)
            ? timer
            : earliest,
        undefined,
      );
      if (next === undefined)
        throw new Error('virtual time: nothing left to run, but the promise is pending');
      this.timers = this.timers.filter((timer) => timer !== next);
      this.nowMs = Math.max(this.nowMs, next.atMs);
      next.fire();
    }
  }

  private schedule(atMs: number, fire: () => void): Timer {
    const timer = { atMs, order: this.order++, fire };
    this.timers.push(timer);
    return timer;
  }
}

const SPACE = { keyPrefix: 'k/', keyCount: 10, valueBytes: 16, leaseTtlSeconds: 10 };

function toRequest(operation: PlannedOperation): OperationRequest {
  switch (operation.kind) {
    case 'txn':
      return { ...operation, expectedRevision: 0 };
    case 'lease-keepalive':
      return { kind: 'lease-keepalive', leaseId: '1' };
    default:
      return operation;
  }
}

interface FakeClient extends DriverClient {
  /** Most operations this client had outstanding at once. */
  readonly maxConcurrent: () => number;
}

/**
 * A client whose "etcd" answers after `latencyMs(sentMs, index)` of virtual time, or throws
 * what `failure` returns. Records go through the real recorder.
 */
function fakeClient(
  time: VirtualTime,
  history: History,
  index: number,
  latencyMs: (sentMs: number) => number,
  failure: (sequence: number) => Error | undefined = () => undefined,
): FakeClient {
  const clientId = `c${index}`;
  const generator = new OperationGenerator(clientId, SPACE, { put: 1 }, 7, index);
  let concurrent = 0;
  let maxConcurrent = 0;
  let sequence = 0;
  return {
    clientId,
    next: () => generator.next(),
    maxConcurrent: () => maxConcurrent,
    execute: (operation, timing) =>
      recordOperation(
        { clientId, clock: time.clock, history },
        toRequest(operation),
        async () => {
          concurrent += 1;
          maxConcurrent = Math.max(maxConcurrent, concurrent);
          const error = failure(sequence++);
          try {
            await time.wait(latencyMs(time.clock.now()));
            if (error) throw error;
            return { revision: 1 };
          } finally {
            concurrent -= 1;
          }
        },
        timing,
      ),
  };
}

function latency(record: OperationRecord): number {
  return record.endMs - record.startMs;
}

function byStart(records: readonly OperationRecord[]): OperationRecord[] {
  return [...records].sort((a, b) => a.startMs - b.startMs || a.id - b.id);
}

async function drive(
  time: VirtualTime,
  clients: readonly DriverClient[],
  history: History,
  options: DriveOptions,
): Promise<Awaited<ReturnType<typeof driveWorkload>>> {
  return time.run(driveWorkload(clients, history, time, options));
}

const openLoop = (ratePerSecond: number, maxInFlight = 10_000) =>
  ({ mode: 'open-loop', ratePerSecond, maxInFlight }) as const;

describe('open-loop fixed-rate driver', () => {
  it('sends operation i at exactly start + i/R, round-robin over the clients', async () => {
    const time = new VirtualTime();
    const history = new History();
    const clients = [0, 1, 2, 3].map((i) => fakeClient(time, history, i, () => 3));
    const result = await drive(time, clients, history, { pacing: openLoop(200), durationMs: 1_000 });

    expect(result.scheduled).toBe(200);
    expect(history.length).toBe(200);
    const records = byStart(history.records);
    records.forEach((record, i) => {
      expect(record.startMs).toBe(i * 5);
      expect(record.clientId).toBe(`c${i % 4}`);
      expect(record.sentMs).toBeUndefined(); // sent on time
      expect(latency(record)).toBe(3);
    });
    expect(result.maxSendLagMs).toBe(0);
    expect(result.aborted).toBe(false);
  });

  it('does not drift at a rate whose interval is not a whole number of milliseconds', async () => {
    const time = new VirtualTime();
    const history = new History();
    const clients = [fakeClient(time, history, 0, () => 1)];
    await drive(time, clients, history, { pacing: openLoop(300), durationMs: 10_000 });

    const records = byStart(history.records);
    expect(records).toHaveLength(3_000);
    records.forEach((record, i) => expect(record.startMs).toBeCloseTo((i * 1000) / 300, 9));
  });

  it('measures latency from the intended send time: a 500 ms stall counts for every operation that waited', async () => {
    // The "server" stalls from 500 to 1000 ms: whatever is sent then returns at 1000 + 2.
    const stalled = (sentMs: number): number => (sentMs >= 500 && sentMs < 1_000 ? 1_000 - sentMs + 2 : 2);

    const time = new VirtualTime();
    const history = new History();
    await drive(time, [fakeClient(time, history, 0, stalled)], history, {
      pacing: openLoop(100),
      durationMs: 2_000,
    });
    const during = history.records.filter((r) => r.startMs >= 500 && r.startMs < 1_000);
    expect(during).toHaveLength(50);
    for (const record of during) {
      expect(record.endMs).toBe(1_002);
      expect(latency(record)).toBe(1_002 - record.startMs);
    }
    const openSummary = summarizeOperations(history.records).latency;
    expect(openSummary.max).toBe(502);
    // 41 of the 200 operations waited more than 100 ms, so even the 90th percentile shows the stall.
    expect(openSummary.p90).toBeGreaterThan(100);

    // The same stall under a closed loop is seen by the one operation in flight only:
    // coordinated omission hides it from every percentile but the maximum.
    const closedTime = new VirtualTime();
    const closedHistory = new History();
    await drive(closedTime, [fakeClient(closedTime, closedHistory, 0, stalled)], closedHistory, {
      pacing: { mode: 'closed-loop' },
      durationMs: 2_000,
    });
    const closedSummary = summarizeOperations(closedHistory.records).latency;
    expect(closedHistory.records.filter((r) => latency(r) > 100)).toHaveLength(1);
    expect(closedSummary.max).toBeGreaterThanOrEqual(500);
    expect(closedSummary.p99).toBeLessThan(3);
  });

  it('never sends before the intended time, even when timers fire early', async () => {
    const time = new VirtualTime();
    time.earlyByMs = 0.7;
    const history = new History();
    await drive(time, [fakeClient(time, history, 0, () => 0.5)], history, {
      pacing: openLoop(100),
      durationMs: 1_000,
    });
    const records = byStart(history.records);
    expect(records).toHaveLength(100);
    records.forEach((record, i) => {
      expect(record.startMs).toBe(i * 10);
      expect(record.sentMs).toBeUndefined();
      expect(latency(record)).toBe(0.5);
    });
  });

  it('charges the load generator’s own lag to the operations it delayed', async () => {
    const time = new VirtualTime();
    time.lagOnce = { afterMs: 500, lagMs: 300 }; // the driver's timer fires 300 ms late once
    const history = new History();
    const result = await drive(time, [fakeClient(time, history, 0, () => 2)], history, {
      pacing: openLoop(100),
      durationMs: 1_500,
    });

    expect(result.scheduled).toBe(150);
    expect(result.maxSendLagMs).toBe(300);
    const late = history.records.filter((r) => r.sentMs !== undefined);
    expect(late.map((r) => r.startMs)).toEqual(Array.from({ length: 30 }, (_, i) => 500 + i * 10));
    for (const record of late) {
      expect(record.sentMs).toBe(800);
      expect(latency(record)).toBe(802 - record.startMs);
    }
  });

  it('records operations due beyond maxInFlight as client-backlog failures, losing none', async () => {
    const stalled = (sentMs: number): number => (sentMs >= 500 && sentMs < 1_000 ? 1_000 - sentMs + 2 : 2);
    const time = new VirtualTime();
    const history = new History();
    const result = await drive(time, [fakeClient(time, history, 0, stalled)], history, {
      pacing: openLoop(100, 10),
      durationMs: 2_000,
    });

    expect(result.scheduled).toBe(200);
    expect(history.length).toBe(200);
    // 500…590 ms fill the cap; everything due until they return at 1002 ms is not sent.
    expect(result.backlogged).toBe(41);
    const backlog = history.records.filter((r) => r.errorClass === 'client-backlog');
    expect(backlog.map((r) => r.startMs)).toEqual(Array.from({ length: 41 }, (_, i) => 600 + i * 10));
    for (const record of backlog) {
      expect(record.outcome).toBe('fail');
      expect(record.endMs).toBe(record.startMs);
      expect(record.kind).toBe('put');
    }
    expect(new Set(history.records.map((r) => r.id)).size).toBe(200);
  });

  it("records a backlogged operation with its client's role", async () => {
    const time = new VirtualTime();
    const history = new History();
    const role = { of: 'load-step', step: 2 } as const;
    const client = { ...fakeClient(time, history, 0, (sentMs) => (sentMs < 100 ? 1_000 : 2)), role };
    await drive(time, [client], history, { pacing: openLoop(100, 1), durationMs: 200 });
    const backlog = history.records.filter((r) => r.errorClass === 'client-backlog');
    expect(backlog.length).toBeGreaterThan(0);
    for (const record of backlog) expect(record.role).toEqual(role);
  });

  it('stops promptly on abort, still recording the operations in flight', async () => {
    const time = new VirtualTime();
    const history = new History();
    const controller = new AbortController();
    time.at(1_000, () => controller.abort());
    const result = await drive(time, [fakeClient(time, history, 0, () => 50)], history, {
      pacing: openLoop(100),
      durationMs: 10_000,
      signal: controller.signal,
    });

    expect(result.aborted).toBe(true);
    expect(result.scheduled).toBe(100); // 0, 10, …, 990 ms
    expect(history.length).toBe(100);
    expect(Math.max(...history.records.map((r) => r.startMs))).toBe(990);
    expect(history.records.every((r) => r.outcome === 'ok')).toBe(true);
    expect(result.endedMs).toBe(1_040);
  });

  it('starts nothing when the signal is already aborted', async () => {
    const time = new VirtualTime();
    const history = new History();
    const result = await drive(time, [fakeClient(time, history, 0, () => 1)], history, {
      pacing: openLoop(100),
      durationMs: 1_000,
      signal: AbortSignal.abort(),
    });
    expect(result).toMatchObject({ scheduled: 0, aborted: true });
    expect(history.length).toBe(0);
  });

  it('stops after an operation count', async () => {
    const time = new VirtualTime();
    const history = new History();
    const clients = [0, 1].map((i) => fakeClient(time, history, i, () => 2));
    const result = await drive(time, clients, history, { pacing: openLoop(1_000), operations: 50 });
    expect(result.scheduled).toBe(50);
    expect(history.records.map((r) => r.id).sort((a, b) => a - b)).toEqual([...Array(50).keys()]);
  });

  it('reports progress about once a second, with errors by class', async () => {
    const time = new VirtualTime();
    const history = new History();
    const timeout = new GRPCDeadlineExceededError('4 DEADLINE_EXCEEDED: Deadline exceeded after 5.001s');
    const client = fakeClient(
      time,
      history,
      0,
      () => 5,
      (sequence) => (sequence % 10 === 9 ? timeout : undefined),
    );
    const reports: WorkloadProgress[] = [];
    await drive(time, [client], history, {
      pacing: openLoop(100),
      durationMs: 3_500,
      onProgress: (progress) => reports.push(progress),
    });

    expect(reports.map((r) => r.elapsedMs)).toEqual([1_000, 2_000, 3_000]);
    for (const report of reports) {
      expect(report.opsPerSecond).toBeGreaterThan(95);
      expect(report.opsPerSecond).toBeLessThan(105);
      expect(report.indeterminate).toBe(report.errors['timeout']);
    }
    expect(reports[2]?.completed).toBe(300);
    expect(reports[2]?.indeterminate).toBe(30);
    expect(history.records.filter((r) => r.outcome === 'indeterminate')).toHaveLength(35);
  });
});

describe('closed-loop driver', () => {
  it('keeps at most one operation in flight per client, each sending when the last returned', async () => {
    const time = new VirtualTime();
    const history = new History();
    const latencies = [3, 5, 7];
    const clients = latencies.map((ms, i) => fakeClient(time, history, i, () => ms));
    const result = await drive(time, clients, history, {
      pacing: { mode: 'closed-loop' },
      durationMs: 1_000,
    });

    expect(result.scheduled).toBe(history.length);
    clients.forEach((client, i) => {
      expect(client.maxConcurrent()).toBe(1);
      const own = byStart(history.records.filter((r) => r.clientId === client.clientId));
      const ms = latencies[i] ?? NaN;
      expect(own).toHaveLength(Math.ceil(1_000 / ms));
      own.forEach((record, k) => {
        expect(record.startMs).toBe(k * ms); // next one starts the moment the previous returned
        expect(latency(record)).toBe(ms);
      });
    });
  });

  it('stops after an operation count shared by all clients', async () => {
    const time = new VirtualTime();
    const history = new History();
    const clients = [0, 1, 2].map((i) => fakeClient(time, history, i, () => 4));
    const result = await drive(time, clients, history, { pacing: { mode: 'closed-loop' }, operations: 31 });
    expect(result.scheduled).toBe(31);
    expect(history.length).toBe(31);
  });

  it('stops promptly on abort and records the operations in flight', async () => {
    const time = new VirtualTime();
    const history = new History();
    const controller = new AbortController();
    time.at(1_001, () => controller.abort());
    const clients = [0, 1].map((i) => fakeClient(time, history, i, () => 10));
    const result = await drive(time, clients, history, {
      pacing: { mode: 'closed-loop' },
      durationMs: 60_000,
      signal: controller.signal,
    });

    expect(result.aborted).toBe(true);
    expect(result.endedMs).toBe(1_010);
    expect(history.length).toBe(2 * 101); // started at 0, 10, …, 1000 ms
    expect(history.records.every((r) => r.startMs <= 1_000 && r.outcome === 'ok')).toBe(true);
  });
});
