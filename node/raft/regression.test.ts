/**
 * A follower whose disk lost entries it had acknowledged (a lying or unsynced
 * disk, a WAL cut by hand). Raft assumes this never happens; the testbed needs
 * the cluster to keep going anyway so that the loss can be observed.
 */
import { describe, expect, it } from 'vitest';
import type { Message } from './messages.js';
import type { CoreEvent } from './ready.js';
import { TestNet, bytes, text } from './test-support/net.js';
import type { Entry } from './types.js';

const three = ['n1', 'n2', 'n3'];

/** Elects a leader, commits `count` commands everywhere, and names the two followers. */
function settled(count: number, seed = 7) {
  const net = new TestNet(three, { preVote: false }, seed);
  const leader = net.elect();
  for (let i = 0; i < count; i++) leader.core.propose(bytes(`v${i}`));
  net.run(200);
  const [a, b] = three.filter((id) => id !== leader.id) as [string, string];
  for (const id of three) expect(net.node(id).core.commitIndex).toBe(leader.core.lastIndex);
  return { net, leader, a, b };
}

/** Restarts `id` from a disk that kept only entries up to `keep` (and the hard state). */
function loseTail(net: TestNet, id: string, keep: number, replace: Entry[] = []) {
  const disk = net.node(id).disk;
  return net.start(id, {
    hardState: { ...disk.hardState, commit: Math.min(disk.hardState.commit, keep) },
    snapshot: disk.snapshot,
    entries: [...disk.entries.filter((e) => e.index <= keep), ...replace],
  });
}

function regressedEvents(net: TestNet, id: string): CoreEvent[] {
  return net.node(id).events.filter((e) => e.type === 'follower-regressed');
}

describe('a follower that lost entries it acknowledged', () => {
  it('is caught up from where its log ends, so a majority including it commits again', () => {
    const { net, leader, a, b } = settled(10);
    const acked = leader.core.status().progress.find((p) => p.id === a)?.match ?? 0;
    expect(acked).toBe(leader.core.lastIndex);
    // `a` comes back with only the first 4 entries; `b` is cut off, so the
    // only majority is the leader and `a`.
    const back = loseTail(net, a, 4);
    expect(back.core.lastIndex).toBe(4);
    net.isolate(b);
    const r = leader.core.propose(bytes('after'));
    if (!r.ok) throw new Error('leader lost');
    net.run(300);
    expect(leader.core.commitIndex).toBeGreaterThanOrEqual(r.index);
    expect(back.core.lastIndex).toBe(leader.core.lastIndex);
    expect(back.applied.map((e) => text(e.data))).toContain('after');
    // Counted and reported once, with what it held and what it had acknowledged.
    expect(leader.core.status().followerRegressions).toBe(1);
    expect(regressedEvents(net, leader.id)).toEqual([
      { type: 'follower-regressed', peer: a, term: leader.core.term, lastIndex: 4, match: acked },
    ]);
  });

  it('is caught up when nothing new is written too (the heartbeat answer carries its last index)', () => {
    const { net, leader, a } = settled(6);
    const back = loseTail(net, a, 2);
    net.run(200);
    expect(back.core.lastIndex).toBe(leader.core.lastIndex);
    expect(back.core.commitIndex).toBe(leader.core.commitIndex);
    expect(leader.core.status().progress.find((p) => p.id === a)?.match).toBe(
      leader.core.lastIndex,
    );
  });

  it('a rejection at or below what it acknowledged prompts a heartbeat that settles it', () => {
    const { net, leader, a } = settled(6);
    loseTail(net, a, 3);
    // The next append goes from past what `a` acknowledged: `a` rejects it.
    net.sent = [];
    leader.core.propose(bytes('x'));
    net.flushReady();
    net.deliver(net.take((m) => m.type === 'append' && m.to === a));
    const reject = net.take((m) => m.type === 'appendResponse' && !m.success && m.from === a);
    expect(reject).toHaveLength(1);
    const heartbeatsTo = (id: string): number =>
      net.sent.filter((m: Message) => m.type === 'heartbeat' && m.to === id).length;
    const before = heartbeatsTo(a);
    net.deliver(reject);
    // No time passed: the rejection itself asked, and the answer settles it.
    expect(heartbeatsTo(a)).toBe(before + 1);
    expect(leader.core.status().followerRegressions).toBe(0);
    net.deliver(net.take((m) => m.type === 'heartbeat' && m.to === a));
    net.deliver(net.take((m) => m.type === 'heartbeatResponse' && m.from === a));
    expect(leader.core.status().followerRegressions).toBe(1);
    net.run(200);
    expect(net.node(a).core.lastIndex).toBe(leader.core.lastIndex);
  });

  it('a stale rejection (reordered behind a later acknowledgement) resets nothing', () => {
    const net = new TestNet(three, { preVote: false, maxEntriesPerAppend: 1, maxInflight: 4 }, 3);
    const leader = net.elect();
    net.run(200);
    const a = three.find((id) => id !== leader.id) ?? 'n2';
    for (let i = 0; i < 3; i++) leader.core.propose(bytes(`v${i}`));
    net.flushReady();
    // Three pipelined appends to `a`: deliver the last first (rejected: a gap),
    // then the others; the acknowledgements reach the leader before the rejection.
    const appends = net.take((m) => m.type === 'append' && m.to === a);
    expect(appends).toHaveLength(3);
    net.deliver(appends.slice(2));
    const reject = net.take((m) => m.type === 'appendResponse' && !m.success);
    expect(reject).toHaveLength(1);
    net.deliver(appends.slice(0, 2));
    net.deliver(net.take((m) => m.type === 'appendResponse' && m.from === a));
    net.deliver(reject);
    net.run(300);
    expect(leader.core.status().followerRegressions).toBe(0);
    expect(regressedEvents(net, leader.id)).toEqual([]);
    expect(net.node(a).core.lastIndex).toBe(leader.core.lastIndex);
  });

  it('an honest restart is not taken for a loss', () => {
    const { net, leader, a, b } = settled(8);
    net.restart(a);
    net.restart(b);
    leader.core.propose(bytes('more'));
    net.run(300);
    expect(leader.core.status().followerRegressions).toBe(0);
    for (const id of three) expect(net.node(id).core.commitIndex).toBe(leader.core.lastIndex);
  });
});

