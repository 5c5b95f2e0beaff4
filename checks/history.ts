/**
 * The one internal history model every reader produces and the checker consumes.
 *
 * A history is a list of client operations, each an invocation paired with its
 * completion (or none), in invocation order. Positions (`call`, `ret`) are the
 * events' places in the source, which is real-time order for every format we read;
 * `time` is kept for reports only. Readers stay faithful to the file (a failed op
 * stays in the list, marked `fail`); `semantics.ts` decides what the checker uses.
 */

/** Values are JSON values, compared by JSON equality. */
export type Value = null | boolean | number | string | readonly Value[] | ValueMap;
export interface ValueMap {
  readonly [key: string]: Value;
}

export type Format = 'jsonl' | 'edn' | 'porcupine';
export const FORMATS: readonly Format[] = ['jsonl', 'edn', 'porcupine'];

/** How an operation ended: `open` means its invocation never completed. */
export type Outcome = 'ok' | 'fail' | 'info' | 'open';

export interface Operation {
  /** Position in `History.ops`. */
  readonly index: number;
  readonly process: number | string;
  readonly f: string;
  /** The key it touches; absent for a single-object history. */
  readonly key?: string | undefined;
  /** The invocation's value (a write's value, a cas's [expected, new], null for a read). */
  readonly value: Value;
  /** The completion's value (the value read, ...); absent when the op never completed. */
  readonly result?: Value | undefined;
  readonly outcome: Outcome;
  /** The completion's reason, for `fail` and `info` (e.g. `cas-mismatch`, `timeout`). */
  readonly error?: string | undefined;
  /** Event positions of the invocation and the completion (-1: none). */
  readonly call: number;
  readonly ret: number;
  /** Source lines of the invocation and the completion (1-based; -1: none). */
  readonly line: number;
  readonly retLine: number;
  readonly time?: number | undefined;
  readonly retTime?: number | undefined;
  readonly node?: string | undefined;
}

/** A fault event (process `nemesis`): kept for reports, ignored by the checker. */
export interface NemesisEvent {
  readonly type: string;
  readonly f: string;
  readonly value: Value;
  readonly position: number;
  readonly line: number;
  readonly time?: number;
}

/** What a format means by its records, beyond history.md's own semantics. */
export interface Conventions {
  /** The value registers start from unless `--initial` says otherwise (Knossos: 0). */
  readonly registerInitial: Value;
  /** Knossos: a read that returned nil observed nothing (its read always passes). */
  readonly nilReadObservesNothing: boolean;
}

export interface History {
  /** File path, or a label for histories parsed from a string. */
  readonly source: string;
  readonly format: Format;
  readonly ops: readonly Operation[];
  readonly nemesis: readonly NemesisEvent[];
  /** Number of event positions (invocations, completions and nemesis events). */
  readonly events: number;
  readonly conventions: Conventions;
  /** An initial value given when the history was read (overrides the conventions). */
  readonly initial?: Value;
  /** The model this history most likely wants when none is named. */
  readonly suggestedModel: string;
}

/** Bad input: names the file and line so the user can find it. Exit code 3 in the CLI. */
export class HistoryError extends Error {
  override readonly name = 'HistoryError';
  constructor(
    readonly source: string,
    readonly line: number,
    readonly problem: string,
  ) {
    super(line > 0 ? `${source}:${line}: ${problem}` : `${source}: ${problem}`);
  }
}

/** JSON equality; scalars (the common case) compare without allocating. */
export function valueEquals(a: Value | undefined, b: Value | undefined): boolean {
  if (a === b) return true;
  if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object') return false;
  return JSON.stringify(a) === JSON.stringify(b);
}

/** A short, unambiguous rendering of a value for messages and reports. */
function showValue(v: Value | undefined): string {
  if (v === undefined) return '?';
  return JSON.stringify(v);
}

/** "read -> 3", "write 4", "cas [1,2] -> fail (cas-mismatch)", for messages and reports. */
export function describeOperation(op: Operation): string {
  const call = op.value === null ? op.f : `${op.f} ${showValue(op.value)}`;
  switch (op.outcome) {
    case 'ok':
      // A call that returns its argument reads as "-> ok"; a read of nil says nil.
      return op.result === undefined || (op.value !== null && valueEquals(op.result, op.value))
        ? `${call} -> ok`
        : `${call} -> ${showValue(op.result)}`;
    case 'fail':
      return `${call} -> fail${op.error !== undefined ? ` (${op.error})` : ''}`;
    case 'info':
      return `${call} -> info${op.error !== undefined ? ` (${op.error})` : ''}`;
    case 'open':
      return `${call} -> (never completed)`;
  }
}
