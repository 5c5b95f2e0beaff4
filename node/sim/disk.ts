/**
 * The simulated disk of one node: a RaftStorage whose writes become durable
 * only when the simulation says so (a later event), in order. A crash drops
 * every write not yet durable, exactly what a power cut does to unsynced data.
 */
import type { PersistBatch, PersistedState, RaftStorage } from '../raft/storage.js';
import { EMPTY_HARD_STATE } from '../raft/storage.js';
import type { Entry, HardState, Snapshot } from '../raft/types.js';
import { SyncDeferred } from './deferred.js';

export interface DurableState {
  hardState: HardState;
  snapshot: Snapshot | null;
  /** entries[i].index === (snapshot?.meta.index ?? 0) + 1 + i */
  entries: Entry[];
}

interface PendingWrite {
  readonly batch: PersistBatch;
  readonly done: SyncDeferred<void>;
}

export interface DiskHooks {
  /** Schedules `complete()` after a delay chosen by the simulation. */
  scheduleCompletion(): void;
  /** Called with each batch as it becomes durable, before the driver hears of it. */
  onDurable(batch: PersistBatch, before: DurableState): void;
}

export class FakeDisk implements RaftStorage {
  readonly durable: DurableState = { hardState: EMPTY_HARD_STATE, snapshot: null, entries: [] };
  private pending: PendingWrite[] = [];

  constructor(private readonly hooks: DiskHooks) {}

  get pendingWrites(): number {
    return this.pending.length;
  }

  /** What a restarted node finds. */
  loaded(): PersistedState {
    return {
      hardState: this.durable.hardState,
      snapshot: this.durable.snapshot,
      entries: [...this.durable.entries],
    };
  }

  load(): PromiseLike<PersistedState> {
    return SyncDeferred.resolved(this.loaded());
  }

  save(batch: PersistBatch): PromiseLike<void> {
    const done = new SyncDeferred<void>();
    this.pending.push({ batch, done });
    this.hooks.scheduleCompletion();
    return done;
  }

  /** The oldest pending write becomes durable, and its writer continues. */
  complete(): void {
    const w = this.pending.shift();
    if (w === undefined) return;
    this.hooks.onDurable(w.batch, this.durable);
    applyBatch(this.durable, w.batch);
    w.done.resolve();
  }

  /** Power cut: writes not yet durable are gone. */
  crash(): void {
    this.pending = [];
  }

  /** The durable entry at `index`, if any. */
  entry(index: number): Entry | undefined {
    const base = this.durable.snapshot?.meta.index ?? 0;
    return this.durable.entries[index - base - 1];
  }

  /** The durable term at `index`: an entry's, or the snapshot's at its own index. */
  termAt(index: number): number | undefined {
    const snap = this.durable.snapshot;
    if (snap !== null && index === snap.meta.index) return snap.meta.term;
    return this.entry(index)?.term;
  }
}

/** Applies a batch the way storage.ts specifies (snapshot, discard, entries, hard state). */
export function applyBatch(d: DurableState, b: PersistBatch): void {
  if (b.snapshot !== null) {
    const oldBase = d.snapshot?.meta.index ?? 0;
    const idx = b.snapshot.meta.index;
    d.snapshot = b.snapshot;
    d.entries = b.discardLog ? [] : d.entries.slice(Math.max(0, idx - oldBase));
  }
  const first = b.entries[0];
  if (first !== undefined) {
    const base = d.snapshot?.meta.index ?? 0;
    const keep = first.index - base - 1;
    if (keep < 0 || keep > d.entries.length)
      throw new RangeError(
        `append at ${first.index} leaves a gap after ${base + d.entries.length} (snapshot ${base})`,
      );
    d.entries.length = keep;
    for (const e of b.entries) d.entries.push(e);
  }
  if (b.hardState !== null) d.hardState = b.hardState;
}
