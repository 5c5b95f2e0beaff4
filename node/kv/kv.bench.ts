/**
 * Throughput of the key-value layer's hot paths, each next to a baseline run in
 * the same process on the same input, so the ratio means something on a noisy
 * shared machine:
 * - RESP parsing of pipelined SETs vs. scanning the same bytes for CRLF;
 * - state-machine apply (decode + Map update) vs. a bare Map.set of the same pairs;
 * - datagram header encode + decode (CRC-32 included) vs. copying the same bytes.
 * Run: npx tsc -p tsconfig.build.json && node dist/node/kv/kv.bench.js
 */
import { decodeDatagram, encodeDatagram } from '../transport/header.js';
import { encodeProposal } from './commands.js';
import { RespCommandParser, encodeCommand } from './resp.js';
import { KvStateMachine } from './state-machine.js';

function time(fn: () => void): number {
  fn(); // warm up
  const runs: number[] = [];
  for (let i = 0; i < 5; i++) {
    const t = process.hrtime.bigint();
    fn();
    runs.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  runs.sort((a, b) => a - b);
  return runs[2] ?? 0; // median ms
}

function report(name: string, ops: number, ms: number, baselineMs: number): void {
  const perSec = Math.round((ops / ms) * 1000);
  process.stdout.write(
    `${name.padEnd(34)} ${String(perSec).padStart(10)} ops/s   ${(ms / baselineMs).toFixed(2)}x baseline\n`,
  );
}

// RESP: 20,000 pipelined SETs in 16 KiB chunks.
const n = 20_000;
const wire = Buffer.concat(
  Array.from({ length: n }, (_, i) => encodeCommand(['SET', `key:${i % 1000}`, String(i)])),
);
const chunks: Buffer[] = [];
for (let at = 0; at < wire.length; at += 16 * 1024) chunks.push(wire.subarray(at, at + 16 * 1024));
let sink = 0;
const parseMs = time(() => {
  const p = new RespCommandParser();
  for (const c of chunks) sink += p.push(c).items.length;
});
const scanMs = time(() => {
  for (const c of chunks) {
    let at = c.indexOf('\r\n');
    while (at !== -1) {
      sink++;
      at = c.indexOf('\r\n', at + 2);
    }
  }
});
report('RESP parse (pipelined SET)', n, parseMs, scanMs);

// State machine: apply 20,000 SET entries.
const entries = Array.from({ length: n }, (_, i) =>
  encodeProposal({
    command: { op: 'set', key: Buffer.from(`key:${i % 1000}`), value: Buffer.from(String(i)) },
    session: null,
  }),
);
const applyMs = time(() => {
  const sm = new KvStateMachine();
  for (let i = 0; i < n; i++) sm.apply(i + 1, entries[i] as Uint8Array);
  sink += sm.keyCount;
});
const mapMs = time(() => {
  const m = new Map<string, Buffer>();
  for (let i = 0; i < n; i++) m.set(`key:${i % 1000}`, Buffer.from(String(i)));
  sink += m.size;
});
report('state machine apply (SET)', n, applyMs, mapMs);

// Datagrams: encode + decode a 200-byte payload.
const payload = Buffer.alloc(200, 7);
const header = { kind: 'raft' as const, clusterId: 'raftbed', from: 'n1', to: 'n2' };
const datagramMs = time(() => {
  for (let i = 0; i < n; i++) {
    const d = decodeDatagram(encodeDatagram(header, payload));
    if (typeof d !== 'string') sink += d.payload.length;
  }
});
const copyMs = time(() => {
  for (let i = 0; i < n; i++) sink += Buffer.from(payload).length;
});
report('datagram encode+decode (200 B)', n, datagramMs, copyMs);

if (sink === 0) process.stdout.write('(nothing measured)\n');
