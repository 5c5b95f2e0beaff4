/**
 * One seeded run of a whole cluster in one process: the same Raft driver the
 * node runs, over a simulated network (loss, delay, duplication, reordering,
 * partitions of any shape), simulated disks (writes durable only later, lost
 * on a crash) and uneven clocks, with clients proposing and reading. One Prng
 * drives everything, so a seed replays byte for byte. Every step is checked
 * (checker.ts); after `steps` steps of chaos the faults heal and the cluster
 * must elect a leader and commit within a bound (liveness).
 */
import type { RaftSettings, UnsafeOptions } from '../raft/options.js';
import type { PersistBatch } from '../raft/storage.js';
import type { AppliedUpdate, RaftEvent } from '../raft/raft.js';
import { Raft } from '../raft/raft.js';
import { MESSAGE_TYPES } from '../raft/messages.js';
import { decodeMessage } from '../raft/codec.js';
import type { Entry, NodeId } from '../raft/types.js';
import type { RaftCore } from '../raft/core.js';
import { DROP_REASONS } from '../raft/validate.js';
import { ByteWriter, DecodeError } from '../util/bytes.js';
import { Prng } from '../util/prng.js';
import type { Observed, Violation } from './checker.js';
import { SafetyChecker } from './checker.js';
import { FakeDisk } from './disk.js';
import { EventHeap } from './heap.js';
import { CALM, SimNetwork } from './network.js';
import { SimStateMachine, entryHash } from './state-machine.js';
import { describeMessage } from './trace.js';
import type { World } from './world.js';
import { drawWorld } from './world.js';

export interface SimOptions {
  readonly seed: number;
  readonly nodes: number;
  /** Steps (events) of chaos before the faults heal. */
  readonly steps: number;
  /** Planted bugs (tests only). */
  readonly unsafe?: UnsafeOptions;
  /** Receives one line per step and per notable happening. */
  readonly trace?: (line: string) => void;
  /** Parts of the world to fix instead of drawing them from the seed (benchmarks). */
  readonly world?: Partial<World>;
  /**
   * TEST ONLY: how many nodes (n1, n2, ...) have a lying disk, one that
   * acknowledges writes at once and flushes them on a timer (every
   * LYING_FLUSH_MS), so a crash loses writes the node acted on, as under
   * `--unsafe lazy-wal` or `--fsync never` with a power cut. Safety cannot hold
   * then: its violations are counted in `stats.safetyLapses`, not failures.
   * Liveness is still required: after healing, a proposal commits and every
   * node applies it within the usual bounds. Default 0.
   */
  readonly lyingDisks?: number;
}

/** Ms between a lying disk's flushes: [min, max]. */
export const LYING_FLUSH_MS: readonly [number, number] = [10, 200];

/** Simulated ms after healing within which a leader must commit a new proposal. */
export const LIVENESS_MS = 5_000;
/** ...and within which every node must have applied it. */
export const CONVERGENCE_MS = 10_000;

export interface SimStats {
  steps: number;
  simulatedMs: number;
  elections: number;
  maxTerm: number;
  committed: number;
  proposals: number;
  largeProposals: number;
  readsOk: number;
  readsFailed: number;
  crashes: number;
  partitions: number;
  snapshotsInstalled: number;
  snapshotsTaken: number;
  datagrams: number;
  datagramsLost: number;
  dropped: number;
  /** Simulated ms from healing to the liveness proposal committed (applied somewhere). */
  recoveryMs: number;
  /** Leader saves of entries already sent to followers (see ready.ts, step 0). */
  savesAfterSend: number;
  /** Leaders found a follower that lost entries it acknowledged (lying disks). */
  followerRegressions: number;
  /** Safety violations tolerated because disks lie (see SimOptions.lyingDisks). */
  safetyLapses: number;
  /** Nodes excused from applying the liveness proposal: their committed log contradicts the leader's. */
  diverged: number;
}

export interface SimOutcome {
  readonly seed: number;
  readonly ok: boolean;
  readonly violation: Violation | null;
  /** Step and simulated time of the violation (or of the end). */
  readonly step: number;
  readonly timeMs: number;
  readonly stats: SimStats;
}

type SimEvent =
  | { at: number; seq: number; kind: 'deliver'; to: number; from: number; bytes: Uint8Array }
  | { at: number; seq: number; kind: 'disk'; node: number; epoch: number; all: boolean }
  | { at: number; seq: number; kind: 'tick'; node: number; epoch: number }
  | { at: number; seq: number; kind: 'restart'; node: number; epoch: number }
  | { at: number; seq: number; kind: 'leaderFault'; node: number; epoch: number }
  | { at: number; seq: number; kind: 'client' }
  | { at: number; seq: number; kind: 'fault' }
  | { at: number; seq: number; kind: 'probe' };

