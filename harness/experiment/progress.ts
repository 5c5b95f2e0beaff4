import type { HistoryEvent } from '../history/types.js';
import { CAS_MISMATCH } from '../workload/adapter.js';

export interface ProgressSink {
  event(e: HistoryEvent): void;
  faults(inForce: readonly string[]): void;
  phase(name: string): void;
  /** Any line that should not be overwritten by the live line. */
  note(line: string): void;
  stop(): void;
}

interface Stream {
  readonly isTTY?: boolean;
  write(s: string): unknown;
}

/**
 * One live line while an experiment runs (elapsed/limit, ok/fail/info, faults in
 * force), redrawn in place on a terminal; plain lines every few seconds otherwise.
 */
export class TerminalProgress implements ProgressSink {
  private ok = 0;
  private fail = 0;
  private info = 0;
  /** Failed cas ops that saw another value: answered, so not unavailability. */
  private mismatch = 0;
  private inForce: readonly string[] = [];
  private phaseName = 'setup';
  private started = Date.now();
  private timer: NodeJS.Timeout | null = null;
  private drawn = false;

  constructor(
    private readonly stream: Stream,
    private readonly limitS: number,
  ) {
    const tty = stream.isTTY === true;
    this.timer = setInterval(() => this.draw(), tty ? 500 : 5000);
    this.timer.unref();
  }

  event(e: HistoryEvent): void {
    if (e.process === 'nemesis' || e.type === 'invoke') return;
    this[e.type]++;
    if (e.type === 'fail' && e.error === CAS_MISMATCH) this.mismatch++;
  }

  faults(inForce: readonly string[]): void {
    this.inForce = inForce;
    if (this.stream.isTTY !== true)
      this.note(`faults: ${inForce.length === 0 ? 'none' : inForce.join('; ')}`);
  }

  phase(name: string): void {
    this.phaseName = name;
    // Elapsed counts against the time limit, which is the workload's.
    if (name === 'workload') this.started = Date.now();
    this.note(`phase: ${name}`);
  }

  note(line: string): void {
    this.clear();
    this.stream.write(line + '\n');
  }

  line(): string {
    const elapsed = (Date.now() - this.started) / 1000;
    const faults = this.inForce.length === 0 ? 'none' : this.inForce.join('; ');
    const fail =
      this.mismatch > 0 ? `${this.fail} (cas-mismatch ${this.mismatch})` : `${this.fail}`;
    return `[${this.phaseName}] ${elapsed.toFixed(0)}/${this.limitS} s  ok ${this.ok}  fail ${fail}  info ${this.info}  faults: ${faults}`;
  }

  stop(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    this.clear();
  }

  private draw(): void {
    if (this.stream.isTTY === true) {
      this.stream.write(`\r\x1b[2K${this.line()}`);
      this.drawn = true;
    } else {
      this.stream.write(this.line() + '\n');
    }
  }

  private clear(): void {
    if (this.drawn) this.stream.write('\r\x1b[2K');
    this.drawn = false;
  }
}

export const silentProgress: ProgressSink = {
  event: () => undefined,
  faults: () => undefined,
  phase: () => undefined,
  note: () => undefined,
  stop: () => undefined,
};
