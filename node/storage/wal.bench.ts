/**
 * WAL benchmark on the real disk: appends/s, append latency and fsync latency
 * with 1 and 50 concurrent writers under `--fsync always` (group commit), next
 * to `--fsync never` measured in the same run as the baseline.
 *
 *   node dist/node/storage/wal.bench.js [seconds per case, default 2]
 *
 * The directory is under the OS temp dir (RAFTBED_BENCH_DIR overrides it);
 * it must be on the disk being measured, not a tmpfs.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Entry } from '../raft/types.js';
import { LatencyWindow } from './metrics.js';
import { WalStorage } from './wal-storage.js';
import type { FsyncPolicy } from './wal-storage.js';

interface Case {
  readonly policy: FsyncPolicy;
  readonly writers: number;
}

interface Result extends Case {
  readonly appendsPerSec: number;
  readonly appendP50Ms: number;
  readonly appendP99Ms: number;
  readonly fsyncs: number;
  readonly fsyncP50Ms: number;
  readonly fsyncP99Ms: number;
  readonly appendsPerFsync: number;
}

const PAYLOAD = new Uint8Array(100).fill(0x61);

async function runCase(c: Case, seconds: number, root: string): Promise<Result> {
  const dir = await mkdtemp(join(root, `${c.policy}-${c.writers}-`));
  const storage = await WalStorage.open({ dir, fsync: c.policy });
  const latency = new LatencyWindow(1 << 16);
  const fsyncsBefore = storage.metrics().fsyncs;
  let last = 0;
  let appends = 0;
  let measuring = false;
  const warmupUntil = performance.now() + 200;
  const stopAt = warmupUntil + seconds * 1000;
  let startedAt = 0;
  let fsyncsAtStart = fsyncsBefore;

  const writer = async (): Promise<void> => {
    while (performance.now() < stopAt) {
      const entry: Entry = { index: ++last, term: 1, kind: 'command', data: PAYLOAD };
      const t0 = performance.now();
      await storage.append([entry]);
      const t1 = performance.now();
      if (!measuring && t1 >= warmupUntil) {
        measuring = true;
        startedAt = t1;
        fsyncsAtStart = storage.metrics().fsyncs;
      } else if (measuring) {
        appends++;
        latency.add(t1 - t0);
      }
    }
  };
  await Promise.all(Array.from({ length: c.writers }, writer));
  const elapsed = (performance.now() - startedAt) / 1000;
  const m = storage.metrics();
  await storage.close();
  await rm(dir, { recursive: true, force: true });
  const fsyncs = m.fsyncs - fsyncsAtStart;
  return {
    ...c,
    appendsPerSec: appends / elapsed,
    appendP50Ms: latency.quantile(0.5),
    appendP99Ms: latency.quantile(0.99),
    fsyncs,
    // With no fsync in the measured window the window's figures are the open's, not this case's.
    fsyncP50Ms: fsyncs === 0 ? Number.NaN : m.fsyncP50Ms,
    fsyncP99Ms: fsyncs === 0 ? Number.NaN : m.fsyncP99Ms,
    appendsPerFsync: fsyncs === 0 ? Number.POSITIVE_INFINITY : appends / fsyncs,
  };
}

function fmt(n: number, digits = 2): string {
  return Number.isFinite(n) ? n.toFixed(digits) : '-';
}

async function main(): Promise<void> {
  const seconds = Number(process.argv[2] ?? 2);
  if (!(seconds > 0)) throw new Error(`seconds per case must be positive, got ${process.argv[2]}`);
  const root = await mkdtemp(
    join(process.env['RAFTBED_BENCH_DIR'] ?? tmpdir(), 'raftbed-wal-bench-'),
  );
  const cases: Case[] = [
    { policy: 'never', writers: 1 },
    { policy: 'always', writers: 1 },
    { policy: 'never', writers: 50 },
    { policy: 'always', writers: 50 },
  ];
  const results: Result[] = [];
  try {
    for (const c of cases) results.push(await runCase(c, seconds, root));
  } finally {
    await rm(root, { recursive: true, force: true });
  }

  console.log(`WAL appends of one 100-byte entry, ${seconds}s per case, in ${root}`);
  console.log(
    'fsync   writers  appends/s  append p50 ms  append p99 ms  fsyncs  appends/fsync  fsync p50 ms  fsync p99 ms',
  );
  for (const r of results) {
    console.log(
      [
        r.policy.padEnd(6),
        String(r.writers).padStart(8),
        fmt(r.appendsPerSec, 0).padStart(10),
        fmt(r.appendP50Ms, 3).padStart(14),
        fmt(r.appendP99Ms, 3).padStart(14),
        String(r.fsyncs).padStart(7),
        fmt(r.appendsPerFsync, 1).padStart(14),
        fmt(r.fsyncP50Ms, 3).padStart(13),
        fmt(r.fsyncP99Ms, 3).padStart(13),
      ].join(' '),
    );
  }
  const find = (policy: FsyncPolicy, writers: number): Result | undefined =>
    results.find((r) => r.policy === policy && r.writers === writers);
  const ratio = (a: Result | undefined, b: Result | undefined): string =>
    a !== undefined && b !== undefined ? fmt(a.appendsPerSec / b.appendsPerSec, 3) : '-';
  console.log(
    `ratio appends/s always/never, 1 writer:   ${ratio(find('always', 1), find('never', 1))}`,
  );
  console.log(
    `ratio appends/s always/never, 50 writers: ${ratio(find('always', 50), find('never', 50))}`,
  );
  console.log(
    `ratio appends/s always 50 writers / always 1 writer (group commit): ${ratio(find('always', 50), find('always', 1))}`,
  );
}

await main();
