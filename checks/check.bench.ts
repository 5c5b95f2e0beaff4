/**
 * Linearizability checker benchmark (run by `make bench`):
 * - the whole corpus (checks/corpus) in one process, per group (Porcupine's etcd
 *   logs, Porcupine's kv logs, Knossos's histories) and the slowest file: cold (the
 *   first pass in a fresh process) and warm (median of 5 passes after a warm-up);
 * - generated kv histories of 10k and 100k ops over 100 keys, each in a fresh
 *   process, with its peak RSS;
 * - baselines measured in the same run: the same search as plain WGL (Porcupine's
 *   algorithm: no reductions), without Lowe's cache, and without splitting by key.
 *   Ratios are ours / baseline (below 1 is faster).
 * Porcupine's own figures on this kind of machine are printed as an anchor.
 * Run: npx tsc -p tsconfig.build.json && node dist/checks/check.bench.js
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { History } from './history.js';
import { checkLinearizability } from './linearizability.js';
import type { CheckOptions } from './linearizability.js';
import { parseHistory, readHistory } from './readers/index.js';
import { parseJsonl } from './readers/jsonl.js';
import { simulate, toJsonl } from './simulate.js';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
const corpus = join(root, 'checks', 'corpus');

type Group = 'etcd' | 'kv' | 'knossos';
const GROUPS: readonly Group[] = ['etcd', 'kv', 'knossos'];
/** Porcupine (Go) on this kind of machine, ms: the anchor. */
const ANCHOR: Readonly<Record<Group | 'total' | 'slowest', number>> = {
  etcd: 316,
  kv: 112,
  knossos: 14,
  total: 442,
  slowest: 124,
};

interface Entry {
  readonly group: Group;
  readonly name: string;
  readonly history: History;
  readonly readMs: number;
  readonly expected: boolean;
}

function groupOf(path: string): Group {
  if (path.includes('/jepsen/')) return 'etcd';
  if (path.includes('/kv/')) return 'kv';
  return 'knossos';
}

async function loadCorpus(): Promise<Entry[]> {
  const rows = readFileSync(join(corpus, 'expected.tsv'), 'utf8').trimEnd().split('\n').slice(1);
  const out: Entry[] = [];
  for (const row of rows) {
    const [repo, path, , , expected, , , , , present] = row.split('\t');
    if (present !== 'yes' || path === undefined || path.endsWith('.html')) continue;
    const file = join(corpus, (repo ?? '').split('/')[1] ?? '', path);
    const t = performance.now();
    const history = await readHistory(file);
    out.push({
      group: groupOf(path),
      name: path.split('/').pop() ?? path,
      history,
      readMs: performance.now() - t,
      expected: !(expected ?? '').startsWith('NOT'),
    });
  }
  return out;
}

/** One pass over the corpus: ms per group and per file; throws on a wrong verdict. */
interface Pass {
  readonly group: Record<Group, number>;
  /** CPU time (user + system) per group: steadier than wall time on a shared machine. */
  readonly cpu: Record<Group, number>;
  readonly file: Map<string, number>;
  readonly unknown: number;
}

async function pass(entries: readonly Entry[], options: CheckOptions = {}): Promise<Pass> {
  const group: Record<Group, number> = { etcd: 0, kv: 0, knossos: 0 };
  const cpu: Record<Group, number> = { etcd: 0, kv: 0, knossos: 0 };
  const file = new Map<string, number>();
  let unknown = 0;
  for (const e of entries) {
    const c = process.cpuUsage();
    const t = performance.now();
    const r = await checkLinearizability(e.history, options);
    const ms = performance.now() - t;
    const used = process.cpuUsage(c);
    cpu[e.group] += (used.user + used.system) / 1000;
    group[e.group] += ms;
    file.set(e.name, ms);
    if (r.valid === 'unknown') unknown++;
    else if (r.valid !== e.expected)
      throw new Error(`${e.name}: got ${String(r.valid)}, expected ${String(e.expected)}`);
  }
  return { group, cpu, file, unknown };
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1] ?? NaN;
const f1 = (ms: number): string => ms.toFixed(1).padStart(8);
const ratio = (a: number, b: number): string => `${(a / b).toFixed(2)}x`;

