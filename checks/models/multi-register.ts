import { valueEquals } from '../history.js';
import type { Operation, Value } from '../history.js';
import { ILLEGAL, hashString, unknownF } from './model.js';
import type { Model } from './model.js';

/** Registers that differ from `initial`; the others hold `initial`. */
interface Registers {
  readonly initial: Value;
  readonly regs: ReadonlyMap<string, Value>;
}
type Micro = readonly [string, string | number, Value];

/**
 * Knossos's multi-register: `txn` ops whose value is a list of [f k v] micro-ops
 * (f read/r or write/w) applied atomically to several registers. A read of nil
 * always passes (Knossos); every register starts at the initial value.
 */
export const model: Model<Registers> = {
  name: 'multi-register',
  summary: 'txn of [read|write key value] micro-ops over several registers (Knossos)',
  fs: ['txn'],
  initialFrom: 'register',
  defaultInitial: null,
  isReadOnly: (op) => micros(op.value).every(([f]) => isRead(f)),
  validate(op: Operation) {
    if (op.f !== 'txn') return unknownF({ name: 'multi-register', fs: ['txn'] }, op.f);
    const shapes = op.outcome === 'ok' ? [op.value, op.result ?? null] : [op.value];
    for (const v of shapes) {
      if (!Array.isArray(v)) return `txn needs a list of [f key value], got ${JSON.stringify(v)}`;
      for (const m of v as readonly Value[]) {
        if (!Array.isArray(m) || m.length !== 3 || typeof m[0] !== 'string' || !isMicroF(m[0])) {
          return `txn micro-op must be [read|write key value], got ${JSON.stringify(m)}`;
        }
      }
    }
    return undefined;
  },
  init: (initial) => ({ initial, regs: new Map() }),
  step(state, op) {
    // A completed txn carries what its reads saw; an unknown one only its writes matter.
    const txn = micros(op.kind === 'ok' ? (op.result ?? op.value) : op.value);
    let regs: Map<string, Value> | undefined;
    for (const [f, k, v] of txn) {
      const name = String(k);
      const current = (regs ?? state.regs).get(name) ?? state.initial;
      if (isRead(f)) {
        if (v !== null && op.kind === 'ok' && !valueEquals(current, v)) return ILLEGAL;
      } else if (!valueEquals(current, v)) {
        regs ??= new Map(state.regs);
        if (valueEquals(v, state.initial)) regs.delete(name);
        else regs.set(name, v);
      }
    }
    return regs === undefined ? state : { initial: state.initial, regs };
  },
  hash: (state) => hashString(identity(state)),
  sizeOf: (state) => 96 + 64 * state.regs.size,
  equals: (a, b) => a === b || identity(a) === identity(b),
  showState(state) {
    const regs = [...state.regs.entries()]
      .sort(byName)
      .map(([k, v]) => `${k}=${JSON.stringify(v)}`);
    return `{${[...regs, `others=${JSON.stringify(state.initial)}`].join(', ')}}`;
  },
  showOp(op) {
    const txn = micros(op.kind === 'ok' ? (op.result ?? op.value) : op.value);
    const body = txn.map(([f, k, v]) => `${isRead(f) ? 'r' : 'w'} ${k} ${JSON.stringify(v)}`);
    return `txn [${body.join(', ')}]${op.kind === 'maybe' ? ' (maybe)' : ''}`;
  },
};

/** The registers that differ from the initial value, in key order, as text. */
function identity(state: Registers): string {
  return JSON.stringify([...state.regs.entries()].sort(byName));
}

function byName(a: readonly [string, Value], b: readonly [string, Value]): number {
  return a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0;
}

function isRead(f: string): boolean {
  return f === 'read' || f === 'r';
}

function isMicroF(f: string): boolean {
  return isRead(f) || f === 'write' || f === 'w';
}

function micros(v: Value | undefined): readonly Micro[] {
  return Array.isArray(v) ? (v as readonly Micro[]) : [];
}
