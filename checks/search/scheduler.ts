/**
 * Runs the searches of many keys in one thread, fairly: a few keys are searched side
 * by side in slices that double in length, so one key whose search is hard does not
 * hold up the keys behind it, and a key that is not linearizable is found (and ends
 * the check) as soon as its own search allows. Porcupine gets the same effect with a
 * goroutine per key.
 */
import type { Value } from '../history.js';
import type { Model } from '../models/model.js';
import { PartitionSearch } from './wgl.js';
import type { SearchInput, SearchOptions, SearchResult } from './wgl.js';

/**
 * Milliseconds from an arbitrary origin (monotonic). Not performance.now(): its
 * first use loads perf_hooks, a millisecond of a one-file check.
 */
export function now(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}

export interface FairOptions {
  /** Keys searched side by side (their caches share `SearchOptions.memory`). */
  readonly window?: number;
  /** Iterations of a key's first slice; each later slice is twice as long. */
  readonly firstSlice?: number;
  /**
   * Shared between threads searching the keys of one history: non-zero once any of
   * them found a key that is not linearizable, so the others stop too.
   */
  readonly stop?: Int32Array;
}

interface Active {
  readonly index: number;
  readonly search: PartitionSearch;
  slice: number;
}

export class FairScheduler {
  private readonly window: number;
  private readonly firstSlice: number;
  private readonly active: Active[] = [];
  /** Inputs not started yet, in order. */
  private readonly queue: number[];
  private stopped = false;

  constructor(
    private readonly inputs: readonly SearchInput[],
    private readonly model: Model,
    private readonly initial: Value,
    private readonly options: SearchOptions,
    private readonly onResult: (index: number, result: SearchResult) => void,
    private readonly fair: FairOptions = {},
  ) {
    this.window = Math.max(1, fair.window ?? 8);
    this.firstSlice = fair.firstSlice ?? 1 << 10;
    this.queue = inputs.map((_, i) => i);
  }

  /** Searches until every key is decided or stopped (true), or `ms` have passed (false). */
  runFor(ms = Infinity): boolean {
    const until = now() + ms;
    const { active, stop, options } = {
      active: this.active,
      stop: this.fair.stop,
      options: this.options,
    };
    while (!this.stopped) {
      if (stop !== undefined && Atomics.load(stop, 0) !== 0) this.stopped = true;
      while (!this.stopped && active.length < this.window && this.queue.length > 0) {
        const index = this.queue.shift() as number;
        active.push({
          index,
          search: new PartitionSearch(
            this.inputs[index] as SearchInput,
            this.model,
            this.initial,
            options,
          ),
          slice: this.firstSlice,
        });
      }
      if (active.length === 0 || this.stopped) break;
      for (let i = 0; i < active.length && !this.stopped;) {
        const a = active[i] as Active;
        const outcome = a.search.run(a.slice);
        if (outcome === 'paused') {
          a.slice = Math.min(a.slice * 2, 1 << 30);
          if (Date.now() > options.deadline) this.stopped = true;
          if (stop !== undefined && Atomics.load(stop, 0) !== 0) this.stopped = true;
          i++;
          continue;
        }
        active.splice(i, 1);
        this.onResult(a.index, a.search.result());
        if (outcome === 'invalid' || outcome === 'timeout') this.stopped = true;
        if (outcome === 'invalid' && stop !== undefined) Atomics.store(stop, 0, 1);
      }
      if (now() > until && !this.stopped && (active.length > 0 || this.queue.length > 0)) {
        return false;
      }
    }
    for (const a of active) a.search.abandon();
    active.length = 0;
    return true;
  }

  /** Keys not started yet. */
  get unstarted(): readonly number[] {
    return this.queue;
  }

  /** Removes the given keys from those still to start (another thread takes them). */
  giveAway(indices: readonly number[]): void {
    const gone = new Set(indices);
    const keep = this.queue.filter((i) => !gone.has(i));
    this.queue.length = 0;
    this.queue.push(...keep);
  }
}

/** Searches `inputs` in this thread to the end (see FairScheduler). */
export function searchFairly(
  inputs: readonly SearchInput[],
  model: Model,
  initial: Value,
  options: SearchOptions,
  onResult: (index: number, result: SearchResult) => void,
  fair: FairOptions = {},
): void {
  new FairScheduler(inputs, model, initial, options, onResult, fair).runFor();
}
