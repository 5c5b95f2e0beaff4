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

export interface FairOptions {
  /** Keys searched side by side (their caches share `SearchOptions.memory`). */
  readonly window?: number;
  /** Iterations of a key's first slice; each later slice is twice as long. */
  readonly firstSlice?: number;
}

/**
 * Searches `inputs`, reporting each result as it is known. Stops early after a key
 * that is not linearizable or after the deadline; keys not reported were not decided.
 */
export function searchFairly(
  inputs: readonly SearchInput[],
  model: Model,
  initial: Value,
  options: SearchOptions,
  onResult: (index: number, result: SearchResult) => void,
  fair: FairOptions = {},
): void {
  const window = Math.max(1, fair.window ?? 8);
  const firstSlice = fair.firstSlice ?? 1 << 14;
  const active: { index: number; search: PartitionSearch; slice: number }[] = [];
  let nextInput = 0;
  let stopped = false;
  while (!stopped) {
    while (active.length < window && nextInput < inputs.length) {
      const index = nextInput++;
      active.push({
        index,
        search: new PartitionSearch(inputs[index] as SearchInput, model, initial, options),
        slice: firstSlice,
      });
    }
    if (active.length === 0) break;
    for (let i = 0; i < active.length && !stopped;) {
      const a = active[i] as (typeof active)[number];
      const outcome = a.search.run(a.slice);
      if (outcome === 'paused') {
        a.slice = Math.min(a.slice * 2, 1 << 30);
        if (Date.now() > options.deadline) stopped = true;
        i++;
        continue;
      }
      active.splice(i, 1);
      onResult(a.index, a.search.result());
      if (outcome === 'invalid' || outcome === 'timeout') stopped = true;
    }
  }
  for (const a of active) a.search.abandon();
}