type EventBody = SimEvent extends infer E
  ? E extends SimEvent
    ? Omit<E, 'at' | 'seq'>
    : never
  : never;

class SimNode implements Observed {
  raft: Raft | null = null;
  sm = new SimStateMachine();
  epoch = 0;
  lastTickAt = 0;
  pausedUntil = 0;
  diskFreeAt = 0;
  /** A lying disk's flush is scheduled. */
  flushScheduled = false;
  /** The last append this node sent since it last saved, if any. */
  lastAppend: Uint8Array | null = null;
  /** For the first-commit crash point: the term whose first commit was seen, and the commit index at election. */
  ledTerm = 0;
  watchTerm = 0;
  commitAtElection = 0;

  constructor(
    readonly index: number,
    readonly id: NodeId,
    readonly disk: FakeDisk,
    readonly rng: Prng,
  ) {}

  get core(): Raft['core'] | null {
    return this.raft?.core ?? null;
  }
}

const MARKER = 0xfffffff0;
/** The codec's type byte of a vote response and of an append (see MESSAGE_TYPES). */
const VOTE_RESPONSE = MESSAGE_TYPES.indexOf('voteResponse') + 1;
const APPEND = MESSAGE_TYPES.indexOf('append') + 1;
/** Uncommitted entries on the leader beyond which clients wait (they are closed-loop). */
const MAX_OUTSTANDING = 64;

export class Simulation {
  private readonly rng: Prng;
  private readonly world: World;
  private readonly heap = new EventHeap<SimEvent>();
  private readonly net: SimNetwork;
  private readonly nodes: SimNode[];
  private readonly ids: NodeId[];
  private readonly checker: SafetyChecker;
  private readonly trace: ((line: string) => void) | undefined;
  private now = 0;
  private seq = 0;
  private stepNo = 0;
  private phase: 'chaos' | 'heal' = 'chaos';
  private healedAt = 0;
  private proposalNo = 0;
  private marker: { data: Uint8Array; index: number; term: number; proposer: NodeId } | null = null;
  private readonly markerApplied = new Set<NodeId>();
  readonly stats: SimStats = {
    steps: 0,
    simulatedMs: 0,
    elections: 0,
    maxTerm: 0,
    committed: 0,
    proposals: 0,
    largeProposals: 0,
    readsOk: 0,
    readsFailed: 0,
    crashes: 0,
    partitions: 0,
    snapshotsInstalled: 0,
    snapshotsTaken: 0,
    datagrams: 0,
    datagramsLost: 0,
    dropped: 0,
    recoveryMs: -1,
    savesAfterSend: 0,
    followerRegressions: 0,
    safetyLapses: 0,
    diverged: 0,
  };

  constructor(private readonly opts: SimOptions) {
    this.rng = new Prng(opts.seed);
    this.world = { ...drawWorld(this.rng, opts.unsafe ?? {}), ...opts.world };
    this.trace = opts.trace;
    this.ids = Array.from({ length: opts.nodes }, (_, i) => `n${i + 1}`);
    this.net = new SimNetwork(opts.nodes, this.rng.fork(), this.world.chaos);
    const lying = opts.lyingDisks ?? 0;
    this.checker = new SafetyChecker(quorumOf(opts.nodes), { safety: lying === 0 });
    this.nodes = this.ids.map((id, i) => {
      const lies = i < lying;
      const node: SimNode = new SimNode(
        i,
        id,
        new FakeDisk(
          {
            scheduleCompletion: (batch) => {
              if (node.lastAppend !== null && carries(node.lastAppend, batch))
                this.stats.savesAfterSend++;
              node.lastAppend = null;
              if (lies) {
                // Acknowledged already: everything buffered goes out at the next flush.
                if (node.flushScheduled) return;
                node.flushScheduled = true;
                const at = this.now + this.rng.int(...LYING_FLUSH_MS);
                this.schedule(at, { kind: 'disk', node: i, epoch: node.epoch, all: true });
                return;
              }
              const [lo, hi] = this.world.diskMs;
              node.diskFreeAt = Math.max(node.diskFreeAt, this.now) + this.rng.int(lo, hi);
              this.schedule(node.diskFreeAt, {
                kind: 'disk',
                node: i,
                epoch: node.epoch,
                all: false,
              });
            },
            onDurable: (batch, before) => {
              this.checker.onDurable(id, batch, before);
              if (this.trace) this.log(`${id} durable: ${describeBatch(batch)}`);
            },
          },
          lies,
        ),
        this.rng.fork(),
      );
      return node;
    });
    if (this.trace)
      this.trace(
        `seed ${opts.seed}: ${opts.nodes} nodes${lying > 0 ? ` (${lying} with a lying disk)` : ''}, ${describeWorld(this.world)}`,
      );
  }

