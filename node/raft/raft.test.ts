import { describe, expect, it } from 'vitest';
import { decodeMessage, encodeMessage } from './codec.js';
import type { Message } from './messages.js';
import type { AppliedUpdate, RaftConfig, RaftEvent, ReadResult } from './raft.js';
import { Raft } from './raft.js';
import { MemoryStorage, settle } from './test-support/memory-storage.js';
import { bytes } from './test-support/net.js';
import { Prng } from '../util/prng.js';

const three = ['n1', 'n2', 'n3'];

interface Member {
  raft: Raft;
  storage: MemoryStorage;
  applied: AppliedUpdate[];
  events: RaftEvent[];
  snapshots: number[];
}

/** One driver on a fresh `storage`, keeping what it sends and reports; its jitter is `random`. */
function lone(
  config: RaftConfig,
  storage: MemoryStorage,
  random: number,
): { raft: Raft; sent: Message[]; events: RaftEvent[] } {
  const sent: Message[] = [];
  const events: RaftEvent[] = [];
  const raft = new Raft(
    config,
    {
      storage,
      transport: {
        send: (_to, b) => {
          const m = decodeMessage(b);
          if (!(m instanceof Error)) sent.push(m);
        },
      },
      applier: () => undefined,
      snapshooter: () => new Uint8Array(0),
      random: () => random,
      onEvent: (e) => events.push(e),
    },
    { hardState: storage.hardState, snapshot: null, entries: [] },
  );
  return { raft, sent, events };
}

/** Three drivers wired together through a queue, storage completing at once unless told otherwise. */
function trio(config: Partial<RaftConfig> = {}, autoPersist = true) {
  const queue: Array<{ from: string; to: string; bytes: Uint8Array }> = [];
  const members = new Map<string, Member>();
  const prng = new Prng(5);
  for (const id of three) {
    const storage = new MemoryStorage(autoPersist);
    const m: Member = {
      raft: undefined as unknown as Raft,
      storage,
      applied: [],
      events: [],
      snapshots: [],
    };
    m.raft = new Raft(
      { id, peers: three, ...config },
      {
        storage,
        transport: { send: (to, b) => queue.push({ from: id, to, bytes: b }) },
        applier: (u) => m.applied.push(u),
        snapshooter: (index) => {
          m.snapshots.push(index);
          return bytes(`state@${index}`);
        },
        random: () => prng.next(),
        onEvent: (e) => m.events.push(e),
      },
      { hardState: storage.hardState, snapshot: null, entries: [] },
    );
    members.set(id, m);
  }
  const get = (id: string): Member => members.get(id) as Member;
  const pump = async (): Promise<void> => {
    for (let i = 0; i < 200; i++) {
      await settle();
      const batch = queue.splice(0);
      if (batch.length === 0) return;
      for (const d of batch) get(d.to).raft.handleMessage(d.from, d.bytes);
    }
  };
  const elect = async (): Promise<Member> => {
    for (let t = 0; t < 100; t++) {
      for (const m of members.values()) m.raft.tick(10);
      await pump();
      const l = [...members.values()].find((m) => m.raft.isLeader());
      if (l !== undefined) return l;
    }
    throw new Error('no leader');
  };
  return { members, get, queue, pump, elect };
}

