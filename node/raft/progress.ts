/**
 * What a leader knows about each follower (etcd-raft's Progress): how far its
 * log matches, what to send next, and in which mode.
 *
 *   probe:     we do not know where the logs agree; one append at a time,
 *              resent on the next heartbeat response.
 *   replicate: the logs agree up to `match`; appends are pipelined, at most
 *              maxInflight unacknowledged.
 *   snapshot:  the follower needs entries we compacted away; a snapshot is
 *              being sent in chunks.
 */
import type { ChunkSender } from './chunks.js';
import type { Snapshot } from './types.js';

export type ProgressState = 'probe' | 'replicate' | 'snapshot';

/** The last index of each append in flight, oldest first. */
export class Inflights {
  private items: number[] = [];

  constructor(readonly capacity: number) {}

  get count(): number {
    return this.items.length;
  }

  get full(): boolean {
    return this.items.length >= this.capacity;
  }

  add(lastIndex: number): void {
    this.items.push(lastIndex);
  }

  /** Frees every append whose last index is at or below `index`. */
  freeTo(index: number): void {
    let n = 0;
    while (n < this.items.length && (this.items[n] ?? 0) <= index) n++;
    if (n > 0) this.items.splice(0, n);
  }

  freeFirst(): void {
    this.items.shift();
  }

  reset(): void {
    this.items = [];
  }
}

/** A large entry being sent in chunks. */
export interface EntryTransfer {
  readonly index: number;
  readonly term: number;
  readonly sender: ChunkSender;
}

/** A snapshot being sent in chunks. */
export interface SnapshotTransfer {
  readonly snapshot: Snapshot;
  readonly sender: ChunkSender;
}

export class Progress {
  match = 0;
  next: number;
  state: ProgressState = 'probe';
  /** In probe: an append is out and unanswered; wait for a reply or a heartbeat response. */
  probeSent = false;
  /** The transport said the peer is down: send nothing but heartbeats until it answers. */
  paused = false;
  readonly inflights: Inflights;
  /** Heard from since the last check-quorum interval. */
  recentActive = false;
  /** Highest heartbeat round the follower acknowledged in this term. */
  round = 0;
  /** Ms since `match` last moved while appends were in flight. */
  idleMs = 0;
  entryTx: EntryTransfer | null = null;
  snapshotTx: SnapshotTransfer | null = null;

  constructor(next: number, maxInflight: number) {
    this.next = next;
    this.inflights = new Inflights(maxInflight);
  }

  becomeProbe(): void {
    // After a snapshot, resume right after it even if the follower's ack was lost.
    const floor = this.snapshotTx !== null ? this.snapshotTx.snapshot.meta.index + 1 : 0;
    this.state = 'probe';
    this.next = Math.max(this.match + 1, floor);
    this.probeSent = false;
    this.inflights.reset();
    this.entryTx = null;
    this.snapshotTx = null;
  }

  becomeReplicate(): void {
    this.state = 'replicate';
    this.next = this.match + 1;
    this.probeSent = false;
    this.inflights.reset();
  }

  becomeSnapshot(tx: SnapshotTransfer): void {
    this.state = 'snapshot';
    this.snapshotTx = tx;
    this.entryTx = null;
    this.inflights.reset();
    this.probeSent = false;
  }

  /** The follower holds our log up to `index`. Returns true when that is news. */
  maybeUpdate(index: number): boolean {
    let updated = false;
    if (index > this.match) {
      this.match = index;
      this.idleMs = 0;
      updated = true;
    }
    if (this.next < index + 1) this.next = index + 1;
    return updated;
  }

  /**
   * The follower rejected an append at `rejected`; `hint` is where the logs may
   * agree. Returns false when the rejection is stale (from an older append).
   */
  maybeDecrTo(rejected: number, hint: number): boolean {
    if (this.state === 'replicate') {
      if (rejected <= this.match) return false;
      this.next = this.match + 1;
      return true;
    }
    if (this.next - 1 !== rejected) return false;
    this.next = Math.max(Math.min(rejected, hint + 1), this.match + 1);
    this.probeSent = false;
    return true;
  }

  /** Whether a new append may go out now. */
  canSendAppend(): boolean {
    if (this.paused || this.entryTx !== null) return false;
    if (this.state === 'probe') return !this.probeSent;
    if (this.state === 'replicate') return !this.inflights.full;
    return false;
  }
}