  /** The whole run: `steps` steps of faults, then healing until liveness is shown (or not). */
  run(): SimOutcome {
    this.begin();
    while (this.checker.violation === null && this.step()) {
      if (this.phase === 'chaos' && this.stepNo >= this.opts.steps) this.heal();
      if (this.phase === 'heal' && this.livenessDone()) break;
    }
    return this.outcome();
  }

  private begun = false;

  /** Starts the nodes, the clients and (unless the world has none) the faults. */
  begin(): void {
    if (this.begun) return;
    this.begun = true;
    for (const n of this.nodes) this.start(n);
    this.schedule(this.now + 1, { kind: 'client' });
    if (this.world.faultEveryMs > 0)
      this.schedule(this.now + this.world.faultEveryMs, { kind: 'fault' });
  }

  /** Processes one event and checks; false when nothing is left to do. */
  private step(): boolean {
    const ev = this.heap.pop();
    if (ev === undefined) return false;
    this.now = ev.at;
    this.stepNo++;
    this.handle(ev);
    this.checker.afterStep(this.nodes);
    if (this.phase === 'chaos') this.watchFirstCommits();
    if (this.trace) this.traceCommits();
    return true;
  }

  // --- scripted use (benchmarks) ---

  get time(): number {
    return this.now;
  }

  get violation(): Violation | null {
    return this.checker.violation;
  }

  /** Runs until `done()` holds after a step, or `ms` of simulated time passed; returns whether it held. */
  runUntil(done: () => boolean, ms: number): boolean {
    this.begin();
    const end = this.now + ms;
    while (this.checker.violation === null && !done()) {
      const next = this.heap.peek();
      if (next === undefined || next.at > end) {
        this.now = Math.max(this.now, end);
        return false;
      }
      this.step();
    }
    return done();
  }

  /** The node leading the highest term right now, if any. */
  leader(): NodeId | null {
    return this.leaderNode()?.id ?? null;
  }

  /** Crashes a node (what it did not persist is lost); it stays down. */
  crashNode(id: NodeId): void {
    const n = this.nodes[this.ids.indexOf(id)];
    if (n !== undefined) this.crash(n);
  }

  /** Commit index of the cluster (highest any node reported). */
  get committed(): number {
    return this.checker.committedMax;
  }

  private outcome(): SimOutcome {
    const s = this.stats;
    s.steps = this.stepNo;
    s.simulatedMs = this.now;
    s.committed = this.checker.committedMax;
    for (const n of this.checker.safetyLapses.values()) s.safetyLapses += n;
    for (const n of this.nodes) {
      const d = n.raft?.progress().dropped;
      if (d !== undefined) for (const r of DROP_REASONS) s.dropped += d[r];
    }
    const violation = this.checker.violation;
    if (this.trace) {
      this.trace(
        violation === null
          ? `t=${this.now} ok after ${this.stepNo} steps`
          : `t=${this.now} VIOLATION ${violation.invariant}: ${violation.detail}`,
      );
    }
    return {
      seed: this.opts.seed,
      ok: violation === null,
      violation,
      step: this.stepNo,
      timeMs: this.now,
      stats: s,
    };
  }

  /** Crash point: a leader's first commit in its term. */
  private watchFirstCommits(): void {
    for (const n of this.nodes) {
      const core = n.raft?.core;
      if (core === undefined || core.role !== 'leader' || n.ledTerm === core.term) continue;
      if (n.watchTerm !== core.term) {
        n.watchTerm = core.term;
        n.commitAtElection = core.commitIndex;
        continue;
      }
      if (core.commitIndex === n.commitAtElection) continue;
      n.ledTerm = core.term;
      if (this.rng.chance(this.world.cutOnFirstCommit)) {
        this.isolate(n);
        this.log(`fault: cut off ${n.id} right after its first commit in term ${core.term}`);
      }
    }
  }

  /** Cuts `n` off from everyone; other cuts heal, so leadership moves between sides. */
  private isolate(n: SimNode): void {
    this.net.healAll();
    this.net.isolate(n.index);
    this.stats.partitions++;
  }

  private readonly tracedCommit = new Map<NodeId, number>();

  private traceCommits(): void {
    for (const n of this.nodes) {
      const c = n.raft?.core.commitIndex;
      if (c === undefined || c === this.tracedCommit.get(n.id)) continue;
      this.tracedCommit.set(n.id, c);
      this.log(`${n.id} commit ${c} (term ${n.raft?.core.termAt(c) ?? '?'})`);
    }
  }

