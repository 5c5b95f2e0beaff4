import { describe, expect, it } from 'vitest';
import { encodeMessage } from './codec.js';
import type { AppendRequest, Message } from './messages.js';
import type { PersistedState } from './storage.js';
import { TestNet, bytes, text } from './test-support/net.js';
import type { Entry, EntryKind } from './types.js';

const three = ['n1', 'n2', 'n3'];

function entry(index: number, term: number, data = '', kind: EntryKind = 'command'): Entry {
  return { index, term, kind, data: bytes(data) };
}

function state(term: number, entries: Entry[], commit = 0): PersistedState {
  return { hardState: { term, vote: null, commit }, snapshot: null, entries };
}

const appends = (ms: readonly Message[]): AppendRequest[] =>
  ms.filter((m): m is AppendRequest => m.type === 'append');

describe('log replication', () => {
  it('replicates and commits proposals on every node, in order', () => {
    const net = new TestNet(three, {}, 21);
    const leader = net.elect();
    for (let i = 0; i < 50; i++) expect(leader.core.propose(bytes(`v${i}`)).ok).toBe(true);
    net.run(200);
    for (const n of net.nodes.values()) {
      const commands = n.applied.filter((e) => e.kind === 'command').map((e) => text(e.data));
      expect(commands).toEqual(Array.from({ length: 50 }, (_, i) => `v${i}`));
    }
  });

  it('refuses proposals on a follower, naming the leader', () => {
    const net = new TestNet(three, {}, 21);
    const leader = net.elect();
    const follower = [...net.nodes.values()].find((n) => n !== leader);
    expect(follower?.core.propose(bytes('x'))).toEqual({
      ok: false,
      reason: 'not-leader',
      leader: leader.id,
    });
    expect(leader.core.propose(new Uint8Array(2 << 20))).toMatchObject({
      ok: false,
      reason: 'too-large',
    });
  });

  it('batches entries into appends bounded in bytes by maxMessageLength', () => {
    const net = new TestNet(three, { maxMessageLength: 400 }, 3);
    const leader = net.elect();
    net.run(100);
    net.sent = [];
    for (let i = 0; i < 40; i++) leader.core.propose(bytes(`value-${i}`.padEnd(30, '.')));
    net.run(200);
    const sent = appends(net.sent).filter((m) => m.entries.length > 0);
    expect(Math.max(...sent.map((m) => m.entries.length))).toBeGreaterThan(5);
    for (const m of net.sent) expect(encodeMessage(m).length).toBeLessThanOrEqual(400);
    expect(net.maxSeen).toBeLessThanOrEqual(400);
    expect(net.maxSeen).toBeGreaterThan(300); // batches fill the budget
  });

  it('sends one entry per append when maxEntriesPerAppend is 1 (batching off)', () => {
    const net = new TestNet(three, { maxEntriesPerAppend: 1 }, 3);
    const leader = net.elect();
    net.run(100);
    net.sent = [];
    for (let i = 0; i < 10; i++) leader.core.propose(bytes(`v${i}`));
    net.run(200);
    const sent = appends(net.sent);
    expect(sent.every((m) => m.entries.length <= 1)).toBe(true);
    expect(sent.filter((m) => m.entries.length === 1).length).toBeGreaterThanOrEqual(20);
  });

  it('pipelines at most maxInflight unacknowledged appends per follower', () => {
    const net = new TestNet(three, { maxInflight: 3, maxEntriesPerAppend: 1 }, 9);
    const leader = net.elect();
    net.run(100);
    // Hold every acknowledgement: the leader may only have 3 appends out per follower.
    net.filter = (m) => m.type !== 'appendResponse';
    net.sent = [];
    for (let i = 0; i < 20; i++) {
      leader.core.propose(bytes(`v${i}`));
      net.flushReady();
    }
    const perPeer = new Map<string, number>();
    for (const m of appends(net.sent))
      perPeer.set(m.to, (perPeer.get(m.to) ?? 0) + m.entries.length);
    for (const n of perPeer.values()) expect(n).toBe(3);
    // Acks flow again: the window moves and everything arrives.
    net.filter = () => true;
    net.run(500);
    for (const n of net.nodes.values())
      expect(n.applied.filter((e) => e.kind === 'command')).toHaveLength(20);
  });

  it('recovers from 20% message loss', () => {
    const net = new TestNet(three, {}, 12);
    const leader = net.elect();
    net.loss = 0.2;
    for (let i = 0; i < 30; i++) {
      leader.core.propose(bytes(`v${i}`));
      net.run(20);
    }
    net.run(2_000);
    const current = net.leader();
    expect(current).toBeDefined();
    net.loss = 0;
    net.run(500);
    const logs = [...net.nodes.values()].map((n) =>
      n.applied.map((e) => `${e.index}/${e.term}`).join(),
    );
    expect(new Set(logs).size).toBe(1);
  });

  it('overwrites a follower suffix that conflicts with the leader, and tells storage where from', () => {
    const net = new TestNet(three, { preVote: false }, 1);
    net.start('n1', state(3, [entry(1, 1, 'a'), entry(2, 3, 'b'), entry(3, 3, 'c')]));
    net.start('n2', state(3, [entry(1, 1, 'a'), entry(2, 3, 'b')]));
    // n3 holds two entries of a term-2 leader that never committed.
    net.start('n3', state(2, [entry(1, 1, 'a'), entry(2, 2, 'x'), entry(3, 2, 'y')]));
    net.campaign('n1');
    net.run(100);
    const n3 = net.node('n3');
    // The leader's no-op (4) and, as the cluster's first leader to write one, the configuration (5).
    expect(n3.disk.entries.map((e) => `${e.index}/${e.term}/${e.kind}`)).toEqual([
      '1/1/command',
      '2/3/command',
      '3/3/command',
      '4/4/noop',
      '5/4/config',
    ]);
    expect(n3.applied.slice(0, 3).map((e) => text(e.data))).toEqual(['a', 'b', 'c']);
  });

  it('finds where logs agree in few round trips, skipping whole conflicting terms', () => {
    const long = (term: number, n: number, from = 2): Entry[] =>
      Array.from({ length: n }, (_, i) => entry(from + i, term, `t${term}-${i}`));
    const net = new TestNet(three, { preVote: false }, 1);
    net.start('n1', state(5, [entry(1, 1), ...long(5, 100)]));
    net.start('n2', state(5, [entry(1, 1), ...long(5, 100)]));
    net.start('n3', state(4, [entry(1, 1), ...long(4, 300)]));
    net.sent = [];
    net.campaign('n1');
    net.run(200);
    const rejects = net.sent.filter(
      (m) => m.type === 'appendResponse' && !m.success && m.from === 'n3',
    );
    expect(rejects.length).toBeLessThanOrEqual(3);
    expect(net.node('n3').core.lastIndex).toBe(net.node('n1').core.lastIndex);
  });
});

