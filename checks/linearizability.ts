/**
 * Decides whether a history is linearizable: applies history.md's semantics, splits
 * the history by key when the model is a family of independent objects (a history is
 * linearizable iff each key's sub-history is: P-compositionality), searches each key
 * with WGL (in worker threads when there are many), and explains a failure with the
 * key, the operation that could not be placed and the longest linearizable prefix.
 * A timeout or the memory budget gives `unknown`, never a guess.
 */
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { describeOperation } from './history.js';
import type { History, Operation, Outcome, Value } from './history.js';
import { ILLEGAL } from './models/model.js';
import { hashString } from './models/model.js';
import type { Model, ModelOp } from './models/model.js';
import { getModel, knownModel } from './models/registry.js';
import { prepare } from './semantics.js';
import type { Partition } from './semantics.js';
import { MemoryBudget } from './search/config-cache.js';
import { FairScheduler, now } from './search/scheduler.js';
import type { SearchOptions, SearchResult } from './search/wgl.js';
import type { WorkerAnswer, WorkerTask } from './search/worker.js';

export interface CheckOptions {
  /** A model name or object; absent: the one the history suggests. */
  readonly model?: string | Model;
  /** Give up (valid: 'unknown') after this long. */
  readonly timeoutMs?: number;
  /** The initial value, overriding the history's and the format's. */
  readonly initial?: Value;
  /** Memory the configuration caches may use in total (default 512 MiB). */
  readonly maxCacheBytes?: number;
  /**
   * Threads for keyed histories. 'auto' (default): keys are searched in this thread,
   * and worker threads take the keys not started yet once that has taken 1000 ms; a
   * number: that many threads (this one included) from the start.
   */
  readonly workers?: number | 'auto';
  /** Baselines for benchmarks and tests: without Lowe's cache, without splitting by key, plain WGL. */
  readonly cache?: boolean;
  readonly partition?: boolean;
  readonly reductions?: boolean;
  /**
   * Porcupine's treatment of unknown-outcome ops, for a baseline: they must take
   * effect, at the latest at the end of the history (equivalent for registers).
   */
  readonly pendingAtEnd?: boolean;
}

/** An operation as reported in results: enough to find it in the file. */
export interface OpSummary {
  readonly index: number;
  readonly process: number | string;
  readonly f: string;
  readonly key?: string;
  readonly value: Value;
  readonly result?: Value;
  readonly outcome: Outcome;
  readonly error?: string;
  readonly line: number;
  readonly description: string;
}

export interface Counterexample {
  /** The key whose sub-history is not linearizable; null for a single object. */
  readonly key: string | null;
  /** The operation that could not be placed after the longest prefix. */
  readonly op: OpSummary;
  /** The longest linearizable prefix found, in linearization order. */
  readonly prefix: readonly OpSummary[];
  /** The model state after each prefix operation (`initial` before the first). */
  readonly initial: string;
  readonly states: readonly string[];
}

export interface KeyLinearization {
  readonly key: string | null;
  /** History op indices, in linearization order (for a failing key: the prefix). */
  readonly order: readonly number[];
}

export interface CheckResult {
  readonly valid: true | false | 'unknown';
  readonly model: string;
  /** Operations the search saw (after dropping failed ops and unknown reads). */
  readonly ops: number;
  readonly keys: number;
  readonly ms: number;
  /** Why the verdict is unknown. */
  readonly reason?: string;
  readonly counterexample?: Counterexample;
  /** Per key: the linearization found (for reports; not part of --json). */
  readonly linearizations: readonly KeyLinearization[];
  /** Threads that searched (this one and workers). */
  readonly threads: number;
}

const DEFAULT_CACHE_BYTES = 512 * 1024 * 1024;
/**
 * Keys are first searched in this thread; if that takes longer than this, the keys
 * not started yet are shared with worker threads. Most histories are done sooner, and
 * copying ops to workers would cost more than it saves.
 */
const HANDOFF_MS = 1000;

