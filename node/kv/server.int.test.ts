import { execFile } from 'node:child_process';
import { connect, type Socket } from 'node:net';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { encodeProposal, parseRequest } from './commands.js';
import { encodeCommand, resp, type RespCommand, type RespValue } from './resp.js';
import { RespServer, type RespHandler } from './server.js';
import { KvStateMachine } from './state-machine.js';

const run = promisify(execFile);
const servers: RespServer[] = [];
const sockets: Socket[] = [];

afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  await Promise.all(servers.splice(0).map((s) => s.close(100)));
});

async function serve(
  handler: RespHandler,
  extra: { maxConnections?: number; maxPipeline?: number } = {},
): Promise<RespServer> {
  const s = await RespServer.listen({ host: '127.0.0.1', port: 0, handler, ...extra });
  servers.push(s);
  return s;
}

/** A raw connection that collects everything the server sends until it closes. */
async function raw(
  port: number,
): Promise<{ socket: Socket; text: () => string; closed: Promise<void> }> {
  const socket = connect({ host: '127.0.0.1', port });
  sockets.push(socket);
  let received = '';
  socket.on('data', (c) => (received += c.toString('latin1')));
  const closed = new Promise<void>((r) => socket.on('close', () => r()));
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('error', reject);
  });
  socket.on('error', () => {});
  return { socket, text: () => received, closed };
}

