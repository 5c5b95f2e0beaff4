/**
 * Drives the Raft clock from real elapsed time: a timer fires every
 * `intervalMs`, and each tick passes the milliseconds that really went by
 * since the previous one, so a late timer (a busy event loop, a paused
 * process) shows up as the long gap it was rather than as lost time.
 */
export interface TickerOptions {
  readonly intervalMs: number;
  readonly onTick: (elapsedMs: number) => void;
  /** Milliseconds on a monotonic clock; performance.now by default. */
  readonly now?: () => number;
}

export class Ticker {
  private timer: NodeJS.Timeout | null = null;
  private last = 0;
  private readonly now: () => number;

  constructor(private readonly options: TickerOptions) {
    this.now = options.now ?? (() => performance.now());
  }

  start(): void {
    if (this.timer !== null) return;
    this.last = this.now();
    this.timer = setInterval(() => this.fire(), this.options.intervalMs);
  }

  stop(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
  }

  private fire(): void {
    const now = this.now();
    const elapsed = now - this.last;
    this.last = now;
    this.options.onTick(elapsed);
  }
}
