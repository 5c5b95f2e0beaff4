import type { Operation } from '../history.js';
import { ILLEGAL, unknownF } from './model.js';
import type { Model } from './model.js';

const fs = ['acquire', 'release'];

/** Knossos's mutex: acquire when free, release when held; starts free. */
export const model: Model<boolean> = {
  name: 'mutex',
  summary: 'one lock with acquire and release (Knossos mutex); starts free',
  fs,
  initialFrom: 'own',
  defaultInitial: false,
  isReadOnly: () => false,
  validate: (op: Operation) =>
    fs.includes(op.f) ? undefined : unknownF({ name: 'mutex', fs }, op.f),
  init: (initial) => initial === true,
  step: (held, op) => (op.f === 'acquire' ? (held ? ILLEGAL : true) : held ? false : ILLEGAL),
  hash: (held) => (held ? 1 : 0),
  equals: (a, b) => a === b,
  showState: (held) => (held ? 'held' : 'free'),
  showOp: (op) => `${op.f}${op.kind === 'maybe' ? ' (maybe)' : ''}`,
};
