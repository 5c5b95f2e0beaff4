/**
 * The in-memory Raft log: a compaction point (the last snapshot's index and
 * term) followed by entries. It knows which entries are durable (`stable`),
 * which are committed, and which were handed out to be applied, so the core
 * can say in each Ready what to persist and what to apply.
 */
import type { Entry, Snapshot } from './types.js';

export class RaftLog {
  /** Index and term of the last entry covered by the snapshot (0, 0 without one). */
  snapIndex = 0;
  snapTerm = 0;
  /** entries[i].index === snapIndex + 1 + i */
  entries: Entry[] = [];
  /** Entries up to here are durable; later ones go into the next Ready. */
  stable = 0;
  committed = 0;
  /** Committed entries up to here were handed out to be applied. */
  applying = 0;
  /**
   * Entries up to here were handed out in a Ready to be persisted (the driver
   * persists one Ready at a time, so after `advance` they are stable unless a
   * truncation lowered this meanwhile).
   */
  handed = 0;
  /** A snapshot to persist in the next Ready (a compaction or one from the leader). */
  pendingSnapshot: Snapshot | null = null;
  pendingInstall = false;

  /** Rebuilds the log from what storage loaded. */
  static restore(snapshot: Snapshot | null, entries: readonly Entry[], commit: number): RaftLog {
    const log = new RaftLog();
    if (snapshot !== null) {
      log.snapIndex = snapshot.meta.index;
      log.snapTerm = snapshot.meta.term;
    }
    log.entries = [...entries];
    log.stable = log.lastIndex();
    log.handed = log.stable;
    log.committed = Math.min(Math.max(commit, log.snapIndex), log.lastIndex());
    log.applying = log.snapIndex;
    return log;
  }

  firstIndex(): number {
    return this.snapIndex + 1;
  }

  lastIndex(): number {
    return this.snapIndex + this.entries.length;
  }

  lastTerm(): number {
    const last = this.entries[this.entries.length - 1];
    return last === undefined ? this.snapTerm : last.term;
  }

  /** The term at `index`, or undefined when it was compacted away or does not exist yet. */
  term(index: number): number | undefined {
    if (index === this.snapIndex) return this.snapTerm;
    return this.entries[index - this.snapIndex - 1]?.term;
  }

  entry(index: number): Entry | undefined {
    if (index <= this.snapIndex) return undefined;
    return this.entries[index - this.snapIndex - 1];
  }

  /** Entries in [lo, hi], both included, clamped to what is in memory. */
  slice(lo: number, hi: number): Entry[] {
    const from = Math.max(lo, this.firstIndex()) - this.snapIndex - 1;
    const to = Math.min(hi, this.lastIndex()) - this.snapIndex;
    return from < to ? this.entries.slice(from, to) : [];
  }

  matchTerm(index: number, term: number): boolean {
    return this.term(index) === term;
  }

  /** Raft's election restriction: is a log ending at (index, term) at least as up to date as ours? */
  isUpToDate(index: number, term: number): boolean {
    const lastTerm = this.lastTerm();
    return term > lastTerm || (term === lastTerm && index >= this.lastIndex());
  }

  /** Appends at the end (the leader's own proposals). */
  append(entry: Entry): void {
    this.entries.push(entry);
  }

  /**
   * The first index where `entries` disagree with the log, or 0 when the log
   * already holds all of them.
   */
  findConflict(entries: readonly Entry[]): number {
    for (const e of entries) {
      if (this.term(e.index) !== e.term) return e.index;
    }
    return 0;
  }

  /** Replaces everything from entries[0].index on with `entries`. */
  truncateAndAppend(entries: readonly Entry[]): void {
    const first = entries[0];
    if (first === undefined) return;
    const keep = first.index - this.snapIndex - 1;
    if (keep < this.entries.length) {
      this.entries.length = keep;
      this.stable = Math.min(this.stable, first.index - 1);
      this.handed = Math.min(this.handed, first.index - 1);
    }
    for (const e of entries) this.entries.push(e);
  }

  commitTo(index: number): boolean {
    const to = Math.min(index, this.lastIndex());
    if (to <= this.committed) return false;
    this.committed = to;
    return true;
  }

  hasUnhanded(): boolean {
    return this.lastIndex() > Math.max(this.handed, this.stable);
  }

  /** Entries not yet handed out for persisting; hands them out. */
  takeUnstable(): Entry[] {
    const from = Math.max(this.handed, this.stable) + 1;
    const out = this.slice(from, this.lastIndex());
    this.handed = this.lastIndex();
    return out;
  }

  /** The driver persisted a Ready whose entries ended at `last`. */
  persisted(last: number): void {
    const upTo = Math.min(last, this.handed, this.lastIndex());
    if (upTo > this.stable) this.stable = upTo;
  }

  hasNextCommitted(): boolean {
    return this.committed > this.applying;
  }

  /** Committed entries not yet handed out; hands them out. */
  takeCommitted(): Entry[] {
    if (this.committed <= this.applying) return [];
    const out = this.slice(this.applying + 1, this.committed);
    this.applying = this.committed;
    return out;
  }

  /**
   * The largest index at or below `index` whose term is at most `term`, with its
   * term: where a follower's log may still agree with a leader whose entry at
   * `index` has `term` (etcd's findConflictByTerm).
   */
  findConflictByTerm(index: number, term: number): { index: number; term: number } {
    let i = Math.min(index, this.lastIndex());
    for (; i > this.snapIndex; i--) {
      const t = this.term(i) ?? 0;
      if (t <= term) return { index: i, term: t };
    }
    return { index: this.snapIndex, term: this.snapTerm };
  }

  /** Replaces the whole log by a snapshot from the leader. */
  install(snapshot: Snapshot): void {
    const { index, term } = snapshot.meta;
    this.snapIndex = index;
    this.snapTerm = term;
    this.entries = [];
    this.stable = index;
    this.handed = index;
    this.committed = index;
    this.applying = index;
    this.pendingSnapshot = snapshot;
    this.pendingInstall = true;
  }

  /** Drops entries up to `index` (covered by a local snapshot). */
  compact(snapshot: Snapshot): void {
    const { index, term } = snapshot.meta;
    const drop = index - this.snapIndex;
    this.entries = this.entries.slice(drop);
    this.snapIndex = index;
    this.snapTerm = term;
    // Only applied (hence persisted) entries are compacted.
    if (this.stable < index) this.stable = index;
    if (this.handed < index) this.handed = index;
    this.pendingSnapshot = snapshot;
    this.pendingInstall = false;
  }
}
