/**
 * Time as the workload, the nemesis and the runner see it: milliseconds since the
 * run started, and a sleep that an AbortSignal cuts short. Tests use FakeClock.
 */
export interface Clock {
  nowMs(): number;
  /** Resolves after `ms`, or at once when `signal` aborts (never rejects). */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

export class RealClock implements Clock {
  private readonly origin = process.hrtime.bigint();

  nowMs(): number {
    return Number(process.hrtime.bigint() - this.origin) / 1e6;
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      if (signal?.aborted === true) return resolve();
      const done = (): void => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, Math.max(0, ms));
      signal?.addEventListener('abort', done, { once: true });
    });
  }
}
