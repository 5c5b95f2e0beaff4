import { describe, expect, it } from 'vitest';
import { RaftCore } from '../raft/core.js';
import type { PersistBatch } from '../raft/storage.js';
import type { Entry } from '../raft/types.js';
import { SafetyChecker } from './checker.js';
import { FakeDisk } from './disk.js';

const e = (index: number, term: number, data = 'x'): Entry => ({
  index,
  term,
  kind: 'command',
  data: new TextEncoder().encode(data),
});
const batch = (entries: Entry[]): PersistBatch => ({
  snapshot: null,
  discardLog: false,
  entries,
  hardState: null,
});
const disk = (): FakeDisk =>
  new FakeDisk({ scheduleCompletion: () => undefined, onDurable: () => undefined });

describe('safety checker', () => {
  it('flags two leaders in one term', () => {
    const c = new SafetyChecker(2);
    const core = new RaftCore({ id: 'n1', peers: ['n1', 'n2', 'n3'], random: () => 0 });
    c.onLeader('n1', 3, core);
    expect(c.violation).toBeNull();
    c.onLeader('n2', 3, core);
    expect(c.violation?.invariant).toBe('election safety');
  });

  it('flags two different entries with the same index and term', () => {
    const c = new SafetyChecker(2);
    const d = disk().durable;
    c.onDurable('n1', batch([e(1, 1, 'a'), e(2, 1, 'b')]), d);
    c.onDurable('n2', batch([e(1, 1, 'a')]), d);
    expect(c.violation).toBeNull();
    c.onDurable('n3', batch([e(1, 1, 'a'), e(2, 1, 'other')]), d);
    expect(c.violation?.invariant).toBe('log matching');
  });

  it('flags a committed entry held durably by less than a quorum', () => {
    const c = new SafetyChecker(2);
    const core = new RaftCore(
      { id: 'n1', peers: ['n1', 'n2', 'n3'], random: () => 0 },
      { hardState: { term: 1, vote: null, commit: 1 }, snapshot: null, entries: [e(1, 1)] },
    );
    const d1 = disk();
    const d2 = disk();
    d1.durable.entries = [e(1, 1)];
    c.afterStep([
      { id: 'n1', core, disk: d1 },
      { id: 'n2', core: null, disk: d2 },
    ]);
    expect(c.violation?.invariant).toBe('no committed entry lost');
  });

  it('flags a read that misses a write committed before it was asked', () => {
    const c = new SafetyChecker(2);
    c.onRead('n1', 5, 5, 5);
    expect(c.violation).toBeNull();
    c.onRead('n1', 6, 5, 9);
    expect(c.violation?.invariant).toBe('linearizable read');
  });

  it('flags state machines that diverge at an index', () => {
    const c = new SafetyChecker(2);
    c.onState('n1', 4, 111, 'applied');
    c.onState('n2', 4, 111, 'restored');
    expect(c.violation).toBeNull();
    c.onState('n3', 4, 222, 'applied');
    expect(c.violation?.invariant).toBe('state machine safety');
  });
});

describe('fake disk', () => {
  it('makes writes durable in order, and a crash loses those not yet durable', () => {
    let scheduled = 0;
    const d = new FakeDisk({ scheduleCompletion: () => scheduled++, onDurable: () => undefined });
    let done = 0;
    void d.save(batch([e(1, 1)])).then(() => done++);
    void d.save(batch([e(2, 1)])).then(() => done++);
    expect(scheduled).toBe(2);
    expect(d.durable.entries).toEqual([]);
    d.complete();
    expect(done).toBe(1);
    expect(d.durable.entries.map((x) => x.index)).toEqual([1]);
    d.crash();
    d.complete();
    expect(done).toBe(1);
    expect(d.loaded().entries.map((x) => x.index)).toEqual([1]);
  });

  it('refuses an append that would leave a gap', () => {
    const d = new FakeDisk({ scheduleCompletion: () => undefined, onDurable: () => undefined });
    void d.save(batch([e(3, 1)]));
    expect(() => d.complete()).toThrow(/gap/);
  });
});
