/**
 * The Raft consensus core: a pure state machine. No I/O, no timers, no
 * randomness of its own (election jitter comes from `random`). Feed it time
 * (`tick`), messages (`step`), proposals and reads; take a Ready of work
 * (ready.ts says the order to carry it out in); call `advance` when done.
 * The driver in raft.ts does exactly that for the node and the simulator.
 */
import { latestConfig } from './config.js';
import { becomeFollower, handleVote, handleVoteResponse, tickElection } from './election.js';
import { RaftLog } from './log.js';
import type { Message } from './messages.js';
import type { RaftSettings, ResolvedSettings } from './options.js';
import { resolveSettings } from './options.js';
import type { ProgressState } from './progress.js';
import type { Ready } from './ready.js';
import {
  collectReadStates,
  handleReadIndexRequest,
  handleReadIndexResponse,
  readIndex,
  tickReads,
} from './reads.js';
import {
  afterCommit,
  bcastAppend,
  handleAppend,
  handleAppendResponse,
  handleHeartbeat,
  handleHeartbeatResponse,
  maybeCommit,
  reply,
  sendAppends,
  tickLeader,
} from './replication.js';
import { CoreState } from './state.js';
import type { PersistedState } from './storage.js';
import { EMPTY_STATE } from './storage.js';
import {
  handleEntryChunk,
  handleEntryChunkAck,
  handleSnapshotAck,
  handleSnapshotChunk,
} from './transfer.js';
import type {
  Entry,
  EntryKind,
  HardState,
  NodeId,
  ProposeResult,
  Role,
  Snapshot,
  SnapshotMeta,
  SoftState,
} from './types.js';
import type { DropReason } from './validate.js';
import { checkMessage } from './validate.js';

export interface CoreOptions extends RaftSettings {
  /**
   * Election jitter: a number in [0, 1) per draw. Inject a seeded source (e.g.
   * `new Prng(seed).next`) wherever a run must replay.
   */
  readonly random: () => number;
}

export interface PeerStatus {
  readonly id: NodeId;
  readonly match: number;
  readonly next: number;
  readonly state: ProgressState;
  /** Heard from since the last check-quorum interval. */
  readonly active: boolean;
  /** The transport reported it down (peerDown) and it has not answered since. */
  readonly paused: boolean;
  /** A chunked transfer in progress: 'snapshot' or 'entry', with bytes acknowledged. */
  readonly transfer: {
    readonly kind: 'snapshot' | 'entry';
    readonly acked: number;
    readonly total: number;
  } | null;
}

export interface CoreStatus {
  readonly id: NodeId;
  readonly role: Role;
  readonly term: number;
  readonly vote: NodeId | null;
  readonly leader: NodeId | null;
  readonly commit: number;
  readonly applied: number;
  readonly lastIndex: number;
  readonly lastTerm: number;
  /** Entries up to here are durable. */
  readonly stable: number;
  readonly snapshotIndex: number;
  readonly snapshotTerm: number;
  readonly peers: readonly NodeId[];
  /** The leader's view of each follower; empty on other roles. */
  readonly progress: readonly PeerStatus[];
  readonly dropped: Readonly<Record<DropReason, number>>;
  /** As leader, in any term: followers found to have lost entries they acknowledged. */
  readonly followerRegressions: number;
  /**
   * As follower, in any term: appends, entry chunks and snapshots refused
   * because the leader's log contradicts this node's committed entries (see
   * the `committed-conflict` event).
   */
  readonly committedConflicts: number;
}

/** Only a leader sends these; they go out before its Ready is persisted (see ready.ts). */
const LEADER_MESSAGES = new Set(['append', 'heartbeat', 'entryChunk', 'snapshotChunk']);
const FOLLOWER_REPLIES = new Set([
  'appendResponse',
  'heartbeatResponse',
  'entryChunkAck',
  'snapshotAck',
]);

export class RaftCore {
  private readonly s: CoreState;
  private readonly settings: ResolvedSettings;
  private prevSoft: SoftState;
  /** The hard state as last handed out (the real one, even when a planted bug persists another). */
  private prevHard: HardState;

