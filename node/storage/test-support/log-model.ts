/**
 * The reference model of what storage promises, record by record: the state
 * after a prefix of saves. Written independently of the storage code so a
 * test compares two implementations of the same rules.
 */
import type { Entry, HardState, Snapshot } from '../../raft/types.js';
import type { PersistedState } from '../wal-storage.js';

/** The smallest unit a crash can split saves at: one entry, one hard state, one snapshot. */
export type Micro =
  | { readonly kind: 'entry'; readonly entry: Entry }
  | { readonly kind: 'hardState'; readonly hardState: HardState }
  | { readonly kind: 'snapshot'; readonly snapshot: Snapshot };

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

  apply(m: Micro): void {
    switch (m.kind) {
      case 'hardState':
        this.hardState = m.hardState;
        return;
      case 'entry': {
        const e = m.entry;
        if (e.index <= this.base) return;
        if (e.index > this.last + 1) throw new Error(`model: gap at ${e.index}`);
        this.entries.length = e.index - this.base - 1;
        this.entries.push(e);
        return;
      }
      case 'snapshot': {
        const { index, term } = m.snapshot.meta;
        const keep = this.last > index && this.termAt(index) === term;
        this.entries = keep ? this.entries.slice(index - this.base) : [];
        this.snapshot = m.snapshot;
        return;
      }
    }
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
 * Is `state` the model's state after some prefix of `micros` of at least
 * `minPrefix` items? Returns null if so, else why not.
 */
export function matchesSomePrefix(
  start: LogModel,
  micros: readonly Micro[],
  minPrefix: number,
  state: PersistedState,
): string | null {
  const m = start.clone();
  let firstDiff: string | null = null;
  for (let k = 0; k <= micros.length; k++) {
    if (k > 0) {
      const micro = micros[k - 1];
      if (micro !== undefined) m.apply(micro);
    }
    if (k < minPrefix) continue;
    const d = m.diff(state);
    if (d === null) return null;
    firstDiff ??= `after ${k} of ${micros.length} saves: ${d}`;
  }
  return `recovered state matches no prefix of at least ${minPrefix} saves (${firstDiff ?? 'none'})`;
}
