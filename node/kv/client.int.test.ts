import { Socket, createServer, type Server } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { ClientError, ReplyError, RespClient, connectFailure, onceArgs } from './client.js';
import { formatValue, resp, type RespValue } from './resp.js';
import { RespServer } from './server.js';

const HOST = '127.0.0.1';
const cleanup: (() => unknown)[] = [];

afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A server with commands that reply, fail, hang, or answer after a delay. */
async function testServer(): Promise<{ port: number; handled: string[] }> {
  const handled: string[] = [];
  const server = await RespServer.listen({
    host: HOST,
    port: 0,
    handler: async (args): Promise<RespValue> => {
      const name = args[0]?.toString() ?? '';
      handled.push(name);
      switch (name) {
        case 'PING':
          return resp.simple('PONG');
        case 'ECHO':
          return resp.bulk(args[1] ?? null);
        case 'TRYAGAIN':
          return resp.error('TRYAGAIN no leader known');
        case 'TIMEOUT':
          return resp.error('TIMEOUT proposed, not confirmed');
        case 'BAD':
          return resp.error('ERR wrong number of arguments');
        case 'LOWER':
          return resp.error('something odd');
        case 'SLOW':
          await sleep(Number(args[1]?.toString() ?? 0));
          return resp.simple('DONE');
        case 'HANG':
          return new Promise<RespValue>(() => {});
        default:
          return resp.array([resp.integer(1), resp.nil(), resp.bulk('x')]);
      }
    },
  });
  cleanup.push(() => server.close(50));
  return { port: server.address.port, handled };
}

/** A TCP server that hands each connection to `onConnection`; its port. */
async function tcpServer(onConnection: (socket: Socket) => void): Promise<number> {
  const server: Server = createServer((socket) => {
    socket.on('error', () => {});
    onConnection(socket);
  });
  await new Promise<void>((r) => server.listen(0, HOST, () => r()));
  cleanup.push(() => new Promise<void>((r) => server.close(() => r())));
  const a = server.address();
  return typeof a === 'object' && a !== null ? a.port : 0;
}

/** A raw TCP server whose behaviour on receiving data the test chooses. */
function rawServer(onData: (socket: Socket, data: Buffer) => void): Promise<number> {
  return tcpServer((socket) => socket.on('data', (d) => onData(socket, d)));
}

async function client(
  port: number,
  extra: { commandTimeoutMs?: number } = {},
): Promise<RespClient> {
  const c = await RespClient.connect({ host: HOST, port, ...extra });
  cleanup.push(() => c.close());
  return c;
}

async function failure(p: Promise<unknown>): Promise<ClientError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof ClientError) return e;
    throw e;
  }
  throw new Error('expected a ClientError, got a reply');
}

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, HOST, () => r()));
  const a = s.address();
  await new Promise<void>((r) => s.close(() => r()));
  return typeof a === 'object' && a !== null ? a.port : 0;
}