  private schedule(at: number, body: EventBody | SimEvent): void {
    // Callers hand over a fresh object (or an event being re-queued): stamp it, no copy.
    const ev = body as SimEvent;
    ev.at = at;
    ev.seq = this.seq++;
    this.heap.push(ev);
  }

  private log(line: string): void {
    if (this.trace) this.trace(`t=${this.now} ${line}`);
  }

  // --- nodes ---

  private settingsFor(id: NodeId): RaftSettings {
    return { ...this.world.settings, id, peers: this.ids };
  }

  private start(n: SimNode): void {
    n.epoch++;
    n.sm = new SimStateMachine();
    n.pausedUntil = 0;
    n.flushScheduled = false;
    n.lastTickAt = this.now;
    n.raft = null;
    // Callbacks of an incarnation that crashed (even in the middle of a Ready) go nowhere.
    const epoch = n.epoch;
    const alive = (): boolean => n.epoch === epoch;
    const raft = new Raft(
      this.settingsFor(n.id),
      {
        storage: n.disk,
        transport: {
          send: (to, bytes) => {
            if (alive()) this.transmit(n, to, bytes);
          },
        },
        applier: (u) => {
          if (alive()) this.apply(n, u);
        },
        snapshooter: (index) => {
          if (alive() && n.sm.index !== index)
            this.checker.other(
              'snapshot',
              `${n.id} asked for a snapshot at ${index}, state is at ${n.sm.index}`,
            );
          return n.sm.snapshot(this.world.snapshotPadding);
        },
        random: () => n.rng.next(),
        onEvent: (e) => {
          if (alive()) this.onEvent(n, e);
        },
      },
      n.disk.loaded(),
    );
    if (alive()) n.raft = raft;
    this.scheduleTick(n);
  }

  private crash(n: SimNode): void {
    if (n.raft === null) return;
    n.raft.stop();
    n.raft = null;
    n.disk.crash();
    n.epoch++;
    this.stats.crashes++;
  }

  /** Crashes `n` and brings it back after [minMs, maxMs]. */
  private crashAndRestart(n: SimNode, minMs: number, maxMs: number): void {
    this.crash(n);
    this.schedule(this.now + this.rng.int(minMs, maxMs), {
      kind: 'restart',
      node: n.index,
      epoch: n.epoch,
    });
  }

  private scheduleTick(n: SimNode): void {
    const [lo, hi] = this.world.tickMs;
    this.schedule(this.now + this.rng.int(lo, hi), { kind: 'tick', node: n.index, epoch: n.epoch });
  }

  private apply(n: SimNode, u: AppliedUpdate): void {
    if (u.kind === 'snapshot') {
      if (!n.sm.restore(u.snapshot.data) || n.sm.index !== u.snapshot.meta.index) {
        this.checker.other(
          'snapshot',
          `${n.id} restored a snapshot whose data does not match its meta`,
        );
        return;
      }
      this.checker.onState(n.id, n.sm.index, n.sm.digest, 'restored');
      // A snapshot past the marker holds it (the digest check vouches for the history).
      const mk = this.marker;
      if (mk !== null && n.sm.index >= mk.index && this.markerApplied.size > 0)
        this.markerApplied.add(n.id);
      return;
    }
    const e = u.entry;
    if (e.index !== n.sm.index + 1) this.checker.onApplyGap(n.id, n.sm.index + 1, e.index);
    n.sm.apply(e);
    this.checker.onState(n.id, e.index, n.sm.digest, 'applied');
    if (this.isMarker(e)) this.markerApplied.add(n.id);
  }

  /** The liveness marker itself (with lying disks, another entry may have its index and term). */
  private isMarker(e: Entry | undefined): boolean {
    const mk = this.marker;
    return (
      mk !== null &&
      e !== undefined &&
      e.index === mk.index &&
      e.term === mk.term &&
      e.data.length === mk.data.length &&
      e.data.every((b, i) => b === mk.data[i])
    );
  }