async function until(cond: () => boolean, what: string, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

/** Sends ECHO 0 .. ECHO n-1 in one write; returns the replies they must get, in order. */
function sendEchoes(socket: Socket, n: number): string {
  socket.write(
    Buffer.concat(Array.from({ length: n }, (_, i) => encodeCommand(['ECHO', String(i)]))),
  );
  return Array.from({ length: n }, (_, i) => `$${String(i).length}\r\n${i}\r\n`).join('');
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A state machine behind RESP with no Raft: each write applied at the next index. */
function kvHandler(): RespHandler {
  const sm = new KvStateMachine();
  let index = 0;
  return (args: RespCommand): RespValue => {
    const r = parseRequest(args);
    switch (r.kind) {
      case 'reply':
        return r.reply;
      case 'read':
        return resp.bulk(sm.read(r.key));
      case 'write':
        return sm.apply(++index, encodeProposal(r.proposal));
      default:
        return resp.error('ERR not here');
    }
  };
}

describe('RespServer', () => {
  it('answers pipelined commands in request order even when they finish out of order', async () => {
    const server = await serve(async (args) => {
      const ms = Number(args[1]?.toString());
      await sleep(ms);
      return resp.bulk(args[1] ?? null);
    });
    const c = await raw(server.address.port);
    c.socket.write(Buffer.concat([30, 1, 15, 0].map((ms) => encodeCommand(['SLEEP', String(ms)]))));
    await until(() => c.text().split('\r\n').length >= 9, 'four replies');
    expect(c.text()).toBe('$2\r\n30\r\n$1\r\n1\r\n$2\r\n15\r\n$1\r\n0\r\n');
  });

  it('answers the commands before garbage, then the protocol error, then closes', async () => {
    const errors: string[] = [];
    const server = await RespServer.listen({
      host: '127.0.0.1',
      port: 0,
      handler: () => resp.simple('PONG'),
      onProtocolError: (e) => errors.push(e.reason),
    });
    servers.push(server);
    const c = await raw(server.address.port);
    c.socket.write('PING\r\n*1\r\n$4\r\nPING\r\n*1\r\n+garbage\r\nPING\r\n');
    await c.closed;
    expect(c.text()).toBe("+PONG\r\n+PONG\r\n-ERR Protocol error: expected '$', got '+'\r\n");
    expect(errors).toEqual(["expected '$', got '+'"]);
    expect(server.counters.protocolErrors).toBe(1);
  });

  it('survives random garbage on many connections and still serves', async () => {
    const server = await serve(() => resp.simple('PONG'));
    let seed = 7;
    const byte = (): number => (seed = (seed * 1103515245 + 12345) % 2 ** 31) & 0xff;
    await Promise.all(
      Array.from({ length: 30 }, async () => {
        const c = await raw(server.address.port);
        c.socket.write(Buffer.from(Array.from({ length: 2000 }, byte)));
        c.socket.end();
        await c.closed;
      }),
    );
    const c = await raw(server.address.port);
    c.socket.write('PING\r\n');
    await until(() => c.text() === '+PONG\r\n', 'PONG after the garbage');
  });

  it('replies +OK to QUIT and closes, ignoring what follows', async () => {
    let handled = 0;
    const server = await serve(() => {
      handled++;
      return resp.simple('PONG');
    });
    const c = await raw(server.address.port);
    c.socket.write('PING\r\nQUIT\r\nPING\r\n');
    await c.closed;
    expect(c.text()).toBe('+PONG\r\n+OK\r\n');
    expect(handled).toBe(1);
  });

  it('answers -ERR when the handler throws or rejects, and keeps the connection', async () => {
    const server = await serve((args) => {
      const name = args[0]?.toString();
      if (name === 'THROW') throw new Error('bug');
      if (name === 'REJECT') return Promise.reject(new Error('bug'));
      return resp.simple('PONG');
    });
    const c = await raw(server.address.port);
    c.socket.write('THROW\r\nREJECT\r\nPING\r\n');
    await until(() => c.text().endsWith('+PONG\r\n'), 'the reply after the failures');
    expect(c.text()).toBe('-ERR internal error\r\n-ERR internal error\r\n+PONG\r\n');
    expect(server.counters.handlerErrors).toBe(2);
  });

  it('refuses connections over the limit with an error', async () => {
    const server = await serve(() => resp.simple('PONG'), { maxConnections: 1 });
    const first = await raw(server.address.port);
    await until(() => server.connectionCount === 1, 'the first connection');
    const second = await raw(server.address.port);
    await second.closed;
    expect(second.text()).toBe('-ERR max number of clients reached\r\n');
    first.socket.write('PING\r\n');
    await until(() => first.text() === '+PONG\r\n', 'the first connection still served');
  });

  it('keeps at most maxPipeline commands at the handler and answers every one in order', async () => {
    let inFlight = 0;
    let most = 0;
    const server = await serve(
      async (args) => {
        inFlight++;
        most = Math.max(most, inFlight);
        await sleep(0);
        inFlight--;
        return resp.bulk(args[1] ?? null);
      },
      { maxPipeline: 8 },
    );
    const c = await raw(server.address.port);
    const n = 2000;
    const expected = sendEchoes(c.socket, n);
    await until(() => c.text().length >= expected.length, 'every reply', 20_000);
    expect(c.text()).toBe(expected);
    expect(most).toBeLessThanOrEqual(8);
    expect(most).toBeGreaterThan(1);
  });

  it('moves on through a long pipeline of commands answered at once', async () => {
    const server = await serve((args) => resp.bulk(args[1] ?? null), { maxPipeline: 4 });
    const c = await raw(server.address.port);
    const n = 1000;
    const expected = sendEchoes(c.socket, n);
    await until(() => c.text().length >= expected.length, 'every reply');
    expect(c.text()).toBe(expected);
  });

  it('stops reading from a client that does not read its replies', async () => {
    let handled = 0;
    const big = Buffer.alloc(64 * 1024, 0x78);
    const server = await serve(() => {
      handled++;
      return resp.bulk(big);
    });
    const socket = connect({ host: '127.0.0.1', port: server.address.port });
    sockets.push(socket);
    await new Promise<void>((r) => socket.once('connect', () => r()));
    socket.pause();
    const n = 1000;
    socket.write(Buffer.concat(Array.from({ length: n }, () => encodeCommand(['BIG']))));
    await sleep(300);
    const whileStalled = handled;
    expect(whileStalled).toBeLessThan(n / 2);
    let bytes = 0;
    socket.on('data', (d: Buffer) => (bytes += d.length));
    socket.resume();
    const each = big.length + `$${big.length}\r\n\r\n`.length;
    await until(() => bytes >= n * each, 'every reply once read', 20_000);
    expect(handled).toBe(n);
  });

  it('on close, finishes commands already read and refuses new connections', async () => {
    const server = await RespServer.listen({
      host: '127.0.0.1',
      port: 0,
      handler: async () => {
        await sleep(100);
        return resp.simple('DONE');
      },
    });
    const port = server.address.port;
    const c = await raw(port);
    c.socket.write('SLOW\r\nSLOW\r\n');
    await until(() => server.counters.commands === 2, 'both commands read');
    const closing = server.close(2000);
    await c.closed;
    expect(c.text()).toBe('+DONE\r\n+DONE\r\n');
    await closing;
    await expect(raw(port)).rejects.toThrow(/ECONNREFUSED/);
  });

  it('serves redis-cli, inline commands and binary values through the key-value commands', async () => {
    const server = await serve(kvHandler());
    const port = String(server.address.port);
    const cli = async (...args: string[]): Promise<string> =>
      (await run('redis-cli', ['-h', '127.0.0.1', '-p', port, ...args])).stdout.trim();
    expect(await cli('PING')).toBe('PONG');
    expect(await cli('SET', 'k', 'hello world')).toBe('OK');
    expect(await cli('GET', 'k')).toBe('hello world');
    expect(await cli('CAS', 'k', 'nope', 'x')).toBe('0');
    expect(await cli('CAS', 'k', 'hello world', 'x')).toBe('1');
    expect(await cli('GET', 'k')).toBe('x');
    expect(await cli('DEL', 'k')).toBe('1');
    expect(await cli('GET', 'k')).toBe('');
    expect(await cli('CAS', 'absent', '', 'x')).toBe('0');
    expect(await cli('SET', 'k', 'v'.repeat(385))).toBe(
      'ERR value too long: 385 bytes, the limit is 384',
    );
    expect(await cli('FLUSHALL')).toBe("ERR unknown command 'FLUSHALL'");
    const session = await cli('RAFT.SESSION');
    expect(await cli('RAFT.ONCE', session, '1', 'SET', 'n', '1')).toBe('OK');
    expect(await cli('RAFT.ONCE', session, '1', 'SET', 'n', '1')).toBe('OK');
    expect(await cli('RAFT.ONCE', session, '0', 'SET', 'n', '1')).toMatch(
      /sequence number must be a positive integer/,
    );

    const c = await raw(server.address.port);
    c.socket.write('SET "a b" "\\x00\\xff"\r\nGET "a b"\r\n');
    await until(() => c.text().length >= 13, 'inline replies');
    expect(Buffer.from(c.text(), 'latin1')).toEqual(
      Buffer.from('+OK\r\n$2\r\n\x00\xff\r\n', 'latin1'),
    );
  });

  it('takes a redis-cli --pipe load of many commands', async () => {
    const server = await serve(kvHandler());
    const input = Array.from({ length: 2000 }, (_, i) =>
      encodeCommand(['SET', `k${i % 50}`, String(i)]),
    );
    const child = execFile('redis-cli', [
      '-h',
      '127.0.0.1',
      '-p',
      String(server.address.port),
      '--pipe',
    ]);
    let out = '';
    child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
    child.stdin?.end(Buffer.concat(input));
    await new Promise<void>((r) => child.on('close', () => r()));
    expect(out).toMatch(/errors: 0, replies: 2000/);
  });
});
