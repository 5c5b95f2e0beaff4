/**
 * Linearizability checker benchmark (run by `make bench`):
 * - the whole corpus (checks/corpus) in one process, per group (Porcupine's etcd
 *   logs, Porcupine's kv logs, Knossos's histories) and the slowest file: cold (the
 *   first pass in a fresh process, median of 3 such processes) and warm (median of
 *   7 passes after 5 warm-up passes), checking and reading (parsing) apart;
 * - `raftbed check` on the slowest file, as a user runs it (a fresh process: wall
 *   time), next to `node -e 0`;
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
  readonly file: string;
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
  // (Read in file order, as the cold pass checks them: reading is timed per file.)
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
      file,
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

const WARM_UP = 5;
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1] ?? NaN;
const f1 = (ms: number): string => ms.toFixed(1).padStart(8);
const ratio = (a: number, b: number): string => `${(a / b).toFixed(2)}x`;

interface ColdFigures {
  group: Record<Group, number>;
  cpu: Record<Group, number>;
  read: Record<Group, number>;
  slowest: [string, number];
}

async function corpusCold(): Promise<void> {
  // A fresh process: the first pass is what a CLI user waits for.
  const entries = await loadCorpus();
  // The garbage of reading 231 files, collected now rather than by the first
  // collection inside the pass (which would copy every history just read).
  (globalThis as { gc?: () => void }).gc?.();
  const r = await pass(entries);
  const slowest = [...r.file.entries()].sort((a, b) => b[1] - a[1])[0] ?? ['-', NaN];
  const figures: ColdFigures = { group: r.group, cpu: r.cpu, read: readByGroup(entries), slowest };
  process.stdout.write(JSON.stringify(figures) + '\n');
}

function readByGroup(entries: readonly Entry[]): Record<Group, number> {
  const read: Record<Group, number> = { etcd: 0, kv: 0, knossos: 0 };
  for (const e of entries) read[e.group] += e.readMs;
  return read;
}

/** Per group: the median of several cold processes' figures. */
function coldMedian(runs: readonly ColdFigures[]): ColdFigures {
  const pick = (f: (c: ColdFigures) => Record<Group, number>): Record<Group, number> => {
    const out: Record<Group, number> = { etcd: 0, kv: 0, knossos: 0 };
    for (const g of GROUPS) out[g] = median(runs.map((r) => f(r)[g]));
    return out;
  };
  const slow = median(runs.map((r) => r.slowest[1]));
  const name = runs.find((r) => r.slowest[1] === slow)?.slowest[0] ?? '-';
  return {
    group: pick((r) => r.group),
    cpu: pick((r) => r.cpu),
    read: pick((r) => r.read),
    slowest: [name, slow],
  };
}

/** Parsing the corpus again in this (warm) process, per group: the median of `runs` passes. */
function warmRead(entries: readonly Entry[], runs: number): Record<Group, number> {
  const texts = entries.map((e) => ({ e, text: readFileSync(e.file, 'utf8') }));
  const passes: Record<Group, number>[] = [];
  for (let i = 0; i <= runs; i++) {
    const read: Record<Group, number> = { etcd: 0, kv: 0, knossos: 0 };
    for (const { e, text } of texts) {
      const t = performance.now();
      parseHistory(text, { source: e.file });
      read[e.group] += performance.now() - t;
    }
    if (i > 0) passes.push(read);
  }
  const out: Record<Group, number> = { etcd: 0, kv: 0, knossos: 0 };
  for (const g of GROUPS) out[g] = median(passes.map((p) => p[g]));
  return out;
}

/**
 * `raftbed check FILE` as a user runs it, wall ms (median and best of `runs`), and
 * `node -e 0` alternating with it: the floor any Node.js command pays.
 */
function cliWall(file: string, runs: number): { check: number[]; node: number[] } {
  const cli = join(root, 'dist', 'harness', 'cli', 'main.js');
  const check: number[] = [];
  const node: number[] = [];
  for (let i = 0; i < runs; i++) {
    let t = performance.now();
    spawnSync(process.execPath, ['-e', '0']);
    node.push(performance.now() - t);
    t = performance.now();
    const r = spawnSync(process.execPath, [cli, 'check', file], { encoding: 'utf8' });
    check.push(performance.now() - t);
    if (r.status !== 0 && r.status !== 1) throw new Error(`raftbed check ${file}: ${r.stderr}`);
  }
  return { check, node };
}