  /**
   * Starts from what storage loaded (nothing, for a new node). Throws a
   * RangeError naming the problem when the settings or the loaded state
   * cannot be right (entries not contiguous with the snapshot, say).
   */
  constructor(options: CoreOptions, restored: PersistedState = EMPTY_STATE) {
    const settings = resolveSettings(options);
    checkRestored(settings.id, restored);
    const { hardState, snapshot, entries } = restored;
    const log = RaftLog.restore(snapshot, entries, hardState.commit);
    const peers = latestConfig(entries) ?? snapshot?.meta.peers ?? settings.peers;
    const s = new CoreState(settings, log, options.random, [...peers]);
    s.term = Math.max(hardState.term, log.lastTerm());
    s.vote = hardState.term === s.term ? hardState.vote : null;
    s.snapshot = snapshot;
    s.applied = log.snapIndex;
    s.resetElectionTimer();
    s.reads.seedWireIds(options.random());
    this.s = s;
    this.settings = settings;
    this.prevSoft = this.softState();
    this.prevHard = hardState;
  }

  get id(): NodeId {
    return this.s.id;
  }

  /** `ms` milliseconds passed (any amount: a late timer passes a large one). */
  tick(ms: number): void {
    const s = this.s;
    if (typeof ms !== 'number' || !Number.isFinite(ms) || ms < 0) return;
    if (s.role === 'leader') {
      if (!tickLeader(s, ms)) becomeFollower(s, s.term, null); // check-quorum failed
    } else if (s.peers.includes(s.id)) {
      tickElection(s, ms);
    }
    tickReads(s, ms);
  }

  /**
   * Takes one message from a peer. Returns false when it was dropped as
   * malformed, out of range, from an unknown peer or for another node (each
   * counted in `status().dropped`); never throws.
   */
  step(input: Message): boolean {
    const before = this.s.dropTotal;
    this.stepInner(input);
    return this.s.dropTotal === before;
  }

  private stepInner(input: Message): void {
    const s = this.s;
    const bad = checkMessage(input);
    if (bad !== null) return s.drop(bad);
    const m = input;
    if (m.to !== s.id) return s.drop('wrongRecipient');
    if (!s.isPeer(m.from)) return s.drop('unknownPeer');

    if (m.term > s.term) {
      if (m.type === 'vote') {
        // With check-quorum, a node that heard from a leader within the minimum
        // election timeout ignores campaigns: they come from a node cut off.
        const inLease =
          s.cfg.checkQuorum && s.leader !== null && s.electionElapsed < s.cfg.electionTimeoutMinMs;
        if (inLease) return;
        if (!m.pre) becomeFollower(s, m.term, null);
      } else if (m.type === 'voteResponse' && m.pre && m.granted) {
        // A granted pre-vote carries the term we would campaign in: no change.
      } else {
        becomeFollower(s, m.term, LEADER_MESSAGES.has(m.type) ? m.from : null);
      }
    } else if (m.term < s.term) {
      if ((s.cfg.checkQuorum || s.cfg.preVote) && LEADER_MESSAGES.has(m.type)) {
        // A leader of an older term that never hears our term would stay
        // leader of its minority forever; a reply carrying our term ends that.
        reply(s, m.from, false, 0);
      } else if (m.type === 'vote' && m.pre) {
        s.send({ type: 'voteResponse', to: m.from, pre: true, granted: false });
      }
      return;
    }

    switch (m.type) {
      case 'vote':
        handleVote(s, m);
        return;
      case 'voteResponse':
        handleVoteResponse(s, m);
        return;
      case 'readIndex':
        handleReadIndexRequest(s, m);
        return;
      case 'readIndexResponse':
        handleReadIndexResponse(s, m);
        return;
      default:
        break;
    }

    if (LEADER_MESSAGES.has(m.type)) {
      // A second leader in our term: only a node that forgot its vote (a disk
      // that lost it) allows that. Step down and follow it, so that the
      // cluster has one leader again rather than two that ignore each other.
      if (s.role !== 'follower') becomeFollower(s, s.term, m.from);
      s.leader = m.from;
      s.electionElapsed = 0;
    } else if (FOLLOWER_REPLIES.has(m.type)) {
      if (s.role !== 'leader') return; // a reply to a leadership we no longer hold
      const pr = s.progress.get(m.from);
      if (pr !== undefined) {
        pr.recentActive = true;
        // It answers, so it is up, whatever the transport said.
        pr.paused = false;
      }
    }
    switch (m.type) {
      case 'append':
        handleAppend(s, m);
        break;
      case 'heartbeat':
        handleHeartbeat(s, m);
        break;
      case 'entryChunk':
        handleEntryChunk(s, m);
        break;
      case 'snapshotChunk':
        handleSnapshotChunk(s, m);
        break;
      case 'appendResponse':
        handleAppendResponse(s, m);
        break;
      case 'heartbeatResponse':
        handleHeartbeatResponse(s, m);
        break;
      case 'entryChunkAck':
        handleEntryChunkAck(s, m);
        break;
      case 'snapshotAck':
        handleSnapshotAck(s, m);
        break;
    }
  }

