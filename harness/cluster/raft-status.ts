import { createConnection } from 'node:net';
import type { RaftView } from './backend.js';

/**
 * Asks a node for RAFT.STATUS over RESP (cli.md: a flat array of alternating
 * field names and values). The harness reads it only to report and to find a
 * leader; it does not interpret Raft beyond that.
 */
export type RespValue = string | number | null | RespError | RespValue[];

export class RespError {
  constructor(readonly message: string) {}
}

/** Parses one RESP value from the start of `buf`; undefined when incomplete. */
export function parseResp(buf: Buffer, start = 0): { value: RespValue; end: number } | undefined {
  const lineEnd = buf.indexOf('\r\n', start);
  if (lineEnd < 0) return undefined;
  const type = String.fromCharCode(buf[start] ?? 0);
  const line = buf.toString('utf8', start + 1, lineEnd);
  const next = lineEnd + 2;
  switch (type) {
    case '+':
      return { value: line, end: next };
    case '-':
      return { value: new RespError(line), end: next };
    case ':':
      return { value: Number(line), end: next };
    case '$': {
      const len = Number(line);
      if (len < 0) return { value: null, end: next };
      if (buf.length < next + len + 2) return undefined;
      return { value: buf.toString('utf8', next, next + len), end: next + len + 2 };
    }
    case '*': {
      const count = Number(line);
      if (count < 0) return { value: null, end: next };
      const items: RespValue[] = [];
      let at = next;
      for (let i = 0; i < count; i++) {
        const item = parseResp(buf, at);
        if (!item) return undefined;
        items.push(item.value);
        at = item.end;
      }
      return { value: items, end: at };
    }
    default:
      throw new Error(`not RESP: starts with ${JSON.stringify(type)}`);
  }
}

export function encodeCommand(args: readonly string[]): Buffer {
  const parts = [`*${args.length}\r\n`];
  for (const a of args) parts.push(`$${Buffer.byteLength(a)}\r\n${a}\r\n`);
  return Buffer.from(parts.join(''));
}

/** Sends one command and returns its reply; rejects on timeout or a closed connection. */
export function respCall(
  host: string,
  port: number,
  args: readonly string[],
  timeoutMs: number,
): Promise<RespValue> {
  return new Promise((resolve, reject) => {
    const sock = createConnection({ host, port });
    let buf = Buffer.alloc(0);
    const finish = (err: Error | undefined, value?: RespValue): void => {
      clearTimeout(timer);
      sock.destroy();
      if (err) reject(err);
      else resolve(value ?? null);
    };
    const timer = setTimeout(
      () => finish(new Error(`${host}:${port}: no answer in ${timeoutMs} ms`)),
      timeoutMs,
    );
    sock.on('connect', () => sock.write(encodeCommand(args)));
    sock.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      try {
        const parsed = parseResp(buf);
        if (parsed) finish(undefined, parsed.value);
      } catch (err) {
        finish(err instanceof Error ? err : new Error(String(err)));
      }
    });
    sock.on('error', (err) => finish(err));
    sock.on('close', () => finish(new Error(`${host}:${port}: closed before answering`)));
  });
}

/** Turns the flat name/value array into a view; undefined when it is not one. */
export function raftView(reply: RespValue): RaftView | undefined {
  if (!Array.isArray(reply)) return undefined;
  const fields = new Map<string, RespValue>();
  for (let i = 0; i + 1 < reply.length; i += 2) {
    const k = reply[i];
    if (typeof k === 'string') fields.set(k, reply[i + 1] ?? null);
  }
  const num = (k: string): number => {
    const v = fields.get(k);
    const n = typeof v === 'number' ? v : typeof v === 'string' ? Number(v) : NaN;
    return Number.isFinite(n) ? n : -1;
  };
  const str = (k: string): string => {
    const v = fields.get(k);
    return typeof v === 'string' || typeof v === 'number' ? String(v) : '';
  };
  if (!fields.has('role')) return undefined;
  return {
    role: str('role'),
    term: num('term'),
    leader: str('leader'),
    commit: num('commit'),
    applied: num('applied'),
  };
}

export async function raftStatus(
  host: string,
  port: number,
  timeoutMs = 500,
): Promise<RaftView | undefined> {
  try {
    return raftView(await respCall(host, port, ['RAFT.STATUS'], timeoutMs));
  } catch {
    return undefined;
  }
}
