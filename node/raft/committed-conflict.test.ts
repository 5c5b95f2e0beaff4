/**
 * A follower holding committed entries that the leader lacks: the leader and
 * a majority lost them to a lying disk (`--unsafe lazy-wal`, `--fsync never`
 * and a power cut) and a new leader wrote other entries at those indices.
 * Raft has no safe repair (the follower applied them), so the follower must
 * neither take the leader's entries over its committed ones nor claim to
 * match the leader; it refuses, counts and reports each refusal.
 */
import { describe, expect, it } from 'vitest';
import type { CoreEvent } from './ready.js';
import { TestNet, bytes, text, type TestNode } from './test-support/net.js';
import type { Entry } from './types.js';

const three = ['n1', 'n2', 'n3'];

function conflicts(n: TestNode): Extract<CoreEvent, { type: 'committed-conflict' }>[] {
  return n.events.filter(
    (e): e is Extract<CoreEvent, { type: 'committed-conflict' }> => e.type === 'committed-conflict',
  );
}

function shape(entries: readonly Entry[]): string[] {
  return entries.map((e) => `${e.index}/${e.term}/${text(e.data)}`);
}

/**
 * Commits 10 commands on all three nodes, then the leader and `b` lose every
 * entry after index `keep` while `f` is cut off; `b` wins the next term and
 * writes `more` commands. Returns the cluster before `f` hears of it.
 */
function lostByMajority(keep: number, more: number) {
  const net = new TestNet(three, { preVote: false }, 11);
  const old = net.elect();
  for (let i = 0; i < 10; i++) old.core.propose(bytes(`v${i}`));
  net.run(200);
  const [f, b] = three.filter((id) => id !== old.id) as [string, string];
  const follower = net.node(f);
  const committed = follower.core.commitIndex;
  expect(committed).toBe(old.core.lastIndex);
  expect(committed).toBeGreaterThan(keep + 2);
  const held = shape(follower.disk.entries);
  const applied = shape(follower.applied);

  net.isolate(f);
  for (const id of [old.id, b]) {
    const disk = net.node(id).disk;
    net.start(id, {
      hardState: { ...disk.hardState, commit: Math.min(disk.hardState.commit, keep) },
      snapshot: disk.snapshot,
      entries: disk.entries.filter((e) => e.index <= keep),
    });
  }
  net.campaign(b);
  net.run(200);
  const leader = net.node(b);
  expect(leader.core.role).toBe('leader');
  for (let i = 0; i < more; i++) leader.core.propose(bytes(`w${i}`));
  net.run(200);
  expect(leader.core.commitIndex).toBe(leader.core.lastIndex);
  // The new leader's first entry sits where `f` holds a committed one of an older term.
  expect(leader.core.termAt(keep + 1)).toBe(leader.core.term);
  expect(follower.core.termAt(keep + 1)).toBeLessThan(leader.core.term);
  return { net, leader, follower, committed, held, applied };
}

describe('a follower whose committed entries the leader lost', () => {
  it('refuses the leader appends, keeps its committed entries, and reports the conflict', () => {
    // The leader ends up with a longer log than the follower's: its appends
    // reach past the follower's committed entries.
    const { net, leader, follower, committed, held, applied } = lostByMajority(4, 12);
    expect(leader.core.lastIndex).toBeGreaterThan(committed);
    net.heal();
    net.run(500);

    // Untouched: the same entries, nothing appended after them, nothing more applied.
    expect(shape(follower.disk.entries)).toEqual(held);
    expect(follower.core.lastIndex).toBe(committed);
    expect(follower.core.commitIndex).toBe(committed);
    expect(shape(follower.applied)).toEqual(applied);
    // It still follows that leader (no election disrupts the cluster).
    expect(follower.core.role).toBe('follower');
    expect(follower.core.leader).toBe(leader.id);

    // Each refusal is counted and reported, naming the leader, its term and the first index.
    const seen = conflicts(follower);
    expect(seen.length).toBeGreaterThan(1);
    expect(follower.core.status().committedConflicts).toBe(seen.length);
    for (const e of seen)
      expect(e).toEqual({
        type: 'committed-conflict',
        leader: leader.id,
        term: leader.core.term,
        index: 5,
        entryTerm: leader.core.term,
        committedTerm: follower.core.termAt(5),
        commit: committed,
      });
    // Nobody else saw one.
    for (const id of three.filter((x) => x !== follower.id)) {
      expect(conflicts(net.node(id))).toEqual([]);
      expect(net.node(id).core.status().committedConflicts).toBe(0);
    }
  });

  it('does not claim to match a leader whose log is shorter than its commit index', () => {
    const { net, leader, follower, committed } = lostByMajority(3, 1);
    expect(leader.core.lastIndex).toBeLessThan(committed);
    net.heal();
    net.run(300);
    expect(conflicts(follower).length).toBeGreaterThan(0);
    // Not counted as holding the leader's entries it does not have.
    const pr = leader.core.status().progress.find((p) => p.id === follower.id);
    expect(pr?.match).toBeLessThanOrEqual(3);
    expect(follower.core.lastIndex).toBe(committed);
  });

  it('refuses a large entry sent in chunks over a committed one', () => {
    const { net, leader, follower, committed, held } = lostByMajority(4, 0);
    const before = follower.core.status().committedConflicts;
    const data = new Uint8Array(5_000).fill(7);
    // The leader's entry 5 (of its term), as its first chunk: it would replace a committed entry.
    follower.core.step({
      type: 'entryChunk',
      from: leader.id,
      to: follower.id,
      term: leader.core.term,
      prevIndex: 4,
      prevTerm: follower.core.termAt(4) ?? 0,
      commit: leader.core.commitIndex,
      entryTerm: leader.core.term,
      kind: 'command',
      total: data.length,
      offset: 0,
      data: data.subarray(0, 1000),
    });
    net.flushReady();
    expect(follower.core.status().committedConflicts).toBe(before + 1);
    expect(conflicts(follower).at(-1)).toMatchObject({ index: 5, leader: leader.id });
    // No acknowledgement that would let the leader count it as holding entry 5.
    expect(
      net.inflight.filter((x) => x.m.from === follower.id && x.m.type !== 'heartbeatResponse'),
    ).toEqual([]);
    expect(shape(follower.disk.entries)).toEqual(held);
    expect(follower.core.lastIndex).toBe(committed);
  });

  it('never happens in a cluster whose disks keep what they acknowledged', () => {
    const net = new TestNet(three, { preVote: false }, 5);
    for (let round = 0; round < 4; round++) {
      const leader = net.elect();
      for (let i = 0; i < 5; i++) leader.core.propose(bytes(`r${round}-${i}`));
      net.run(200);
      // Crash and restart the leader from what it persisted: another one takes over.
      net.isolate(leader.id);
      net.run(1_000);
      net.restart(leader.id);
      net.heal();
      net.run(300);
    }
    for (const id of three) {
      expect(conflicts(net.node(id))).toEqual([]);
      expect(net.node(id).core.status().committedConflicts).toBe(0);
    }
  });
});
