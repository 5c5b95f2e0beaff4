import { describe, expect, it } from 'vitest';
import type { Op } from './adapter.js';
import {
  classifyError,
  parseValue,
  RespAdapter,
  type Reply,
  type RespConnection,
} from './resp-adapter.js';

/** Errors shaped as node/kv/client.ts throws them. */
class ClientError extends Error {
  constructor(
    readonly kind: string,
    readonly sent: boolean,
  ) {
    super(`127.0.0.1:6379: ${kind}`);
  }
}
class ReplyError extends Error {
  constructor(
    readonly code: string,
    text: string,
  ) {
    super(text);
  }
}

const bulk = (s: string | null): Reply => ({
  type: 'bulk',
  value: s === null ? null : Buffer.from(s),
});

function fakeConnection(answer: (args: readonly (string | number)[]) => Reply | Error) {
  const sent: string[][] = [];
  let closed = 0;
  const conn: RespConnection = {
    call: (args) => {
      sent.push(args.map(String));
      const a = answer(args);
      return a instanceof Error ? Promise.reject(a) : Promise.resolve(a);
    },
    close: () => {
      closed++;
    },
  };
  return { conn, sent, closed: () => closed };
}

const read: Op = { f: 'read', key: 'k1', value: null };
const write: Op = { f: 'write', key: 'k1', value: 7 };
const cas: Op = { f: 'cas', key: 'k1', value: [7, 8] };

describe('classifyError', () => {
  it('fails what certainly had no effect and infos what may have', () => {
    expect(classifyError(new ClientError('refused', false))).toEqual({
      type: 'fail',
      error: 'refused',
    });
    expect(classifyError(new ClientError('lost', true))).toEqual({ type: 'info', error: 'lost' });
    expect(classifyError(new ClientError('timeout', true))).toEqual({
      type: 'info',
      error: 'timeout',
    });
    expect(classifyError(new ReplyError('TRYAGAIN', 'TRYAGAIN no leader'))).toEqual({
      type: 'fail',
      error: 'TRYAGAIN no leader',
    });
    expect(classifyError(new ReplyError('ERR', 'ERR value too large')).type).toBe('fail');
    expect(classifyError(new ReplyError('TIMEOUT', 'TIMEOUT not confirmed')).type).toBe('info');
    expect(classifyError(new ReplyError('MOVED', 'MOVED 3')).type).toBe('info');
    expect(classifyError(new Error('boom')).type).toBe('info');
  });
});

describe('RespAdapter', () => {
  it('maps ops onto GET, SET and CAS, and replies onto outcomes', async () => {
    const f = fakeConnection((args) => {
      if (args[0] === 'GET') return bulk('42');
      if (args[0] === 'SET') return { type: 'simple', value: 'OK' };
      return { type: 'integer', value: args[2] === '7' ? 1 : 0 };
    });
    const s = new RespAdapter({ connect: () => Promise.resolve(f.conn), timeoutMs: 100 }).open(
      'n1',
    );
    expect(await s.invoke(read)).toEqual({ type: 'ok', value: 42 });
    expect(await s.invoke(write)).toEqual({ type: 'ok', value: 7 });
    expect(await s.invoke(cas)).toEqual({ type: 'ok', value: [7, 8] });
    expect(await s.invoke({ f: 'cas', key: 'k1', value: [9, 10] })).toEqual({
      type: 'fail',
      error: 'cas-mismatch',
    });
    expect(f.sent).toEqual([
      ['GET', 'k1'],
      ['SET', 'k1', '7'],
      ['CAS', 'k1', '7', '8'],
      ['CAS', 'k1', '9', '10'],
    ]);
  });

  it('reads nil as null and a non-integer as the string it is', () => {
    expect(parseValue(null)).toBeNull();
    expect(parseValue(Buffer.from('-12'))).toBe(-12);
    expect(parseValue(Buffer.from('12a'))).toBe('12a');
  });

  it('a refused connection fails the op and the next op connects again', async () => {
    let attempts = 0;
    const f = fakeConnection(() => bulk(null));
    const adapter = new RespAdapter({
      connect: () =>
        ++attempts === 1
          ? Promise.reject(new ClientError('refused', false))
          : Promise.resolve(f.conn),
      timeoutMs: 100,
    });
    const s = adapter.open('n2');
    expect(await s.invoke(write)).toEqual({ type: 'fail', error: 'refused' });
    expect(await s.invoke(read)).toEqual({ type: 'ok', value: null });
    expect(attempts).toBe(2);
  });

  it('a connection lost after sending is info and is not used again', async () => {
    let n = 0;
    const conns = [
      fakeConnection(() => new ClientError('lost', true)),
      fakeConnection(() => ({ type: 'simple', value: 'OK' })),
    ];
    const s = new RespAdapter({
      connect: () => Promise.resolve(conns[n++]!.conn),
      timeoutMs: 100,
    }).open('n3');
    expect(await s.invoke(write)).toEqual({ type: 'info', error: 'lost' });
    expect(conns[0]!.closed()).toBe(1);
    expect(await s.invoke(write)).toEqual({ type: 'ok', value: 7 });
    expect(n).toBe(2);
  });

  it('treats an unexpected reply to a write as unknown, to a read as failed', async () => {
    const f = fakeConnection(() => ({ type: 'integer', value: 3 }));
    const s = new RespAdapter({ connect: () => Promise.resolve(f.conn), timeoutMs: 100 }).open(
      'n1',
    );
    expect((await s.invoke(write)).type).toBe('info');
    expect((await s.invoke(read)).type).toBe('fail');
  });

  it('closing a session closes its connection', async () => {
    const f = fakeConnection(() => bulk('1'));
    const s = new RespAdapter({ connect: () => Promise.resolve(f.conn), timeoutMs: 100 }).open(
      'n1',
    );
    await s.invoke(read);
    s.close();
    await new Promise((r) => setImmediate(r));
    expect(f.closed()).toBe(1);
  });
});
