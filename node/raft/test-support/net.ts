/**
 * A tiny synchronous cluster of RaftCores for unit tests: storage is memory
 * that persists at once, messages go through the codec into per-node inboxes,
 * and a filter can drop any of them. Deterministic: one seeded Prng.
 */
import { Prng } from '../../util/prng.js';
import { decodeMessage, encodeMessage } from '../codec.js';
import type { CoreOptions } from '../core.js';
import { RaftCore } from '../core.js';
import type { Message } from '../messages.js';
import type { CoreEvent, Ready } from '../ready.js';
import type { PersistedState } from '../storage.js';
import { EMPTY_HARD_STATE } from '../storage.js';
import type { Entry, HardState, NodeId, ReadState, Snapshot } from '../types.js';

export interface MemDisk {
  hardState: HardState;
  snapshot: Snapshot | null;
  entries: Entry[];
}

export function persist(disk: MemDisk, rd: Ready): void {
  if (rd.snapshot !== null) {
    const idx = rd.snapshot.meta.index;
    disk.snapshot = rd.snapshot;
    disk.entries = rd.installSnapshot ? [] : disk.entries.filter((e) => e.index > idx);
  }
  const first = rd.entries[0];
  if (first !== undefined) {
    disk.entries = disk.entries.filter((e) => e.index < first.index);
    disk.entries.push(...rd.entries);
  }
  if (rd.hardState !== null) disk.hardState = rd.hardState;
}

export interface TestNode {
  id: NodeId;
  core: RaftCore;
  disk: MemDisk;
  applied: Entry[];
  /** Snapshot data restored into the state machine, if any. */
  restored: Snapshot | null;
  readStates: ReadState[];
  /** The core's events, as the driver would report them. */
  events: CoreEvent[];
  up: boolean;
}

export type Filter = (m: Message, bytes: Uint8Array) => boolean;

export class TestNet {
  readonly nodes = new Map<NodeId, TestNode>();
  readonly prng: Prng;
  inflight: Array<{ to: NodeId; bytes: Uint8Array; m: Message }> = [];
  /** Return false to drop a message. */
  filter: Filter = () => true;
  sent: Message[] = [];
  maxSeen = 0;

  constructor(
    readonly ids: NodeId[],
    readonly opts: Partial<CoreOptions> = {},
    seed = 1,
  ) {
    this.prng = new Prng(seed);
    for (const id of ids)
      this.start(id, { hardState: EMPTY_HARD_STATE, snapshot: null, entries: [] });
  }

  start(id: NodeId, restored: PersistedState): TestNode {
    const disk: MemDisk = {
      hardState: restored.hardState,
      snapshot: restored.snapshot,
      entries: [...restored.entries],
    };
    const rng = this.prng.fork();
    const core = new RaftCore(
      { id, peers: this.ids, random: () => rng.next(), ...this.opts },
      restored,
    );
    const node: TestNode = {
      id,
      core,
      disk,
      applied: [],
      restored: restored.snapshot,
      readStates: [],
      events: [],
      up: true,
    };
    if (restored.snapshot !== null) core.applied(restored.snapshot.meta.index);
    this.nodes.set(id, node);
    return node;
  }

  /** Crash `id` and restart it from what it persisted. */
  restart(id: NodeId): TestNode {
    const old = this.node(id);
    return this.start(id, {
      hardState: old.disk.hardState,
      snapshot: old.disk.snapshot,
      entries: old.disk.entries,
    });
  }

  node(id: NodeId): TestNode {
    const n = this.nodes.get(id);
    if (n === undefined) throw new Error(`no node ${id}`);
    return n;
  }