/** Checks a history for linearizability. Bad input throws HistoryError. */
export async function checkLinearizability(
  history: History,
  options: CheckOptions = {},
): Promise<CheckResult> {
  const started = now();
  const name = typeof options.model === 'object' ? '' : (options.model ?? history.suggestedModel);
  const model =
    typeof options.model === 'object'
      ? options.model
      : (knownModel(name) ?? (await getModel(name)));
  let prepared = prepare(history, model, options.initial);
  let searchModel: Model = model;
  if (options.partition === false && model.partition !== undefined) {
    prepared = { ...prepared, partitions: [mergePartitions(prepared.partitions)] };
    searchModel = unpartitioned(model);
  }
  if (options.pendingAtEnd === true) {
    prepared = {
      ...prepared,
      partitions: prepared.partitions.map((p) => ({
        ...p,
        ret: p.ret.map((r) => (r < 0 ? history.events + 1 : r)),
      })),
    };
  }
  const { partitions, initial, checked } = prepared;
  const deadline =
    options.timeoutMs === undefined ? Infinity : Date.now() + Math.max(0, options.timeoutMs);
  const threads = threadCount(options.workers, partitions, searchModel, model);
  const maxBytes = options.maxCacheBytes ?? DEFAULT_CACHE_BYTES;
  const plan: SearchPlan = {
    model: model.name,
    initial,
    deadline,
    cache: options.cache !== false,
    reductions: options.reductions !== false,
    maxBytes,
    threads,
    forceWorkers: typeof options.workers === 'number',
  };
  const { results, threadsUsed } = await searchKeys(partitions, searchModel, plan);
  const memoryBytes = threadsUsed > 1 ? maxBytes / threads : maxBytes;
  const base = { model: model.name, ops: checked, keys: partitions.length, threads: threadsUsed };
  const linearizations: KeyLinearization[] = [];
  let invalidAt = -1;
  let unknown: string | undefined;
  for (let i = 0; i < partitions.length; i++) {
    const r = results[i];
    const p = partitions[i] as Partition;
    if (r === undefined) continue;
    const order = new Array<number>(r.order.length);
    for (let j = 0; j < order.length; j++) order[j] = p.ops[r.order[j] as number] as number;
    linearizations.push({ key: p.key, order });
    if (r.outcome === 'invalid' && invalidAt === -1) invalidAt = i;
    if (r.outcome === 'timeout') unknown ??= `timed out after ${fmtMs(options.timeoutMs ?? 0)}`;
    if (r.outcome === 'memory') {
      unknown ??= `search memory over ${fmtBytes(memoryBytes)}${p.key === null ? '' : ` on key ${JSON.stringify(p.key)}`}`;
    }
  }
  const ms = Math.round((now() - started) * 100) / 100;
  if (invalidAt >= 0) {
    const p = partitions[invalidAt] as Partition;
    const r = results[invalidAt] as SearchResult;
    return {
      valid: false,
      ...base,
      ms,
      counterexample: explain(history, searchModel, initial, p, r),
      linearizations,
    };
  }
  if (unknown !== undefined)
    return { valid: 'unknown', ...base, ms, reason: unknown, linearizations };
  return { valid: true, ...base, ms, linearizations };
}

function fmtMs(ms: number): string {
  return ms >= 1000 ? `${ms / 1000} s` : `${ms} ms`;
}

function fmtBytes(bytes: number): string {
  return bytes >= 2 ** 20
    ? `${Math.round(bytes / 2 ** 20)} MiB`
    : `${Math.round(bytes / 1024)} KiB`;
}

interface SearchPlan {
  readonly model: string;
  readonly initial: Value;
  readonly deadline: number;
  readonly cache: boolean;
  readonly reductions: boolean;
  /** The memory budget, shared out equally when workers join. */
  readonly maxBytes: number;
  /** Threads that may search (this one included). */
  readonly threads: number;
  /** Share keys with workers from the start (tests), not only after HANDOFF_MS. */
  readonly forceWorkers: boolean;
}

