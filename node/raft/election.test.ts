import { describe, expect, it } from 'vitest';
import { RaftCore } from './core.js';
import type { Message } from './messages.js';
import { EMPTY_HARD_STATE } from './storage.js';
import { TestNet, bytes } from './test-support/net.js';

const three = ['n1', 'n2', 'n3'];

/** A vote request to n3 in term 5 from a candidate with an empty log. */
function voteInTerm5(from: string): Message {
  return { type: 'vote', from, to: 'n3', term: 5, pre: false, lastIndex: 0, lastTerm: 0 };
}

describe('leader election', () => {
  it('elects exactly one leader, which appends a no-op of its term', () => {
    const net = new TestNet(three, {}, 7);
    const leader = net.elect();
    const leaders = [...net.nodes.values()].filter((n) => n.core.role === 'leader');
    expect(leaders).toHaveLength(1);
    net.run(100);
    const first = leader.applied[0];
    expect(first?.kind).toBe('noop');
    expect(first?.term).toBe(leader.core.term);
    // Everyone follows it and applied the same entries.
    for (const n of net.nodes.values()) {
      expect(n.core.leader).toBe(leader.id);
      expect(n.applied.map((e) => `${e.index}/${e.term}/${e.kind}`)).toEqual(
        leader.applied.map((e) => `${e.index}/${e.term}/${e.kind}`),
      );
    }
  });

  it('reports the votes it gave and the votes it won with, once per term', () => {
    const net = new TestNet(['n1', 'n2', 'n3', 'n4', 'n5'], {}, 11);
    const leader = net.elect();
    const term = leader.core.term;
    const elected = leader.events.filter((e) => e.type === 'elected');
    expect(elected).toHaveLength(1);
    const [won] = elected;
    if (won?.type !== 'elected') throw new Error('no elected event');
    expect(won.term).toBe(term);
    expect(won.votes[0]).toBe(leader.id);
    expect(won.votes.length).toBeGreaterThanOrEqual(3);
    expect(new Set(won.votes).size).toBe(won.votes.length);
    // Each voter named there reported its vote for the leader in that term, and
    // pre-votes (granted before it) were no votes.
    for (const id of won.votes.slice(1)) {
      expect(net.node(id).events.filter((e) => e.type === 'vote-granted')).toEqual([
        { type: 'vote-granted', term, candidate: leader.id },
      ]);
    }
    // Asked again (a retransmitted request), a voter grants again but reports once.
    const voter = net.node(won.votes[1] ?? '');
    voter.core.step({
      type: 'vote',
      from: leader.id,
      to: voter.id,
      term,
      pre: false,
      lastIndex: leader.core.lastIndex,
      lastTerm: term,
    });
    net.flushReady();
    expect(voter.events.filter((e) => e.type === 'vote-granted')).toHaveLength(1);
  });

  it('a leader that hears another leader of its own term (a lost vote) steps down and follows it', () => {
    const net = new TestNet(three, { preVote: false }, 7);
    const leader = net.elect();
    const term = leader.core.term;
    const other = three.find((id) => id !== leader.id) ?? 'n2';
    // Only a voter that forgot its vote (its disk lost it) lets two win one term.
    const accepted = leader.core.step({
      type: 'heartbeat',
      from: other,
      to: leader.id,
      term,
      commit: 0,
      match: 0,
      matchTerm: 0,
      round: 1,
    });
    expect(accepted).toBe(true);
    expect(leader.core.role).toBe('follower');
    expect(leader.core.leader).toBe(other);
    expect(leader.core.term).toBe(term);
  });

  it('reports nothing for a vote it refuses or for a pre-vote', () => {
    const core = new RaftCore({ id: 'n2', peers: three, random: () => 0.5 });
    core.step({
      type: 'vote',
      from: 'n1',
      to: 'n2',
      term: 1,
      pre: true,
      lastIndex: 0,
      lastTerm: 0,
    });
    core.step({
      type: 'vote',
      from: 'n3',
      to: 'n2',
      term: 2,
      pre: false,
      lastIndex: 0,
      lastTerm: 0,
    });
    core.step({
      type: 'vote',
      from: 'n1',
      to: 'n2',
      term: 2,
      pre: false,
      lastIndex: 0,
      lastTerm: 0,
    });
    const rd = core.ready();
    expect(rd.events).toEqual([{ type: 'vote-granted', term: 2, candidate: 'n3' }]);
    expect(rd.messages.filter((m) => m.type === 'voteResponse' && m.granted)).toHaveLength(2);
  });

  it('draws election timeouts from the injected source, within [min, max]', () => {
    const timeouts: number[] = [];
    for (const r of [0, 0.5, 0.999999]) {
      const core = new RaftCore({ id: 'n1', peers: three, random: () => r, preVote: false });
      let ms = 0;
      while (core.role === 'follower' && ms < 1_000) {
        core.tick(1);
        ms++;
      }
      timeouts.push(ms);
    }
    expect(timeouts[0]).toBe(150);
    expect(timeouts[1]).toBe(225);
    expect(timeouts[2]).toBe(300);
  });

  it('campaigns with term and vote persisted before the vote requests leave', () => {
    const core = new RaftCore({ id: 'n1', peers: three, random: () => 0, preVote: false });
    core.tick(150);
    const rd = core.ready();
    expect(rd.hardState).toEqual({ term: 1, vote: 'n1', commit: 0 });
    expect(rd.messages.map((m) => m.type)).toEqual(['vote', 'vote']);
  });

  it('denies a vote to a candidate whose log is behind, unless the planted bug skips the check', () => {
    const restored = {
      hardState: { term: 2, vote: null, commit: 0 },
      snapshot: null,
      entries: [
        { index: 1, term: 1, kind: 'noop' as const, data: new Uint8Array(0) },
        { index: 2, term: 2, kind: 'noop' as const, data: new Uint8Array(0) },
      ],
    };
    const behind: Message = {
      type: 'vote',
      from: 'n1',
      to: 'n3',
      term: 3,
      pre: false,
      lastIndex: 5,
      lastTerm: 1,
    };
    const honest = new RaftCore({ id: 'n3', peers: three, random: () => 0 }, restored);
    honest.step(behind);
    expect(honest.ready().messages).toEqual([
      expect.objectContaining({ type: 'voteResponse', granted: false, term: 3 }),
    ]);
    const buggy = new RaftCore(
      { id: 'n3', peers: three, random: () => 0, unsafe: { grantVoteWithoutLogCheck: true } },
      restored,
    );
    buggy.step(behind);
    expect(buggy.ready().messages).toEqual([
      expect.objectContaining({ type: 'voteResponse', granted: true, term: 3 }),
    ]);
    // Same last term, longer log: up to date.
    const ok = new RaftCore({ id: 'n3', peers: three, random: () => 0 }, restored);
    ok.step({ ...behind, lastTerm: 2, lastIndex: 2 });
    expect(ok.ready().messages).toEqual([expect.objectContaining({ granted: true })]);
  });

  it('grants at most one vote per term, and keeps it across a restart', () => {
    const net = new TestNet(three, { preVote: false }, 1);
    const voter = net.node('n3');
    voter.core.step(voteInTerm5('n1'));
    net.flushReady();
    const restarted = net.restart('n3');
    restarted.core.step(voteInTerm5('n2'));
    const rd = restarted.core.ready();
    expect(rd.messages).toContainEqual(
      expect.objectContaining({ type: 'voteResponse', to: 'n2', granted: false }),
    );
  });

  it('forgets its vote across a restart with the planted bug (test-only hook)', () => {
    const net = new TestNet(three, { preVote: false, unsafe: { forgetToPersistVote: true } }, 1);
    net.node('n3').core.step(voteInTerm5('n1'));
    net.flushReady();
    const restarted = net.restart('n3');
    restarted.core.step(voteInTerm5('n2'));
    expect(restarted.core.ready().messages).toContainEqual(
      expect.objectContaining({ type: 'voteResponse', to: 'n2', granted: true }),
    );
  });

  it('re-elects after the leader is cut off, in a higher term', () => {
    const net = new TestNet(three, {}, 11);
    const first = net.elect();
    net.isolate(first.id);
    net.run(1_000);
    const second = net.leader();
    expect(second).toBeDefined();
    expect(second?.id).not.toBe(first.id);
    expect(second?.core.term).toBeGreaterThan(first.core.term);
  });

  it('resends vote requests to silent peers every heartbeat while campaigning', () => {
    const core = new RaftCore({ id: 'n1', peers: three, random: () => 0, preVote: false });
    core.tick(150);
    core.ready();
    core.step({ type: 'voteResponse', from: 'n2', to: 'n1', term: 1, pre: false, granted: false });
    core.tick(50);
    const again = core.ready().messages;
    expect(again).toEqual([expect.objectContaining({ type: 'vote', to: 'n3', term: 1 })]);
  });
});

