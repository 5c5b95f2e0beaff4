/**
 * The messages Raft nodes exchange. Every message names its sender, its
 * recipient and the sender's term; codec.ts gives each a compact binary form
 * that fits one datagram.
 *
 * Acknowledgements that depend on durable state (a vote, appended entries, an
 * installed snapshot) are only ever released after that state was persisted:
 * the core puts them in a Ready whose persistence precedes sending.
 */
import type { Entry, EntryKind, NodeId, SnapshotMeta } from './types.js';

interface Envelope {
  readonly from: NodeId;
  readonly to: NodeId;
  /** The sender's current term (for a pre-vote request: the term it would campaign in). */
  readonly term: number;
}

/** RequestVote, or its pre-vote form (which changes no one's term or vote). */
export interface VoteRequest extends Envelope {
  readonly type: 'vote';
  readonly pre: boolean;
  readonly lastIndex: number;
  readonly lastTerm: number;
}

export interface VoteResponse extends Envelope {
  readonly type: 'voteResponse';
  readonly pre: boolean;
  readonly granted: boolean;
}

/** AppendEntries. `entries[i].index` is `prevIndex + 1 + i` (the codec relies on it). */
export interface AppendRequest extends Envelope {
  readonly type: 'append';
  readonly prevIndex: number;
  readonly prevTerm: number;
  readonly commit: number;
  readonly entries: readonly Entry[];
}

/**
 * On success `index` is the last index the follower now knows matches the
 * leader's log. On rejection `index` is the rejected `prevIndex`, and
 * (`hintIndex`, `hintTerm`) is the follower's guess of where the logs may
 * agree (the largest index at or below it whose term is <= the leader's
 * `prevTerm`), so the leader skips a whole conflicting term per round trip.
 */
export interface AppendResponse extends Envelope {
  readonly type: 'appendResponse';
  readonly success: boolean;
  readonly index: number;
  readonly hintIndex: number;
  readonly hintTerm: number;
}

/**
 * Sent every heartbeat interval and whenever a read needs a fresh round.
 * `commit` is capped at what the follower is known to hold; `round` numbers the
 * broadcast so ReadIndex can tell acknowledgements sent after a read arrived.
 */
export interface HeartbeatRequest extends Envelope {
  readonly type: 'heartbeat';
  readonly commit: number;
  readonly round: number;
}

export interface HeartbeatResponse extends Envelope {
  readonly type: 'heartbeatResponse';
  readonly round: number;
}

/**
 * One piece of an entry too large for one message. The entry's index is
 * `prevIndex + 1`; the first chunk (offset 0) checks log matching like an
 * append. The follower appends the entry once every byte arrived.
 */
export interface EntryChunk extends Envelope {
  readonly type: 'entryChunk';
  readonly prevIndex: number;
  readonly prevTerm: number;
  readonly commit: number;
  readonly entryTerm: number;
  readonly kind: EntryKind;
  /** The entry's whole data length. */
  readonly total: number;
  readonly offset: number;
  readonly data: Uint8Array;
}

/** Acknowledges the contiguous bytes received of the entry (`index`, `entryTerm`). */
export interface EntryChunkAck extends Envelope {
  readonly type: 'entryChunkAck';
  readonly index: number;
  readonly entryTerm: number;
  readonly offset: number;
}

/** One piece of a snapshot (InstallSnapshot). Chunks arrive in order of offset. */
export interface SnapshotChunk extends Envelope {
  readonly type: 'snapshotChunk';
  readonly meta: SnapshotMeta;
  readonly total: number;
  readonly offset: number;
  readonly data: Uint8Array;
}

/**
 * Acknowledges the contiguous bytes received of the snapshot (`index`,
 * `snapshotTerm`). Once the whole snapshot is installed and persisted, the
 * follower answers with an AppendResponse instead.
 */
export interface SnapshotAck extends Envelope {
  readonly type: 'snapshotAck';
  readonly index: number;
  readonly snapshotTerm: number;
  readonly offset: number;
}

/** A follower asks the leader for a read index on behalf of its request `id`. */
export interface ReadIndexRequest extends Envelope {
  readonly type: 'readIndex';
  readonly id: number;
}

export interface ReadIndexResponse extends Envelope {
  readonly type: 'readIndexResponse';
  readonly id: number;
  readonly ok: boolean;
  /** When ok: the leader's commit index when the request arrived, confirmed by a quorum. */
  readonly index: number;
}

export type Message =
  | VoteRequest
  | VoteResponse
  | AppendRequest
  | AppendResponse
  | HeartbeatRequest
  | HeartbeatResponse
  | EntryChunk
  | EntryChunkAck
  | SnapshotChunk
  | SnapshotAck
  | ReadIndexRequest
  | ReadIndexResponse;

export type MessageType = Message['type'];

export const MESSAGE_TYPES: readonly MessageType[] = [
  'vote',
  'voteResponse',
  'append',
  'appendResponse',
  'heartbeat',
  'heartbeatResponse',
  'entryChunk',
  'entryChunkAck',
  'snapshotChunk',
  'snapshotAck',
  'readIndex',
  'readIndexResponse',
];

/** Terms, indexes and lengths above this are absurd: such a message is dropped and counted. */
export const MAX_NUMBER = 2 ** 48;
