/**
 * The node end to end: three local `raftbed node` processes (the built CLI)
 * on 127.0.0.1.
 *
 * 1. Writes to the leader under `--fsync always`, with 1 and with 50
 *    concurrent clients: writes/s, p50 and p99 latency, measured by our own
 *    RESP client and by redis-benchmark (when installed). The baseline, in the
 *    same run, is the same cluster under `--fsync never`.
 * 2. Failover: SIGKILL the leader, then the time until a write is
 *    acknowledged again (a client polling RAFT.STATUS on the survivors and
 *    writing to the first new leader), median of 10, at the default 150-300 ms
 *    election timeout.
 *
 * Anchors on this kind of machine: etcd 3.4.23 on loopback, one client,
 * p50 2.1 ms and p99 11.8 ms per write; etcd failover 1.1-1.6 s at its 1 s
 * default election timeout. Target: failover median under 0.4 s.
 *
 *   npx tsc -p tsconfig.build.json && node dist/node/node.bench.js [seconds per case, default 3]
 *
 * Data directories go under the OS temp dir (RAFTBED_BENCH_DIR overrides it):
 * it must be on the disk being measured, not a tmpfs.
 */
import { execFile } from 'node:child_process';
import { RespClient } from './kv/client.js';
import { HOST, LocalCluster, eventually, sleep } from './server/local-cluster.js';

const seconds = Number(process.argv[2] ?? 3) || 3;
const root = process.env.RAFTBED_BENCH_DIR;

interface Figures {
  readonly perSec: number;
  readonly p50: number;
  readonly p99: number;
}

function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] ?? NaN;
}

/** `clients` connections writing SETs back to back for `seconds`, each timed. */
async function ownClient(port: number, clients: number, secs: number): Promise<Figures> {
  const conns = await Promise.all(
    Array.from({ length: clients }, () =>
      RespClient.connect({ host: HOST, port, commandTimeoutMs: 10_000 }),
    ),
  );
  const latencies: number[] = [];
  const value = 'v'.repeat(3);
  // Warm up: connections, JIT, the first segment's pages.
  await Promise.all(conns.map((c, i) => c.call(['SET', `warm-${i}`, value])));
  const started = performance.now();
  const end = started + secs * 1000;
  await Promise.all(
    conns.map(async (c, i) => {
      let n = 0;
      while (performance.now() < end) {
        const t = performance.now();
        await c.call(['SET', `key-${i}-${n++ % 1000}`, value]);
        latencies.push(performance.now() - t);
      }
    }),
  );
  const elapsed = (performance.now() - started) / 1000;
  for (const c of conns) c.close();
  latencies.sort((a, b) => a - b);
  return {
    perSec: latencies.length / elapsed,
    p50: quantile(latencies, 0.5),
    p99: quantile(latencies, 0.99),
  };
}

