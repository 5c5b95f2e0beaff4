/**
 * The core's storage, watched: what each completed save made durable (its
 * highest entry index, its latency), and saves that cut a conflicting suffix
 * off the log (a new leader overwrote entries this node had), for the
 * `wal-truncated` log line. `--unsafe early-ack` also uses the first to answer
 * once an entry is in the leader's own log.
 */
import type { PersistBatch, PersistedState, RaftStorage } from '../raft/storage.js';

export interface SaveObserver {
  /** A save resolved; `lastEntry` is its highest entry index, or null when it held no entries. */
  saved(lastEntry: number | null, ms: number): void;
  /** A save is about to replace the stored entries from `from` to `last` with others. */
  overwriting(from: number, last: number): void;
}

export class ObservedStorage implements RaftStorage {
  /** The last index stored once the saves issued so far are done. */
  private last = 0;

  constructor(
    private readonly inner: RaftStorage,
    private readonly observer: SaveObserver,
    private readonly now: () => number = () => performance.now(),
  ) {}

  async load(): Promise<PersistedState> {
    const state = await this.inner.load();
    this.last = (state.snapshot?.meta.index ?? 0) + state.entries.length;
    return state;
  }

  save(batch: PersistBatch): PromiseLike<void> {
    const started = this.now();
    if (batch.snapshot !== null) {
      this.last = Math.max(this.last, batch.snapshot.meta.index);
      if (batch.discardLog) this.last = batch.snapshot.meta.index;
    }
    const first = batch.entries[0];
    const lastEntry = batch.entries[batch.entries.length - 1]?.index ?? null;
    if (first !== undefined && first.index <= this.last)
      this.observer.overwriting(first.index, this.last);
    if (lastEntry !== null) this.last = lastEntry;
    return this.inner.save(batch).then(() => {
      this.observer.saved(lastEntry, this.now() - started);
    });
  }
}