  private onEvent(n: SimNode, e: RaftEvent): void {
    switch (e.type) {
      case 'role':
        if (e.term > this.stats.maxTerm) this.stats.maxTerm = e.term;
        this.log(
          `${n.id} ${e.role} term ${e.term}${e.leader !== null ? ` leader ${e.leader}` : ''}`,
        );
        if (e.role === 'leader') {
          this.stats.elections++;
          const core = n.raft?.core;
          if (core !== undefined) this.checker.onLeader(n.id, e.term, core);
          if (this.phase === 'chaos' && this.rng.chance(this.world.newLeaderFault))
            this.schedule(this.now + this.rng.int(...this.world.newLeaderFaultMs), {
              kind: 'leaderFault',
              node: n.index,
              epoch: n.epoch,
            });
        }
        break;
      case 'snapshot-installed':
        this.stats.snapshotsInstalled++;
        this.log(`${n.id} installed snapshot ${e.index}/${e.term} (${e.bytes} bytes)`);
        break;
      case 'snapshot-taken':
        this.stats.snapshotsTaken++;
        break;
      case 'vote-granted':
        this.log(`${n.id} voted for ${e.candidate} in term ${e.term}`);
        this.checker.onVote(n.id, e.term, e.candidate);
        break;
      case 'elected':
        this.log(`${n.id} won term ${e.term} with the votes of ${e.votes.join(', ')}`);
        this.checker.onElected(n.id, e.term, e.votes);
        break;
      case 'follower-regressed':
        this.stats.followerRegressions++;
        this.log(
          `${n.id} found ${e.peer} lost acknowledged entries: its log ends at ${e.lastIndex}, it had acknowledged ${e.match}`,
        );
        break;
      case 'stopped':
        this.checker.other(
          'node stopped',
          `${n.id}: ${e.error instanceof Error ? e.error.message : String(e.error)}`,
        );
        break;
      case 'dropped':
        break;
    }
  }

  private transmit(n: SimNode, to: NodeId, bytes: Uint8Array): void {
    const t = this.ids.indexOf(to);
    if (t < 0) {
      this.checker.other('routing', `${n.id} sent to unknown node ${to}`);
      return;
    }
    this.stats.datagrams++;
    if (bytes[0] === APPEND) n.lastAppend = bytes;
    // Crash point: right after granting a (real) vote, before anything else happens.
    if (
      bytes[0] === VOTE_RESPONSE &&
      this.phase === 'chaos' &&
      this.world.crashAfterVote > 0 &&
      this.rng.chance(this.world.crashAfterVote)
    ) {
      const m = decodeMessage(bytes);
      if (!(m instanceof DecodeError) && m.type === 'voteResponse' && m.granted && !m.pre) {
        this.send(n, t, bytes);
        // The grant is out; the process dies before it sends or persists anything else.
        this.crashAndRestart(n, 1, 30);
        this.log(`fault: crash ${n.id} right after granting a vote, restart soon`);
        return;
      }
    }
    this.send(n, t, bytes);
  }

  private send(n: SimNode, t: number, bytes: Uint8Array): void {
    const delays = this.net.transmit(n.index, t);
    if (delays.length === 0) this.stats.datagramsLost++;
    for (const d of delays)
      this.schedule(this.now + d, { kind: 'deliver', to: t, from: n.index, bytes });
  }

  // --- events ---

  private handle(ev: SimEvent): void {
    switch (ev.kind) {
      case 'deliver': {
        const n = this.nodes[ev.to] as SimNode;
        if (n.raft === null) return;
        if (this.net.isCut(ev.from, ev.to)) return; // cut while in flight
        if (n.pausedUntil > this.now) {
          this.schedule(n.pausedUntil, ev);
          return;
        }
        const from = this.ids[ev.from] as NodeId;
        if (this.trace) this.log(`${from}->${n.id} ${describeMessage(ev.bytes)}`);
        n.raft.handleMessage(from, ev.bytes);
        return;
      }
      case 'disk': {
        const n = this.nodes[ev.node] as SimNode;
        if (n.epoch !== ev.epoch || n.raft === null) return;
        if (ev.all) n.flushScheduled = false;
        try {
          if (ev.all) n.disk.completeAll();
          else n.disk.complete();
        } catch (err) {
          this.checker.other(
            'storage contract',
            `${n.id}: ${err instanceof Error ? err.message : String(err)}`,
          );
        }
        return;
      }
      case 'tick': {
        const n = this.nodes[ev.node] as SimNode;
        if (n.epoch !== ev.epoch || n.raft === null) return;
        if (n.pausedUntil > this.now) {
          this.schedule(n.pausedUntil, ev);
          return;
        }
        const elapsed = this.now - n.lastTickAt;
        n.lastTickAt = this.now;
        n.raft.tick(elapsed);
        this.scheduleTick(n);
        return;
      }
      case 'restart': {
        const n = this.nodes[ev.node] as SimNode;
        if (n.raft !== null || n.epoch !== ev.epoch) return;
        this.log(`restart ${n.id}`);
        this.start(n);
        return;
      }
      case 'leaderFault': {
        const n = this.nodes[ev.node] as SimNode;
        if (n.raft === null || n.epoch !== ev.epoch || this.phase !== 'chaos') return;
        if (this.rng.chance(this.world.newLeaderCrash)) {
          this.crashAndRestart(n, 20, 400);
          this.log(`fault: crash new leader ${n.id}`);
        } else {
          // The new leader becomes the only node cut off: whoever was cut off
          // before comes back, so leadership alternates between partitions.
          this.isolate(n);
          this.log(`fault: isolate new leader ${n.id}`);
        }
        return;
      }
      case 'client':
        for (let i = 0; i < this.world.clientBurst; i++) this.client();
        this.schedule(this.now + this.rng.int(1, 2 * this.world.clientEveryMs), { kind: 'client' });
        return;
      case 'fault':
        if (this.phase !== 'chaos') return;
        this.fault();
        this.schedule(
          this.now + this.rng.int(this.world.faultEveryMs >> 1, (this.world.faultEveryMs * 3) >> 1),
          {
            kind: 'fault',
          },
        );
        return;
      case 'probe':
        this.probe();
        return;
    }
  }

