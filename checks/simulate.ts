/**
 * Histories from a simulated atomic register, cas-register or key-value store, for
 * property tests and benchmarks: concurrent processes invoke operations that take
 * effect atomically at some moment between invocation and completion, so every
 * history produced is linearizable. Some operations time out (`info`): they take
 * effect or not, possibly after the timeout was reported, and the process is
 * replaced by a fresh one (history.md). A cas whose compare fails completes as
 * `fail` with `cas-mismatch`; a few operations fail before taking effect.
 */
import { Prng } from '../node/util/prng.js';
import type { Value } from './history.js';

export interface SimOptions {
  readonly seed: number | string;
  /** Number of operations invoked. */
  readonly ops: number;
  /** Processes with an operation in flight at a time. */
  readonly concurrency: number;
  readonly model: 'register' | 'cas-register' | 'kv';
  /** kv: keys k0..k(n-1). */
  readonly keys?: number;
  /** Values written are 0..values-1. */
  readonly values?: number;
  /** Chance an operation ends as `info` (unknown outcome). */
  readonly infoRate?: number;
  /** Chance an operation fails before taking effect. */
  readonly failRate?: number;
  /** Share of reads among operations. */
  readonly readRate?: number;
  readonly initial?: Value;
}

/** One event as history.md writes it. */
export interface SimEvent {
  readonly index: number;
  readonly process: number;
  readonly type: 'invoke' | 'ok' | 'fail' | 'info';
  readonly f: 'read' | 'write' | 'cas';
  readonly key?: string;
  readonly value: Value;
  readonly error?: string;
}

interface InFlight {
  readonly process: number;
  readonly f: 'read' | 'write' | 'cas';
  readonly key: string | undefined;
  readonly value: Value;
  readonly ending: 'ok' | 'info' | 'fail';
  applied: boolean;
  result: Value;
  mismatch: boolean;
}

/** Simulates a run; events are in real-time order (the order history.md lines come in). */
export function simulate(options: SimOptions): SimEvent[] {
  const rng = new Prng(options.seed);
  const values = options.values ?? 5;
  const infoRate = options.infoRate ?? 0.05;
  const failRate = options.failRate ?? 0.02;
  const readRate = options.readRate ?? 0.4;
  const keys = options.model === 'kv' ? Math.max(1, options.keys ?? 10) : 0;
  const store = new Map<string, Value>();
  const initial = options.initial ?? null;
  const read = (key: string | undefined): Value => store.get(key ?? '') ?? initial;

  const events: SimEvent[] = [];
  const emit = (e: Omit<SimEvent, 'index'>): void => {
    events.push({ index: events.length, ...e });
  };
  // Slots hold the process currently driving them; an `info` retires the process.
  const slots: (InFlight | undefined)[] = new Array<InFlight | undefined>(options.concurrency);
  const processOf = Array.from({ length: options.concurrency }, (_, i) => i);
  let nextProcess = options.concurrency;
  /** Timed-out ops that may still take effect later. */
  const lingering: InFlight[] = [];
  let invoked = 0;

  const apply = (op: InFlight): void => {
    op.applied = true;
    const key = op.key ?? '';
    const current = read(op.key);
    if (op.f === 'read') {
      op.result = current;
    } else if (op.f === 'write') {
      store.set(key, op.value);
      op.result = op.value;
    } else {
      const [expected, next] = op.value as [Value, Value];
      if (current === expected) {
        store.set(key, next);
        op.result = op.value;
      } else {
        op.mismatch = true;
        op.result = op.value;
      }
    }
  };

  while (invoked < options.ops || slots.some((s) => s !== undefined) || lingering.length > 0) {
    const choice = rng.int(0, options.concurrency);
    if (choice === options.concurrency) {
      // A timed-out op takes effect late, or is forgotten for good.
      const late =
        lingering.length > 0 ? lingering.splice(rng.int(0, lingering.length - 1), 1)[0] : undefined;
      if (late !== undefined && rng.chance(0.6)) apply(late);
      continue;
    }
    const op = slots[choice];
    if (op === undefined) {
      if (invoked >= options.ops) continue;
      invoked++;
      const f = rng.chance(readRate)
        ? 'read'
        : options.model === 'register' || rng.chance(0.5)
          ? 'write'
          : 'cas';
      const key = keys > 0 ? `k${rng.int(0, keys - 1)}` : undefined;
      const value: Value =
        f === 'read'
          ? null
          : f === 'write'
            ? rng.int(0, values - 1)
            : [rng.chance(0.2) ? null : rng.int(0, values - 1), rng.int(0, values - 1)];
      const ending = rng.chance(infoRate) ? 'info' : rng.chance(failRate) ? 'fail' : 'ok';
      const process = processOf[choice] as number;
      slots[choice] = {
        process,
        f,
        key,
        value,
        ending,
        applied: false,
        result: null,
        mismatch: false,
      };
      emit({ process, type: 'invoke', f, ...(key !== undefined ? { key } : {}), value });
      continue;
    }
    const keyField = op.key !== undefined ? { key: op.key } : {};
    if (op.ending === 'fail') {
      // Refused before it took effect (history.md: fail = certainly no effect).
      emit({
        process: op.process,
        type: 'fail',
        f: op.f,
        ...keyField,
        value: op.value,
        error: 'unavailable',
      });
      slots[choice] = undefined;
      continue;
    }
    if (op.ending === 'info') {
      if (!op.applied && rng.chance(0.5)) {
        apply(op);
        continue;
      }
      emit({
        process: op.process,
        type: 'info',
        f: op.f,
        ...keyField,
        value: op.value,
        error: 'timeout',
      });
      if (!op.applied) lingering.push(op);
      slots[choice] = undefined;
      processOf[choice] = nextProcess++;
      continue;
    }
    if (!op.applied) {
      apply(op);
      continue;
    }
    if (op.mismatch) {
      emit({
        process: op.process,
        type: 'fail',
        f: 'cas',
        ...keyField,
        value: op.value,
        error: 'cas-mismatch',
      });
    } else {
      emit({
        process: op.process,
        type: 'ok',
        f: op.f,
        ...keyField,
        value: op.f === 'read' ? op.result : op.value,
      });
    }
    slots[choice] = undefined;
  }
  return events;
}

/** history.md's JSONL for a list of events. */
export function toJsonl(events: readonly SimEvent[]): string {
  return events.map((e) => JSON.stringify(e)).join('\n') + '\n';
}