describe('RespClient', () => {
  it('sends one command and returns its reply', async () => {
    const { port } = await testServer();
    const c = await client(port);
    expect(await c.call(['PING'])).toEqual(resp.simple('PONG'));
    expect(formatValue(await c.call(['ECHO', Buffer.from([0, 1])]))).toBe('"\\u0000\\u0001"');
    expect(await c.call(['ARRAY', 7])).toEqual(
      resp.array([resp.integer(1), resp.nil(), resp.bulk('x')]),
    );
  });

  it('throws a ReplyError with the code of an error reply, and stays usable', async () => {
    const { port } = await testServer();
    const c = await client(port);
    const codes: string[] = [];
    for (const cmd of ['TRYAGAIN', 'TIMEOUT', 'BAD', 'LOWER']) {
      try {
        await c.call([cmd]);
      } catch (e) {
        if (!(e instanceof ReplyError)) throw e;
        codes.push(e.code);
      }
    }
    expect(codes).toEqual(['TRYAGAIN', 'TIMEOUT', 'ERR', 'ERR']);
    expect(c.connected).toBe(true);
    expect(await c.call(['PING'])).toEqual(resp.simple('PONG'));
  });

  it('sends a pipeline in one go and returns the replies in order, errors as values', async () => {
    const { port, handled } = await testServer();
    const c = await client(port);
    const replies = await c.pipeline([['SLOW', 30], ['BAD'], ['ECHO', 'e'], ['SLOW', 0]]);
    expect(replies.map(formatValue)).toEqual([
      '+DONE',
      '-ERR wrong number of arguments',
      '"e"',
      '+DONE',
    ]);
    expect(handled).toEqual(['SLOW', 'BAD', 'ECHO', 'SLOW']);
    expect(await c.pipeline([])).toEqual([]);
  });

  it('keeps replies matched to concurrent calls', async () => {
    const { port } = await testServer();
    const c = await client(port);
    const all = await Promise.all(
      Array.from({ length: 50 }, (_, i) => c.call(['ECHO', String(i)])),
    );
    expect(all.map(formatValue)).toEqual(Array.from({ length: 50 }, (_, i) => `"${i}"`));
  });

  it('reports a refused connection as refused, nothing sent', async () => {
    const port = await freePort();
    const e = await failure(RespClient.connect({ host: HOST, port }));
    expect(e.kind).toBe('refused');
    expect(e.sent).toBe(false);
    expect(e.message).toContain(`${HOST}:${port}: refused`);
  });

  it('reports a connection not made within the connect timeout as nothing sent', async () => {
    const started = Date.now();
    const e = await failure(
      // A socket that never connects stands for a host that drops the handshake.
      RespClient.connect({
        host: HOST,
        port: 1,
        connectTimeoutMs: 50,
        createConnection: () => new Socket(),
      }),
    );
    expect(e.kind).toBe('connect-timeout');
    expect(e.sent).toBe(false);
    expect(Date.now() - started).toBeGreaterThanOrEqual(45);
  });

  it('maps connect errors to their kinds', () => {
    const err = (code: string): NodeJS.ErrnoException => Object.assign(new Error(code), { code });
    expect(connectFailure(err('ECONNREFUSED'), 'a:1').kind).toBe('refused');
    expect(connectFailure(err('ETIMEDOUT'), 'a:1').kind).toBe('connect-timeout');
    expect(connectFailure(err('ENOTFOUND'), 'a:1').kind).toBe('unreachable');
    expect(connectFailure(err('EHOSTUNREACH'), 'a:1').kind).toBe('unreachable');
    expect(connectFailure(err('ECONNRESET'), 'a:1').sent).toBe(false);
  });

  it('reports a command with no reply in time as timeout, sent, and closes', async () => {
    const { port } = await testServer();
    const c = await client(port, { commandTimeoutMs: 5000 });
    const hung = failure(c.call(['HANG'], { timeoutMs: 50 }));
    const behind = failure(c.call(['PING'], { timeoutMs: 5000 }));
    const e = await hung;
    expect(e.kind).toBe('timeout');
    expect(e.sent).toBe(true);
    expect(e.message).toContain('no reply to HANG within 50 ms');
    // The command pipelined behind it was sent too, and is cut with the connection.
    const b = await behind;
    expect(b.kind).toBe('lost');
    expect(b.sent).toBe(true);
    expect(c.connected).toBe(false);
    const after = await failure(c.call(['PING']));
    expect(after.kind).toBe('not-connected');
    expect(after.sent).toBe(false);
  });

  it('reports a connection dropped after sending as lost, sent', async () => {
    const port = await rawServer((socket) => socket.destroy());
    const c = await client(port);
    const e = await failure(c.call(['SET', 'k', 'v']));
    expect(e.kind).toBe('lost');
    expect(e.sent).toBe(true);
  });

  it('reports a server that closed while idle as not-connected on the next call', async () => {
    let accepted: Socket | null = null;
    const c = await client(await tcpServer((s) => (accepted = s)));
    while (accepted === null) await sleep(1);
    (accepted as Socket).end();
    while (c.connected) await sleep(1);
    const e = await failure(c.call(['PING']));
    expect(e.kind).toBe('not-connected');
    expect(e.sent).toBe(false);
  });

  it('reports garbage from the server as a protocol error, sent', async () => {
    const port = await rawServer((socket) => socket.write('?what\r\n'));
    const c = await client(port);
    const e = await failure(c.call(['PING']));
    expect(e.kind).toBe('protocol');
    expect(e.sent).toBe(true);
  });

  it('reports a reply to no command as a protocol error', async () => {
    const port = await rawServer((socket) => socket.write('+OK\r\n+OK\r\n'));
    const c = await client(port);
    await c.call(['PING']).catch(() => undefined);
    while (c.connected) await sleep(1);
    expect((await failure(c.call(['PING']))).message).toContain('reply +OK to no command');
  });

  it('fails every waiting command as lost when closed by its owner', async () => {
    const { port } = await testServer();
    const c = await client(port);
    const p = failure(c.call(['HANG']));
    await sleep(10);
    c.close();
    expect((await p).kind).toBe('lost');
  });

  it('builds RAFT.ONCE arguments for exactly-once commands', () => {
    expect(onceArgs({ id: 12, seq: 3 }, ['SET', 'k', 'v'])).toEqual([
      'RAFT.ONCE',
      12,
      3,
      'SET',
      'k',
      'v',
    ]);
  });
});