  /** Runs every node's Ready cycle until none has work. */
  flushReady(): void {
    for (let progress = true; progress;) {
      progress = false;
      for (const n of this.nodes.values()) {
        if (!n.up || !n.core.hasReady()) continue;
        progress = true;
        const rd = n.core.ready();
        persist(n.disk, rd);
        for (const m of [...rd.replication, ...rd.messages]) {
          const bytes = encodeMessage(m);
          this.maxSeen = Math.max(this.maxSeen, bytes.length);
          this.sent.push(m);
          if (this.passes(m, bytes)) this.inflight.push({ to: m.to, bytes, m });
        }
        if (rd.installSnapshot && rd.snapshot !== null) {
          n.restored = rd.snapshot;
          n.applied = [];
          n.core.applied(rd.snapshot.meta.index);
        }
        n.applied.push(...rd.committedEntries);
        const last = rd.committedEntries[rd.committedEntries.length - 1];
        if (last !== undefined) n.core.applied(last.index);
        n.readStates.push(...rd.readStates);
        n.events.push(...rd.events);
        n.core.advance(rd);
      }
    }
  }

  /** Delivers every queued message (and what they cause) until quiet. */
  deliverAll(maxRounds = 1000): void {
    this.flushReady();
    for (let i = 0; i < maxRounds && this.inflight.length > 0; i++) {
      const batch = this.inflight;
      this.inflight = [];
      this.deliver(batch);
    }
  }

  /** Cuts `id` off from every other node (both ways) until heal(). */
  isolate(id: NodeId): void {
    this.cut.add(id);
  }

  heal(): void {
    this.cut.clear();
    this.loss = 0;
  }

  /** Nodes cut off by isolate(); their messages in both directions are dropped. */
  readonly cut = new Set<NodeId>();
  /** Chance that any message is lost. */
  loss = 0;

  /** Whether a message passes the cuts, the loss and the test's own filter. */
  passes(m: Message, bytes: Uint8Array): boolean {
    if (this.cut.has(m.from) || this.cut.has(m.to)) return false;
    if (this.loss > 0 && this.prng.chance(this.loss)) return false;
    return this.filter(m, bytes);
  }

  /** Takes the queued messages matching `pred` out of the queue (to deliver later, or never). */
  take(pred: (m: Message) => boolean): Array<{ to: NodeId; bytes: Uint8Array; m: Message }> {
    const taken = this.inflight.filter((x) => pred(x.m));
    this.inflight = this.inflight.filter((x) => !pred(x.m));
    return taken;
  }

  /** Delivers these messages now (and flushes what that causes, without delivering it). */
  deliver(batch: Array<{ to: NodeId; bytes: Uint8Array; m: Message }>): void {
    for (const { to, bytes } of batch) {
      const n = this.nodes.get(to);
      if (n === undefined || !n.up) continue;
      const m = decodeMessage(bytes);
      if (m instanceof Error) throw m;
      n.core.step(m);
    }
    this.flushReady();
  }

  /** Advances every node by `ms` in steps of `stepMs`, delivering as it goes. */
  run(ms: number, stepMs = 10): void {
    for (let t = 0; t < ms; t += stepMs) this.tickAll(stepMs);
  }

  tickAll(ms: number): void {
    for (const n of this.nodes.values()) if (n.up) n.core.tick(ms);
    this.deliverAll();
  }

  /** Ticks in steps until some node leads; returns it. */
  elect(maxMs = 5_000, stepMs = 10): TestNode {
    for (let t = 0; t < maxMs; t += stepMs) {
      this.tickAll(stepMs);
      const l = this.leader();
      if (l !== undefined) return l;
    }
    throw new Error('no leader elected');
  }

  leader(): TestNode | undefined {
    let best: TestNode | undefined;
    for (const n of this.nodes.values()) {
      if (n.up && n.core.role === 'leader' && (best === undefined || n.core.term > best.core.term))
        best = n;
    }
    return best;
  }

  /** Forces `id` to campaign now (election timeout reached). */
  campaign(id: NodeId): void {
    this.node(id).core.tick(10_000);
    this.deliverAll();
  }
}

export { utf8 as bytes, fromUtf8 as text } from '../../util/bytes.js';
