/**
 * The data Raft keeps and persists. Shared by the core, storage, transport and
 * the simulator; the core's messages and its driver API live beside this file.
 */

/** A node's name in the cluster: `n1`, `n2`, ... */
export type NodeId = string;

/**
 * `noop`: appended by a new leader so that an entry of its term commits.
 * `command`: opaque bytes for the state machine.
 * `config`: the cluster configuration (membership is a log entry).
 */
export type EntryKind = 'noop' | 'command' | 'config';

export interface Entry {
  readonly index: number;
  readonly term: number;
  readonly kind: EntryKind;
  readonly data: Uint8Array;
}

/** What must be durable before a message that depends on it leaves the node. */
export interface HardState {
  readonly term: number;
  readonly vote: NodeId | null;
  /** Persisted as a hint only; a restarted node may recompute it. */
  readonly commit: number;
}

export interface SnapshotMeta {
  /** Last log index the snapshot covers. */
  readonly index: number;
  readonly term: number;
  /** The configuration in force at `index`. */
  readonly peers: readonly NodeId[];
}

export interface Snapshot {
  readonly meta: SnapshotMeta;
  /** The state machine's bytes, as the snapshooter produced them. */
  readonly data: Uint8Array;
}
