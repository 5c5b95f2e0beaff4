/**
 * The core's whole state, shared by the modules that implement each part of
 * the protocol (election.ts, replication.ts, transfer.ts, reads.ts). Only
 * core.ts is public; it owns one of these and guards what comes in.
 */
import type { ChunkReceiver } from './chunks.js';
import type { Message } from './messages.js';
import type { ResolvedSettings } from './options.js';
import type { Progress } from './progress.js';
import { ReadTracker } from './read-index.js';
import type { RaftLog } from './log.js';
import type { CoreEvent } from './ready.js';
import type { DropReason } from './validate.js';
import type { EntryKind, NodeId, ReadState, Role, Snapshot, SnapshotMeta } from './types.js';

/** A message as a handler writes it: the sender and term are filled in by `send`. */
export type Outgoing = Message extends infer M
  ? M extends Message
    ? Omit<M, 'from' | 'term'>
    : never
  : never;

/** A large entry being received in chunks. */
export interface EntryReception {
  readonly index: number;
  readonly term: number;
  readonly kind: EntryKind;
  readonly rx: ChunkReceiver;
}

/** A snapshot being received in chunks. */
export interface SnapshotReception {
  readonly meta: SnapshotMeta;
  /** The term of the leader sending it. */
  readonly leaderTerm: number;
  readonly rx: ChunkReceiver;
}

export class CoreState {
  readonly id: NodeId;
  /** Voting members, this node included. */
  readonly peers: readonly NodeId[];
  /** Voting members but this node. */
  readonly others: readonly NodeId[];

  term = 0;
  vote: NodeId | null = null;
  leader: NodeId | null = null;
  role: Role = 'follower';

  /** Ms since the last election timer reset (a leader: since the last check-quorum). */
  electionElapsed = 0;
  heartbeatElapsed = 0;
  /** This round's election timeout, drawn from [min, max]. */
  randomizedTimeout = 0;

  /** Candidate: the answers received (true = granted). */
  readonly votes = new Map<NodeId, boolean>();
  /** Leader: one per other member. */
  readonly progress = new Map<NodeId, Progress>();
  /** Leader: the latest heartbeat round, and whether its messages were taken in a Ready yet. */
  round = 0;
  roundUnsent = false;
  /** Leader: new entries wait for the next Ready, so that appends batch them. */
  broadcastPending = false;

  readonly reads = new ReadTracker();
  entryRx: EntryReception | null = null;
  snapshotRx: SnapshotReception | null = null;
  /** The latest whole snapshot (taken, restored or installed): what a leader sends. */
  snapshot: Snapshot | null = null;
  /** What the state machine applied, as the driver reported. */
  applied = 0;

  msgs: Message[] = [];
  readStates: ReadState[] = [];
  /** What happened since the last Ready, for the driver's logs. */
  events: CoreEvent[] = [];
  /** Leader (any term): followers found to have lost entries they acknowledged. */
  followerRegressions = 0;
  /** Follower (any term): leader messages refused for contradicting committed entries. */
  committedConflicts = 0;
  dropTotal = 0;
  lastDrop: DropReason | null = null;
  readonly dropped: Record<DropReason, number> = {
    malformed: 0,
    unknownPeer: 0,
    wrongRecipient: 0,
    outOfRange: 0,
  };

  constructor(
    readonly cfg: ResolvedSettings,
    readonly log: RaftLog,
    readonly random: () => number,
    peers: readonly NodeId[],
  ) {
    this.id = cfg.id;
    this.peers = peers;
    this.others = peers.filter((p) => p !== cfg.id);
  }

  quorum(): number {
    return Math.floor(this.peers.length / 2) + 1;
  }

  isPeer(id: NodeId): boolean {
    return this.others.includes(id);
  }

  /** Queues `m` (a fresh object the caller gives up), stamped with our id and term. */
  send(m: Outgoing, term = this.term): void {
    const full = m as Outgoing & { from: NodeId; term: number };
    full.from = this.id;
    full.term = term;
    this.msgs.push(full);
  }

  resetElectionTimer(): void {
    this.electionElapsed = 0;
    const { electionTimeoutMinMs: min, electionTimeoutMaxMs: max } = this.cfg;
    const r = this.random();
    const jitter = Number.isFinite(r) ? Math.min(Math.max(r, 0), 0.999999) : 0;
    this.randomizedTimeout = min + Math.floor(jitter * (max - min + 1));
  }

  /** An entry of this term is committed: the leader's commit index is now current. */
  committedInTerm(): boolean {
    return this.log.term(this.log.committed) === this.term;
  }

  drop(reason: DropReason): void {
    this.dropped[reason]++;
    this.dropTotal++;
    this.lastDrop = reason;
  }
}
