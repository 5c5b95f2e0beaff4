/**
 * In-memory RaftStorage for driver tests: each save waits until the test
 * completes it (or completes at once when `auto` is set).
 */
import type { PersistBatch, PersistedState, RaftStorage } from '../storage.js';
import { EMPTY_STATE } from '../storage.js';
import type { Entry, HardState, Snapshot } from '../types.js';

export class MemoryStorage implements RaftStorage {
  hardState: HardState;
  snapshot: Snapshot | null;
  entries: Entry[];
  readonly batches: PersistBatch[] = [];
  private waiting: Array<{ batch: PersistBatch; done: () => void }> = [];
  failNext: Error | null = null;

  constructor(
    public auto = true,
    from: PersistedState = EMPTY_STATE,
  ) {
    this.hardState = from.hardState;
    this.snapshot = from.snapshot;
    this.entries = [...from.entries];
  }

  load(): Promise<PersistedState> {
    return Promise.resolve({
      hardState: this.hardState,
      snapshot: this.snapshot,
      entries: [...this.entries],
    });
  }

  save(batch: PersistBatch): Promise<void> {
    this.batches.push(batch);
    if (this.failNext !== null) {
      const err = this.failNext;
      this.failNext = null;
      return Promise.reject(err);
    }
    return new Promise((resolve) => {
      const done = (): void => {
        this.apply(batch);
        resolve();
      };
      if (this.auto) done();
      else this.waiting.push({ batch, done });
    });
  }

  get pending(): number {
    return this.waiting.length;
  }

  /** Makes the oldest waiting save durable. */
  completeOne(): void {
    this.waiting.shift()?.done();
  }

  private apply(b: PersistBatch): void {
    if (b.snapshot !== null) {
      const idx = b.snapshot.meta.index;
      this.snapshot = b.snapshot;
      this.entries = b.discardLog ? [] : this.entries.filter((e) => e.index > idx);
    }
    const first = b.entries[0];
    if (first !== undefined) {
      this.entries = this.entries.filter((e) => e.index < first.index);
      this.entries.push(...b.entries);
    }
    if (b.hardState !== null) this.hardState = b.hardState;
  }
}

/** Lets promise callbacks run. */
export async function settle(rounds = 5): Promise<void> {
  for (let i = 0; i < rounds; i++) await Promise.resolve();
}
