/**
 * history.md's semantics, in one place: which operations the search sees and how.
 * - `ok`: took effect with a known result;
 * - `fail`: no effect, dropped; except a `cas` failed with `cas-mismatch`, which is
 *   kept as the observation "the value differed from the expected one";
 * - `info` and never-completed invocations: may take effect any time after the
 *   invocation, or never; reads among them observed nothing and are dropped;
 * - a read that returned nil is dropped where the format says it observed nothing
 *   (Knossos).
 */
import { HistoryError } from './history.js';
import type { History, Operation, Value } from './history.js';
import type { Model, ModelOp } from './models/model.js';

/** The operations of one independent object (a key), in invocation order. */
export interface Partition {
  /** The key; null for a single-object model. */
  readonly key: string | null;
  /** Indices into `History.ops`. */
  readonly ops: readonly number[];
  readonly modelOps: readonly ModelOp[];
  /** Event positions of the invocation and completion (-1: may never complete). */
  readonly call: readonly number[];
  readonly ret: readonly number[];
  /** Ops that never change the state (reads, cas mismatches): see SearchInput. */
  readonly observer: readonly boolean[];
}

export interface Prepared {
  readonly partitions: readonly Partition[];
  readonly initial: Value;
  /** Operations the search sees. */
  readonly checked: number;
}

/**
 * How the search sees `op`, or undefined when it is dropped. `readOnly` is the
 * model's `isReadOnly(op)` (asked once per op by the caller).
 */
function searchKind(
  op: Operation,
  readOnly: boolean,
  conventions: History['conventions'],
): ModelOp['kind'] | undefined {
  switch (op.outcome) {
    case 'ok':
      return conventions.nilReadObservesNothing && op.result === null && readOnly
        ? undefined
        : 'ok';
    case 'fail':
      return op.f === 'cas' && op.error === 'cas-mismatch' ? 'mismatch' : undefined;
    case 'info':
    case 'open':
      return readOnly ? undefined : 'maybe';
  }
}

/** The initial value: `--initial`, else the one given when reading, else the format's or model's. */
function initialValue(history: History, model: Model, override?: Value): Value {
  if (override !== undefined) return override;
  if (history.initial !== undefined) return history.initial;
  return model.initialFrom === 'register'
    ? history.conventions.registerInitial
    : model.defaultInitial;
}

/**
 * Validates every client operation against the model (unknown `f`, malformed values,
 * keys on a single-object model: a HistoryError naming the line) and splits the ones
 * the search sees by key.
 */
export function prepare(history: History, model: Model, initialOverride?: Value): Prepared {
  const groups = new Map<string | null, Group>();
  const keyed = model.partition !== undefined;
  const conventions = history.conventions;
  // Most histories have one key, or runs of ops on one: skip the map then.
  let lastKey: string | null | undefined;
  let last: Group | undefined;
  let checked = 0;
  const ops = history.ops;
  // (Indexed loops: cheaper than iterators before the compiler has optimised them.)
  for (let i = 0; i < ops.length; i++) {
    const op = ops[i] as Operation;
    const problem = model.validate(op);
    if (problem !== undefined) throw new HistoryError(history.source, op.line, problem);
    if (!keyed && op.key !== undefined) {
      throw new HistoryError(
        history.source,
        op.line,
        `operation has key ${JSON.stringify(op.key)} but model ${model.name} checks a single object (use --model kv for keyed histories)`,
      );
    }
    const readOnly = model.isReadOnly(op);
    const kind = searchKind(op, readOnly, conventions);
    if (kind === undefined) continue;
    const key = keyed ? (model.partition?.(op) ?? null) : null;
    let group = key === lastKey ? last : groups.get(key);
    if (group === undefined) {
      group = { ops: [], modelOps: [], call: [], ret: [], observer: [] };
      groups.set(key, group);
    }
    lastKey = key;
    last = group;
    group.ops.push(op.index);
    group.modelOps.push({
      f: op.f,
      value: op.value,
      result: kind === 'ok' ? op.result : undefined,
      kind,
    });
    group.call.push(op.call);
    group.ret.push(kind === 'maybe' ? -1 : op.ret);
    group.observer.push(kind === 'mismatch' || readOnly);
    checked++;
  }
  const keys = [...groups.keys()].sort(compareKeys);
  const partitions = keys.map((key): Partition => {
    const g = groups.get(key);
    if (g === undefined) throw new Error('unreachable');
    return { key, ...g };
  });
  return { partitions, initial: initialValue(history, model, initialOverride), checked };
}

interface Group {
  ops: number[];
  modelOps: ModelOp[];
  call: number[];
  ret: number[];
  observer: boolean[];
}

/** Made on first use: creating it costs milliseconds, and most keys are numbers. */
let collator: Intl.Collator | undefined;
const DECIMAL = /^(0|[1-9][0-9]{0,14})$/;

/** Keys in natural order ("k2" before "k10"); the collator's order, numbers quickly. */
function compareKeys(a: string | null, b: string | null): number {
  if (a === b) return 0;
  if (a === null) return -1;
  if (b === null) return 1;
  if (DECIMAL.test(a) && DECIMAL.test(b)) return Number(a) - Number(b);
  collator ??= new Intl.Collator('en', { numeric: true });
  return collator.compare(a, b);
}
