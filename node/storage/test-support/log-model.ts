/**
 * The reference model of what storage promises: the state after a prefix of
 * saves, each applied whole. Written independently of the storage code so a
 * test compares two implementations of the same rules.
 */
import type { Entry, HardState, Snapshot } from '../../raft/types.js';
import type { PersistedState, SaveBatch } from '../wal-storage.js';

export class LogModel {
  snapshot: Snapshot | null = null;
  entries: Entry[] = [];
  hardState: HardState = { term: 0, vote: null, commit: 0 };

  static from(state: PersistedState): LogModel {
    const m = new LogModel();
    m.snapshot = state.snapshot;
    m.entries = [...state.entries];
    m.hardState = state.hardState;
    return m;
  }

  clone(): LogModel {
    const m = new LogModel();
    m.snapshot = this.snapshot;
    m.entries = [...this.entries];
    m.hardState = this.hardState;
    return m;
  }

  get base(): number {
    return this.snapshot?.meta.index ?? 0;
  }

  get last(): number {
    return this.base + this.entries.length;
  }

  termAt(index: number): number | undefined {
    if (index === this.base) return this.snapshot?.meta.term ?? 0;
    return this.entries[index - this.base - 1]?.term;
  }

  /** A save, by the rules of SaveBatch: snapshot, discardLog, entries, hardState. */
  apply(batch: SaveBatch): void {
    if (batch.snapshot != null) {
      const index = batch.snapshot.meta.index;
      this.entries = this.entries.filter((e) => e.index > index);
      this.snapshot = batch.snapshot;
    }
    if (batch.discardLog === true) this.entries = [];
    for (const e of batch.entries ?? []) {
      if (e.index <= this.base) continue;
      if (e.index > this.last + 1) throw new Error(`model: gap at ${e.index}`);
      this.entries.length = e.index - this.base - 1;
      this.entries.push(e);
    }
    if (batch.hardState != null) this.hardState = batch.hardState;
  }

  /** Null if `state` is this model's state, else the first difference. */
  diff(state: PersistedState): string | null {
    const hs = state.hardState;
    const want = this.hardState;
    if (hs.term !== want.term || hs.vote !== want.vote || hs.commit !== want.commit)
      return `hard state ${JSON.stringify(hs)}, expected ${JSON.stringify(want)}`;
    const snap = state.snapshot;
    if ((snap === null) !== (this.snapshot === null)) return `snapshot presence differs`;
    if (snap !== null && this.snapshot !== null) {
      const [a, b] = [snap.meta, this.snapshot.meta];
      if (a.index !== b.index || a.term !== b.term || a.peers.join() !== b.peers.join())
        return `snapshot ${JSON.stringify(a)}, expected ${JSON.stringify(b)}`;
      if (!sameBytes(snap.data, this.snapshot.data)) return `snapshot data differs`;
    }
    if (state.entries.length !== this.entries.length)
      return `${state.entries.length} entries, expected ${this.entries.length}`;
    for (let i = 0; i < this.entries.length; i++) {
      const [a, b] = [state.entries[i], this.entries[i]];
      if (a === undefined || b === undefined) return `entry ${i} missing`;
      if (
        a.index !== b.index ||
        a.term !== b.term ||
        a.kind !== b.kind ||
        !sameBytes(a.data, b.data)
      )
        return `entry at ${b.index} is ${a.index}/${a.term}, expected ${b.index}/${b.term}`;
    }
    return null;
  }
}

export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * Is `state` the model's state after some prefix of `saves`, at least
 * `minPrefix` long? Returns null if so, else why not.
 */
export function matchesSomePrefix(
  start: LogModel,
  saves: readonly SaveBatch[],
  minPrefix: number,
  state: PersistedState,
): string | null {
  const m = start.clone();
  let firstDiff: string | null = null;
  for (let k = 0; k <= saves.length; k++) {
    if (k > 0) {
      const save = saves[k - 1];
      if (save !== undefined) m.apply(save);
    }
    if (k < minPrefix) continue;
    const d = m.diff(state);
    if (d === null) return null;
    firstDiff ??= `after ${k} of ${saves.length} saves: ${d}`;
  }
  return `recovered state matches no prefix of at least ${minPrefix} saves (${firstDiff ?? 'none'})`;
}
