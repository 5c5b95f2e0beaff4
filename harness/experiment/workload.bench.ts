/**
 * The harness's own overhead: operations per second the workload drives (every
 * op timed, checked and written to a history), next to redis-benchmark (Debian's
 * redis-tools) with as many connections against the same server, measured in
 * the same run:
 *   1. an in-memory RESP server in its own process (no Raft): the harness's cost alone;
 *   2. a healthy 3-node cluster (Docker), through its leader and through every node.
 *
 *   node dist/harness/experiment/workload.bench.js [--seconds S] [--concurrency C]
 */
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs, promisify } from 'node:util';
import { RespClient } from '../../node/kv/client.js';
import { Prng } from '../../node/util/prng.js';
import { SetupError } from '../cli/errors.js';
import { HistoryWriter } from '../history/writer.js';
import type { ClientAdapter } from '../workload/adapter.js';
import { DEFAULT_MIX, OpGenerator } from '../workload/generator.js';
import { RespAdapter } from '../workload/resp-adapter.js';
import { runWorkload } from '../workload/workload.js';
import { RealClock } from './clock.js';
import { loadRealParts } from './wiring.js';

const run = promisify(execFile);

/** ok ops/s of the workload running flat out for `seconds`. */
async function drive(
  adapter: ClientAdapter,
  nodes: readonly string[],
  seconds: number,
  concurrency: number,
): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'raftbed-bench-'));
  try {
    const clock = new RealClock();
    const history = new HistoryWriter(join(dir, 'history.jsonl'), { nowMs: () => clock.nowMs() });
    const stats = await runWorkload({
      adapter,
      generator: new OpGenerator({
        workload: 'kv',
        keys: 10,
        opsPerKey: 300,
        mix: DEFAULT_MIX,
        prng: new Prng(1),
      }),
      history,
      clock,
      prng: new Prng(2),
      nodes,
      concurrency,
      // Far above what a server answers: the clients run flat out.
      rate: 10_000_000,
      timeoutMs: 2000,
      untilMs: seconds * 1000,
      failover: false,
    });
    history.close();
    return stats.ok / seconds;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** redis-benchmark's requests per second for one command, from its --csv output. */
async function redisBenchmark(
  host: string,
  port: number,
  test: 'set' | 'get',
  concurrency: number,
  requests: number,
): Promise<number> {
  const args = ['-h', host, '-p', String(port), '-c', String(concurrency), '-n', String(requests)];
  const { stdout } = await run('redis-benchmark', [...args, '-r', '1000', '-t', test, '--csv'], {
    timeout: 300_000,
  });
  const line = stdout
    .split('\n')
    .find((l) => l.toUpperCase().startsWith(`"${test.toUpperCase()}"`));
  const rps = Number((line ?? '').split(',')[1]?.replace(/"/g, ''));
  if (!Number.isFinite(rps)) {
    throw new Error(`could not read redis-benchmark's output: ${stdout.slice(0, 200)}`);
  }
  return rps;
}

interface Row {
  readonly label: string;
  readonly opsPerS: number;
  readonly baseline: number;
}

/** redis-benchmark's SET and GET rates combined at the workload's op mix (cas counted as a write). */
async function baseline(host: string, port: number, concurrency: number, requests: number) {
  const set = await redisBenchmark(host, port, 'set', concurrency, requests);
  const get = await redisBenchmark(host, port, 'get', concurrency, requests);
  const mixed = 1 / (DEFAULT_MIX.read / get + (DEFAULT_MIX.write + DEFAULT_MIX.cas) / set);
  return { set, get, mixed };
}

function print(title: string, rows: readonly Row[]): void {
  process.stdout.write(`${title}\n`);
  for (const r of rows) {
    const ratio = r.baseline > 0 ? `${(r.opsPerS / r.baseline).toFixed(2)}x baseline` : '';
    process.stdout.write(
      `  ${r.label.padEnd(58)} ${r.opsPerS.toFixed(0).padStart(8)} ops/s  ${ratio}\n`,
    );
  }
}

function respAdapter(address: (node: string) => { host: string; port: number }): ClientAdapter {
  return new RespAdapter({
    timeoutMs: 3000,
    connect: (node) =>
      RespClient.connect({ ...address(node), connectTimeoutMs: 1000, commandTimeoutMs: 3000 }),
  });
}

async function againstStub(seconds: number, concurrency: number): Promise<void> {
  const script = join(fileURLToPath(new URL('.', import.meta.url)), 'stub-server.js');
  const child = spawn(process.execPath, [script, '0'], { stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    const port = await new Promise<number>((resolve, reject) => {
      child.stdout.once('data', (d: Buffer) =>
        resolve(Number(/listening (\d+)/.exec(d.toString())?.[1])),
      );
      child.once('exit', (code) => reject(new Error(`stub server exited (${code})`)));
    });
    const b = await baseline('127.0.0.1', port, concurrency, 100_000);
    const ops = await drive(
      respAdapter(() => ({ host: '127.0.0.1', port })),
      ['stub'],
      seconds,
      concurrency,
    );
    print(`in-memory RESP server (no Raft), ${concurrency} connections:`, [
      { label: 'redis-benchmark SET', opsPerS: b.set, baseline: b.mixed },
      { label: 'redis-benchmark GET', opsPerS: b.get, baseline: b.mixed },
      {
        label: 'redis-benchmark at the workload mix (baseline)',
        opsPerS: b.mixed,
        baseline: b.mixed,
      },
      { label: 'workload (history, timeouts, op mix)', opsPerS: ops, baseline: b.mixed },
    ]);
  } finally {
    child.kill('SIGTERM');
  }
}

async function againstCluster(seconds: number, concurrency: number): Promise<void> {
  let parts;
  try {
    parts = await loadRealParts();
  } catch (err) {
    if (err instanceof SetupError) {
      process.stdout.write(`3-node cluster: not measured: ${err.message}\n`);
      return;
    }
    throw err;
  }
  const cluster = await parts.backend.up({
    name: 'raftbed-bench',
    nodes: 3,
    image: null,
    unsafe: null,
  });
  try {
    let leader: string | null = null;
    for (let i = 0; i < 300 && leader === null; i++) {
      leader = await cluster.faults.leader();
      if (leader === null) await new Promise((r) => setTimeout(r, 200));
    }
    if (leader === null) throw new Error('no leader within 60 s');
    const { host, port } = cluster.clientAddress(leader);
    const b = await baseline(host, port, concurrency, 20_000);
    const adapter = respAdapter((node) => cluster.clientAddress(node));
    print(`healthy 3-node cluster, ${concurrency} connections:`, [
      { label: 'redis-benchmark SET, leader', opsPerS: b.set, baseline: b.mixed },
      { label: 'redis-benchmark GET, leader', opsPerS: b.get, baseline: b.mixed },
      {
        label: 'redis-benchmark at the workload mix (baseline)',
        opsPerS: b.mixed,
        baseline: b.mixed,
      },
      {
        label: 'workload, leader only',
        opsPerS: await drive(adapter, [leader], seconds, concurrency),
        baseline: b.mixed,
      },
      {
        label: 'workload, every node (followers forward)',
        opsPerS: await drive(adapter, cluster.nodes, seconds, concurrency),
        baseline: b.mixed,
      },
    ]);
  } finally {
    await cluster.down();
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      seconds: { type: 'string', default: '10' },
      concurrency: { type: 'string', default: '50' },
    },
  });
  const seconds = Number(values.seconds);
  const concurrency = Number(values.concurrency);
  process.stdout.write('workload benchmark: ok ops/s, ratios to redis-benchmark in the same run\n');
  await againstStub(seconds, concurrency);
  await againstCluster(seconds, concurrency);
}

main().catch((err: unknown) => {
  process.stderr.write(`workload.bench: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
});
