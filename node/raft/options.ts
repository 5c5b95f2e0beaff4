/**
 * Settings of the Raft core and its driver, with libraft's names and defaults
 * sized for UDP: a message plus the transport's header (at most 64 bytes) stays
 * under 1,400 bytes, one unfragmented datagram.
 */
import { encodedLength } from './codec.js';
import { MAX_NUMBER } from './messages.js';
import type { NodeId } from './types.js';

/** How the core behaves; every field but `id` and `peers` has a default. */
export interface RaftSettings {
  /** This node. */
  readonly id: NodeId;
  /**
   * Every voting member, this node included. Used when neither a snapshot nor
   * a configuration entry in the log says otherwise (a fresh cluster).
   */
  readonly peers: readonly NodeId[];
  /** A leader sends heartbeats this often. Default 50 ms. */
  readonly heartbeatMs?: number;
  /** A follower that hears no leader for a random time in [min, max] campaigns. Default 150-300 ms. */
  readonly electionTimeoutMinMs?: number;
  readonly electionTimeoutMaxMs?: number;
  /** Entries kept past the last snapshot before the driver compacts. Default 1,000. */
  readonly logLength?: number;
  /** Payload bytes per snapshot or large-entry chunk (lowered to fit a message). Default 1,024. */
  readonly chunkLength?: number;
  /** No encoded message is longer than this. Default 1,280 bytes. */
  readonly maxMessageLength?: number;
  /** Append messages (or chunks) a leader keeps unacknowledged per follower. Default 8. */
  readonly maxInflight?: number;
  /** Most entries in one append message (1 disables batching). Default 1,024. */
  readonly maxEntriesPerAppend?: number;
  /** Largest entry data `propose` accepts. Default 1 MiB. */
  readonly maxEntryLength?: number;
  /** Ask for pre-votes before campaigning, so a node cut off does not disrupt. Default true. */
  readonly preVote?: boolean;
  /** A leader that hears from no majority for an election timeout steps down. Default true. */
  readonly checkQuorum?: boolean;
  /** Planted bugs, for tests of the simulator only. Never set in production. */
  readonly unsafe?: UnsafeOptions;
}

/**
 * TEST ONLY. Each flag plants a known Raft bug so tests can prove that the
 * simulator (and the testbed) catch it. The default is none; a real node must
 * never set any of these.
 */
export interface UnsafeOptions {
  /** Grant (pre-)votes without checking that the candidate's log is at least as up to date. */
  readonly grantVoteWithoutLogCheck?: boolean;
  /** Commit an entry of an earlier term as soon as a majority holds it (Raft's Figure 8 bug). */
  readonly commitPreviousTermByCount?: boolean;
  /** Leave the vote out of the persisted hard state, so a restart may vote twice in a term. */
  readonly forgetToPersistVote?: boolean;
}

export type UnsafeBug = keyof UnsafeOptions;

export const UNSAFE_BUGS: readonly UnsafeBug[] = [
  'grantVoteWithoutLogCheck',
  'commitPreviousTermByCount',
  'forgetToPersistVote',
];

/** The settings with every default filled in. */
export type ResolvedSettings = Required<Omit<RaftSettings, 'unsafe'>> & {
  readonly unsafe: UnsafeOptions;
};

export const DEFAULTS = {
  heartbeatMs: 50,
  electionTimeoutMinMs: 150,
  electionTimeoutMaxMs: 300,
  logLength: 1_000,
  chunkLength: 1_024,
  maxMessageLength: 1_280,
  maxInflight: 8,
  maxEntriesPerAppend: 1_024,
  maxEntryLength: 1 << 20,
  preVote: true,
  checkQuorum: true,
} as const;

/** Smallest maxMessageLength that leaves room for every header and some payload. */
export const MIN_MESSAGE_LENGTH = 256;
/** Payload bytes a snapshot chunk must at least carry. */
const MIN_CHUNK_PAYLOAD = 32;

/** Fills in defaults and rejects settings that cannot work, naming the field. */
export function resolveSettings(s: RaftSettings): ResolvedSettings {
  const r: ResolvedSettings = {
    id: s.id,
    peers: [...s.peers],
    heartbeatMs: s.heartbeatMs ?? DEFAULTS.heartbeatMs,
    electionTimeoutMinMs: s.electionTimeoutMinMs ?? DEFAULTS.electionTimeoutMinMs,
    electionTimeoutMaxMs: s.electionTimeoutMaxMs ?? DEFAULTS.electionTimeoutMaxMs,
    logLength: s.logLength ?? DEFAULTS.logLength,
    chunkLength: s.chunkLength ?? DEFAULTS.chunkLength,
    maxMessageLength: s.maxMessageLength ?? DEFAULTS.maxMessageLength,
    maxInflight: s.maxInflight ?? DEFAULTS.maxInflight,
    maxEntriesPerAppend: s.maxEntriesPerAppend ?? DEFAULTS.maxEntriesPerAppend,
    maxEntryLength: s.maxEntryLength ?? DEFAULTS.maxEntryLength,
    preVote: s.preVote ?? DEFAULTS.preVote,
    checkQuorum: s.checkQuorum ?? DEFAULTS.checkQuorum,
    unsafe: s.unsafe ?? {},
  };
  const bad = (field: string, why: string): never => {
    throw new RangeError(`raft settings of ${s.id}: ${field} ${why}`);
  };
  if (typeof r.id !== 'string' || r.id === '') bad('id', 'must be a non-empty string');
  if (!r.peers.includes(r.id)) bad('peers', `must include this node (${r.id})`);
  if (new Set(r.peers).size !== r.peers.length) bad('peers', 'must not repeat a node');
  const positive = (field: keyof ResolvedSettings, v: number): void => {
    if (!Number.isSafeInteger(v) || v < 1) bad(field, `must be a whole number >= 1, got ${v}`);
  };
  positive('heartbeatMs', r.heartbeatMs);
  positive('electionTimeoutMinMs', r.electionTimeoutMinMs);
  positive('electionTimeoutMaxMs', r.electionTimeoutMaxMs);
  positive('logLength', r.logLength);
  positive('chunkLength', r.chunkLength);
  positive('maxMessageLength', r.maxMessageLength);
  positive('maxInflight', r.maxInflight);
  positive('maxEntriesPerAppend', r.maxEntriesPerAppend);
  positive('maxEntryLength', r.maxEntryLength);
  if (r.electionTimeoutMaxMs < r.electionTimeoutMinMs)
    bad('electionTimeoutMaxMs', 'must be >= electionTimeoutMinMs');
  if (r.heartbeatMs >= r.electionTimeoutMinMs)
    bad('heartbeatMs', 'must be below electionTimeoutMinMs');
  if (r.maxMessageLength < MIN_MESSAGE_LENGTH)
    bad('maxMessageLength', `must be at least ${MIN_MESSAGE_LENGTH}`);
  // Every snapshot chunk repeats the configuration: it must leave room for payload.
  const longest = r.peers.reduce((a, p) => (p.length > a.length ? p : a), '');
  const chunkHeader = encodedLength({
    type: 'snapshotChunk',
    from: longest,
    to: longest,
    term: MAX_NUMBER,
    meta: { index: MAX_NUMBER, term: MAX_NUMBER, peers: r.peers },
    total: MAX_NUMBER,
    offset: MAX_NUMBER,
    data: new Uint8Array(0),
  });
  if (chunkHeader + MIN_CHUNK_PAYLOAD > r.maxMessageLength)
    bad(
      'peers',
      `(${r.peers.length} of them) leave no room for snapshot chunks in ${r.maxMessageLength} bytes`,
    );
  return r;
}