  private upNodes(): SimNode[] {
    return this.nodes.filter((n) => n.raft !== null);
  }

  private leaderNode(): SimNode | undefined {
    let best: SimNode | undefined;
    for (const n of this.nodes) {
      const core = n.raft?.core;
      if (
        core?.role === 'leader' &&
        (best === undefined || core.term > (best.raft?.core.term ?? 0))
      )
        best = n;
    }
    return best;
  }

  private client(): void {
    const up = this.upNodes();
    if (up.length === 0) return;
    // Once healed, only reads go on: the cluster must catch up, not outrun a load.
    if (this.phase === 'chaos' && !this.rng.chance(this.world.readShare)) this.propose(up);
    else this.read(up);
  }

  private proposalData(): Uint8Array {
    const w = this.world;
    const large = w.largeShare > 0 && this.rng.chance(w.largeShare);
    const size = large
      ? this.rng.int(1_500, 5_000)
      : this.rng.chance(0.8)
        ? this.rng.int(0, 48)
        : this.rng.int(100, 700);
    if (large) this.stats.largeProposals++;
    const out = new ByteWriter(size + 12);
    out
      .u32(this.opts.seed >>> 0)
      .u32(++this.proposalNo)
      .raw(new Uint8Array(size).fill(this.proposalNo & 0xff));
    return out.finish();
  }

  private propose(up: SimNode[]): void {
    const leader = this.leaderNode();
    // Clients wait for their writes: with this many uncommitted, they hold back.
    const core = leader?.raft?.core;
    if (core !== undefined && core.lastIndex - core.commitIndex >= MAX_OUTSTANDING) return;
    const target = leader !== undefined && this.rng.chance(0.8) ? leader : this.rng.pick(up);
    const data = this.proposalData();
    let result = target.raft?.emit(data);
    if (result !== undefined && !result.ok && result.leader !== null) {
      // A client following the redirect.
      const other = this.nodes[this.ids.indexOf(result.leader)];
      if (other?.raft != null) result = other.raft.emit(data);
    }
    if (result?.ok === true) {
      this.stats.proposals++;
      this.log(`client proposed ${data.length} bytes: index ${result.index} term ${result.term}`);
    }
  }

  private read(up: SimNode[]): void {
    const n = this.rng.pick(up);
    const raft = n.raft;
    if (raft === null) return;
    const committedBefore = this.checker.committedMax;
    raft.readIndex((r) => {
      if (!r.ok) {
        this.stats.readsFailed++;
        return;
      }
      this.stats.readsOk++;
      this.log(`${n.id} read at index ${r.index} (committed before: ${committedBefore})`);
      this.checker.onRead(n.id, committedBefore, r.index, Math.min(raft.appliedIndex, n.sm.index));
    });
  }

  private fault(): void {
    const r = this.rng.next();
    const up = this.upNodes();
    const down = this.nodes.filter((n) => n.raft === null);
    if (r < 0.3) this.partition();
    else if (r < 0.45) {
      this.net.healAll();
      this.log('fault: heal partitions');
    } else if (r < 0.6 && up.length > 0) {
      const n = this.rng.pick(up);
      this.crash(n);
      this.log(`fault: crash ${n.id}`);
    } else if (r < 0.72 && up.length > 0) {
      // Crash and come back soon: what a node persisted is all it remembers.
      const n = this.rng.pick(up);
      this.crashAndRestart(n, 1, 50);
      this.log(`fault: crash ${n.id}, restart soon`);
    } else if (r < 0.87 && down.length > 0) {
      const n = this.rng.pick(down);
      this.log(`fault: restart ${n.id}`);
      this.start(n);
    } else if (r < 0.95) {
      const loss = this.rng.pick([0, this.world.chaos.loss, 0.3]);
      this.net.conditions = { ...this.net.conditions, loss };
      this.log(`fault: loss ${loss}`);
    } else if (this.world.pauseMs > 0 && up.length > 0) {
      const n = this.rng.pick(up);
      n.pausedUntil = this.now + this.rng.int(50, this.world.pauseMs);
      this.log(`fault: pause ${n.id} until ${n.pausedUntil}`);
    }
  }

