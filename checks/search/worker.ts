/**
 * A worker thread that searches a share of the keys for the main thread, so keys are
 * checked in parallel. It gets one `WorkerTask`, answers one `WorkerAnswer` per key
 * as soon as that key is decided, then `{ done: true }`.
 */
import { parentPort } from 'node:worker_threads';
import type { Value } from '../history.js';
import { getModel } from '../models/registry.js';
import { MemoryBudget } from './config-cache.js';
import { searchFairly } from './scheduler.js';
import type { SearchInput, SearchResult } from './wgl.js';

export interface WorkerTask {
  readonly model: string;
  readonly initial: Value;
  readonly deadline: number;
  readonly cache: boolean;
  readonly memoryBytes: number;
  readonly reductions: boolean;
  /** One Int32: set by whichever thread finds a key that is not linearizable. */
  readonly stop: SharedArrayBuffer;
  /** Partition numbers (as the main thread knows them) and their inputs. */
  readonly ids: readonly number[];
  readonly inputs: readonly SearchInput[];
}

export type WorkerAnswer =
  | { readonly id: number; readonly result: SearchResult }
  | { readonly done: true }
  | { readonly error: string };

const port = parentPort;
if (port !== null) {
  port.once('message', (task: WorkerTask) => {
    getModel(task.model).then(
      (model) => {
        const options = {
          deadline: task.deadline,
          cache: task.cache,
          memory: new MemoryBudget(task.memoryBytes),
          reductions: task.reductions,
        };
        searchFairly(
          task.inputs,
          model,
          task.initial,
          options,
          (i, result) => {
            port.postMessage({ id: task.ids[i] as number, result } satisfies WorkerAnswer);
          },
          { stop: new Int32Array(task.stop) },
        );
        port.postMessage({ done: true } satisfies WorkerAnswer);
      },
      (err: unknown) => port.postMessage({ error: String(err) } satisfies WorkerAnswer),
    );
  });
}