/**
 * Searches every key: in this thread first (keys side by side, see scheduler.ts);
 * when that is slow and threads are allowed, keys not started yet are dealt out to
 * worker threads, biggest first to the least loaded, this thread keeping a share.
 * The first key found not linearizable stops every thread (a shared flag).
 */
async function searchKeys(
  partitions: readonly Partition[],
  model: Model,
  plan: SearchPlan,
): Promise<{ results: (SearchResult | undefined)[]; threadsUsed: number }> {
  const results = new Array<SearchResult | undefined>(partitions.length);
  const stopBuffer = plan.threads > 1 ? new SharedArrayBuffer(4) : undefined;
  const stop = stopBuffer === undefined ? undefined : new Int32Array(stopBuffer);
  const memory = new MemoryBudget(plan.maxBytes);
  const options: SearchOptions = {
    deadline: plan.deadline,
    cache: plan.cache,
    memory,
    reductions: plan.reductions,
  };
  const scheduler = new FairScheduler(
    partitions,
    model,
    plan.initial,
    options,
    (i, r) => {
      results[i] = r;
    },
    stop === undefined ? {} : { stop },
  );
  if (plan.threads === 1 || stopBuffer === undefined) {
    scheduler.runFor();
    return { results, threadsUsed: 1 };
  }
  if (!plan.forceWorkers && scheduler.runFor(HANDOFF_MS)) return { results, threadsUsed: 1 };

  const size = (i: number): number => partitions[i]?.ops.length ?? 0;
  const shares = Array.from({ length: plan.threads }, () => ({ ids: [] as number[], load: 0 }));
  for (const id of [...scheduler.unstarted].sort((a, b) => size(b) - size(a))) {
    const share = shares.reduce((a, b) => (b.load < a.load ? b : a));
    share.ids.push(id);
    share.load += size(id);
  }
  const given = shares.slice(1).filter((share) => share.ids.length > 0);
  scheduler.giveAway(given.flatMap((share) => share.ids));
  const perThread = Math.floor(plan.maxBytes / plan.threads);
  memory.max = perThread;
  // Loaded only now: most checks never start a thread.
  const { Worker } = await import('node:worker_threads');
  const workers = given.map(() => new Worker(workerFile()));
  const finished = workers.map(
    (worker, w) =>
      new Promise<void>((resolve, reject) => {
        const ids = (given[w] as { ids: number[] }).ids.sort((a, b) => a - b);
        const task: WorkerTask = {
          model: plan.model,
          initial: plan.initial,
          deadline: plan.deadline,
          cache: plan.cache,
          memoryBytes: perThread,
          reductions: plan.reductions,
          stop: stopBuffer,
          ids,
          inputs: ids.map((id) => {
            const p = partitions[id] as Partition;
            return { modelOps: p.modelOps, call: p.call, ret: p.ret, observer: p.observer };
          }),
        };
        worker.on('message', (answer: WorkerAnswer) => {
          if ('error' in answer) reject(new Error(`checker worker: ${answer.error}`));
          else if ('done' in answer) resolve();
          else results[answer.id] = answer.result;
        });
        worker.on('error', reject);
        worker.on('exit', () => resolve());
        worker.postMessage(task);
      }),
  );
  try {
    scheduler.runFor();
    await Promise.all(finished);
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
  return { results, threadsUsed: 1 + workers.length };
}

/** Threads that may search: several only for keyed histories of a registered model. */
function threadCount(
  requested: number | 'auto' | undefined,
  partitions: readonly Partition[],
  searchModel: Model,
  model: Model,
): number {
  // Workers find models by name, so a model object not in the registry stays here.
  if (searchModel !== model || partitions.length < 2 || !workerBuilt()) return 1;
  if (typeof requested === 'number') return Math.max(1, Math.min(requested, partitions.length));
  return Math.max(1, Math.min(availableParallelism(), partitions.length, 8));
}

/** The compiled worker; under a TypeScript runner there is none, and we stay in-process. */
function workerFile(): string {
  return fileURLToPath(new URL('./search/worker.js', import.meta.url));
}

let built: boolean | undefined;
function workerBuilt(): boolean {
  built ??= existsSync(workerFile());
  return built;
}

function summarize(history: History, index: number): OpSummary {
  const op = history.ops[index] as Operation;
  const s: { -readonly [K in keyof OpSummary]: OpSummary[K] } = {
    index,
    process: op.process,
    f: op.f,
    value: op.value,
    outcome: op.outcome,
    line: op.line,
    description: describeOperation(op),
  };
  if (op.key !== undefined) s.key = op.key;
  if (op.result !== undefined) s.result = op.result;
  if (op.error !== undefined) s.error = op.error;
  return s;
}

function explain(
  history: History,
  model: Model,
  initial: Value,
  p: Partition,
  r: SearchResult,
): Counterexample {
  let state = model.init(initial);
  const initialText = model.showState(state);
  const states: string[] = [];
  for (const j of r.order) {
    const next = model.step(state, p.modelOps[j] as ModelOp);
    if (next === ILLEGAL) break;
    state = next;
    states.push(model.showState(state));
  }
  return {
    key: p.key,
    op: summarize(history, p.ops[r.stuck] as number),
    prefix: r.order.map((j) => summarize(history, p.ops[j] as number)),
    initial: initialText,
    states,
  };
}

// --- Baseline without P-compositionality: every key in one search. ---

interface KeyedOp extends ModelOp {
  readonly key: string;
}

/** Every key's ops as one partition, in invocation order. */
function mergePartitions(partitions: readonly Partition[]): Partition {
  const all: { op: number; m: KeyedOp; call: number; ret: number; observer: boolean }[] = [];
  for (const p of partitions) {
    p.ops.forEach((op, j) => {
      all.push({
        op,
        m: { ...(p.modelOps[j] as ModelOp), key: p.key ?? '' },
        call: p.call[j] as number,
        ret: p.ret[j] as number,
        observer: p.observer[j] === true,
      });
    });
  }
  all.sort((a, b) => a.call - b.call);
  return {
    key: null,
    ops: all.map((a) => a.op),
    modelOps: all.map((a) => a.m),
    call: all.map((a) => a.call),
    ret: all.map((a) => a.ret),
    observer: all.map((a) => a.observer),
  };
}

/** A keyed model as one object whose state is every key's state (keys not at the initial state). */
function unpartitioned(model: Model): Model<ReadonlyMap<string, unknown>> {
  let initialState: unknown;
  return {
    name: model.name,
    summary: model.summary,
    fs: model.fs,
    initialFrom: model.initialFrom,
    defaultInitial: model.defaultInitial,
    isReadOnly: (op) => model.isReadOnly(op),
    validate: (op) => model.validate(op),
    showOp: (op) => model.showOp(op),
    init(initial) {
      initialState = model.init(initial);
      return new Map();
    },
    step(state, op) {
      const key = (op as KeyedOp).key;
      const current = state.has(key) ? state.get(key) : initialState;
      const next = model.step(current, op);
      if (next === ILLEGAL) return ILLEGAL;
      if (model.equals(next, current)) return state;
      const copy = new Map(state);
      if (model.equals(next, initialState)) copy.delete(key);
      else copy.set(key, next);
      return copy;
    },
    hash(state) {
      let h = 0;
      for (const [k, s] of state) h ^= Math.imul(hashString(k), 0x9e3779b1) + model.hash(s);
      return h | 0;
    },
    equals(a, b) {
      if (a.size !== b.size) return false;
      for (const [k, s] of a) {
        if (!b.has(k) || !model.equals(s, b.get(k))) return false;
      }
      return true;
    },
    showState(state) {
      return `{${[...state.entries()].map(([k, s]) => `${k}: ${model.showState(s)}`).join(', ')}}`;
    },
    sizeOf(state) {
      let bytes = 96;
      for (const s of state.values()) bytes += 48 + (model.sizeOf?.(s) ?? 64);
      return bytes;
    },
  };
}