  /** Cuts links in one of several shapes; any directed link may be cut alone. */
  private partition(): void {
    const size = this.ids.length;
    this.net.healAll();
    const shape = this.rng.int(0, 3);
    if (shape === 0) {
      // Two sides, cut both ways.
      const side = this.ids.map(() => this.rng.chance(0.5));
      for (let a = 0; a < size; a++)
        for (let b = 0; b < size; b++) if (side[a] !== side[b]) this.net.setCut(a, b, true);
    } else if (shape === 1) {
      // One node isolated (often the leader).
      const leader = this.leaderNode();
      this.net.isolate(
        leader !== undefined && this.rng.chance(0.5) ? leader.index : this.rng.int(0, size - 1),
      );
    } else if (shape === 2) {
      // Random one-way cuts.
      const p = this.rng.pick([0.2, 0.4]);
      for (let a = 0; a < size; a++)
        for (let b = 0; b < size; b++) if (this.rng.chance(p)) this.net.setCut(a, b, true);
    } else {
      // A bridge: two sides that only one node hears both of.
      const bridge = this.rng.int(0, size - 1);
      const side = this.ids.map(() => this.rng.chance(0.5));
      for (let a = 0; a < size; a++)
        for (let b = 0; b < size; b++)
          if (a !== bridge && b !== bridge && side[a] !== side[b]) this.net.setCut(a, b, true);
    }
    this.stats.partitions++;
    this.log(`fault: partition ${this.net.describe(this.ids)}`);
  }

  // --- healing and liveness ---

  private heal(): void {
    this.phase = 'heal';
    this.healedAt = this.now;
    this.net.healAll();
    this.net.conditions = { ...CALM };
    for (const n of this.nodes) {
      n.pausedUntil = 0;
      if (n.disk.lies && n.raft !== null && n.disk.pendingWrites > 0) {
        // The lie at its worst moment: the cluster goes on from here with a
        // node that lost writes it acknowledged, and must still recover.
        this.crash(n);
        this.log(`heal: power cut to ${n.id}, its lying disk loses what it had not flushed`);
      }
      if (n.raft === null) this.start(n);
    }
    this.log('heal: network calm, every node up');
    this.schedule(this.now + 1, { kind: 'probe' });
  }

  /** Proposes the liveness marker on the leader, again if it was lost; repeats until applied. */
  private probe(): void {
    const mk = this.marker;
    const leader = this.leaderNode();
    const core = leader?.raft?.core;
    // Lost: nobody applied it, and a leader other than its proposer (of a
    // later term; with lying disks, maybe of the same one) has something else
    // (or nothing, or a snapshot past it) at its index. With lying disks,
    // nodes that applied it may have diverged from the leader: then only the
    // leader's log counts.
    const held = (c: RaftCore, m: NonNullable<typeof mk>): boolean => {
      const e = c.entryAt(m.index);
      return e !== undefined ? this.isMarker(e) : c.termAt(m.index) === m.term;
    };
    const lost =
      mk !== null &&
      core !== undefined &&
      (this.markerApplied.size === 0 || (this.opts.lyingDisks ?? 0) > 0) &&
      (core.term !== mk.term || leader?.id !== mk.proposer) &&
      !held(core, mk);
    if ((mk === null || lost) && leader?.raft != null) {
      const w = new ByteWriter(8);
      const data = w
        .u32(MARKER)
        .u32(this.opts.seed >>> 0)
        .finish();
      const r = leader.raft.emit(data);
      if (r.ok) {
        this.marker = { data, index: r.index, term: r.term, proposer: leader.id };
        this.markerApplied.clear();
        this.log(`liveness: proposed marker at ${r.index} term ${r.term} on ${leader.id}`);
      }
    }
    this.schedule(this.now + 20, { kind: 'probe' });
  }