/**
 * Per group: warm-up passes over the group, then `runs` passes; medians. (A group
 * whose histories use several models and value types takes a few passes before the
 * compiler has settled: steady state is what "warm" means.)
 */
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
    for (let i = 0; i < WARM_UP; i++) await pass(mine, options);
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
  const colds = [1, 2, 3].map(() => childJson(['--corpus-cold'], ['--expose-gc']) as ColdFigures);
  const cold = coldMedian(colds);
  const entries = await loadCorpus();
  const warm = await warmGroups(entries, 7);
  const reading = warmRead(entries, 5);
  const [slowName, slowMs] = [...warm.file.entries()].sort((a, b) => b[1] - a[1])[0] ?? ['-', 0];
  // Baseline: Porcupine's algorithm in this implementation (plain WGL with Lowe's
  // cache; unknown-outcome ops must take effect by the end), warm, same process.
  const porcupine: CheckOptions = { reductions: false, pendingAtEnd: true, timeoutMs: 10_000 };
  const plain = await warmGroups(entries, 3, porcupine);
  // Baseline: the same without Lowe's cache, 1 s per file.
  const noCache = await pass(entries, { ...porcupine, cache: false, timeoutMs: 1000 });

  const total = (g: Record<Group, number>): number => GROUPS.reduce((a, k) => a + g[k], 0);
  const count = (g: Group): number => entries.filter((e) => e.group === g).length;
  const w = process.stdout.write.bind(process.stdout);
  const load = (): string =>
    loadavg()
      .map((l) => l.toFixed(1))
      .join(' ');
  w(
    `corpus: ${entries.length} histories checked in one process, every verdict as expected.tsv says\n`,
  );
  w(`(cold: the first pass in a fresh process, median of 3 processes; warm: median of 7 passes\n`);
  w(
    ` after ${WARM_UP} warm-up passes; baseline: Porcupine's algorithm here, plain WGL + Lowe's cache,\n`,
  );
  w(` median of 3 warm passes; CPU: all threads, the compiler's included)\n`);
  w(
    `(load average ${load()} on ${availableParallelism()} CPUs: wall times grow with the machine's load, CPU times less)\n`,
  );
  w(`checking, ms:\n`);
  w(
    `group          files   cold  cold CPU    warm  warm CPU  baseline  warm/base  Porcupine  cold/Porcupine  warm/Porcupine\n`,
  );
  const row = (
    label: string,
    n: number,
    c: number,
    cc: number,
    wm: number,
    wc: number,
    base: number,
    anchor: number,
  ): void => {
    w(
      `${label.padEnd(14)}${String(n).padStart(6)}${f1(c)}  ${f1(cc)}${f1(wm)}  ${f1(wc)}  ${f1(base)}  ${ratio(wm, base).padStart(9)}  ${f1(anchor)}  ${ratio(c, anchor).padStart(14)}  ${ratio(wm, anchor).padStart(14)}\n`,
    );
  };
  for (const g of GROUPS) {
    row(
      g,
      count(g),
      cold.group[g],
      cold.cpu[g],
      warm.group[g],
      warm.cpu[g],
      plain.group[g],
      ANCHOR[g],
    );
  }
  row(
    'total',
    entries.length,
    total(cold.group),
    total(cold.cpu),
    total(warm.group),
    total(warm.cpu),
    total(plain.group),
    ANCHOR.total,
  );
  w(`reading (parsing) the same files, ms, not included above:\n`);
  w(`group           cold    warm\n`);
  for (const g of GROUPS) w(`${g.padEnd(14)}${f1(cold.read[g])}${f1(reading[g])}\n`);
  w(`${'total'.padEnd(14)}${f1(total(cold.read))}${f1(total(reading))}\n`);
  const etcd002 = warm.file.get('etcd_002.log') ?? NaN;
  w(
    `slowest file warm: ${slowName} ${slowMs.toFixed(1)} ms (baseline ${(plain.file.get(slowName) ?? NaN).toFixed(1)} ms); ` +
      `slowest cold: ${cold.slowest[0]} ${cold.slowest[1].toFixed(1)} ms\n`,
  );
  w(
    `etcd_002.log (Porcupine's slowest, ${ANCHOR.slowest} ms): warm ${etcd002.toFixed(2)} ms, baseline ${(plain.file.get('etcd_002.log') ?? NaN).toFixed(1)} ms, warm/Porcupine ${ratio(etcd002, ANCHOR.slowest)}\n`,
  );
  w(
    `baseline without Lowe's cache (1 s limit per file): ${total(noCache.group).toFixed(0)} ms, ${noCache.unknown} of ${entries.length} files gave up; warm/no-cache ${ratio(total(warm.group), total(noCache.group))}\n`,
  );
  if (plain.unknown > 0)
    w(
      `(the baseline gave up on ${plain.unknown} files after 10 s: its figures are lower bounds)\n`,
    );
  const slowFile = entries.find((e) => e.name === cold.slowest[0])?.file;
  if (slowFile !== undefined) {
    const { check, node } = cliWall(slowFile, 7);
    w(
      `\nraftbed check ${cold.slowest[0]} (a fresh process, wall ms, 7 runs): median ${median(check).toFixed(0)}, best ${Math.min(...check).toFixed(0)}; ` +
        `node -e 0: median ${median(node).toFixed(0)}, best ${Math.min(...node).toFixed(0)} (load average ${load()})\n`,
    );
  }
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

function childJson(args: string[], nodeFlags: string[] = []): unknown {
  const r = spawnSync(process.execPath, [...nodeFlags, fileURLToPath(import.meta.url), ...args], {
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
