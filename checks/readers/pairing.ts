import { HistoryError } from '../history.js';
import type { Conventions, Format, History, NemesisEvent, Outcome, Value } from '../history.js';

export type EventType = 'invoke' | 'ok' | 'fail' | 'info';
export const EVENT_TYPES: readonly EventType[] = ['invoke', 'ok', 'fail', 'info'];

/** One line of a history as a reader sees it, before pairing. */
export interface RawEvent {
  readonly type: EventType;
  readonly process: number | string;
  readonly f: string;
  readonly value: Value;
  readonly line: number;
  readonly key?: string;
  readonly time?: number;
  readonly error?: string;
  readonly node?: string;
}

interface Draft {
  index: number;
  process: number | string;
  f: string;
  key: string | undefined;
  value: Value;
  result: Value | undefined;
  outcome: Outcome;
  error: string | undefined;
  call: number;
  ret: number;
  line: number;
  retLine: number;
  time: number | undefined;
  retTime: number | undefined;
  node: string | undefined;
}

/**
 * Pairs invocations with completions (history.md: a completion belongs to the most
 * recent open invocation of the same process) and rejects what cannot be paired,
 * naming the line: a completion without an invocation, a second invocation while
 * one is in flight, a completion whose `f` or key differs from its invocation.
 */
export class Pairing {
  private readonly drafts: Draft[] = [];
  private readonly open = new Map<number | string, Draft>();
  private readonly faults: NemesisEvent[] = [];
  private position = 0;

  constructor(private readonly source: string) {}

  add(ev: RawEvent): void {
    const position = this.position++;
    if (ev.process === 'nemesis') {
      this.faults.push({
        type: ev.type,
        f: ev.f,
        value: ev.value,
        position,
        line: ev.line,
        ...(ev.time !== undefined ? { time: ev.time } : {}),
      });
      return;
    }
    const pending = this.open.get(ev.process);
    if (ev.type === 'invoke') {
      if (pending !== undefined) {
        this.fail(
          ev.line,
          `process ${String(ev.process)} invokes ${ev.f} while its ${pending.f} from line ${pending.line} has not completed`,
        );
      }
      const draft: Draft = {
        index: this.drafts.length,
        process: ev.process,
        f: ev.f,
        key: ev.key,
        value: ev.value,
        result: undefined,
        outcome: 'open',
        error: undefined,
        call: position,
        ret: -1,
        line: ev.line,
        retLine: -1,
        time: ev.time,
        retTime: undefined,
        node: ev.node,
      };
      this.drafts.push(draft);
      this.open.set(ev.process, draft);
      return;
    }
    if (pending === undefined) {
      this.fail(
        ev.line,
        `${ev.type} ${ev.f} of process ${String(ev.process)} completes nothing: no invocation is open for that process`,
      );
    }
    if (pending.f !== ev.f) {
      this.fail(
        ev.line,
        `${ev.type} completes ${ev.f} but process ${String(ev.process)} invoked ${pending.f} (line ${pending.line})`,
      );
    }
    if (ev.key !== undefined && pending.key !== undefined && ev.key !== pending.key) {
      this.fail(
        ev.line,
        `${ev.type} ${ev.f} has key ${JSON.stringify(ev.key)} but its invocation (line ${pending.line}) has key ${JSON.stringify(pending.key)}`,
      );
    }
    pending.outcome = ev.type;
    pending.result = ev.value;
    pending.error = ev.error;
    pending.ret = position;
    pending.retLine = ev.line;
    pending.retTime = ev.time;
    if (pending.key === undefined && ev.key !== undefined) pending.key = ev.key;
    if (pending.node === undefined && ev.node !== undefined) pending.node = ev.node;
    this.open.delete(ev.process);
  }

  /**
   * The history read: operations in invocation order, invocations still open left
   * `open`. Every operation has the same fields (absent ones undefined), so code that
   * walks them sees one object shape.
   */
  finish(format: Format, conventions: Conventions, suggestedModel: string): History {
    return {
      source: this.source,
      format,
      ops: this.drafts,
      nemesis: this.faults,
      events: this.position,
      conventions,
      suggestedModel,
    };
  }

  private fail(line: number, problem: string): never {
    throw new HistoryError(this.source, line, problem);
  }
}

/** A line cut short for an error message. */
export function clip(s: string, max = 60): string {
  return s.length > max ? `${s.slice(0, max - 3)}...` : s;
}