  private livenessDone(): boolean {
    const waited = this.now - this.healedAt;
    // Applied anywhere means committed.
    const committed = this.markerApplied.size > 0;
    if (committed && this.stats.recoveryMs < 0) this.stats.recoveryMs = waited;
    if (this.markerApplied.size === this.nodes.length) return true;
    if (!committed && waited > LIVENESS_MS) {
      const diverged = this.diverged(this.nodes);
      // Excused only when too few nodes are left whose committed log survived the lie.
      if (diverged !== null && this.nodes.length - diverged.length < quorumOf(this.nodes.length))
        return true;
      this.checker.other('liveness', `no proposal committed within ${LIVENESS_MS} ms of healing`);
      return true;
    }
    if (waited > CONVERGENCE_MS) {
      let missing = this.nodes.filter((n) => !this.markerApplied.has(n.id));
      const diverged = this.diverged(missing);
      if (diverged !== null) {
        missing = missing.filter((n) => !diverged.includes(n));
        if (missing.length === 0) return true;
      }
      this.checker.other(
        'liveness',
        `${missing.map((n) => n.id).join(', ')} did not apply the proposal within ${CONVERGENCE_MS} ms of healing`,
      );
      return true;
    }
    return false;
  }

  /**
   * With lying disks: those of `nodes` whose committed entries the leader
   * does not have (a lying disk lost them where it mattered). They cannot
   * apply the leader's entries there without undoing what they applied, and
   * Raft has no way back from that. Null without lying disks or a leader.
   */
  private diverged(nodes: readonly SimNode[]): SimNode[] | null {
    const lead = this.leaderNode()?.raft?.core;
    if ((this.opts.lyingDisks ?? 0) === 0 || lead === undefined) return null;
    const out = nodes.filter((n) => n.raft !== null && contradicts(n.raft.core, lead));
    this.stats.diverged = out.length;
    if (out.length > 0)
      this.log(
        `liveness: ${out.map((n) => n.id).join(', ')} hold committed entries the leader lacks`,
      );
    return out;
  }
}

function quorumOf(nodes: number): number {
  return Math.floor(nodes / 2) + 1;
}

/** Whether the append `bytes` carried the last entry `batch` stores. */
function carries(bytes: Uint8Array, batch: PersistBatch): boolean {
  const last = batch.entries[batch.entries.length - 1];
  if (last === undefined) return false;
  const m = decodeMessage(bytes);
  if (m instanceof DecodeError || m.type !== 'append') return false;
  const held = m.entries.find((e) => e.index === last.index);
  return held !== undefined && held.term === last.term;
}

/**
 * Whether `n`'s committed log contradicts `leader`'s log: an entry is missing
 * there or differs (in term, or, once two leaders shared a term, in content).
 */
function contradicts(n: RaftCore, leader: RaftCore): boolean {
  const commit = n.commitIndex;
  if (commit > leader.lastIndex) return true;
  for (let i = Math.max(n.snapshotIndex, leader.snapshotIndex); i <= commit; i++) {
    const mine = n.termAt(i);
    const theirs = leader.termAt(i);
    if (mine !== undefined && theirs !== undefined && mine !== theirs) return true;
    const a = n.entryAt(i);
    const b = leader.entryAt(i);
    if (a !== undefined && b !== undefined && entryHash(a) !== entryHash(b)) return true;
  }
  return false;
}

function describeBatch(b: PersistBatch): string {
  const parts: string[] = [];
  if (b.snapshot !== null)
    parts.push(
      `snapshot ${b.snapshot.meta.index}/${b.snapshot.meta.term}${b.discardLog ? ' (log discarded)' : ''}`,
    );
  const first = b.entries[0];
  const last = b.entries[b.entries.length - 1];
  if (first !== undefined && last !== undefined)
    parts.push(`entries ${first.index}..${last.index}/${last.term}`);
  if (b.hardState !== null)
    parts.push(
      `term ${b.hardState.term} vote ${b.hardState.vote ?? '-'} commit ${b.hardState.commit}`,
    );
  return parts.join(', ');
}

function describeWorld(w: World): string {
  const s = w.settings;
  const c = w.chaos;
  return (
    `${w.churn ? 'leader churn, ' : ''}logLength ${s.logLength}, chunk ${s.chunkLength}, maxMessage ${s.maxMessageLength}, inflight ${s.maxInflight}, ` +
    `batch ${s.maxEntriesPerAppend}, preVote ${s.preVote}, checkQuorum ${s.checkQuorum}, loss ${c.loss}, dup ${c.duplicate}, ` +
    `delay ${c.minDelayMs}-${c.maxDelayMs} ms (slow ${c.slowChance} up to ${c.slowDelayMs}), disk ${w.diskMs.join('-')} ms, ` +
    `ticks ${w.tickMs.join('-')} ms, pauses ${w.pauseMs} ms`
  );
}
