/**
 * The core's storage, with a hook for what each completed save made durable
 * (the highest entry index it wrote). The node uses it to time fsync-bound
 * work it reports, and `--unsafe early-ack` to answer once an entry is in the
 * leader's own log.
 */
import type { PersistBatch, PersistedState, RaftStorage } from '../raft/storage.js';

export interface SaveObserver {
  /** A save resolved; `lastEntry` is its highest entry index, or null when it held no entries. */
  saved(lastEntry: number | null, ms: number): void;
}

export class ObservedStorage implements RaftStorage {
  constructor(
    private readonly inner: RaftStorage,
    private readonly observer: SaveObserver,
    private readonly now: () => number = () => performance.now(),
  ) {}

  load(): PromiseLike<PersistedState> {
    return this.inner.load();
  }

  save(batch: PersistBatch): PromiseLike<void> {
    const started = this.now();
    const last = batch.entries[batch.entries.length - 1]?.index ?? null;
    return this.inner.save(batch).then(() => {
      this.observer.saved(last, this.now() - started);
    });
  }
}
