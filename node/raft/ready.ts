/**
 * What the core hands its driver, etcd-raft style: a Ready batch of work, to be
 * carried out in a fixed order, after which the driver calls `advance(ready)`.
 *
 *   1. persist, as one atomic batch (see PersistBatch in storage.ts), in this
 *      order: `snapshot`, then `entries`, then `hardState`;
 *   2. only then send `messages` (they may acknowledge what step 1 persisted);
 *   3. if `installSnapshot`, replace the state machine with `snapshot.data`;
 *   4. apply `committedEntries` in order, then report with `applied(index)`;
 *   5. answer `readStates`;
 *   6. call `advance(ready)`; ask for the next Ready only after that.
 *
 * Inputs (tick, step, propose, readIndex, ...) may arrive at any time, also
 * while a Ready is being persisted; their effects go into the next Ready.
 */
import type { Message } from './messages.js';
import type { Entry, HardState, ReadState, Snapshot, SoftState } from './types.js';

export interface Ready {
  /** Role, leader or term changed since the last Ready (for logs); null otherwise. */
  readonly softState: SoftState | null;
  /** Persist when not null: term or vote (or the commit hint) changed. */
  readonly hardState: HardState | null;
  /**
   * Persist when not null: store it in place of the previous snapshot and drop
   * stored entries up to its index. Either a local compaction
   * (`installSnapshot` false) or a snapshot received from the leader.
   */
  readonly snapshot: Snapshot | null;
  /**
   * The snapshot came from the leader: drop every stored entry (the log
   * restarts after the snapshot) and, after persisting, restore the state
   * machine from `snapshot.data`.
   */
  readonly installSnapshot: boolean;
  /**
   * Persist: first drop every stored entry with index >= entries[0].index (a
   * suffix the leader overwrote), then append. Always contiguous with the
   * stored log (or the snapshot) after that.
   */
  readonly entries: readonly Entry[];
  /** Send after persisting; each encodes to at most maxMessageLength bytes. */
  readonly messages: readonly Message[];
  /** Apply in order after persisting (they may include `entries` of this Ready). */
  readonly committedEntries: readonly Entry[];
  /** Answers to readIndex requests. */
  readonly readStates: readonly ReadState[];
}

/** True when the Ready has something to persist before its messages may go out. */
export function needsPersist(rd: Ready): boolean {
  return rd.hardState !== null || rd.snapshot !== null || rd.entries.length > 0;
}
