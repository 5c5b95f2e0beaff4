import type { Clock } from '../clock.js';

interface Timer {
  readonly at: number;
  readonly seq: number;
  readonly resolve: () => void;
}

/**
 * Virtual time for tests: sleeps resolve only when `runUntil` advances past them,
 * in time order, letting every promise chain settle between two timers, so a
 * minute of workload runs in milliseconds and the same inputs give the same events.
 */
export class FakeClock implements Clock {
  private now = 0;
  private seq = 0;
  private timers: Timer[] = [];

  nowMs(): number {
    return this.now;
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      if (signal?.aborted === true) return resolve();
      const onAbort = (): void => {
        this.timers = this.timers.filter((t) => t !== timer);
        resolve();
      };
      const timer: Timer = {
        at: this.now + Math.max(0, ms),
        seq: this.seq++,
        resolve: () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        },
      };
      this.timers.push(timer);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** Fires timers in order up to `untilMs` (or until none is left), settling between each. */
  async runUntil(untilMs: number): Promise<void> {
    await settle();
    for (;;) {
      this.timers.sort((a, b) => a.at - b.at || a.seq - b.seq);
      const next = this.timers[0];
      if (next === undefined || next.at > untilMs) break;
      this.timers.shift();
      this.now = Math.max(this.now, next.at);
      next.resolve();
      await settle();
    }
    this.now = Math.max(this.now, untilMs);
  }

  /** Runs until `done` settles, advancing time as far as needed (at most `limitMs`). */
  async runUntilSettled<T>(done: Promise<T>, limitMs = 10_000_000): Promise<T> {
    let finished = false;
    const watched = done.finally(() => {
      finished = true;
    });
    // The caller handles a rejection when this returns; until then it is not unhandled.
    watched.catch(() => undefined);
    await settle();
    let idle = 0;
    while (!finished) {
      this.timers.sort((a, b) => a.at - b.at || a.seq - b.seq);
      const next = this.timers[0];
      if (next === undefined || next.at > limitMs) {
        // Real I/O (files, rendering, a checker) may still be under way: give it real time.
        if (idle++ > 2000) {
          throw new Error(
            `FakeClock: nothing left to run at ${this.now} ms and the task is not done`,
          );
        }
        await new Promise<void>((r) => setTimeout(r, 5));
        continue;
      }
      idle = 0;
      this.timers.shift();
      this.now = Math.max(this.now, next.at);
      next.resolve();
      await settle();
    }
    return watched;
  }

  pending(): number {
    return this.timers.length;
  }
}

async function settle(): Promise<void> {
  // Several macrotask turns: promise chains several awaits deep resolve in between.
  for (let i = 0; i < 5; i++) await new Promise<void>((r) => setImmediate(r));
}
