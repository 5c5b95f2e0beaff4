/**
 * What a model is: the sequential specification of one object. A model is one file
 * in this folder exporting `model`; the registry finds it by itself, so adding a
 * model means adding a file (see README "Checking histories").
 */
import type { Operation, Value } from '../history.js';

/** Returned by `step` when an operation cannot take effect in a state. */
export const ILLEGAL: unique symbol = Symbol('illegal');
export type Illegal = typeof ILLEGAL;

/**
 * An operation as the search applies it:
 * - `ok`: it took effect and its result is known (`result`);
 * - `mismatch`: a cas whose compare failed: no effect, and the value differed from
 *   the expected one at the moment it is placed;
 * - `maybe`: it may have taken effect at that moment (result unknown). The search
 *   also considers it never taking effect, so `step` only says what it does if it does.
 */
export interface ModelOp {
  readonly f: string;
  readonly value: Value;
  readonly result: Value | undefined;
  readonly kind: 'ok' | 'mismatch' | 'maybe';
}

export interface Model<S = unknown> {
  readonly name: string;
  /** One line for `raftbed check --help`. */
  readonly summary: string;
  /** The operations (`f`) it understands. */
  readonly fs: readonly string[];
  /**
   * `register`: starts from the history's register value (null, or Knossos's 0)
   * unless `--initial` is given; `own`: starts from `defaultInitial` unless given.
   */
  readonly initialFrom: 'register' | 'own';
  readonly defaultInitial: Value;
  /**
   * Present when the model is a family of independent objects (one per key): the
   * object an operation touches. Keys are then checked independently (P-compositionality).
   */
  partition?(op: Operation): string;
  /** An operation with no effect on the state (a read): unknown or failed ones are dropped. */
  isReadOnly(op: Operation): boolean;
  /** What is wrong with an operation's value, or undefined when it is well formed. */
  validate(op: Operation): string | undefined;
  init(initial: Value): S;
  step(state: S, op: ModelOp): S | Illegal;
  /** A 32-bit hash of a state; equal states must hash equal. */
  hash(state: S): number;
  equals(a: S, b: S): boolean;
  /**
   * Optional pruning, for models whose states only grow (appends) except through
   * resetting ops (a put) whose resulting state does not depend on the state they
   * are applied in: true for those.
   */
  resets?(op: ModelOp): boolean;
  /**
   * With `resets`: false only when observer `op` (a completed read) is illegal in
   * `state` and in every state reachable from it by ops that do not reset. The
   * search then abandons a configuration where no reset that could still come
   * before the read leads to a state that can satisfy it, instead of exploring
   * every order of the ops before the read's completion. Answer true when unsure:
   * that is always sound.
   */
  canStillObserve?(state: S, op: ModelOp): boolean;
  /** Roughly how many bytes a state holds, for the memory budget (default 64). */
  sizeOf?(state: S): number;
  showState(state: S): string;
  /** "read -> 3", "cas(1, 2) -> fail", for counterexamples. */
  showOp(op: ModelOp): string;
}

/** Message for an operation the model does not know. */
export function unknownF(model: { name: string; fs: readonly string[] }, f: string): string {
  return `unknown operation f "${f}" for model ${model.name} (it knows ${model.fs.join(', ')})`;
}

/** FNV-1a over a string's UTF-16 units, continuing from `h`. */
export function hashString(s: string, h = 0x811c9dc5): number {
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h | 0;
}

/** A hash consistent with `valueEquals` (JSON equality). */
export function hashValue(v: Value): number {
  if (v === null) return 0x2f1b3c4d;
  switch (typeof v) {
    case 'number': {
      if (Number.isInteger(v) && Math.abs(v) < 2 ** 31)
        return Math.imul(v ^ 0x5bd1e995, 0x27d4eb2d) | 0;
      return hashString(String(v), 0x1234567);
    }
    case 'boolean':
      return v ? 0x3c6ef372 : 0x1b873593;
    case 'string':
      return hashString(v);
    default:
      return hashString(JSON.stringify(v), 0x7fffffff);
  }
}
