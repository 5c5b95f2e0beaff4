import type { Operation } from '../history.js';
import { ILLEGAL, hashString, unknownF } from './model.js';
import type { Model, ModelOp } from './model.js';

const fs = ['get', 'put', 'append'];

/**
 * A value with its hash, extended as values are appended: hashing a long value
 * afresh after every append would cost more than the search itself.
 */
interface Text {
  readonly s: string;
  readonly h: number;
}

function text(s: string): Text {
  return { s, h: hashString(s) };
}

/**
 * Per get: the hash of each prefix of its result, so that "is this state a prefix of
 * what the get saw" costs one lookup (states are hashed the same way, incrementally)
 * and never flattens a state's string.
 */
const prefixHashes = new WeakMap<ModelOp, Int32Array>();

function prefixHash(op: ModelOp, seen: string, length: number): number {
  let table = prefixHashes.get(op);
  if (table === undefined) {
    table = new Int32Array(seen.length + 1);
    let h = hashString('');
    table[0] = h;
    for (let i = 0; i < seen.length; i++) {
      h = Math.imul(h ^ seen.charCodeAt(i), 0x01000193);
      table[i + 1] = h;
    }
    prefixHashes.set(op, table);
  }
  return table[length] as number;
}

/** Porcupine's key-value test model: string values per key, starting at "". */
export const model: Model<Text> = {
  name: 'porcupine-kv',
  summary: 'get, put, append of strings per key (Porcupine kv); values start at ""',
  fs,
  initialFrom: 'own',
  defaultInitial: '',
  partition: (op) => op.key ?? '',
  isReadOnly: (op) => op.f === 'get',
  validate(op: Operation) {
    if (!fs.includes(op.f)) return unknownF({ name: 'porcupine-kv', fs }, op.f);
    if (op.f !== 'get' && typeof op.value !== 'string') {
      return `${op.f} needs a string value, got ${JSON.stringify(op.value)}`;
    }
    return undefined;
  },
  init: (initial) => text(typeof initial === 'string' ? initial : JSON.stringify(initial)),
  step(state, op) {
    switch (op.f) {
      case 'get': {
        if (op.kind !== 'ok') return state;
        // Lengths first: comparing a long concatenation would flatten it.
        const seen = op.result;
        return typeof seen === 'string' && seen.length === state.s.length && seen === state.s
          ? state
          : ILLEGAL;
      }
      case 'put':
        return text(op.value as string);
      default: {
        const suffix = op.value as string;
        return { s: state.s + suffix, h: hashString(suffix, state.h) };
      }
    }
  },
  // Without a put, a value only grows: a get can still see its result only if the
  // value now is a prefix of it. Unequal hashes prove it is not; equal ones are taken
  // as "maybe" (sound either way).
  resets: (op) => op.f === 'put',
  canStillObserve(state, op) {
    const seen = op.result;
    if (typeof seen !== 'string') return false;
    return seen.length >= state.s.length && prefixHash(op, seen, state.s.length) === state.h;
  },
  hash: (state) => state.h,
  sizeOf: (state) => 48 + 2 * state.s.length,
  equals: (a, b) => a === b || (a.h === b.h && a.s === b.s),
  showState: (state) => JSON.stringify(state.s),
  showOp: (op) =>
    op.f === 'get'
      ? `get -> ${op.kind === 'ok' ? JSON.stringify(op.result) : '?'}`
      : `${op.f} ${JSON.stringify(op.value)}${op.kind === 'maybe' ? ' (maybe)' : ''}`,
};
