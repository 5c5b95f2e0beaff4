import type { RespValue } from '../../node/kv/resp.js';
import type { OpValue } from '../history/types.js';
import {
  CAS_MISMATCH,
  type ClientAdapter,
  type ClientSession,
  type Op,
  type Outcome,
} from './adapter.js';

/** A RESP reply as node/kv/client.ts returns it. */
export type Reply = RespValue;

/** The part of node/kv/client.ts's RespClient the workload uses. */
export interface RespConnection {
  call(
    args: readonly (string | number)[],
    options?: { readonly timeoutMs?: number },
  ): Promise<Reply>;
  close(): void;
}

/**
 * Opens a connection to a node. Failures are the client's own errors: a
 * ClientError carries `sent` (false: nothing reached the node) and `kind`; a
 * ReplyError carries the reply's `code` (TRYAGAIN, TIMEOUT, ERR, ...).
 */
export type Connect = (node: string) => Promise<RespConnection>;

/**
 * How a failed call completes in the history (history.md, issue 6):
 * not sent (refused, unreachable) -> fail; sent and lost or timed out -> info;
 * -TRYAGAIN and -ERR -> fail (no effect); -TIMEOUT -> info; any other code -> info,
 * since nothing says it had no effect.
 */
export function classifyError(err: unknown): Outcome {
  if (typeof err === 'object' && err !== null) {
    const e = err as { sent?: unknown; kind?: unknown; code?: unknown; message?: unknown };
    const message = typeof e.message === 'string' ? e.message : JSON.stringify(err);
    if (typeof e.sent === 'boolean') {
      const kind = typeof e.kind === 'string' ? e.kind : 'client error';
      return e.sent ? { type: 'info', error: kind } : { type: 'fail', error: kind };
    }
    if (typeof e.code === 'string') {
      const code = e.code;
      if (code === 'TRYAGAIN' || code === 'ERR') return { type: 'fail', error: message };
      return { type: 'info', error: message };
    }
    return { type: 'info', error: message };
  }
  return { type: 'info', error: String(err) };
}

/** The workload writes integers; what comes back is parsed into one when it is one. */
export function parseValue(bytes: Uint8Array | null): OpValue {
  if (bytes === null) return null;
  const text = Buffer.from(bytes).toString('utf8');
  return /^-?\d{1,15}$/.test(text) ? Number(text) : text;
}

function replyText(r: Reply): string {
  if (r.type === 'bulk') return r.value === null ? 'nil' : Buffer.from(r.value).toString('utf8');
  if (r.type === 'array') return 'array';
  return String(r.value);
}

/** Maps one op onto GET / SET / CAS and its reply onto an outcome. */
async function perform(conn: RespConnection, op: Op, timeoutMs: number): Promise<Outcome> {
  const options = { timeoutMs };
  switch (op.f) {
    case 'read': {
      const r = await conn.call(['GET', op.key], options);
      if (r.type !== 'bulk')
        return { type: 'fail', error: `unexpected reply to GET: ${replyText(r)}` };
      return { type: 'ok', value: parseValue(r.value) };
    }
    case 'write': {
      const r = await conn.call(['SET', op.key, String(op.value)], options);
      if (r.type === 'simple' && r.value === 'OK') return { type: 'ok', value: op.value };
      return { type: 'info', error: `unexpected reply to SET: ${replyText(r)}` };
    }
    case 'cas': {
      const [expected, next] = op.value as readonly [OpValue, OpValue];
      const r = await conn.call(['CAS', op.key, String(expected), String(next)], options);
      if (r.type === 'integer' && r.value === 1) return { type: 'ok', value: op.value };
      if (r.type === 'integer' && r.value === 0) return { type: 'fail', error: CAS_MISMATCH };
      return { type: 'info', error: `unexpected reply to CAS: ${replyText(r)}` };
    }
  }
}

export interface RespAdapterOptions {
  readonly connect: Connect;
  /** Passed to each call; the workload's own timeout decides, this only frees the socket. */
  readonly timeoutMs: number;
}

/** A ClientAdapter over RESP: one lazily opened connection per session. */
export class RespAdapter implements ClientAdapter {
  constructor(private readonly options: RespAdapterOptions) {}

  open(node: string): ClientSession {
    let conn: Promise<RespConnection> | null = null;
    let closed = false;
    return {
      invoke: async (op) => {
        conn ??= this.options.connect(node);
        let c: RespConnection;
        try {
          c = await conn;
        } catch (err) {
          // The next op reconnects: a refused connection is not a dead session.
          conn = null;
          return classifyError(err);
        }
        if (closed) {
          c.close();
          return { type: 'fail', error: 'session closed' };
        }
        try {
          return await perform(c, op, this.options.timeoutMs);
        } catch (err) {
          const outcome = classifyError(err);
          // After a lost connection the next op must reconnect.
          if (
            outcome.type === 'info' ||
            (outcome.type === 'fail' && outcome.error === 'not-connected')
          ) {
            c.close();
            conn = null;
          }
          return outcome;
        }
      },
      close: () => {
        closed = true;
        conn?.then(
          (c) => c.close(),
          () => undefined,
        );
      },
    };
  }
}