async function corpusCold(): Promise<void> {
  // A fresh process: the first pass is what a CLI user waits for.
  const entries = await loadCorpus();
  const r = await pass(entries);
  const slowest = [...r.file.entries()].sort((a, b) => b[1] - a[1])[0];
  const readMs = entries.reduce((a, e) => a + e.readMs, 0);
  process.stdout.write(
    JSON.stringify({ group: r.group, slowest, readMs, files: entries.length }) + '\n',
  );
}

/** Per group: one warm-up pass over the group, then `runs` passes; medians. */
async function warmGroups(
  entries: readonly Entry[],
  runs: number,
  options: CheckOptions = {},
): Promise<Pass> {
  const group: Record<Group, number> = { etcd: 0, kv: 0, knossos: 0 };
  const cpu: Record<Group, number> = { etcd: 0, kv: 0, knossos: 0 };
  const file = new Map<string, number>();
  let unknown = 0;
  for (const g of GROUPS) {
    const mine = entries.filter((e) => e.group === g);
    await pass(mine, options);
    const passes: Pass[] = [];
    for (let i = 0; i < runs; i++) passes.push(await pass(mine, options));
    group[g] = median(passes.map((p) => p.group[g]));
    cpu[g] = median(passes.map((p) => p.cpu[g]));
    for (const e of mine) file.set(e.name, median(passes.map((p) => p.file.get(e.name) ?? 0)));
    unknown += passes[0]?.unknown ?? 0;
  }
  return { group, cpu, file, unknown };
}

async function corpusBench(): Promise<void> {
  const cold = childJson(['--corpus-cold']) as {
    group: Record<Group, number>;
    slowest: [string, number];
    readMs: number;
    files: number;
  };
  const entries = await loadCorpus();
  const warm = await warmGroups(entries, 7);
  const [slowName, slowMs] = [...warm.file.entries()].sort((a, b) => b[1] - a[1])[0] ?? ['-', 0];
  // Baseline: Porcupine's algorithm in this implementation (plain WGL with Lowe's
  // cache; unknown-outcome ops must take effect by the end), warm, same process.
  const porcupine: CheckOptions = { reductions: false, pendingAtEnd: true, timeoutMs: 10_000 };
  const plain = await warmGroups(entries, 3, porcupine);
  // Baseline: the same without Lowe's cache, 1 s per file.
  const noCache = await pass(entries, { ...porcupine, cache: false, timeoutMs: 1000 });

  const total = (g: Record<Group, number>): number => GROUPS.reduce((a, k) => a + g[k], 0);
  const count = (g: Group): number => entries.filter((e) => e.group === g).length;
  const readMs = entries.reduce((a, e) => a + e.readMs, 0);
  const w = process.stdout.write.bind(process.stdout);
  w(
    `corpus: ${entries.length} histories checked in one process, every verdict as expected.tsv says\n`,
  );
  w(`(cold: first pass in a fresh process; warm: median of 7 passes after a warm-up pass;\n`);
  w(` baseline: Porcupine's algorithm here, plain WGL + Lowe's cache, median of 3 warm passes)\n`);
  w(
    `(load average ${loadavg()
      .map((l) => l.toFixed(1))
      .join(
        ' ',
      )} on ${availableParallelism()} CPUs: wall times grow with the machine's load, CPU times less)\n`,
  );
  w(
    `group          files   cold ms   warm ms  warm CPU  baseline  warm/base  Porcupine  warm/Porcupine  cold/Porcupine\n`,
  );
  const row = (
    label: string,
    n: number,
    c: number,
    wm: number,
    wc: number,
    base: number,
    anchor: number,
  ): void => {
    w(
      `${label.padEnd(14)}${String(n).padStart(6)}${f1(c)}  ${f1(wm)}  ${f1(wc)}  ${f1(base)}  ${ratio(wm, base).padStart(8)}  ${f1(anchor)}  ${ratio(wm, anchor).padStart(14)}  ${ratio(c, anchor).padStart(14)}\n`,
    );
  };
  for (const g of GROUPS) {
    row(g, count(g), cold.group[g], warm.group[g], warm.cpu[g], plain.group[g], ANCHOR[g]);
  }
  row(
    'total',
    entries.length,
    total(cold.group),
    total(warm.group),
    total(warm.cpu),
    total(plain.group),
    ANCHOR.total,
  );
  const etcd002 = warm.file.get('etcd_002.log') ?? NaN;
  w(
    `slowest file warm: ${slowName} ${slowMs.toFixed(1)} ms (baseline ${(plain.file.get(slowName) ?? NaN).toFixed(1)} ms); ` +
      `slowest cold: ${cold.slowest[0]} ${cold.slowest[1].toFixed(1)} ms\n`,
  );
  w(
    `etcd_002.log (Porcupine's slowest, ${ANCHOR.slowest} ms): warm ${etcd002.toFixed(2)} ms, baseline ${(plain.file.get('etcd_002.log') ?? NaN).toFixed(1)} ms, warm/Porcupine ${ratio(etcd002, ANCHOR.slowest)}\n`,
  );
  w(
    `reading (parsing) the corpus, not included above: ${readMs.toFixed(1)} ms in this process, ${cold.readMs.toFixed(1)} ms cold\n`,
  );
  w(
    `baseline without Lowe's cache (1 s limit per file): ${total(noCache.group).toFixed(0)} ms, ${noCache.unknown} of ${entries.length} files gave up; warm/no-cache ${ratio(total(warm.group), total(noCache.group))}\n`,
  );
  if (plain.unknown > 0)
    w(
      `(the baseline gave up on ${plain.unknown} files after 10 s: its figures are lower bounds)\n`,
    );
}

