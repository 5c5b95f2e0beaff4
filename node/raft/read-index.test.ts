import { describe, expect, it } from 'vitest';
import { RaftCore } from './core.js';
import type { Message } from './messages.js';
import { TestNet, bytes } from './test-support/net.js';
import type { TestNode } from './test-support/net.js';

const three = ['n1', 'n2', 'n3'];

function cluster(seed = 1) {
  const net = new TestNet(three, {}, seed);
  const leader = net.elect();
  net.run(100);
  const followers = [...net.nodes.values()].filter((n) => n !== leader) as [TestNode, TestNode];
  return { net, leader, followers };
}

describe('ReadIndex on the leader', () => {
  it('answers with the commit index once a heartbeat round confirms leadership', () => {
    const { net, leader } = cluster();
    for (let i = 0; i < 3; i++) leader.core.propose(bytes(`v${i}`));
    net.deliverAll();
    const commit = leader.core.commitIndex;
    leader.core.readIndex(7);
    net.deliverAll();
    expect(leader.readStates).toEqual([{ requestId: 7, ok: true, index: commit }]);
    expect(leader.core.appliedIndex).toBeGreaterThanOrEqual(commit);
  });

  it('does not count acknowledgements of a round started before the read arrived', () => {
    const { net, leader } = cluster(3);
    // A heartbeat round goes out; hold its acknowledgements.
    leader.core.tick(50);
    net.flushReady();
    net.deliver(net.take((m) => m.type === 'heartbeat'));
    const early = net.take((m) => m.type === 'heartbeatResponse');
    expect(early).toHaveLength(2);
    // The read arrives now; the held acks (older round) come in after it.
    leader.core.readIndex(1);
    net.flushReady();
    const fresh = net.take((m) => m.type === 'heartbeat');
    expect(fresh).toHaveLength(2);
    net.deliver(early);
    expect(leader.readStates).toEqual([]);
    // One ack of the new round makes a quorum with the leader itself.
    net.deliver(fresh.slice(0, 1));
    net.deliver(net.take((m) => m.type === 'heartbeatResponse'));
    expect(leader.readStates).toEqual([{ requestId: 1, ok: true, index: leader.core.commitIndex }]);
  });

  it('shares one fresh round between reads that arrive before it is sent', () => {
    const { net, leader } = cluster(4);
    net.sent = [];
    leader.core.readIndex(1);
    leader.core.readIndex(2);
    net.deliverAll();
    expect(net.sent.filter((m) => m.type === 'heartbeat')).toHaveLength(2);
    expect(leader.readStates.map((r) => r.requestId)).toEqual([1, 2]);
  });

  it('waits until an entry of its own term committed', () => {
    const net = new TestNet(three, { preVote: false }, 2);
    const n1 = net.node('n1');
    n1.core.tick(10_000);
    net.flushReady();
    // Votes only: n1 leads but its no-op has not committed.
    for (let i = 0; i < 3; i++) net.deliver(net.take((m) => m.type.startsWith('vote')));
    expect(n1.core.role).toBe('leader');
    expect(n1.core.commitIndex).toBe(0);
    n1.core.readIndex(5);
    net.flushReady();
    net.deliver(net.take((m) => m.type === 'heartbeat'));
    net.deliver(net.take((m) => m.type === 'heartbeatResponse'));
    expect(n1.readStates).toEqual([]);
    net.deliverAll();
    expect(n1.readStates).toEqual([{ requestId: 5, ok: true, index: n1.core.commitIndex }]);
    expect(n1.core.termAt(n1.core.commitIndex)).toBe(n1.core.term);
  });

  it('answers only once the state machine applied the read index', () => {
    const core = new RaftCore({ id: 'n1', peers: ['n1'], random: () => 0 });
    core.tick(1_000);
    core.advance(core.ready());
    const rd = core.ready();
    expect(rd.committedEntries.length).toBe(2);
    core.readIndex(9);
    expect(core.ready().readStates).toEqual([]);
    core.applied(2);
    expect(core.ready().readStates).toEqual([{ requestId: 9, ok: true, index: 2 }]);
  });

  it('fails reads it could not confirm when it loses leadership', () => {
    const { net, leader, followers } = cluster(5);
    leader.core.readIndex(3);
    net.flushReady();
    net.take(() => true); // the round never arrives
    const higher: Message = {
      type: 'appendResponse',
      from: followers[0].id,
      to: leader.id,
      term: leader.core.term + 1,
      success: false,
      index: 0,
      hintIndex: 0,
      hintTerm: 0,
    };
    leader.core.step(higher);
    net.flushReady();
    expect(leader.core.role).toBe('follower');
    expect(leader.readStates).toEqual([{ requestId: 3, ok: false, reason: 'leader-changed' }]);
  });
});

describe('ReadIndex timeouts', () => {
  it('a leader that cannot confirm a read fails it after an election timeout, rather than hold it', () => {
    const net = new TestNet(three, { checkQuorum: false }, 9);
    const leader = net.elect();
    net.run(100);
    net.isolate(leader.id);
    leader.core.readIndex(12);
    net.run(290, 10);
    expect(leader.readStates).toEqual([]);
    net.run(30, 10);
    expect(leader.readStates).toEqual([{ requestId: 12, ok: false, reason: 'timeout' }]);
    expect(leader.core.role).toBe('leader');
  });
});

describe('ReadIndex on a follower', () => {
  it('gets its read index from the leader and answers once it applied it', () => {
    const { net, leader, followers } = cluster(6);
    const f = followers[0];
    leader.core.propose(bytes('x'));
    net.deliverAll();
    net.sent = [];
    f.core.readIndex(11);
    net.deliverAll();
    expect(net.sent.map((m) => m.type)).toContain('readIndex');
    expect(net.sent.map((m) => m.type)).toContain('readIndexResponse');
    expect(f.readStates).toEqual([{ requestId: 11, ok: true, index: leader.core.commitIndex }]);
    expect(f.core.appliedIndex).toBeGreaterThanOrEqual(leader.core.commitIndex);
  });

  it('fails at once without a known leader', () => {
    const core = new RaftCore({ id: 'n2', peers: three, random: () => 0 });
    core.readIndex(4);
    expect(core.ready().readStates).toEqual([{ requestId: 4, ok: false, reason: 'no-leader' }]);
  });

  it('fails after an election timeout without an answer', () => {
    const { net, followers } = cluster(7);
    const f = followers[0];
    net.filter = (m) => m.type !== 'readIndex';
    f.core.readIndex(8);
    net.run(320, 10);
    expect(f.readStates).toEqual([{ requestId: 8, ok: false, reason: 'timeout' }]);
  });

  it('ignores an answer meant for an earlier incarnation of itself', () => {
    const { net, followers } = cluster(8);
    const f = followers[0];
    f.core.readIndex(1);
    net.flushReady();
    const [req] = net.take((m) => m.type === 'readIndex');
    if (req === undefined) throw new Error('no request');
    net.deliver([req]);
    const answers = net.take((m) => m.type === 'readIndexResponse');
    const back = net.restart(f.id);
    back.core.step({
      type: 'heartbeat',
      from: req.m.to,
      to: f.id,
      term: f.core.term,
      commit: 0,
      round: 99,
    });
    back.core.readIndex(1);
    net.flushReady();
    net.take(() => true);
    net.deliver(answers);
    expect(back.readStates).toEqual([]);
  });
});