describe('liveness hints from the transport', () => {
  it('peerDown stops streaming appends to a peer; peerUp probes it again at once', () => {
    const net = new TestNet(three, { maxEntriesPerAppend: 1 }, 2);
    const leader = net.elect();
    net.run(100);
    const peer = three.find((id) => id !== leader.id) ?? 'n2';
    leader.core.peerDown(peer);
    net.sent = [];
    for (let i = 0; i < 5; i++) leader.core.propose(bytes(`v${i}`));
    net.flushReady();
    expect(appends(net.sent).filter((m) => m.to === peer)).toEqual([]);
    expect(leader.core.status().progress.find((p) => p.id === peer)?.paused).toBe(true);
    net.take(() => true);
    leader.core.peerUp(peer);
    net.flushReady();
    const probe = appends(net.sent).filter((m) => m.to === peer);
    expect(probe).toHaveLength(1);
    net.run(200);
    expect(net.node(peer).applied.filter((e) => e.kind === 'command')).toHaveLength(5);
  });

  it('a heartbeat answer from a peer reported down resumes it too', () => {
    const net = new TestNet(three, {}, 2);
    const leader = net.elect();
    const peer = three.find((id) => id !== leader.id) ?? 'n2';
    leader.core.peerDown(peer);
    leader.core.propose(bytes('x'));
    net.run(200);
    expect(net.node(peer).applied.some((e) => e.kind === 'command')).toBe(true);
  });
});