interface KvFigures {
  ops: number;
  genMs: number;
  parseMs: number;
  checkMs: number;
  valid: string;
  rssMiB: number;
  keys: number;
  reason?: string;
}

/**
 * Porcupine's c50-ok.txt (append-heavy, the corpus's hardest) eight times over,
 * with keys and processes renamed per copy: 80 keys whose searches take real time,
 * where threads can pay off.
 */
function appendsTimesEight(): string {
  const text = readFileSync(join(corpus, 'porcupine/test_data/kv/c50-ok.txt'), 'utf8');
  const copies: string[] = [];
  for (let j = 0; j < 8; j++) {
    copies.push(
      text
        .replace(/:process (\d+)/g, (_, p: string) => `:process ${Number(p) + j * 1000}`)
        .replace(/:key "([^"]*)"/g, (_, k: string) => `:key "${j}-${k}"`),
    );
  }
  return copies.join('');
}

async function appendsChild(mode: string): Promise<void> {
  const history = parseHistory(appendsTimesEight(), { source: 'c50-ok-x8.txt' });
  const options: CheckOptions =
    mode === 'in-process' ? { workers: 1 } : mode === 'two' ? { workers: 2 } : {};
  const t = performance.now();
  const r = await checkLinearizability(history, options);
  const checkMs = performance.now() - t;
  process.stdout.write(
    JSON.stringify({
      ops: r.ops,
      checkMs,
      valid: String(r.valid),
      threads: r.threads,
      rssMiB: process.resourceUsage().maxRSS / 1024,
    }) + '\n',
  );
}