describe('pre-vote', () => {
  it('keeps a node cut off from raising its term', () => {
    const net = new TestNet(three, { preVote: true }, 5);
    const leader = net.elect();
    const other = [...net.nodes.values()].find((n) => n !== leader);
    if (other === undefined) throw new Error('no follower');
    const term = other.core.term;
    net.isolate(other.id);
    net.run(2_000);
    expect(other.core.term).toBe(term);
    expect(other.core.role).toBe('precandidate');
    // Back in the cluster it rejoins without disrupting the leader.
    net.heal();
    net.run(300);
    expect(leader.core.role).toBe('leader');
    expect(leader.core.term).toBe(term);
    expect(other.core.leader).toBe(leader.id);
  });

  it('without pre-vote, the same node comes back with a higher term and forces an election', () => {
    const net = new TestNet(three, { preVote: false, checkQuorum: false }, 5);
    const leader = net.elect();
    const other = [...net.nodes.values()].find((n) => n !== leader);
    if (other === undefined) throw new Error('no follower');
    net.isolate(other.id);
    net.run(2_000);
    expect(other.core.term).toBeGreaterThan(leader.core.term);
    net.heal();
    net.run(1_000);
    expect(leader.core.term).toBeGreaterThan(1);
  });

  it('changes no term and no vote when granting a pre-vote', () => {
    const core = new RaftCore({ id: 'n3', peers: three, random: () => 0.5 });
    core.step({
      type: 'vote',
      from: 'n1',
      to: 'n3',
      term: 1,
      pre: true,
      lastIndex: 0,
      lastTerm: 0,
    });
    const rd = core.ready();
    expect(rd.messages).toEqual([
      expect.objectContaining({ type: 'voteResponse', pre: true, granted: true, term: 1 }),
    ]);
    expect(core.term).toBe(0);
    expect(rd.hardState).toBeNull();
  });
});