describe('commit rule', () => {
  /**
   * n1 leads term 4 holding an entry of term 2 at index 2 that only it has;
   * appends carry one entry each, so n2 acknowledges index 2 before index 3
   * (the no-op of term 4).
   */
  function figure8(unsafe: boolean) {
    const net = new TestNet(
      three,
      {
        preVote: false,
        maxEntriesPerAppend: 1,
        ...(unsafe ? { unsafe: { commitPreviousTermByCount: true } } : {}),
      },
      1,
    );
    net.start('n1', state(3, [entry(1, 1, 'a'), entry(2, 2, 'old')], 1));
    net.start('n2', state(3, [entry(1, 1, 'a')], 1));
    net.start('n3', state(3, [entry(1, 1, 'a')], 1));
    net.isolate('n3');
    net.node('n1').core.tick(10_000);
    net.flushReady();
    // Win the election: deliver only votes.
    for (let i = 0; i < 5; i++) net.deliver(net.take((m) => m.type.startsWith('vote')));
    const n1 = net.node('n1');
    expect(n1.core.role).toBe('leader');
    // Let n2 catch up one message at a time until it acknowledged index 2 but not 3.
    for (
      let i = 0;
      i < 20 && (n1.core.status().progress.find((p) => p.id === 'n2')?.match ?? 0) < 2;
      i++
    ) {
      const batch = net.take(() => true);
      net.deliver(
        batch.filter((x) => !(x.m.type === 'appendResponse' && x.m.success && x.m.index >= 3)),
      );
    }
    return { net, n1 };
  }

  it('does not commit an earlier term entry on a majority until one of its own term is', () => {
    const { net, n1 } = figure8(false);
    expect(n1.core.status().progress.find((p) => p.id === 'n2')?.match).toBe(2);
    expect(n1.core.commitIndex).toBe(1);
    // Once entries of term 4 (the no-op, 3, and the configuration, 4) are on a majority, all commit.
    net.run(100);
    expect(n1.core.commitIndex).toBe(4);
    expect(n1.applied.map((e) => `${e.index}/${e.term}/${e.kind}`)).toEqual([
      '1/1/command',
      '2/2/command',
      '3/4/noop',
      '4/4/config',
    ]);
  });

  it('commits it by counting replicas with the planted bug (test-only hook)', () => {
    const { n1 } = figure8(true);
    expect(n1.core.commitIndex).toBe(2);
  });

  it('counts the leader itself only for entries it persisted', () => {
    const net = new TestNet(['n1'], {}, 1);
    const n1 = net.node('n1');
    n1.core.tick(10_000);
    let rd = n1.core.ready();
    expect(rd.entries.map((e) => e.kind)).toEqual(['noop', 'config']);
    expect(rd.committedEntries).toEqual([]);
    n1.core.advance(rd);
    rd = n1.core.ready();
    expect(rd.committedEntries.map((e) => e.index)).toEqual([1, 2]);
  });

  it('tells followers a commit index no higher than what they are known to hold', () => {
    const net = new TestNet(three, {}, 5);
    const leader = net.elect();
    const lagging = [...net.nodes.values()].find((n) => n !== leader);
    if (lagging === undefined) throw new Error('no follower');
    net.isolate(lagging.id);
    for (let i = 0; i < 5; i++) leader.core.propose(bytes(`v${i}`));
    net.run(100);
    net.heal();
    net.sent = [];
    net.run(60);
    const hb = net.sent.find((m) => m.type === 'heartbeat' && m.to === lagging.id);
    expect(hb).toBeDefined();
    if (hb?.type === 'heartbeat') expect(hb.commit).toBeLessThanOrEqual(2);
  });
});
