/**
 * What the core hands its driver, etcd-raft style: a Ready batch of work, to be
 * carried out in a fixed order, after which the driver calls `advance(ready)`.
 *
 *   0. send `replication` at once: the leader's appends, heartbeats and chunks
 *      may go out while step 1 is in flight (etcd does the same), so a write
 *      waits for the leader's fsync and a follower's side by side, not one
 *      after the other;
 *   1. persist, as one atomic batch (see PersistBatch in storage.ts), in this
 *      order: `snapshot`, then `entries`, then `hardState`;
 *   2. only then send `messages` (they may acknowledge what step 1 persisted);
 *   3. if `installSnapshot`, replace the state machine with `snapshot.data`;
 *   4. apply `committedEntries` in order, then report with `applied(index)`;
 *   5. answer `readStates`;
 *   6. call `advance(ready)`; ask for the next Ready only after that.
 *
 * Step 0 is safe because the leader counts itself toward a commit quorum only
 * for entries `advance` reported persisted, its term was stored before it
 * could win it (the vote requests waited for that), and the commit index it
 * sends is one a quorum already stored. Whatever acknowledges something
 * stored (votes, appended entries, an installed snapshot) is in `messages`.
 * `events` are reported once step 1 is done (a vote is reported when stored).
 *
 * Inputs (tick, step, propose, readIndex, ...) may arrive at any time, also
 * while a Ready is being persisted; their effects go into the next Ready.
 */
import type { Message } from './messages.js';
import type { Entry, HardState, NodeId, ReadState, Snapshot, SoftState } from './types.js';

/** Something the core did that a node logs (the driver passes these on as RaftEvents). */
export type CoreEvent =
  /** This node gave its vote in `term` to `candidate` (once per term; pre-votes are not votes). */
  | { readonly type: 'vote-granted'; readonly term: number; readonly candidate: NodeId }
  /** This node won the election for `term` with the votes of `votes` (itself included). */
  | { readonly type: 'elected'; readonly term: number; readonly votes: readonly NodeId[] }
  /**
   * Leader: `peer` lacks the entry at `match`, which it had acknowledged: its
   * disk lost entries. Its log ends at `lastIndex`; its progress restarts from
   * there (see Progress.regress).
   */
  | {
      readonly type: 'follower-regressed';
      readonly peer: NodeId;
      readonly term: number;
      readonly lastIndex: number;
      readonly match: number;
    }
  /**
   * Follower: `leader` (of `term`) sent entries (or a snapshot) that contradict
   * this node's committed log: at `index` (<= `commit`, this node's commit
   * index) its entry has term `entryTerm` where the committed one has
   * `committedTerm`. Only a disk that lost acknowledged writes allows that
   * (the leader was elected without entries a majority had stored). No Raft
   * can repair it safely, since this node applied those entries: the message
   * is refused, and unanswered, so the leader never counts this node as
   * holding its entries. Reported for every refusal.
   */
  | {
      readonly type: 'committed-conflict';
      readonly leader: NodeId;
      readonly term: number;
      readonly index: number;
      readonly entryTerm: number;
      readonly committedTerm: number;
      readonly commit: number;
    };

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
  /**
   * The leader's appends, heartbeats, entry and snapshot chunks: send at once,
   * before or while persisting (step 0). At most maxMessageLength bytes each.
   */
  readonly replication: readonly Message[];
  /** Send after persisting; each encodes to at most maxMessageLength bytes. */
  readonly messages: readonly Message[];
  /** Apply in order after persisting (they may include `entries` of this Ready). */
  readonly committedEntries: readonly Entry[];
  /** Answers to readIndex requests. */
  readonly readStates: readonly ReadState[];
  /** What happened, to report once the Ready is persisted. */
  readonly events: readonly CoreEvent[];
}

/** True when the Ready has something to persist before its messages may go out. */
export function needsPersist(rd: Ready): boolean {
  return rd.hardState !== null || rd.snapshot !== null || rd.entries.length > 0;
}
