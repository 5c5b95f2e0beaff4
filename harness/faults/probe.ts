#!/usr/bin/env node
/**
 * A network probe that needs no Raft: it shows what a fault does to packets.
 * It ships in the node image (compiled into dist, Node's own modules only) and
 * runs inside a container with `docker exec`.
 *
 *   probe.js serve [--port 7100] [--control 7103] [--data DIR]
 *       UDP: counts each datagram by its source address and echoes it back.
 *       TCP on the same port: echoes. Control on 127.0.0.1: `stats`, `reset`.
 *       With --data, appends one line per start to DIR/probe-boots.
 *   probe.js udp --to IP[,IP...] [--port 7100] [--count 200] [--interval-ms 2] [--wait-ms 1000]
 *       Sends numbered datagrams to each target and reports, per target, how
 *       many echoes came back and their round-trip times (JSON).
 *   probe.js tcp --to IP [--port 7100] [--bytes 65536]
 *       Sends BYTES over TCP to the echo and reports how long until all came back (JSON).
 *   probe.js stats [--reset]      this container's counts by source (JSON)
 *   probe.js boots --data DIR     how many times `serve` started on this volume
 */
import { createSocket } from 'node:dgram';
import type { RemoteInfo } from 'node:dgram';
import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

export interface RttSummary {
  readonly min: number;
  readonly p50: number;
  readonly mean: number;
  readonly p90: number;
  readonly max: number;
}

export interface UdpTargetResult {
  readonly sent: number;
  readonly received: number;
  /** Milliseconds; absent when nothing came back. */
  readonly rtt?: RttSummary;
}

export interface UdpReport {
  readonly targets: Readonly<Record<string, UdpTargetResult>>;
}

const DEFAULT_PORT = 7100;
const DEFAULT_CONTROL = 7103;

export function summarize(samples: readonly number[]): RttSummary | undefined {
  if (samples.length === 0) return undefined;
  const s = [...samples].sort((a, b) => a - b);
  const at = (q: number): number => s[Math.min(s.length - 1, Math.floor(q * s.length))] as number;
  return {
    min: s[0] as number,
    p50: at(0.5),
    mean: s.reduce((a, b) => a + b, 0) / s.length,
    p90: at(0.9),
    max: s[s.length - 1] as number,
  };
}

function serve(port: number, control: number, data: string | undefined): void {
  const counts = new Map<string, number>();
  if (data !== undefined)
    appendFileSync(join(data, 'probe-boots'), `${new Date().toISOString()}\n`);
  const udp = createSocket('udp4');
  udp.on('message', (msg: Buffer, rinfo: RemoteInfo) => {
    counts.set(rinfo.address, (counts.get(rinfo.address) ?? 0) + 1);
    udp.send(msg, rinfo.port, rinfo.address);
  });
  udp.bind(port, '0.0.0.0');
  createServer((sock) => {
    sock.on('error', () => sock.destroy());
    sock.pipe(sock);
  }).listen(port, '0.0.0.0');
  createServer((sock) => {
    sock.on('error', () => sock.destroy());
    sock.once('data', (req: Buffer) => {
      const cmd = req.toString().trim();
      if (cmd === 'reset') counts.clear();
      sock.end(JSON.stringify(Object.fromEntries(counts)) + '\n');
    });
  }).listen(control, '127.0.0.1');
  process.stdout.write(`probe serving on udp/tcp ${port}\n`);
  const stop = (): void => process.exit(0);
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

async function udpProbe(
  targets: readonly string[],
  port: number,
  count: number,
  intervalMs: number,
  waitMs: number,
): Promise<UdpReport> {
  const sock = createSocket('udp4');
  const sentAt = new Map<string, bigint>();
  const rtts = new Map<string, number[]>(targets.map((t) => [t, []]));
  sock.on('message', (msg: Buffer, rinfo: RemoteInfo) => {
    const key = msg.toString('utf8');
    const t0 = sentAt.get(key);
    if (t0 === undefined) return;
    sentAt.delete(key);
    rtts.get(rinfo.address)?.push(Number(process.hrtime.bigint() - t0) / 1e6);
  });
  await new Promise<void>((resolve) => sock.bind(0, resolve));
  for (let i = 0; i < count; i++) {
    for (const target of targets) {
      const key = `${target}/${i}`;
      sentAt.set(key, process.hrtime.bigint());
      sock.send(key, port, target);
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  await new Promise((r) => setTimeout(r, waitMs));
  sock.close();
  const out: Record<string, UdpTargetResult> = {};
  for (const target of targets) {
    const samples = rtts.get(target) ?? [];
    const rtt = summarize(samples);
    out[target] = { sent: count, received: samples.length, ...(rtt ? { rtt } : {}) };
  }
  return { targets: out };
}

export interface TcpReport {
  readonly bytes: number;
  readonly ms: number;
}

function tcpProbe(target: string, port: number, bytes: number): Promise<TcpReport> {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    let got = 0;
    const sock = createConnection({ host: target, port }, () => {
      sock.end(Buffer.alloc(bytes, 0x61));
    });
    sock.on('data', (c: Buffer) => {
      got += c.length;
      if (got >= bytes) {
        const ms = Number(process.hrtime.bigint() - started) / 1e6;
        sock.destroy();
        resolve({ bytes: got, ms });
      }
    });
    sock.on('error', reject);
    sock.on('close', () => {
      if (got < bytes)
        reject(new Error(`tcp ${target}:${port}: closed after ${got} of ${bytes} bytes`));
    });
  });
}

function control(port: number, cmd: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = createConnection({ host: '127.0.0.1', port }, () => sock.write(`${cmd}\n`));
    let buf = '';
    sock.on('data', (c: Buffer) => (buf += c.toString()));
    sock.on('end', () => resolve(buf));
    sock.on('error', reject);
  });
}

