/**
 * The raw events of a history as history.md defines them. The workload and the
 * nemesis produce these; the writer appends them as JSON lines.
 */
export type OpType = 'invoke' | 'ok' | 'fail' | 'info';
export type DataF = 'read' | 'write' | 'cas';

/** A JSON scalar, or a cas pair [expected, new]. */
export type OpValue = number | string | null | readonly [number | string | null, number | string];

export interface OpEvent {
  readonly index: number;
  /** Monotonic nanoseconds since the run started. */
  readonly time: number;
  readonly process: number;
  readonly type: OpType;
  readonly f: DataF;
  readonly key?: string;
  readonly value: OpValue;
  readonly node?: string;
  readonly error?: string;
}

/**
 * A fault starting or stopping. `f` is `start-KIND` or `stop-KIND`; `value` is a
 * short human description (the groups cut, the nodes paused), kept a string so
 * that any reader of history.md takes it as a scalar.
 */
export interface NemesisEvent {
  readonly index: number;
  readonly time: number;
  readonly process: 'nemesis';
  readonly type: 'info';
  readonly f: string;
  readonly value: string | null;
  readonly error?: string;
}

export type HistoryEvent = OpEvent | NemesisEvent;

/** What a writer is given: everything but the index and time, which it assigns. */
export type OpInput = Omit<OpEvent, 'index' | 'time'>;
export type NemesisInput = Omit<NemesisEvent, 'index' | 'time' | 'process' | 'type'>;
