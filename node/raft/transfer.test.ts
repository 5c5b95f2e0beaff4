import { describe, expect, it } from 'vitest';
import { ChunkReceiver, ChunkSender } from './chunks.js';
import { RaftCore } from './core.js';
import { encodeMessage } from './codec.js';
import type { Message, SnapshotChunk } from './messages.js';
import type { PersistedState } from './storage.js';
import { TestNet, bytes } from './test-support/net.js';
import type { TestNode } from './test-support/net.js';

const three = ['n1', 'n2', 'n3'];

function pattern(n: number, seed: number): Uint8Array {
  return Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed) & 0xff);
}

/** A leader with `count` entries applied everywhere but at the follower cut off, then compacted. */
function laggingFollower(
  opts: ConstructorParameters<typeof TestNet>[1],
  seed: number,
  snapBytes: number,
) {
  const net = new TestNet(three, opts, seed);
  const leader = net.elect();
  const lagging = [...net.nodes.values()].find((n) => n !== leader) as TestNode;
  net.isolate(lagging.id);
  for (let i = 0; i < 40; i++) leader.core.propose(bytes(`v${i}`));
  net.run(200);
  const applied = leader.core.appliedIndex;
  expect(applied).toBeGreaterThan(40);
  const data = pattern(snapBytes, 7);
  const snap = leader.core.compact(applied, data);
  expect(snap?.meta).toEqual({ index: applied, term: leader.core.term, peers: three });
  net.flushReady();
  expect(leader.disk.snapshot?.meta.index).toBe(applied);
  expect(leader.disk.entries.length).toBe(0);
  return { net, leader, lagging, applied, data };
}

describe('snapshots', () => {
  it('compacts the log into a snapshot the storage keeps', () => {
    const { leader, applied } = laggingFollower({}, 3, 100);
    expect(leader.core.snapshotIndex).toBe(applied);
    expect(leader.core.entryAt(applied)).toBeUndefined();
    expect(leader.core.termAt(applied)).toBe(leader.core.term);
    // Not past what was applied, and not twice at one index.
    expect(leader.core.compact(applied + 5, new Uint8Array(1))).toBeNull();
    expect(leader.core.compact(applied, new Uint8Array(1))).toBeNull();
  });

  it('sends a follower that fell behind the snapshot in acknowledged chunks, each within one message', () => {
    const { net, leader, lagging, applied, data } = laggingFollower(
      { maxMessageLength: 400, chunkLength: 256 },
      3,
      5_000,
    );
    net.sent = [];
    net.heal();
    net.run(300);
    const chunks = net.sent.filter((m): m is SnapshotChunk => m.type === 'snapshotChunk');
    expect(chunks.length).toBeGreaterThanOrEqual(Math.ceil(5_000 / 256));
    expect(Math.max(...chunks.map((c) => c.data.length))).toBe(256);
    for (const m of net.sent) expect(encodeMessage(m).length).toBeLessThanOrEqual(400);
    const acks = net.sent.filter((m) => m.type === 'snapshotAck');
    expect(acks[0]).toMatchObject({ index: applied, snapshotTerm: leader.core.term });
    expect(lagging.restored?.meta.index).toBe(applied);
    expect(lagging.restored?.data).toEqual(data);
    expect(lagging.disk.snapshot?.meta.index).toBe(applied);
    // Replication resumes after the snapshot.
    leader.core.propose(bytes('after'));
    net.run(100);
    expect(lagging.applied.at(-1)?.data).toEqual(bytes('after'));
  });

  it('gets a snapshot through 10% loss', () => {
    const { net, lagging, applied, data } = laggingFollower(
      { maxMessageLength: 400, chunkLength: 256 },
      5,
      20_000,
    );
    net.heal();
    net.loss = 0.1;
    net.sent = [];
    net.run(5_000);
    const chunks = net.sent.filter((m) => m.type === 'snapshotChunk').length;
    expect(chunks).toBeGreaterThan(Math.ceil(20_000 / 256)); // some were lost and resent
    expect(lagging.restored?.meta.index).toBe(applied);
    expect(lagging.restored?.data).toEqual(data);
  });

  it('keeps chunks within maxMessageLength even when chunkLength is larger', () => {
    const { net } = laggingFollower({ maxMessageLength: 300, chunkLength: 4_096 }, 4, 3_000);
    net.sent = [];
    net.heal();
    net.run(300);
    expect(net.sent.some((m) => m.type === 'snapshotChunk')).toBe(true);
    for (const m of net.sent) expect(encodeMessage(m).length).toBeLessThanOrEqual(300);
  });

  it('restarts reception when chunks of a newer snapshot arrive, and ignores the older one', () => {
    const core = new RaftCore({ id: 'n2', peers: three, random: () => 0.5 });
    const chunk = (index: number, offset: number, data: Uint8Array, total: number): Message => ({
      type: 'snapshotChunk',
      from: 'n1',
      to: 'n2',
      term: 1,
      meta: { index, term: 1, peers: three },
      total,
      offset,
      data,
    });
    const older = pattern(20, 1);
    const newer = pattern(20, 2);
    core.step(chunk(10, 0, older.subarray(0, 10), 20));
    expect(core.ready().messages).toEqual([
      expect.objectContaining({ type: 'snapshotAck', index: 10, snapshotTerm: 1, offset: 10 }),
    ]);
    core.step(chunk(12, 0, newer.subarray(0, 10), 20));
    expect(core.ready().messages).toEqual([
      expect.objectContaining({ type: 'snapshotAck', index: 12, offset: 10 }),
    ]);
    // The rest of the older one is stale now: the follower asks for it from the start.
    core.step(chunk(10, 10, older.subarray(10), 20));
    expect(core.ready().messages).toEqual([
      expect.objectContaining({ type: 'snapshotAck', index: 10, offset: 0 }),
    ]);
    core.step(chunk(12, 10, newer.subarray(10), 20));
    const rd = core.ready();
    expect(rd.installSnapshot).toBe(true);
    expect(rd.snapshot?.meta.index).toBe(12);
    expect(rd.snapshot?.data).toEqual(newer);
    // Acknowledged only with the Ready that persists it.
    expect(rd.messages).toEqual([
      expect.objectContaining({ type: 'appendResponse', success: true, index: 12 }),
    ]);
  });

  it('restores a node from its snapshot at restart', () => {
    const restored: PersistedState = {
      hardState: { term: 2, vote: null, commit: 12 },
      snapshot: { meta: { index: 10, term: 2, peers: three }, data: pattern(5, 3) },
      entries: [
        { index: 11, term: 2, kind: 'command', data: bytes('a') },
        { index: 12, term: 2, kind: 'command', data: bytes('b') },
      ],
    };
    const core = new RaftCore({ id: 'n1', peers: three, random: () => 0 }, restored);
    expect(core.snapshotIndex).toBe(10);
    expect(core.lastIndex).toBe(12);
    core.applied(10);
    expect(core.ready().committedEntries.map((e) => e.index)).toEqual([11, 12]);
  });
});