async function kvChild(ops: number, mode: string): Promise<void> {
  let t = performance.now();
  const text = toJsonl(
    simulate({
      seed: 42,
      ops,
      concurrency: 20,
      model: 'kv',
      keys: 100,
      values: 10,
      infoRate: 0.02,
    }),
  );
  const genMs = performance.now() - t;
  t = performance.now();
  const history = parseJsonl(text, `kv-${ops}.jsonl`);
  const parseMs = performance.now() - t;
  const options: CheckOptions =
    mode === 'one-object'
      ? { partition: false, timeoutMs: 30_000 }
      : mode === 'in-process'
        ? { workers: 1 }
        : {};
  t = performance.now();
  const r = await checkLinearizability(history, options);
  const checkMs = performance.now() - t;
  const figures: KvFigures = {
    ops: history.ops.length,
    genMs,
    parseMs,
    checkMs,
    valid: String(r.valid),
    rssMiB: process.resourceUsage().maxRSS / 1024,
    keys: r.keys,
    ...(r.reason !== undefined ? { reason: r.reason } : {}),
  };
  process.stdout.write(JSON.stringify(figures) + '\n');
}

function kvBench(): void {
  const w = process.stdout.write.bind(process.stdout);
  w(`\ngenerated kv histories (100 keys, 20 clients, 2% info), each in a fresh process:\n`);
  w(`ops       mode                         parse ms   check ms   verdict   peak RSS MiB\n`);
  const line = (label: string, f: KvFigures): void => {
    w(
      `${String(f.ops).padEnd(10)}${label.padEnd(28)}${f1(f.parseMs)}  ${f1(f.checkMs)}   ${f.valid.padEnd(8)}  ${f.rssMiB.toFixed(0).padStart(6)}\n`,
    );
  };
  for (const ops of [10_000, 100_000]) {
    const auto = childJson(['--kv', String(ops), 'auto']) as KvFigures;
    line('split by key (auto workers)', auto);
    const single = childJson(['--kv', String(ops), 'in-process']) as KvFigures;
    line('split by key, one thread', single);
    if (ops === 10_000) {
      const one = childJson(['--kv', String(ops), 'one-object']) as KvFigures;
      line('baseline: not split', one);
      w(
        `          split/not split: ${ratio(auto.checkMs, one.checkMs)}${one.valid === 'unknown' ? ` (the baseline gave up: ${one.reason ?? '?'}; the ratio is at most this)` : ''}\n`,
      );
    }
    w(`          workers/one thread: ${ratio(auto.checkMs, single.checkMs)}\n`);
  }
  w(`\nc50-ok.txt eight times over (80 keys of appends), each in a fresh process:\n`);
  const modes: [string, string][] = [
    ['in-process', 'one thread'],
    ['auto', 'auto (threads after 1 s)'],
    ['two', 'two threads from the start'],
  ];
  const figures = modes.map(
    ([mode]) =>
      childJson(['--appends', mode]) as {
        ops: number;
        checkMs: number;
        valid: string;
        threads: number;
        rssMiB: number;
      },
  );
  modes.forEach(([, label], i) => {
    const f = figures[i];
    if (f === undefined) return;
    w(
      `${String(f.ops).padEnd(10)}${label.padEnd(30)}${f1(f.checkMs)} ms  ${f.valid.padEnd(6)} threads ${f.threads}  peak RSS ${f.rssMiB.toFixed(0)} MiB  vs one thread ${ratio(f.checkMs, figures[0]?.checkMs ?? NaN)}\n`,
    );
  });
}

function childJson(args: string[]): unknown {
  const r = spawnSync(process.execPath, [fileURLToPath(import.meta.url), ...args], {
    encoding: 'utf8',
    maxBuffer: 1 << 24,
  });
  if (r.status !== 0) throw new Error(`bench child ${args.join(' ')} failed: ${r.stderr}`);
  const last = r.stdout.trim().split('\n').pop() ?? '';
  return JSON.parse(last) as unknown;
}

const [mode, ...rest] = process.argv.slice(2);
if (mode === '--corpus-cold') {
  await corpusCold();
} else if (mode === '--appends') {
  await appendsChild(rest[0] ?? 'auto');
} else if (mode === '--kv') {
  await kvChild(Number(rest[0]), rest[1] ?? 'auto');
} else {
  await corpusBench();
  kvBench();
}