/** redis-benchmark's own figures, or null when it is not installed. */
function redisBenchmark(port: number, clients: number, requests: number): Promise<Figures | null> {
  const args = ['-h', HOST, '-p', String(port), '-t', 'set', '-c', String(clients)];
  args.push('-n', String(requests), '-r', '10000', '--csv');
  return new Promise((ok, fail) =>
    execFile('redis-benchmark', args, { timeout: 300_000 }, (err, stdout) => {
      if (err !== null) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') ok(null);
        else fail(new Error(`redis-benchmark failed: ${err.message}`));
        return;
      }
      // "test","rps","avg_latency_ms","min_latency_ms","p50_latency_ms","p95_latency_ms","p99_latency_ms","max_latency_ms"
      const row = stdout
        .split('\n')
        .find((l) => l.startsWith('"SET"'))
        ?.split(',')
        .map((f) => Number(f.replace(/"/g, '')));
      if (row === undefined) {
        fail(new Error(`redis-benchmark printed no SET row: ${stdout}`));
        return;
      }
      ok({ perSec: row[1] ?? NaN, p50: row[4] ?? NaN, p99: row[6] ?? NaN });
    }),
  );
}

function line(name: string, f: Figures | null, base: Figures | null): string {
  if (f === null) return `${name.padEnd(52)} (redis-benchmark not installed)`;
  const ratio = base === null ? '' : `   ${(f.perSec / base.perSec).toFixed(2)}x baseline writes/s`;
  return (
    `${name.padEnd(52)} ${f.perSec.toFixed(0).padStart(7)} writes/s   ` +
    `p50 ${f.p50.toFixed(2).padStart(6)} ms   p99 ${f.p99.toFixed(2).padStart(7)} ms${ratio}`
  );
}

async function throughput(fsync: 'always' | 'never'): Promise<Map<string, Figures | null>> {
  const cluster = await LocalCluster.start({
    args: ['--fsync', fsync],
    ...(root !== undefined ? { root } : {}),
  });
  const out = new Map<string, Figures | null>();
  try {
    const leader = await cluster.leader();
    const port = cluster.clientPort(leader);
    out.set('own 1', await ownClient(port, 1, seconds));
    out.set('own 50', await ownClient(port, 50, seconds));
    const one = out.get('own 1')?.perSec ?? 100;
    const fifty = out.get('own 50')?.perSec ?? 1000;
    // About `seconds` of requests each, from what our client just measured.
    out.set('redis 1', await redisBenchmark(port, 1, Math.max(200, Math.round(one * seconds))));
    out.set(
      'redis 50',
      await redisBenchmark(port, 50, Math.max(2000, Math.round(fifty * seconds))),
    );
  } finally {
    await cluster.destroy();
  }
  return out;
}

/** SIGKILL the leader; milliseconds until a write is acknowledged by a new one. */
async function failoverOnce(cluster: LocalCluster, round: number): Promise<number> {
  const old = await cluster.leader();
  const survivors = cluster.followers(old);
  const probes = await Promise.all(
    survivors.map((id) =>
      RespClient.connect({ host: HOST, port: cluster.clientPort(id), commandTimeoutMs: 5000 }),
    ),
  );
  const killedAt = performance.now();
  cluster.proc(old).signal('SIGKILL');
  const ackedAt = await eventually(
    'a write acknowledged by a new leader',
    async () => {
      for (const [i, c] of probes.entries()) {
        const s = await c.call(['RAFT.STATUS']);
        const fields = s.type === 'array' && s.value !== null ? s.value : [];
        const role = fields[3];
        if (role?.type !== 'bulk' || Buffer.from(role.value ?? []).toString() !== 'leader')
          continue;
        const r = await probes[i]?.call(['SET', `failover-${round}`, 'x']);
        if (r?.type === 'simple') return performance.now();
      }
      return undefined;
    },
    10_000,
    2,
  );
  for (const c of probes) c.close();
  await cluster.proc(old).exited;
  await cluster.launch(old);
  const next = await cluster.leader(10_000, [old]);
  await cluster.caughtUp(old, (await cluster.status(next)).commit);
  return ackedAt - killedAt;
}

async function failover(rounds: number): Promise<number[]> {
  const cluster = await LocalCluster.start({
    args: ['--fsync', 'always', '--election-timeout-ms', '150-300'],
    ...(root !== undefined ? { root } : {}),
  });
  const times: number[] = [];
  try {
    await cluster.leader();
    for (let i = 0; i < rounds; i++) {
      times.push(await failoverOnce(cluster, i));
      await sleep(100);
    }
  } finally {
    await cluster.destroy();
  }
  return times;
}

async function main(): Promise<void> {
  process.stdout.write(
    `raftbed node: three local processes, writes to the leader, ${seconds} s per case\n`,
  );
  const always = await throughput('always');
  const never = await throughput('never');
  for (const [key, label] of [
    ['own 1', 'own client, 1 client'],
    ['own 50', 'own client, 50 clients'],
    ['redis 1', 'redis-benchmark -t set -c 1'],
    ['redis 50', 'redis-benchmark -t set -c 50'],
  ] as const) {
    const base = never.get(key) ?? null;
    process.stdout.write(line(`fsync always, ${label}`, always.get(key) ?? null, base) + '\n');
    process.stdout.write(line(`  baseline fsync never, ${label}`, base, null) + '\n');
  }
  process.stdout.write('  anchor: etcd 3.4.23, one client, p50 2.1 ms, p99 11.8 ms per write\n');

  const times = await failover(10);
  const sorted = [...times].sort((a, b) => a - b);
  const median = ((sorted[4] ?? NaN) + (sorted[5] ?? NaN)) / 2;
  process.stdout.write(
    `failover (SIGKILL leader -> first acknowledged write), 150-300 ms election timeout, 10 runs:\n` +
      `  median ${median.toFixed(0)} ms   min ${sorted[0]?.toFixed(0)} ms   max ${sorted.at(-1)?.toFixed(0)} ms` +
      `   (${(median / 400).toFixed(2)}x the 400 ms target; ${(median / 1100).toFixed(2)}x etcd's best 1.1 s)\n` +
      `  runs: ${times.map((t) => t.toFixed(0)).join(' ')} ms\n`,
  );
}

await main();
