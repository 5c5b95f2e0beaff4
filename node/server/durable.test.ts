import { describe, expect, it } from 'vitest';
import type { PersistBatch, PersistedState, RaftStorage } from '../raft/storage.js';
import type { Entry } from '../raft/types.js';
import { ObservedStorage } from './durable.js';

const entry = (index: number, term = 1): Entry => ({
  index,
  term,
  kind: 'command',
  data: new Uint8Array([index]),
});
const batch = (entries: Entry[], over: Partial<PersistBatch> = {}): PersistBatch => ({
  snapshot: null,
  discardLog: false,
  entries,
  hardState: null,
  ...over,
});

describe('ObservedStorage', () => {
  it('reports what each save made durable, and suffixes a save overwrites', async () => {
    const inner: RaftStorage = {
      load: () =>
        Promise.resolve<PersistedState>({
          hardState: { term: 1, vote: null, commit: 0 },
          snapshot: null,
          entries: [entry(1), entry(2), entry(3)],
        }),
      save: () => Promise.resolve(),
    };
    const saved: Array<number | null> = [];
    const overwritten: Array<[number, number]> = [];
    const s = new ObservedStorage(inner, {
      saved: (last) => saved.push(last),
      overwriting: (from, last) => overwritten.push([from, last]),
    });
    await s.load();
    await s.save(batch([entry(4)]));
    await s.save(batch([], { hardState: { term: 2, vote: 'n2', commit: 1 } }));
    await s.save(batch([entry(3, 2), entry(4, 2)]));
    await s.save(
      batch([], {
        snapshot: { meta: { index: 9, term: 3, peers: ['n1'] }, data: new Uint8Array() },
        discardLog: true,
      }),
    );
    await s.save(batch([entry(10, 3)]));
    expect(saved).toEqual([4, null, 4, null, 10]);
    expect(overwritten).toEqual([[3, 4]]);
  });
});