describe('check-quorum', () => {
  it('makes a leader that hears from no majority step down within an election timeout', () => {
    const net = new TestNet(three, { checkQuorum: true }, 2);
    const leader = net.elect();
    net.isolate(leader.id);
    net.run(2 * 150 + 20);
    expect(leader.core.role).toBe('follower');
    expect(leader.core.leader).toBeNull();
  });

  it('without it, a leader cut off stays leader of its minority', () => {
    const net = new TestNet(three, { checkQuorum: false, preVote: true }, 2);
    const leader = net.elect();
    net.isolate(leader.id);
    net.run(2_000);
    expect(leader.core.role).toBe('leader');
  });

  it('ignores vote requests while a leader was heard from recently (leader lease)', () => {
    const core = new RaftCore({ id: 'n3', peers: three, random: () => 0.5, checkQuorum: true });
    core.step({
      type: 'heartbeat',
      from: 'n1',
      to: 'n3',
      term: 1,
      commit: 0,
      match: 0,
      matchTerm: 0,
      round: 1,
    });
    core.ready();
    core.step({
      type: 'vote',
      from: 'n2',
      to: 'n3',
      term: 2,
      pre: false,
      lastIndex: 9,
      lastTerm: 1,
    });
    expect(core.term).toBe(1);
    expect(core.ready().messages).toEqual([]);
  });
});

describe('restart', () => {
  it('resumes from persisted state: term, vote, log and commit hint', () => {
    const net = new TestNet(three, {}, 4);
    const leader = net.elect();
    for (let i = 0; i < 5; i++) leader.core.propose(bytes(`v${i}`));
    net.run(100);
    const before = leader.core.status();
    const back = net.restart(leader.id);
    const st = back.core.status();
    expect(st.term).toBe(before.term);
    expect(st.lastIndex).toBe(before.lastIndex);
    expect(st.role).toBe('follower');
    // Entries up to the commit hint are handed out again for the fresh state machine.
    back.core.hasReady();
    const rd = back.core.ready();
    expect(rd.committedEntries.length).toBeGreaterThan(0);
  });

  it('refuses a restored log that is not contiguous, naming the node', () => {
    expect(
      () =>
        new RaftCore(
          { id: 'n1', peers: three, random: () => 0 },
          {
            hardState: EMPTY_HARD_STATE,
            snapshot: null,
            entries: [{ index: 2, term: 1, kind: 'noop', data: new Uint8Array(0) }],
          },
        ),
    ).toThrow(/n1.*index 2, expected 1/);
  });
});
