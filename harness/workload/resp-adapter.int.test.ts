import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { RespClient } from '../../node/kv/client.js';
import { resp, type RespValue } from '../../node/kv/resp.js';
import { RespServer } from '../../node/kv/server.js';
import { Prng } from '../../node/util/prng.js';
import { RealClock } from '../experiment/clock.js';
import { readHistoryFile } from '../history/reader.js';
import type { OpEvent } from '../history/types.js';
import { HistoryWriter } from '../history/writer.js';
import type { Op } from './adapter.js';
import { DEFAULT_MIX, OpGenerator } from './generator.js';
import { RespAdapter } from './resp-adapter.js';
import { runWorkload } from './workload.js';

const servers: RespServer[] = [];
const dirs: string[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close(100)));
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

type Handler = (cmd: string, args: string[]) => RespValue | 'drop' | Promise<RespValue | 'drop'>;

/** A RESP server over one map; `handler` may answer first (errors, delays). */
async function serve(handler: Handler = () => 'drop') {
  const store = new Map<string, string>();
  const kv = (cmd: string, [key, a, b]: string[]): RespValue => {
    if (cmd === 'GET') return resp.bulk(store.get(key ?? '') ?? null);
    if (cmd === 'SET') return (store.set(key ?? '', a ?? ''), resp.simple('OK'));
    if (cmd === 'CAS') {
      if (store.get(key ?? '') !== a) return resp.integer(0);
      store.set(key ?? '', b ?? '');
      return resp.integer(1);
    }
    return resp.error('ERR unknown command');
  };
  const server = await RespServer.listen({
    host: '127.0.0.1',
    port: 0,
    handler: async (argv) => {
      const [cmd = '', ...rest] = argv.map((x) => x.toString());
      const special = await handler(cmd, rest);
      return special === 'drop' ? kv(cmd, rest) : special;
    },
  });
  servers.push(server);
  return { port: server.address.port, store };
}

function adapter(port: number, timeoutMs = 1000) {
  return new RespAdapter({
    timeoutMs,
    connect: () =>
      RespClient.connect({
        host: '127.0.0.1',
        port,
        connectTimeoutMs: 500,
        commandTimeoutMs: timeoutMs,
      }),
  });
}

const write: Op = { f: 'write', key: 'k', value: 5 };
const read: Op = { f: 'read', key: 'k', value: null };

describe('RespAdapter against a real RESP server and node/kv/client.ts', () => {
  it('reads, writes and cas through GET, SET and CAS', async () => {
    const { port, store } = await serve();
    const s = adapter(port).open('n1');
    expect(await s.invoke(read)).toEqual({ type: 'ok', value: null });
    expect(await s.invoke(write)).toEqual({ type: 'ok', value: 5 });
    expect(store.get('k')).toBe('5');
    expect(await s.invoke(read)).toEqual({ type: 'ok', value: 5 });
    expect(await s.invoke({ f: 'cas', key: 'k', value: [5, 6] })).toEqual({
      type: 'ok',
      value: [5, 6],
    });
    expect(await s.invoke({ f: 'cas', key: 'k', value: [5, 7] })).toEqual({
      type: 'fail',
      error: 'cas-mismatch',
    });
    s.close();
  });

  it('-TRYAGAIN and -ERR fail, -TIMEOUT is unknown', async () => {
    let reply = 'TRYAGAIN no leader';
    const { port } = await serve((cmd) => (cmd === 'SET' ? resp.error(reply) : 'drop'));
    const s = adapter(port).open('n1');
    expect(await s.invoke(write)).toEqual({ type: 'fail', error: 'TRYAGAIN no leader' });
    reply = 'ERR value too large';
    expect(await s.invoke(write)).toEqual({ type: 'fail', error: 'ERR value too large' });
    reply = 'TIMEOUT not confirmed';
    expect(await s.invoke(write)).toEqual({ type: 'info', error: 'TIMEOUT not confirmed' });
    s.close();
  });

  it('a refused connection fails; a connection lost after sending is unknown', async () => {
    // A port nobody listens on: take one and close it.
    const probe = createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', () => r()));
    const closedPort = (probe.address() as AddressInfo).port;
    await new Promise<void>((r) => probe.close(() => r()));
    const refused = await adapter(closedPort).open('n1').invoke(write);
    expect(refused).toEqual({ type: 'fail', error: 'refused' });

    const dropper = createServer((socket) => socket.once('data', () => socket.destroy()));
    await new Promise<void>((r) => dropper.listen(0, '127.0.0.1', () => r()));
    const lost = await adapter((dropper.address() as AddressInfo).port)
      .open('n1')
      .invoke(write);
    dropper.close();
    expect(lost).toEqual({ type: 'info', error: 'lost' });
  });

  it('drives a workload whose history records every outcome', async () => {
    let n = 0;
    const { port } = await serve(async (cmd) => {
      n++;
      if (n % 11 === 0) return resp.error('TRYAGAIN no leader');
      if (n % 13 === 0 && cmd !== 'GET') return resp.error('TIMEOUT not confirmed');
      if (n % 37 === 0) await new Promise((r) => setTimeout(r, 400));
      return 'drop';
    });
    const dir = mkdtempSync(join(tmpdir(), 'raftbed-resp-'));
    dirs.push(dir);
    const clock = new RealClock();
    const history = new HistoryWriter(join(dir, 'h.jsonl'), { nowMs: () => clock.nowMs() });
    const stats = await runWorkload({
      adapter: adapter(port, 1000),
      generator: new OpGenerator({
        workload: 'kv',
        keys: 3,
        opsPerKey: 100,
        mix: DEFAULT_MIX,
        prng: new Prng(1),
      }),
      history,
      clock,
      prng: new Prng(2),
      nodes: ['n1', 'n2'],
      concurrency: 4,
      rate: 200,
      timeoutMs: 250,
      untilMs: 1500,
      failover: true,
    });
    history.close();
    const events = readHistoryFile(join(dir, 'h.jsonl')).events as OpEvent[];
    const done = events.filter((e) => e.type !== 'invoke');
    expect(done).toHaveLength(stats.invoked);
    const errors = new Set(done.map((e) => e.error).filter((e) => e !== undefined));
    expect(errors).toEqual(
      new Set(['TRYAGAIN no leader', 'TIMEOUT not confirmed', 'timeout', 'cas-mismatch']),
    );
    expect(stats.ok).toBeGreaterThan(100);
  });
});
