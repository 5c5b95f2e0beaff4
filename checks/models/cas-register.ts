import { valueEquals } from '../history.js';
import type { Operation, Value } from '../history.js';
import { ILLEGAL, hashValue, unknownF } from './model.js';
import type { Illegal, Model, ModelOp } from './model.js';

/**
 * A compare-and-set register (Knossos's cas-register). A `cas` that completed ok
 * swapped; one that failed with `cas-mismatch` saw a different value; one whose
 * outcome is unknown swaps if the value matched and otherwise does nothing.
 */
export function registerModel(name: string, summary: string, withCas: boolean): Model<Value> {
  const fs = withCas ? ['read', 'write', 'cas'] : ['read', 'write'];
  return {
    name,
    summary,
    fs,
    initialFrom: 'register',
    defaultInitial: null,
    isReadOnly: (op) => op.f === 'read',
    validate(op: Operation) {
      if (!fs.includes(op.f)) return unknownF({ name, fs }, op.f);
      if (op.f === 'cas' && !(Array.isArray(op.value) && op.value.length === 2)) {
        return `cas needs the value [expected, new], got ${JSON.stringify(op.value)}`;
      }
      return undefined;
    },
    init: (initial) => initial,
    step(state: Value, op: ModelOp): Value | Illegal {
      switch (op.f) {
        case 'read':
          return op.kind !== 'ok' || valueEquals(state, op.result ?? null) ? state : ILLEGAL;
        case 'write':
          return op.value;
        default: {
          const [expected, next] = op.value as readonly [Value, Value];
          const matches = valueEquals(state, expected);
          if (op.kind === 'ok') return matches ? next : ILLEGAL;
          if (op.kind === 'mismatch') return matches ? ILLEGAL : state;
          return matches ? next : state;
        }
      }
    },
    hash: hashValue,
    equals: valueEquals,
    showState: (state) => JSON.stringify(state),
    showOp(op) {
      switch (op.f) {
        case 'read':
          return `read -> ${op.kind === 'ok' ? JSON.stringify(op.result ?? null) : '?'}`;
        case 'write':
          return `write ${JSON.stringify(op.value)}${op.kind === 'maybe' ? ' (maybe)' : ''}`;
        default: {
          const [expected, next] = op.value as readonly [Value, Value];
          const outcome = op.kind === 'ok' ? 'ok' : op.kind === 'mismatch' ? 'fail' : '?';
          return `cas ${JSON.stringify(expected)} -> ${JSON.stringify(next)}: ${outcome}`;
        }
      }
    },
  };
}

export const model = registerModel(
  'cas-register',
  'one register with read, write and cas [expected, new]',
  true,
);
