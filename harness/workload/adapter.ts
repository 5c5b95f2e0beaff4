import type { DataF, OpValue } from '../history/types.js';

/** One operation as the workload asks a client to perform it. */
export interface Op {
  readonly f: DataF;
  /** The key on the wire (the register workload uses one fixed key). */
  readonly key: string;
  /** read: null; write: the value; cas: [expected, new]. */
  readonly value: OpValue;
}

/**
 * How an operation ended, in history.md's terms:
 * ok: took effect, with the value read for reads;
 * fail: certainly took no effect (refused before sending, -TRYAGAIN, -ERR, a cas
 *       answered :0 with error "cas-mismatch");
 * info: unknown (lost after sending, -TIMEOUT).
 */
export type Outcome =
  | { readonly type: 'ok'; readonly value: OpValue }
  | { readonly type: 'fail'; readonly error: string }
  | { readonly type: 'info'; readonly error: string };

/** A connection to one node. The workload discards it after a timeout or an info. */
export interface ClientSession {
  invoke(op: Op): Promise<Outcome>;
  close(): void;
}

/** How the workload talks to a node: the only thing it knows about the system under test. */
export interface ClientAdapter {
  /** Opens lazily: a refused connection shows up as a `fail` of the first invoke. */
  open(node: string): ClientSession;
}

export const CAS_MISMATCH = 'cas-mismatch';