describe('Raft driver', () => {
  it('elects a leader, replicates an emitted update and applies it everywhere in order', async () => {
    const t = trio();
    const leader = await t.elect();
    const r = leader.raft.emit(bytes('hello'));
    expect(r).toMatchObject({ ok: true, term: leader.raft.progress().term });
    await t.pump();
    for (let i = 0; i < 10; i++) for (const m of t.members.values()) m.raft.tick(10);
    await t.pump();
    if (!r.ok) throw new Error('not leader');
    for (const m of t.members.values()) {
      expect(m.raft.applied(r.index)).toBe(true);
      const cmd = m.applied.find((u) => u.kind === 'entry' && u.entry.kind === 'command');
      expect(cmd?.kind === 'entry' ? cmd.entry : null).toMatchObject({
        index: r.index,
        term: r.term,
      });
    }
    const follower = [...t.members.values()].find((m) => m !== leader);
    expect(follower?.raft.emit(bytes('x'))).toEqual({
      ok: false,
      reason: 'not-leader',
      leader: leader.raft.getLeader(),
    });
    expect(leader.events).toContainEqual(expect.objectContaining({ type: 'role', role: 'leader' }));
  });

  it('sends nothing that depends on a write before the write is durable', async () => {
    const storage = new MemoryStorage(false);
    const { raft, sent } = lone({ id: 'n1', peers: three, preVote: false }, storage, 0);
    raft.tick(300); // campaign: term and vote must be durable before the vote requests leave
    await settle();
    expect(storage.pending).toBe(1);
    expect(sent).toEqual([]);
    storage.completeOne();
    await settle();
    expect(sent.map((m) => m.type)).toEqual(['vote', 'vote']);
    expect(storage.hardState).toEqual({ term: 1, vote: 'n1', commit: 0 });
    // Inputs keep arriving while a save is out; they go into the next one.
    raft.handleMessage('n2', voteGranted('n2'));
    await settle();
    expect(raft.isLeader()).toBe(true);
    expect(storage.pending).toBe(1);
  });

  it('reports a vote once it is durable and sent, and the election it won with its votes', async () => {
    const storage = new MemoryStorage(false);
    const { raft, sent, events } = lone({ id: 'n2', peers: three }, storage, 0.5);
    const vote = encodeMessage({
      type: 'vote',
      from: 'n1',
      to: 'n2',
      term: 3,
      pre: false,
      lastIndex: 0,
      lastTerm: 0,
    });
    raft.handleMessage('n1', vote);
    await settle();
    expect(storage.pending).toBe(1);
    expect(events.filter((e) => e.type === 'vote-granted')).toEqual([]);
    storage.completeOne();
    await settle();
    expect(sent).toMatchObject([{ type: 'voteResponse', granted: true, term: 3 }]);
    expect(events.filter((e) => e.type === 'vote-granted')).toEqual([
      { type: 'vote-granted', term: 3, candidate: 'n1' },
    ]);

    const t = trio();
    const leader = await t.elect();
    const won = leader.events.find((e) => e.type === 'elected');
    expect(won).toMatchObject({ type: 'elected', term: leader.raft.progress().term });
    if (won?.type !== 'elected') throw new Error('no elected event');
    expect(won.votes.length).toBeGreaterThanOrEqual(2);
    // Reported after the role change that it explains.
    const roleAt = leader.events.findIndex((e) => e.type === 'role' && e.role === 'leader');
    expect(leader.events.indexOf(won)).toBeGreaterThan(roleAt);
  });

  it('sends the leader appends while its own save is in flight; follower acks wait for theirs', async () => {
    const t = trio();
    const leader = await t.elect();
    await t.pump();
    const [f1, f2] = [...t.members.values()].filter((m) => m !== leader) as [Member, Member];
    leader.storage.auto = false;
    f1.storage.auto = false;
    const r = leader.raft.emit(bytes('w'));
    if (!r.ok) throw new Error('not leader');
    await settle();
    expect(leader.storage.pending).toBe(1);
    const decoded = t.queue.map((d) => ({ ...d, m: decodeMessage(d.bytes) }));
    const carrying = decoded.filter(
      (d) => !(d.m instanceof Error) && d.m.type === 'append' && d.m.entries.length > 0,
    );
    // Out before the leader's fsync: a write waits for the two fsyncs side by side.
    expect(carrying.map((d) => d.to).sort()).toEqual([
      f1.raft.progress().id,
      f2.raft.progress().id,
    ]);
    // f1 stores and acknowledges; f2 hears nothing.
    t.queue.length = 0;
    for (const d of carrying.filter((x) => x.to === f1.raft.progress().id))
      f1.raft.handleMessage(d.from, d.bytes);
    await settle();
    expect(f1.storage.pending).toBe(1);
    expect(t.queue).toEqual([]); // no acknowledgement before the follower's own save
    f1.storage.completeOne();
    await settle();
    const acks = t.queue.splice(0);
    expect(acks.map((d) => decodeMessage(d.bytes))).toMatchObject([
      { type: 'appendResponse', success: true, index: r.index },
    ]);
    for (const d of acks) leader.raft.handleMessage(d.from, d.bytes);
    await settle();
    // One follower is no quorum: the leader counts itself only once its own save is done.
    expect(leader.raft.progress().commit).toBeLessThan(r.index);
    leader.storage.completeOne();
    await settle();
    expect(leader.raft.progress().commit).toBe(r.index);
    expect(leader.raft.applied(r.index)).toBe(true);
  });

  it('applies an entry only once a quorum persisted it, and then reports it applied', async () => {
    const t = trio({}, true);
    const leader = await t.elect();
    await t.pump();
    const r = leader.raft.emit(bytes('a'));
    if (!r.ok) throw new Error('not leader');
    // Followers do not answer: nothing new can commit.
    expect(leader.raft.applied(r.index)).toBe(false);
    t.queue.length = 0;
    expect(leader.applied.some((u) => u.kind === 'entry' && u.entry.index === r.index)).toBe(false);
    await t.pump();
    for (let i = 0; i < 10; i++) leader.raft.tick(10);
    await t.pump();
    expect(leader.raft.applied(r.index)).toBe(true);
  });

  it('compacts through the snapshooter once logLength entries were applied', async () => {
    const t = trio({ logLength: 5 });
    const leader = await t.elect();
    for (let i = 0; i < 12; i++) leader.raft.emit(bytes(`v${i}`));
    await t.pump();
    for (let i = 0; i < 10; i++) for (const m of t.members.values()) m.raft.tick(10);
    await t.pump();
    expect(leader.snapshots.length).toBeGreaterThan(0);
    const taken = leader.events.filter((e) => e.type === 'snapshot-taken');
    expect(taken.length).toBeGreaterThan(0);
    expect(leader.storage.snapshot?.data).toEqual(
      bytes(`state@${leader.storage.snapshot?.meta.index}`),
    );
    const p = leader.raft.progress();
    expect(p.snapshotIndex).toBeGreaterThanOrEqual(5);
    expect(p.lastIndex - p.snapshotIndex).toBeLessThan(12);
  });

  it('restores a follower that fell behind from a snapshot through the applier', async () => {
    const t = trio({ logLength: 4 });
    const leader = await t.elect();
    const behind = [...t.members.values()].find((m) => m !== leader) as Member;
    const behindId = behind.raft.progress().id;
    const keep = t.queue;
    for (let i = 0; i < 20; i++) {
      leader.raft.emit(bytes(`v${i}`));
      for (let k = 0; k < 5; k++) {
        await settle();
        const batch = keep.splice(0).filter((d) => d.to !== behindId && d.from !== behindId);
        for (const d of batch) t.get(d.to).raft.handleMessage(d.from, d.bytes);
      }
    }
    for (let i = 0; i < 10; i++) for (const m of t.members.values()) m.raft.tick(10);
    await t.pump();
    const restored = behind.applied.find((u) => u.kind === 'snapshot');
    expect(restored).toBeDefined();
    expect(behind.events).toContainEqual(expect.objectContaining({ type: 'snapshot-installed' }));
    expect(behind.storage.snapshot?.meta.index).toBe(
      restored?.kind === 'snapshot' ? restored.snapshot.meta.index : -1,
    );
    // Entries after it are applied after the snapshot.
    const idx = behind.applied.findIndex((u) => u.kind === 'snapshot');
    expect(behind.applied.slice(idx + 1).every((u) => u.kind === 'entry')).toBe(true);
    expect(behind.raft.appliedIndex).toBe(leader.raft.appliedIndex);
  });

  it('answers readIndex on leader and followers', async () => {
    const t = trio();
    const leader = await t.elect();
    await t.pump();
    for (let i = 0; i < 10; i++) for (const m of t.members.values()) m.raft.tick(10);
    await t.pump();
    const results: ReadResult[] = [];
    for (const m of t.members.values()) m.raft.readIndex((r) => results.push(r));
    await t.pump();
    expect(results).toHaveLength(3);
    for (const r of results) expect(r).toEqual({ ok: true, index: leader.raft.progress().commit });
  });

  it('stops, saying why, when storage fails: a node that cannot persist must not go on', async () => {
    const storage = new MemoryStorage(true);
    storage.failNext = new Error('disk full');
    const { raft, events } = lone({ id: 'n1', peers: three, preVote: false }, storage, 0);
    raft.tick(300);
    await settle();
    expect(raft.progress().stopped).toBe(true);
    expect(events).toContainEqual({ type: 'stopped', error: new Error('disk full') });
    expect(raft.emit(bytes('x'))).toMatchObject({ ok: false });
  });

  it('opens from what storage loaded, restoring the state machine from the snapshot first', async () => {
    const storage = new MemoryStorage(true, {
      hardState: { term: 3, vote: 'n1', commit: 6 },
      snapshot: { meta: { index: 5, term: 3, peers: three }, data: bytes('state@5') },
      entries: [{ index: 6, term: 3, kind: 'command', data: bytes('six') }],
    });
    const applied: AppliedUpdate[] = [];
    const raft = await Raft.open(
      { id: 'n1', peers: three },
      {
        storage,
        transport: { send: () => undefined },
        applier: (u) => applied.push(u),
        snapshooter: () => new Uint8Array(0),
        random: () => 0.5,
      },
    );
    await settle();
    expect(
      applied.map((u) => (u.kind === 'snapshot' ? 'snapshot@5' : `entry@${u.entry.index}`)),
    ).toEqual(['snapshot@5', 'entry@6']);
    expect(raft.progress()).toMatchObject({ term: 3, vote: 'n1', applied: 6, snapshotIndex: 5 });
  });
});

function voteGranted(from: string): Uint8Array {
  return encodeMessage({
    type: 'voteResponse',
    from,
    to: 'n1',
    term: 1,
    pre: false,
    granted: true,
  });
}
