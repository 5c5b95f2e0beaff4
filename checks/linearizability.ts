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
import { Worker } from 'node:worker_threads';
import { describeOperation } from './history.js';
import type { History, Operation, Outcome, Value } from './history.js';
import { ILLEGAL } from './models/model.js';
import { hashString } from './models/model.js';
import type { Model, ModelOp } from './models/model.js';
import { getModel } from './models/registry.js';
import { prepare } from './semantics.js';
import type { Partition } from './semantics.js';
import { MemoryBudget } from './search/config-cache.js';
import { searchFairly } from './search/scheduler.js';
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
  /** Worker threads for keyed histories: 'auto' (default) uses them for big ones. */
  readonly workers?: number | 'auto';
  /** Baselines for benchmarks and tests: without Lowe's cache, without splitting by key, plain WGL. */
  readonly cache?: boolean;
  readonly partition?: boolean;
  readonly reductions?: boolean;
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
}

const DEFAULT_CACHE_BYTES = 512 * 1024 * 1024;
/** Below this many ops, starting workers costs more than it saves. */
const WORKER_MIN_OPS = 20_000;

/** Checks a history for linearizability. Bad input throws HistoryError. */
export async function checkLinearizability(
  history: History,
  options: CheckOptions = {},
): Promise<CheckResult> {
  const started = performance.now();
  const model =
    typeof options.model === 'object'
      ? options.model
      : await getModel(options.model ?? history.suggestedModel);
  let prepared = prepare(history, model, options.initial);
  let searchModel: Model = model;
  if (options.partition === false && model.partition !== undefined) {
    prepared = mergePartitions(prepared.partitions, prepared.initial, prepared.checked);
    searchModel = unpartitioned(model);
  }
  const { partitions, initial, checked } = prepared;
  const deadline =
    options.timeoutMs === undefined ? Infinity : Date.now() + Math.max(0, options.timeoutMs);
  const concurrency = workerCount(options.workers, partitions, checked, searchModel, model);
  const memoryBytes = Math.floor((options.maxCacheBytes ?? DEFAULT_CACHE_BYTES) / concurrency);
  const cache = options.cache !== false;

  const results =
    concurrency > 1
      ? await searchInWorkers(partitions, {
          model: model.name,
          initial,
          deadline,
          cache,
          memoryBytes,
          reductions: options.reductions !== false,
          count: concurrency,
        })
      : searchHere(partitions, searchModel, initial, {
          deadline,
          cache,
          memory: new MemoryBudget(memoryBytes),
          reductions: options.reductions !== false,
        });

  const base = { model: model.name, ops: checked, keys: partitions.length };
  const linearizations: KeyLinearization[] = [];
  let invalidAt = -1;
  let unknown: string | undefined;
  for (let i = 0; i < partitions.length; i++) {
    const r = results[i];
    const p = partitions[i] as Partition;
    if (r === undefined) continue;
    linearizations.push({ key: p.key, order: r.order.map((j) => p.ops[j] as number) });
    if (r.outcome === 'invalid' && invalidAt === -1) invalidAt = i;
    if (r.outcome === 'timeout') unknown ??= `timed out after ${fmtMs(options.timeoutMs ?? 0)}`;
    if (r.outcome === 'memory') {
      unknown ??= `search memory over ${Math.round(memoryBytes / 2 ** 20)} MiB${p.key === null ? '' : ` on key ${JSON.stringify(p.key)}`}`;
    }
  }
  const ms = Math.round((performance.now() - started) * 100) / 100;
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

/** In this thread, keys side by side (see scheduler.ts). */
function searchHere(
  partitions: readonly Partition[],
  model: Model,
  initial: Value,
  options: SearchOptions,
): (SearchResult | undefined)[] {
  const results = new Array<SearchResult | undefined>(partitions.length);
  searchFairly(partitions, model, initial, options, (i, r) => {
    results[i] = r;
  });
  return results;
}

function workerCount(
  requested: number | 'auto' | undefined,
  partitions: readonly Partition[],
  checked: number,
  searchModel: Model,
  model: Model,
): number {
  // Workers find models by name, so a model object not in the registry stays here.
  if (searchModel !== model || !existsSync(workerFile())) return 1;
  if (typeof requested === 'number') return Math.max(1, Math.min(requested, partitions.length));
  if (partitions.length < 4 || checked < WORKER_MIN_OPS) return 1;
  return Math.max(1, Math.min(availableParallelism(), partitions.length, 8));
}

/** The compiled worker; under a TypeScript runner there is none, and we stay in-process. */
function workerFile(): string {
  return fileURLToPath(new URL('./search/worker.js', import.meta.url));
}

interface WorkerPlan {
  readonly model: string;
  readonly initial: Value;
  readonly deadline: number;
  readonly cache: boolean;
  readonly memoryBytes: number;
  readonly reductions: boolean;
  readonly count: number;
}

/**
 * Deals the keys out to worker threads (biggest first, to the least loaded), each of
 * which searches its share fairly; the first key found not linearizable ends them all.
 */
async function searchInWorkers(
  partitions: readonly Partition[],
  plan: WorkerPlan,
): Promise<(SearchResult | undefined)[]> {
  const results = new Array<SearchResult | undefined>(partitions.length);
  const shares = Array.from({ length: plan.count }, () => ({ ids: [] as number[], load: 0 }));
  const bySize = partitions.map((_, i) => i).sort((a, b) => size(b) - size(a));
  function size(i: number): number {
    return partitions[i]?.ops.length ?? 0;
  }
  for (const id of bySize) {
    const share = shares.reduce((a, b) => (b.load < a.load ? b : a));
    share.ids.push(id);
    share.load += size(id);
  }
  const workers = shares.map(() => new Worker(workerFile()));
  try {
    await new Promise<void>((resolve, reject) => {
      let running = workers.length;
      workers.forEach((worker, w) => {
        const ids = (shares[w] as { ids: number[] }).ids.sort((a, b) => a - b);
        const task: WorkerTask = {
          model: plan.model,
          initial: plan.initial,
          deadline: plan.deadline,
          cache: plan.cache,
          memoryBytes: plan.memoryBytes,
          reductions: plan.reductions,
          ids,
          inputs: ids.map((id) => {
            const p = partitions[id] as Partition;
            return { modelOps: p.modelOps, call: p.call, ret: p.ret, observer: p.observer };
          }),
        };
        worker.on('message', (answer: WorkerAnswer) => {
          if ('error' in answer) {
            reject(new Error(`checker worker: ${answer.error}`));
          } else if ('done' in answer) {
            if (--running === 0) resolve();
          } else {
            results[answer.id] = answer.result;
            if (answer.result.outcome === 'invalid') resolve();
          }
        });
        worker.on('error', reject);
        worker.postMessage(task);
      });
    });
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
  return results;
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

function mergePartitions(
  partitions: readonly Partition[],
  initial: Value,
  checked: number,
): { partitions: Partition[]; initial: Value; checked: number } {
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
    partitions: [
      {
        key: null,
        ops: all.map((a) => a.op),
        modelOps: all.map((a) => a.m),
        call: all.map((a) => a.call),
        ret: all.map((a) => a.ret),
        observer: all.map((a) => a.observer),
      },
    ],
    initial,
    checked,
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
  };
}