  /**
   * Appends `data` to the log if this node leads. The entry is committed once
   * a quorum persisted it; watch `committedEntries` for its index and term (a
   * different term at that index means it was lost to a new leader).
   */
  propose(data: Uint8Array, kind: Exclude<EntryKind, 'noop'> = 'command'): ProposeResult {
    const s = this.s;
    if (s.role !== 'leader') return { ok: false, reason: 'not-leader', leader: s.leader };
    if (data.length > s.cfg.maxEntryLength) return { ok: false, reason: 'too-large', leader: s.id };
    const index = s.log.lastIndex() + 1;
    s.log.append({ index, term: s.term, kind, data: data.slice() });
    s.broadcastPending = true;
    return { ok: true, index, term: s.term };
  }

  /**
   * Asks for a linearizable read barrier, on a leader or a follower. The answer
   * comes as a ReadState with this `requestId` in a later Ready: ok once this
   * node's state machine applied the read index, or a failure.
   */
  readIndex(requestId: number): void {
    readIndex(this.s, requestId);
  }

  /** The transport saw `id` come back: probe it again right away. */
  peerUp(id: NodeId): void {
    const pr = this.s.progress.get(id);
    if (pr === undefined) return;
    pr.paused = false;
    if (pr.state === 'replicate') pr.becomeProbe();
    pr.probeSent = false;
    sendAppends(this.s, id);
  }

  /** The transport thinks `id` is unreachable: stop streaming to it until it answers. */
  peerDown(id: NodeId): void {
    const pr = this.s.progress.get(id);
    if (pr !== undefined) pr.paused = true;
  }

  /** The state machine applied every entry up to `index` (or restored a snapshot at it). */
  applied(index: number): void {
    const s = this.s;
    if (!Number.isSafeInteger(index)) return;
    const to = Math.min(index, s.log.applying);
    if (to > s.applied) s.applied = to;
  }

  /**
   * Compacts the log: `data` is the state machine at `index` (which must be
   * applied and past the current snapshot). The snapshot is persisted through
   * the next Ready and sent to followers that fall behind it. Returns null when
   * `index` does not qualify.
   */
  compact(index: number, data: Uint8Array): Snapshot | null {
    const s = this.s;
    if (s.log.pendingInstall || index <= s.log.snapIndex || index > s.applied) return null;
    const term = s.log.term(index);
    if (term === undefined) return null;
    const meta: SnapshotMeta = { index, term, peers: [...s.peers] };
    const snapshot: Snapshot = { meta, data };
    s.log.compact(snapshot);
    s.snapshot = snapshot;
    return snapshot;
  }

  /** Whether `ready()` has anything to hand out. */
  hasReady(): boolean {
    const s = this.s;
    if (s.role === 'leader' && s.broadcastPending) return true;
    collectReadStates(s);
    if (s.msgs.length > 0 || s.readStates.length > 0 || s.events.length > 0) return true;
    if (s.log.pendingSnapshot !== null || s.log.hasUnhanded() || s.log.hasNextCommitted())
      return true;
    if (s.term !== this.prevHard.term || s.vote !== this.prevHard.vote) return true;
    const prev = this.prevSoft;
    return s.role !== prev.role || s.leader !== prev.leader || s.term !== prev.term;
  }

  /** The work to do now; see ready.ts for the order. Call `advance` after it. */
  ready(): Ready {
    const s = this.s;
    if (s.role === 'leader' && s.broadcastPending) bcastAppend(s);
    collectReadStates(s);
    const soft = this.softState();
    const prevSoft = this.prevSoft;
    const softChanged =
      soft.role !== prevSoft.role || soft.leader !== prevSoft.leader || soft.term !== prevSoft.term;

    const snapshot = s.log.pendingSnapshot;
    const installSnapshot = s.log.pendingInstall;
    s.log.pendingSnapshot = null;
    s.log.pendingInstall = false;
    const entries = s.log.takeUnstable();

    const hard: HardState = { term: s.term, vote: s.vote, commit: s.log.committed };
    const termOrVote = hard.term !== this.prevHard.term || hard.vote !== this.prevHard.vote;
    // The commit index is only a hint: persist it along with other writes, never on its own.
    const writes = entries.length > 0 || snapshot !== null;
    const persistHard = termOrVote || (writes && hard.commit !== this.prevHard.commit);

    const replication: Message[] = [];
    const messages: Message[] = [];
    for (const m of s.msgs) (LEADER_MESSAGES.has(m.type) ? replication : messages).push(m);
    const rd: Ready = {
      softState: softChanged ? soft : null,
      hardState: persistHard ? this.persisted(hard) : null,
      snapshot,
      installSnapshot,
      entries,
      replication,
      messages,
      committedEntries: s.log.takeCommitted(),
      readStates: s.readStates,
      events: s.events,
    };
    s.msgs = [];
    s.readStates = [];
    s.events = [];
    s.roundUnsent = false;
    this.prevSoft = soft;
    if (persistHard) this.prevHard = hard;
    return rd;
  }

