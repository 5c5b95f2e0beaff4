import { closeSync, openSync, writeSync } from 'node:fs';
import type { HistoryEvent, NemesisEvent, NemesisInput, OpEvent, OpInput } from './types.js';

export interface HistoryWriterOptions {
  /** Milliseconds since the run started; the history stores nanoseconds. */
  readonly nowMs: () => number;
  /** Called with every event after it is written (live status, in-memory views). */
  readonly onEvent?: (event: HistoryEvent) => void;
}

/**
 * Appends history events as JSON lines, one write(2) per event, so whatever the
 * harness wrote survives it crashing: there is no buffer in this process to lose.
 */
export class HistoryWriter {
  private fd: number | null;
  private nextIndex = 0;

  constructor(
    readonly path: string,
    private readonly options: HistoryWriterOptions,
  ) {
    this.fd = openSync(path, 'a');
  }

  get count(): number {
    return this.nextIndex;
  }

  op(input: OpInput): OpEvent {
    const event: OpEvent = { index: this.nextIndex, time: this.timeNs(), ...input };
    this.write(event);
    return event;
  }

  nemesis(input: NemesisInput): NemesisEvent {
    const event: NemesisEvent = {
      index: this.nextIndex,
      time: this.timeNs(),
      process: 'nemesis',
      type: 'info',
      ...input,
    };
    this.write(event);
    return event;
  }

  close(): void {
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
  }

  private timeNs(): number {
    return Math.round(this.options.nowMs() * 1e6);
  }

  private write(event: HistoryEvent): void {
    if (this.fd === null) throw new Error(`history ${this.path} is closed`);
    writeSync(this.fd, JSON.stringify(event) + '\n');
    this.nextIndex++;
    this.options.onEvent?.(event);
  }
}