describe('a heartbeat commit index past what the follower can vouch for', () => {
  it('commits nothing beyond the follower log, nor entries of another term at that index', () => {
    const first = settled(0);
    const net = first.net;
    // A second leader writes the entries from index 3 on, in a later term.
    net.campaign(first.a);
    net.run(200);
    const leader = net.node(first.a);
    const a = first.b;
    expect(leader.core.role).toBe('leader');
    for (let i = 0; i < 6; i++) leader.core.propose(bytes(`v${i}`));
    net.run(200);
    const term = leader.core.term;
    expect(leader.core.termAt(3)).toBe(term);
    expect(leader.core.termAt(2)).toBeLessThan(term);
    const last = leader.core.lastIndex;
    // `a` lost its tail, and what it kept past index 2 is an older, different
    // suffix (its overwrite of it was never written): a term below the leader's.
    const stale: Entry[] = [3, 4, 5].map((index) => ({
      index,
      term: leader.core.termAt(2) ?? 0,
      kind: 'command',
      data: bytes(`stale-${index}`),
    }));
    const back = loseTail(net, a, 2, stale);
    const commit0 = back.core.commitIndex;
    expect(commit0).toBeLessThanOrEqual(2);
    // The leader still believes `a` holds everything: its heartbeat says commit `last`.
    leader.core.tick(leader.core.settingsUsed.heartbeatMs);
    net.flushReady();
    const hb = net.take((m) => m.type === 'heartbeat' && m.to === a);
    expect(hb.map((h) => h.m)).toMatchObject([{ commit: last }]);
    // Within its log (index 5 exists, with another term) and beyond it: no commit.
    for (const index of [5, last]) {
      back.core.step({
        type: 'heartbeat',
        from: leader.id,
        to: a,
        term,
        commit: index,
        match: index,
        matchTerm: term,
        round: 1_000 + index,
      });
      expect(back.core.commitIndex).toBe(commit0);
    }
    net.flushReady();
    expect(back.applied.map((e) => text(e.data))).not.toContain('stale-3');
    // The real heartbeat asked about the leader's entry at what `a` acknowledged;
    // `a` answers that it does not hold it.
    expect(hb.map((h) => h.m)).toMatchObject([{ match: last, matchTerm: term }]);
    net.take(() => true); // the answers to the made-up heartbeats above
    net.deliver(hb);
    expect(net.take((m) => m.type === 'heartbeatResponse').map((r) => r.m)).toMatchObject([
      { holds: false, lastIndex: 5 },
    ]);
    // Once the leader has put its own entries back, the same heartbeat commits.
    net.take(() => true);
    net.run(300);
    expect(back.core.commitIndex).toBe(leader.core.commitIndex);
    expect(back.applied.map((e) => text(e.data))).not.toContain('stale-3');
    expect(back.applied.map((e) => `${e.index}/${e.term}`)).toEqual(
      leader.applied.map((e) => `${e.index}/${e.term}`),
    );
  });
});