async function main(argv: readonly string[]): Promise<number> {
  const [verb, ...rest] = argv;
  const { values } = parseArgs({
    args: rest,
    options: {
      port: { type: 'string' },
      control: { type: 'string' },
      data: { type: 'string' },
      to: { type: 'string' },
      count: { type: 'string' },
      'interval-ms': { type: 'string' },
      'wait-ms': { type: 'string' },
      reset: { type: 'boolean' },
      bytes: { type: 'string' },
    },
    strict: true,
  });
  const num = (v: string | undefined, d: number): number => {
    if (v === undefined) return d;
    const n = Number(v);
    if (!Number.isFinite(n) || n < 0) throw new Error(`probe: not a number: '${v}'`);
    return n;
  };
  const port = num(values.port, DEFAULT_PORT);
  const ctl = num(values.control, DEFAULT_CONTROL);
  switch (verb) {
    case 'serve':
      serve(port, ctl, values.data);
      return -1;
    case 'udp': {
      if (values.to === undefined) throw new Error('probe udp: --to IP[,IP...] is required');
      const report = await udpProbe(
        values.to.split(',').filter((t) => t !== ''),
        port,
        num(values.count, 200),
        num(values['interval-ms'], 2),
        num(values['wait-ms'], 1000),
      );
      process.stdout.write(JSON.stringify(report) + '\n');
      return 0;
    }
    case 'tcp': {
      if (values.to === undefined) throw new Error('probe tcp: --to IP is required');
      const report = await tcpProbe(values.to, port, num(values.bytes, 65536));
      process.stdout.write(JSON.stringify(report) + '\n');
      return 0;
    }
    case 'stats':
      process.stdout.write(await control(ctl, values.reset ? 'reset' : 'stats'));
      return 0;
    case 'boots': {
      const file = join(values.data ?? '/data', 'probe-boots');
      const n = existsSync(file)
        ? readFileSync(file, 'utf8').split('\n').filter(Boolean).length
        : 0;
      process.stdout.write(`${n}\n`);
      return 0;
    }
    default:
      process.stderr.write('usage: probe.js serve|udp|tcp|stats|boots [flags]\n');
      return 3;
  }
}

const isMain = process.argv[1] !== undefined && /probe\.(js|ts)$/.test(process.argv[1]);
if (isMain) {
  main(process.argv.slice(2)).then(
    (code) => {
      if (code >= 0) process.exitCode = code;
    },
    (err: unknown) => {
      process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
      process.exitCode = 3;
    },
  );
}
