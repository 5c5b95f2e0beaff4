/**
 * The data Raft keeps and persists. Shared by the core, storage, transport and
 * the simulator; the core's messages live in messages.ts, its inputs and
 * outputs in ready.ts and core.ts, the driver in raft.ts.
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

export type Role = 'follower' | 'precandidate' | 'candidate' | 'leader';

/** Volatile state, reported when it changes (for logs and status). */
export interface SoftState {
  readonly role: Role;
  readonly leader: NodeId | null;
  readonly term: number;
}

/** Why a read could not be served; the caller may retry elsewhere or later. */
export type ReadFailure =
  /** No leader is known (an election is in progress or this node is cut off). */
  | 'no-leader'
  /** Leadership changed or was lost before the read was confirmed. */
  | 'leader-changed'
  /** The leader did not answer a follower's request in time. */
  | 'timeout';

/**
 * The answer to `readIndex(requestId)`. When `ok`, the state machine has applied
 * at least `index`, and reading it now is linearizable.
 */
export type ReadState =
  | { readonly requestId: number; readonly ok: true; readonly index: number }
  | { readonly requestId: number; readonly ok: false; readonly reason: ReadFailure };

/** What `propose` returns: the entry's place in the log, or where to go instead. */
export type ProposeResult =
  | { readonly ok: true; readonly index: number; readonly term: number }
  | {
      readonly ok: false;
      readonly reason: 'not-leader' | 'too-large';
      /** The leader this node knows of, if any (for a redirect). */
      readonly leader: NodeId | null;
    };