  /** The driver carried out `rd` (persisted, sent, applied). */
  advance(rd: Ready): void {
    const s = this.s;
    const last = rd.entries[rd.entries.length - 1];
    if (last !== undefined) s.log.persisted(last.index);
    if (s.role === 'leader') {
      // The leader counts itself toward a quorum only for what it persisted.
      if (maybeCommit(s)) afterCommit(s);
    }
  }

  status(): CoreStatus {
    const s = this.s;
    const progress: PeerStatus[] = [];
    for (const [id, pr] of s.progress) {
      const tx = pr.snapshotTx?.sender ?? pr.entryTx?.sender ?? null;
      progress.push({
        id,
        match: pr.match,
        next: pr.next,
        state: pr.state,
        active: pr.recentActive,
        paused: pr.paused,
        transfer:
          tx === null
            ? null
            : {
                kind: pr.snapshotTx !== null ? 'snapshot' : 'entry',
                acked: tx.acked,
                total: tx.total,
              },
      });
    }
    return {
      id: s.id,
      role: s.role,
      term: s.term,
      vote: s.vote,
      leader: s.leader,
      commit: s.log.committed,
      applied: s.applied,
      lastIndex: s.log.lastIndex(),
      lastTerm: s.log.lastTerm(),
      stable: s.log.stable,
      snapshotIndex: s.log.snapIndex,
      snapshotTerm: s.log.snapTerm,
      peers: s.peers,
      progress,
      dropped: { ...s.dropped },
      followerRegressions: s.followerRegressions,
      committedConflicts: s.committedConflicts,
    };
  }

  // Cheap accessors for drivers and checkers (no copies).
  get role(): Role {
    return this.s.role;
  }
  get term(): number {
    return this.s.term;
  }
  get leader(): NodeId | null {
    return this.s.leader;
  }
  get commitIndex(): number {
    return this.s.log.committed;
  }
  get appliedIndex(): number {
    return this.s.applied;
  }
  get lastIndex(): number {
    return this.s.log.lastIndex();
  }
  get snapshotIndex(): number {
    return this.s.log.snapIndex;
  }
  /** The term of the entry at `index` (or of the snapshot at its index); undefined otherwise. */
  termAt(index: number): number | undefined {
    return this.s.log.term(index);
  }
  /** The entry at `index` if it is in memory (not compacted, not past the end). */
  entryAt(index: number): Entry | undefined {
    return this.s.log.entry(index);
  }
  get settingsUsed(): ResolvedSettings {
    return this.settings;
  }

  /** Why the last dropped message was dropped (for the driver's event). */
  get lastDrop(): DropReason | null {
    return this.s.lastDrop;
  }

  private softState(): SoftState {
    return { role: this.s.role, leader: this.s.leader, term: this.s.term };
  }

  /** What goes to storage; a planted bug may alter it (tests only). */
  private persisted(hard: HardState): HardState {
    if (this.s.cfg.unsafe.forgetToPersistVote) return { ...hard, vote: null };
    return hard;
  }
}

/** Storage must hand back a log contiguous with its snapshot; anything else is corruption. */
function checkRestored(id: NodeId, st: PersistedState): void {
  const base = st.snapshot?.meta.index ?? 0;
  st.entries.forEach((e, i) => {
    if (e.index !== base + 1 + i)
      throw new RangeError(
        `restored log of ${id}: entry ${i} has index ${e.index}, expected ${base + 1 + i}`,
      );
  });
  const { term, commit } = st.hardState;
  if (!Number.isSafeInteger(term) || term < 0 || !Number.isSafeInteger(commit) || commit < 0)
    throw new RangeError(
      `restored hard state of ${id} is out of range: term ${term}, commit ${commit}`,
    );
}
