/**
 * The libraft-shaped driver: one Raft node over injected storage and transport.
 * The node process and the simulator both run this class, so what the
 * simulation proves holds for the node.
 *
 * It runs the core's Ready cycle (ready.ts): persist through `storage.save`
 * (one save at a time; inputs keep arriving meanwhile and batch into the
 * next Ready), then send, restore/apply through the applier, answer reads,
 * `advance`, and compact through the snapshooter once the log passed
 * `logLength` applied entries. The driver only ever calls `.then` on what
 * storage returns, so a storage whose promise-likes complete synchronously
 * (the simulator's disk) makes the whole node synchronous and replayable.
 */
import { DecodeError } from '../util/bytes.js';
import { decodeMessage, encodeMessage } from './codec.js';
import type { CoreStatus } from './core.js';
import { RaftCore } from './core.js';
import type { Message } from './messages.js';
import type { RaftSettings } from './options.js';
import type { Ready } from './ready.js';
import { needsPersist } from './ready.js';
import type { PersistBatch, PersistedState, RaftStorage } from './storage.js';
import type { RaftTransport } from './transport.js';
import type { Entry, NodeId, ProposeResult, ReadState, Role, Snapshot } from './types.js';
import type { DropReason } from './validate.js';

/** The driver's settings: libraft's config (see options.ts for each field and default). */
export type RaftConfig = RaftSettings;

/** What the applier receives, in log order: an entry, or a snapshot that replaces the state. */
export type AppliedUpdate =
  | { readonly kind: 'entry'; readonly entry: Entry }
  | { readonly kind: 'snapshot'; readonly snapshot: Snapshot };

/** The answer to `readIndex`: read the state machine now, or retry (elsewhere, later). */
export type ReadResult =
  | { readonly ok: true; readonly index: number }
  | { readonly ok: false; readonly reason: Extract<ReadState, { ok: false }>['reason'] };

/** What happened, for the node's log lines. */
export type RaftEvent =
  | {
      readonly type: 'role';
      readonly role: Role;
      readonly term: number;
      readonly leader: NodeId | null;
    }
  | {
      readonly type: 'snapshot-taken';
      readonly index: number;
      readonly term: number;
      readonly bytes: number;
    }
  | {
      readonly type: 'snapshot-installed';
      readonly index: number;
      readonly term: number;
      readonly bytes: number;
    }
  | {
      readonly type: 'dropped';
      readonly from: NodeId;
      readonly reason: DropReason;
      readonly detail: string;
    }
  | { readonly type: 'stopped'; readonly error: unknown };

export interface RaftDeps {
  readonly storage: RaftStorage;
  readonly transport: RaftTransport;
  /**
   * Applies committed entries in log order (including `noop` and `config`
   * entries, which a state machine skips), or replaces the whole state with a
   * snapshot. Synchronous: once it returns, the update counts as applied.
   */
  applier(update: AppliedUpdate): void;
  /** The state machine's bytes at `index`, which is its applied index right now. */
  snapshooter(index: number): Uint8Array;
  /** Election jitter in [0, 1): a seeded Prng's `next` where a run must replay, else Math.random. */
  readonly random: () => number;
  onEvent?(event: RaftEvent): void;
}

export interface RaftProgress extends CoreStatus {
  /** A save is in flight. */
  readonly persisting: boolean;
  readonly stopped: boolean;
}

export class Raft {
  /** The pure core, for status and inspection (tests, the simulator's checks). */
  readonly core: RaftCore;
  private readonly maxMessageLength: number;
  private readonly logLength: number;
  private saving = false;
  private stopped = false;
  private readonly reads = new Map<number, (result: ReadResult) => void>();
  private nextReadId = 1;
  private decodeErrors = 0;
  private idleWaiters: Array<() => void> = [];

  /** Loads the persisted state from storage and starts. */
  static async open(config: RaftConfig, deps: RaftDeps): Promise<Raft> {
    const restored = await deps.storage.load();
    return new Raft(config, deps, restored);
  }

  /**
   * Starts from state already loaded. Restores the state machine from the
   * snapshot (through the applier) before anything else. Throws a RangeError
   * when the config or the loaded state cannot be right.
   */
  constructor(
    config: RaftConfig,
    private readonly deps: RaftDeps,
    restored: PersistedState,
  ) {
    this.core = new RaftCore({ ...config, random: deps.random }, restored);
    const used = this.core.settingsUsed;
    this.maxMessageLength = used.maxMessageLength;
    this.logLength = used.logLength;
    if (restored.snapshot !== null) {
      deps.applier({ kind: 'snapshot', snapshot: restored.snapshot });
      this.core.applied(restored.snapshot.meta.index);
    }
    this.pump();
  }

  /** `ms` milliseconds passed since the last tick. */
  tick(ms: number): void {
    if (this.stopped) return;
    this.core.tick(ms);
    this.pump();
  }

  /**
   * A datagram (or a decoded message) from `from`. Garbage, messages whose
   * sender differs from `from`, unknown peers and out-of-range values are
   * dropped and counted (see `progress().dropped`); this never throws.
   */
  handleMessage(from: NodeId, input: Uint8Array | Message): void {
    if (this.stopped) return;
    let m: Message;
    if (input instanceof Uint8Array) {
      const decoded = decodeMessage(input);
      if (decoded instanceof DecodeError) {
        this.decodeErrors++;
        this.event({ type: 'dropped', from, reason: 'malformed', detail: decoded.message });
        return;
      }
      m = decoded;
    } else {
      m = input;
    }
    if (typeof m !== 'object' || m === null || m.from !== from) {
      this.decodeErrors++;
      this.event({
        type: 'dropped',
        from,
        reason: 'malformed',
        detail: 'sender differs from the datagram source',
      });
      return;
    }
    if (!this.core.step(m))
      this.event({
        type: 'dropped',
        from,
        reason: this.core.lastDrop ?? 'malformed',
        detail: String(m.type),
      });
    this.pump();
  }