describe('entries larger than one message', () => {
  it('travel in acknowledged chunks, each within maxMessageLength', () => {
    const net = new TestNet(three, { maxMessageLength: 400, chunkLength: 1_024 }, 8);
    const leader = net.elect();
    net.run(100);
    net.sent = [];
    const big = pattern(6_000, 9);
    expect(leader.core.propose(big).ok).toBe(true);
    leader.core.propose(bytes('small after'));
    net.run(300);
    expect(net.sent.filter((m) => m.type === 'entryChunk').length).toBeGreaterThanOrEqual(2 * 15);
    expect(net.sent.some((m) => m.type === 'entryChunkAck')).toBe(true);
    for (const m of net.sent) expect(encodeMessage(m).length).toBeLessThanOrEqual(400);
    for (const n of net.nodes.values()) {
      const cmds = n.applied.filter((e) => e.kind === 'command');
      expect(cmds.map((e) => e.data.length)).toEqual([6_000, 11]);
      expect(cmds[0]?.data).toEqual(big);
    }
  });

  it('get through 10% loss', () => {
    const net = new TestNet(three, { maxMessageLength: 400 }, 13);
    const leader = net.elect();
    net.run(100);
    net.loss = 0.1;
    const big = pattern(20_000, 4);
    const r = leader.core.propose(big);
    expect(r.ok).toBe(true);
    net.run(5_000);
    net.loss = 0;
    net.run(500);
    for (const n of net.nodes.values()) {
      const e = n.applied.find((x) => x.data.length === 20_000);
      expect(e?.data).toEqual(big);
    }
  });
});

describe('chunk sender and receiver', () => {
  it('keeps a window of chunks in flight and moves it on acks', () => {
    const s = new ChunkSender(1_000, 100, 3);
    expect(s.take()).toEqual([
      [0, 100],
      [100, 100],
      [200, 100],
    ]);
    expect(s.take()).toEqual([]);
    s.ack(200);
    expect(s.take()).toEqual([
      [300, 100],
      [400, 100],
    ]);
  });

  it('resends from the last ack after a quiet spell, and at once on repeated acks', () => {
    const s = new ChunkSender(1_000, 100, 4);
    s.take();
    s.ack(100);
    s.take();
    expect(s.tick(50, 100)).toBe(false);
    expect(s.tick(60, 100)).toBe(true);
    expect(s.take()[0]).toEqual([100, 100]);
    // Two repeated acks while later chunks are out: fast resend, once.
    s.ack(100);
    s.ack(100);
    expect(s.take()[0]).toEqual([100, 100]);
    s.ack(100);
    s.ack(100);
    expect(s.take()).toEqual([]);
  });

  it('goes back when the receiver holds less than before (it restarted)', () => {
    const s = new ChunkSender(1_000, 100, 2);
    s.take();
    s.ack(200);
    s.take();
    s.ack(0);
    expect(s.take()[0]).toEqual([0, 100]);
  });

  it('sends an empty payload as one chunk', () => {
    const s = new ChunkSender(0, 100, 2);
    expect(s.take()).toEqual([[0, 0]]);
    expect(s.take()).toEqual([]);
  });

  it('reassembles chunks that arrive out of order or twice', () => {
    const data = pattern(1_000, 5);
    const r = new ChunkReceiver(1_000);
    const order = [300, 0, 100, 100, 500, 200, 400, 700, 600, 900, 800];
    for (const off of order) r.accept(off, data.subarray(off, off + 100));
    expect(r.complete).toBe(true);
    expect(r.bytes()).toEqual(data);
  });

  it('holds no more than a bounded window ahead of what is contiguous', () => {
    const r = new ChunkReceiver(10_000_000);
    r.accept(9_000_000, new Uint8Array(100));
    expect(r.received).toBe(0);
    r.accept(0, new Uint8Array(100));
    expect(r.received).toBe(100);
  });
});
