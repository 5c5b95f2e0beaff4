/**
 * What the Raft driver needs from durable storage. The node implements it with
 * a write-ahead log (node/storage/); the simulator with a fake disk whose
 * writes complete later and are lost if the node crashes first.
 */
import type { Entry, HardState, Snapshot } from './types.js';

/** Everything durable, as found at startup. */
export interface PersistedState {
  /** `{ term: 0, vote: null, commit: 0 }` for a node that never ran. */
  readonly hardState: HardState;
  /** The latest snapshot, or null when none was taken or received. */
  readonly snapshot: Snapshot | null;
  /**
   * The log after the snapshot, in index order and contiguous: the first entry
   * has index `snapshot.meta.index + 1` (or 1 without a snapshot).
   */
  readonly entries: readonly Entry[];
}

/**
 * One atomic write. Applied in this order: `snapshot`, `discardLog`, `entries`,
 * `hardState`. A later `load()` sees all of it or none of it (a WAL can write
 * it as one checksummed record, or treat an incomplete batch as a torn tail).
 */
export interface PersistBatch {
  /** Store in place of the previous snapshot, then drop stored entries with index <= its index. */
  readonly snapshot: Snapshot | null;
  /** Drop every stored entry after the snapshot too (a snapshot installed from the leader). */
  readonly discardLog: boolean;
  /**
   * Drop stored entries with index >= entries[0].index (a suffix the leader
   * overwrote), then append. entries[0].index <= last stored index + 1.
   */
  readonly entries: readonly Entry[];
  /** Replace the stored hard state when not null. */
  readonly hardState: HardState | null;
}

export interface RaftStorage {
  /** Reads everything durable; called once, before the node starts. */
  load(): PromiseLike<PersistedState>;
  /**
   * Resolves once the batch is durable (fsynced). The driver never has two
   * saves outstanding: it calls save again only after the previous one
   * resolved, so group commit happens by batching in the core. A rejection
   * stops the driver (a node that cannot persist must not keep voting).
   */
  save(batch: PersistBatch): PromiseLike<void>;
}

export const EMPTY_HARD_STATE: HardState = { term: 0, vote: null, commit: 0 };

export const EMPTY_STATE: PersistedState = {
  hardState: EMPTY_HARD_STATE,
  snapshot: null,
  entries: [],
};