  /**
   * Proposes `data` (libraft's emit). On the leader: the log index and term it
   * will have; the entry is committed when the applier receives an entry with
   * that index and term. Elsewhere: not-leader, with the leader to redirect to.
   */
  emit(data: Uint8Array): ProposeResult {
    if (this.stopped) return { ok: false, reason: 'not-leader', leader: null };
    const result = this.core.propose(data);
    this.pump();
    return result;
  }

  /**
   * A linearizable read barrier, on any node: `done` is called once (maybe
   * synchronously) with ok when reading the state machine now observes every
   * write committed before this call, or with a failure reason.
   */
  readIndex(done: (result: ReadResult) => void): void {
    if (this.stopped) {
      done({ ok: false, reason: 'no-leader' });
      return;
    }
    const id = this.nextReadId++;
    this.reads.set(id, done);
    this.core.readIndex(id);
    this.pump();
  }

  /** Whether this node's state machine applied `index` (libraft's raft_applied for self). */
  applied(index: number): boolean {
    return this.core.appliedIndex >= index;
  }

  get appliedIndex(): number {
    return this.core.appliedIndex;
  }

  isLeader(): boolean {
    return this.core.role === 'leader';
  }

  getLeader(): NodeId | null {
    return this.core.leader;
  }

  /** Liveness hint from the transport: `id` is reachable again. */
  peerUp(id: NodeId): void {
    if (this.stopped) return;
    this.core.peerUp(id);
    this.pump();
  }

  /** Liveness hint from the transport: `id` seems unreachable. */
  peerDown(id: NodeId): void {
    if (this.stopped) return;
    this.core.peerDown(id);
    this.pump();
  }

  progress(): RaftProgress {
    const st = this.core.status();
    return {
      ...st,
      dropped: { ...st.dropped, malformed: st.dropped.malformed + this.decodeErrors },
      persisting: this.saving,
      stopped: this.stopped,
    };
  }

  /** Stops for good: nothing more is sent, applied or persisted (a crash, or shutdown). */
  stop(): void {
    this.stopped = true;
    this.reads.clear();
    this.wakeIdle();
  }

  /** Resolves when no save is in flight (for a graceful shutdown). */
  idle(): Promise<void> {
    if (!this.saving || this.stopped) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private pump(): void {
    while (!this.saving && !this.stopped && this.core.hasReady()) {
      const rd = this.core.ready();
      if (rd.softState !== null) this.event({ type: 'role', ...rd.softState });
      if (!needsPersist(rd)) {
        this.carryOut(rd);
        continue;
      }
      const batch: PersistBatch = {
        snapshot: rd.snapshot,
        discardLog: rd.installSnapshot,
        entries: rd.entries,
        hardState: rd.hardState,
      };
      this.saving = true;
      let pending: PromiseLike<void>;
      try {
        pending = this.deps.storage.save(batch);
      } catch (err) {
        this.fail(err);
        return;
      }
      pending.then(
        () => {
          this.saving = false;
          if (this.stopped) return;
          this.carryOut(rd);
          this.pump();
          if (!this.saving) this.wakeIdle();
        },
        (err: unknown) => this.fail(err),
      );
      return;
    }
  }

  /** Everything after persisting: send, restore, apply, answer reads, advance, compact. */
  private carryOut(rd: Ready): void {
    try {
      for (const m of rd.messages) {
        const bytes = encodeMessage(m);
        // The core sizes every message; a longer one is a bug, and sending it would fragment.
        if (bytes.length > this.maxMessageLength)
          throw new RangeError(`${m.type} of ${bytes.length} bytes to ${m.to}`);
        this.deps.transport.send(m.to, bytes);
      }
      if (rd.snapshot !== null) {
        const { index, term } = rd.snapshot.meta;
        const bytes = rd.snapshot.data.length;
        if (rd.installSnapshot) {
          this.deps.applier({ kind: 'snapshot', snapshot: rd.snapshot });
          this.core.applied(index);
          this.event({ type: 'snapshot-installed', index, term, bytes });
        } else {
          this.event({ type: 'snapshot-taken', index, term, bytes });
        }
      }
      for (const entry of rd.committedEntries) this.deps.applier({ kind: 'entry', entry });
      const last = rd.committedEntries[rd.committedEntries.length - 1];
      if (last !== undefined) this.core.applied(last.index);
      for (const rs of rd.readStates) {
        const done = this.reads.get(rs.requestId);
        if (done === undefined) continue;
        this.reads.delete(rs.requestId);
        done(rs.ok ? { ok: true, index: rs.index } : { ok: false, reason: rs.reason });
      }
      this.core.advance(rd);
      this.maybeCompact();
    } catch (err) {
      // An applier that throws leaves the state machine unknown: stop rather than diverge.
      this.fail(err);
    }
  }

  private maybeCompact(): void {
    const applied = this.core.appliedIndex;
    if (applied - this.core.snapshotIndex < this.logLength) return;
    this.core.compact(applied, this.deps.snapshooter(applied));
  }

  private fail(err: unknown): void {
    if (this.stopped) return;
    this.stop();
    this.event({ type: 'stopped', error: err });
  }

  private wakeIdle(): void {
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }

  private event(e: RaftEvent): void {
    this.deps.onEvent?.(e);
  }
}
