/**
 * The harness's own overhead: operations per second the workload drives against
 * a healthy 3-node cluster (no faults, every op recorded in a history), next to
 * redis-benchmark (Debian's redis-tools) against the same node with as many
 * connections. Prints figures and the ratio to redis-benchmark, measured in the
 * same run.
 *
 *   node dist/harness/experiment/workload.bench.js [--seconds S] [--concurrency C]
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parseArgs } from 'node:util';
import { Prng } from '../../node/util/prng.js';
import { HistoryWriter } from '../history/writer.js';
import { DEFAULT_MIX, OpGenerator } from '../workload/generator.js';
import { runWorkload } from '../workload/workload.js';
import type { Cluster } from './backend.js';
import { RealClock } from './clock.js';
import { loadRealParts, type RealParts } from './wiring.js';

const run = promisify(execFile);

interface Figures {
  readonly label: string;
  readonly opsPerS: number;
}

async function drive(
  parts: RealParts,
  cluster: Cluster,
  nodes: readonly string[],
  seconds: number,
  concurrency: number,
): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'raftbed-bench-'));
  try {
    const clock = new RealClock();
    const history = new HistoryWriter(join(dir, 'history.jsonl'), { nowMs: () => clock.nowMs() });
    const stats = await runWorkload({
      adapter: parts.adapter(cluster, 2000),
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
      // Far above what the cluster serves: the clients run flat out.
      rate: 1_000_000,
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
  const { stdout } = await run(
    'redis-benchmark',
    [
      '-h',
      host,
      '-p',
      String(port),
      '-c',
      String(concurrency),
      '-n',
      String(requests),
      '-r',
      '1000',
      '-t',
      test,
      '--csv',
    ],
    { timeout: 300_000 },
  );
  const line = stdout
    .split('\n')
    .find((l) => l.toUpperCase().startsWith(`"${test.toUpperCase()}"`));
  const rps = Number((line ?? '').split(',')[1]?.replace(/"/g, ''));
  if (!Number.isFinite(rps))
    throw new Error(`could not read redis-benchmark's output: ${stdout.slice(0, 200)}`);
  return rps;
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
  const parts = await loadRealParts();
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
    const requests = 20_000;
    const figures: Figures[] = [];
    const set = await redisBenchmark(host, port, 'set', concurrency, requests);
    const get = await redisBenchmark(host, port, 'get', concurrency, requests);
    figures.push({ label: `redis-benchmark SET, ${concurrency} conns, leader`, opsPerS: set });
    figures.push({ label: `redis-benchmark GET, ${concurrency} conns, leader`, opsPerS: get });
    // The workload's mix is 50% reads, 30% writes, 20% cas: the same mix at redis-benchmark's rates.
    const mixed = 1 / (DEFAULT_MIX.read / get + (DEFAULT_MIX.write + DEFAULT_MIX.cas) / set);
    figures.push({ label: 'redis-benchmark, at the workload mix (baseline)', opsPerS: mixed });
    figures.push({
      label: `workload, ${concurrency} clients, leader only`,
      opsPerS: await drive(parts, cluster, [leader], seconds, concurrency),
    });
    figures.push({
      label: `workload, ${concurrency} clients, all nodes`,
      opsPerS: await drive(parts, cluster, cluster.nodes, seconds, concurrency),
    });
    process.stdout.write('workload overhead: ok ops/s against a healthy 3-node cluster\n');
    for (const f of figures) {
      process.stdout.write(
        `  ${f.label.padEnd(52)} ${f.opsPerS.toFixed(0).padStart(8)} ops/s  ${(f.opsPerS / mixed).toFixed(2)}x baseline\n`,
      );
    }
  } finally {
    await cluster.down();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`workload.bench: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
});
