import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encodeMessage } from './codec.js';
import { RaftCore } from './core.js';
import type { HeartbeatRequest, Message } from './messages.js';
import { MAX_NUMBER } from './messages.js';
import { Raft } from './raft.js';
import { EMPTY_STATE } from './storage.js';
import { arbMessage } from './test-support/arbitraries.js';
import { TestNet, bytes } from './test-support/net.js';

const three = ['n1', 'n2', 'n3'];

const hb: HeartbeatRequest = {
  type: 'heartbeat',
  from: 'n1',
  to: 'n2',
  term: 1,
  commit: 0,
  match: 0,
  matchTerm: 0,
  round: 2,
};

function follower(): RaftCore {
  const core = new RaftCore({ id: 'n2', peers: three, random: () => 0.5 });
  core.step({ ...hb, round: 1 });
  core.ready();
  return core;
}

/** Feeds a value the type system would reject, as a transport bug or a hostile caller might. */
function stepAny(core: RaftCore, m: unknown): boolean {
  return core.step(m as Message);
}

describe('malformed and out-of-range messages', () => {
  it.each([
    ['not an object', 42, 'malformed'],
    ['null', null, 'malformed'],
    ['an unknown type', { ...hb, type: 'gossip' }, 'malformed'],
    [
      'a missing field',
      { type: 'heartbeat', from: 'n1', to: 'n2', term: 1, commit: 0 },
      'malformed',
    ],
    ['a negative index', { ...hb, commit: -1 }, 'malformed'],
    ['a fractional term', { ...hb, term: 1.5 }, 'malformed'],
    ['NaN', { ...hb, round: Number.NaN }, 'malformed'],
    ['a string for a number', { ...hb, commit: '3' }, 'malformed'],
    ['an absurd term', { ...hb, term: MAX_NUMBER + 1 }, 'outOfRange'],
    ['an empty sender', { ...hb, from: '' }, 'malformed'],
    ['an unknown peer', { ...hb, from: 'n9' }, 'unknownPeer'],
    ['itself as sender', { ...hb, from: 'n2' }, 'unknownPeer'],
    ['another recipient', { ...hb, to: 'n3' }, 'wrongRecipient'],
    [
      'entries that skip an index',
      {
        type: 'append',
        from: 'n1',
        to: 'n2',
        term: 1,
        prevIndex: 0,
        prevTerm: 0,
        commit: 0,
        entries: [{ index: 2, term: 1, kind: 'command', data: bytes('x') }],
      },
      'outOfRange',
    ],
    [
      'an entry from a later term than its sender',
      {
        type: 'append',
        from: 'n1',
        to: 'n2',
        term: 1,
        prevIndex: 0,
        prevTerm: 0,
        commit: 0,
        entries: [{ index: 1, term: 5, kind: 'command', data: bytes('x') }],
      },
      'outOfRange',
    ],
    [
      'an entry of an unknown kind',
      {
        type: 'append',
        from: 'n1',
        to: 'n2',
        term: 1,
        prevIndex: 0,
        prevTerm: 0,
        commit: 0,
        entries: [{ index: 1, term: 1, kind: 'magic', data: bytes('x') }],
      },
      'malformed',
    ],
    [
      'a chunk running past its total',
      {
        ...hb,
        type: 'snapshotChunk',
        meta: { index: 3, term: 1, peers: three },
        total: 2,
        offset: 1,
        data: bytes('ab'),
      },
      'outOfRange',
    ],
  ])('drops and counts %s', (_name, m, reason) => {
    const core = follower();
    const before = core.status();
    expect(stepAny(core, m)).toBe(false);
    const after = core.status();
    expect(after.dropped[reason as keyof typeof after.dropped]).toBe(1);
    expect(after.term).toBe(before.term);
    expect(after.lastIndex).toBe(before.lastIndex);
  });

  it('drops and counts replies that point past the leader log', () => {
    const net = new TestNet(three, {}, 1);
    const leader = net.elect();
    const other = three.find((id) => id !== leader.id) ?? 'n2';
    const term = leader.core.term;
    expect(
      leader.core.step({
        type: 'appendResponse',
        from: other,
        to: leader.id,
        term,
        success: true,
        index: 1_000,
        hintIndex: 0,
        hintTerm: 0,
      }),
    ).toBe(false);
    expect(
      leader.core.step({
        type: 'heartbeatResponse',
        from: other,
        to: leader.id,
        term,
        round: 1_000,
        lastIndex: 0,
        holds: true,
      }),
    ).toBe(false);
    expect(leader.core.status().dropped.outOfRange).toBe(2);
    expect(leader.core.role).toBe('leader');
  });

  it('never throws on arbitrary values, and never changes state on malformed ones', () => {
    fc.assert(
      fc.property(fc.anything(), (v) => {
        const core = follower();
        const accepted = stepAny(core, v);
        if (!accepted) expect(core.term).toBe(1);
      }),
      { numRuns: 2_000 },
    );
  });

  it('never throws on well-formed messages of any content, from anyone, in any role', () => {
    fc.assert(
      fc.property(fc.array(arbMessage, { maxLength: 30 }), (msgs) => {
        const net = new TestNet(three, {}, 3);
        const leader = net.elect();
        for (const m of msgs) {
          for (const n of net.nodes.values()) n.core.step({ ...m, to: n.id, from: m.from });
          leader.core.tick(17);
          net.flushReady();
          net.take(() => true);
        }
      }),
      { numRuns: 200 },
    );
  });

  it('the driver drops garbage datagrams and forged senders, counting them', () => {
    const events: string[] = [];
    const raft = new Raft(
      { id: 'n2', peers: three },
      {
        storage: { load: () => Promise.resolve(EMPTY_STATE), save: () => Promise.resolve() },
        transport: { send: () => undefined },
        applier: () => undefined,
        snapshooter: () => new Uint8Array(0),
        random: () => 0.5,
        onEvent: (e) => events.push(e.type === 'dropped' ? `${e.reason}:${e.from}` : e.type),
      },
      EMPTY_STATE,
    );
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 100 }), (b) => {
        raft.handleMessage('n1', b);
      }),
      { numRuns: 1_000 },
    );
    raft.handleMessage('n3', encodeMessage(hb)); // says n1, came from n3
    const dropped = raft.progress().dropped;
    expect(dropped.malformed).toBeGreaterThan(990);
    expect(events.filter((e) => e.startsWith('malformed'))).not.toHaveLength(0);
    expect(events).toContain('malformed:n3');
    expect(raft.progress().term).toBe(0);
  });
});

describe('settings', () => {
  it('refuse what cannot work, naming the node and the setting', () => {
    const make = (extra: object) => () =>
      new RaftCore({ id: 'n1', peers: three, random: () => 0, ...extra });
    expect(make({ peers: ['n2', 'n3'] })).toThrow(/settings of n1: peers must include this node/);
    expect(make({ heartbeatMs: 200 })).toThrow(/heartbeatMs must be below electionTimeoutMinMs/);
    expect(make({ electionTimeoutMaxMs: 100 })).toThrow(/electionTimeoutMaxMs/);
    expect(make({ maxMessageLength: 100 })).toThrow(/maxMessageLength must be at least 256/);
    expect(make({ maxInflight: 0 })).toThrow(/maxInflight must be a whole number >= 1/);
    const many = Array.from({ length: 60 }, (_, i) => `node-with-a-rather-long-name-${i}`);
    expect(() => new RaftCore({ id: many[0] ?? '', peers: many, random: () => 0 })).toThrow(
      /peers \(60 of them\) leave no room for snapshot chunks/,
    );
  });
});
