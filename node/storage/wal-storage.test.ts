import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Entry, Snapshot } from '../raft/types.js';
import { Prng } from '../util/prng.js';
import { CrashFs } from './crash-fs.js';
import { WalStorage } from './wal-storage.js';
import type { Timers, WalStorageOptions } from './wal-storage.js';

function entry(index: number, term: number, text = `v${index}.${term}`): Entry {
  return { index, term, kind: 'command', data: new TextEncoder().encode(text) };
}

function range(from: number, to: number, term: number): Entry[] {
  const out: Entry[] = [];
  for (let i = from; i <= to; i++) out.push(entry(i, term));
  return out;
}

function snap(index: number, term: number, text = `state@${index}`): Snapshot {
  return { meta: { index, term, peers: ['n1', 'n2', 'n3'] }, data: new TextEncoder().encode(text) };
}

function summary(entries: readonly Entry[]): string[] {
  return entries.map((e) => `${e.index}/${e.term}/${new TextDecoder().decode(e.data)}`);
}

describe('WalStorage on the real disk', () => {
  let dir: string;
  const open = (extra: Partial<WalStorageOptions> = {}): Promise<WalStorage> =>
    WalStorage.open({ dir, ...extra });

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'raftbed-wal-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('starts empty in a new directory', async () => {
    const s = await open();
    const state = await s.load();
    expect(state).toEqual({
      hardState: { term: 0, vote: null, commit: 0 },
      snapshot: null,
      entries: [],
    });
    expect([s.firstIndex, s.lastIndex]).toEqual([1, 0]);
    await s.close();
  });

  it('recovers entries and the latest hard state exactly', async () => {
    const s = await open();
    await s.append(range(1, 5, 1));
    await s.saveHardState({ term: 1, vote: 'n2', commit: 3 });
    await s.save({ entries: range(6, 7, 2), hardState: { term: 2, vote: null, commit: 5 } });
    await s.close();
    const again = await open();
    const state = await again.load();
    expect(summary(state.entries)).toEqual(summary([...range(1, 5, 1), ...range(6, 7, 2)]));
    expect(state.hardState).toEqual({ term: 2, vote: null, commit: 5 });
    expect(again.lastIndex).toBe(7);
    await again.close();
  });

  it('an append at a held index replaces the suffix from there', async () => {
    const s = await open();
    await s.append(range(1, 6, 1));
    await s.append([entry(4, 2, 'new4')]);
    expect(s.lastIndex).toBe(4);
    await s.append([entry(5, 2, 'new5')]);
    await s.close();
    const again = await open();
    expect(summary((await again.load()).entries)).toEqual([
      '1/1/v1.1',
      '2/1/v2.1',
      '3/1/v3.1',
      '4/2/new4',
      '5/2/new5',
    ]);
    await again.close();
  });

  it('recovers without a clean close (a killed process keeps what was acknowledged)', async () => {
    const s = await open();
    await Promise.all([
      s.append(range(1, 3, 1)),
      s.saveHardState({ term: 1, vote: 'n1', commit: 0 }),
    ]);
    // no close: the next process opens the same directory
    const again = await open();
    const state = await again.load();
    expect(summary(state.entries)).toEqual(summary(range(1, 3, 1)));
    expect(state.hardState.vote).toBe('n1');
    await again.close();
    await s.close(); // the abandoned handle, only so no descriptor leaks
  });

  it('snapshot compacts the log, removes covered segments and the older snapshot', async () => {
    const s = await open({ segmentBytes: 200 });
    for (let i = 1; i <= 60; i += 5) await s.append(range(i, i + 4, 1));
    await s.saveHardState({ term: 1, vote: 'n1', commit: 60 });
    const before = (await readdir(dir)).filter((n) => n.startsWith('wal-'));
    expect(before.length).toBeGreaterThan(4);

    await s.saveSnapshot(snap(30, 1));
    await s.saveSnapshot(snap(45, 1));
    // Old files go after the snapshot is acknowledged; a sync queued behind waits for that.
    await s.sync();
    const files = await readdir(dir);
    expect(files.filter((n) => n.startsWith('snap-'))).toEqual(['snap-0000000000000045.snap']);
    const after = files.filter((n) => n.startsWith('wal-'));
    expect(after.length).toBeLessThan(before.length);
    expect(s.metrics().segments).toBe(after.length);
    expect([s.firstIndex, s.lastIndex]).toEqual([46, 60]);
    await s.close();

    const again = await open({ segmentBytes: 200 });
    const state = await again.load();
    expect(state.snapshot?.meta).toEqual({ index: 45, term: 1, peers: ['n1', 'n2', 'n3'] });
    expect(new TextDecoder().decode(state.snapshot?.data)).toBe('state@45');
    expect(summary(state.entries)).toEqual(summary(range(46, 60, 1)));
    expect(state.hardState).toEqual({ term: 1, vote: 'n1', commit: 60 });
    await again.close();
  });

  it('a snapshot that conflicts with the log discards the log after it', async () => {
    const s = await open({ segmentBytes: 400 });
    await s.append(range(1, 20, 1));
    // Installed from a leader whose entry 10 has term 3: ours after 9 is from a dead branch.
    await s.saveSnapshot(snap(10, 3), { discardLog: true });
    expect(s.lastIndex).toBe(10);
    await s.append(range(11, 12, 3));
    await s.close();
    const again = await open();
    const state = await again.load();
    expect(state.snapshot?.meta.index).toBe(10);
    expect(summary(state.entries)).toEqual(summary(range(11, 12, 3)));
    await again.close();
  });

  it('a snapshot matching the log keeps the entries after it', async () => {
    const s = await open();
    await s.append(range(1, 20, 2));
    await s.saveSnapshot(snap(10, 2));
    await s.close();
    const again = await open();
    expect(summary((await again.load()).entries)).toEqual(summary(range(11, 20, 2)));
    await again.close();
  });

  it('an installed snapshot beyond the log leaves an empty log after it', async () => {
    const s = await open();
    await s.append(range(1, 3, 1));
    await s.saveSnapshot(snap(50, 4));
    await s.append([entry(51, 4)]);
    // entries at or below the snapshot are covered and skipped
    await s.append([entry(50, 4), entry(51, 4), entry(52, 4)]);
    await s.close();
    const again = await open();
    const state = await again.load();
    expect(state.snapshot?.meta.index).toBe(50);
    expect(summary(state.entries)).toEqual(summary(range(51, 52, 4)));
    await again.close();
  });

  it('recovers the same state over several restarts', async () => {
    let s = await open({ segmentBytes: 300 });
    await s.append(range(1, 10, 1));
    for (let boot = 0; boot < 4; boot++) {
      await s.close();
      s = await open({ segmentBytes: 300 });
      expect(summary((await s.load()).entries)).toEqual(summary(range(1, 10, 1)));
    }
    await s.close();
  });

  it('refuses appends that would leave a gap or are not contiguous, and older snapshots', async () => {
    const s = await open();
    await s.append(range(1, 3, 1));
    await expect(s.append([entry(5, 1)])).rejects.toThrow(/gap/);
    await expect(s.append([entry(4, 1), entry(6, 1)])).rejects.toThrow(/contiguous/);
    await s.saveSnapshot(snap(2, 1));
    await expect(s.saveSnapshot(snap(1, 1))).rejects.toThrow(/current one is at 2/);
    expect(s.lastIndex).toBe(3);
    await s.close();
  });

  it('counts fsyncs, bytes, records and segments', async () => {
    const s = await open({ segmentBytes: 256 });
    for (let i = 1; i <= 20; i++) await s.append([entry(i, 1)]);
    const m = s.metrics();
    expect(m.fsyncs).toBeGreaterThanOrEqual(20);
    expect(m.records).toBeGreaterThanOrEqual(20);
    expect(m.bytesWritten).toBeGreaterThan(20 * 8);
    expect(m.segments).toBeGreaterThan(1);
    expect(m.fsyncP99Ms).toBeGreaterThanOrEqual(m.fsyncP50Ms);
    await s.close();
  });
});

describe('fsync policies (fsyncs counted through the Fs seam)', () => {
  const openOn = (fs: CrashFs, extra: Partial<WalStorageOptions> = {}): Promise<WalStorage> =>
    WalStorage.open({ dir: '/d', fs, ...extra });

  it('always: 200 concurrent saves share a few fsyncs (group commit), all durable', async () => {
    const fs = new CrashFs(new Prng(1));
    const s = await openOn(fs);
    const syncsBefore = fs.counts.sync;
    const saves = range(1, 200, 1).map((e) => s.append([e]));
    // A save that arrives while an fsync is in flight joins the next one.
    await saves[0];
    saves.push(s.saveHardState({ term: 1, vote: 'n1', commit: 1 }));
    await Promise.all(saves);
    const syncs = fs.counts.sync - syncsBefore;
    expect(syncs).toBeGreaterThanOrEqual(1);
    expect(syncs).toBeLessThanOrEqual(4);
    fs.crashNow();
    fs.reboot();
    const again = await openOn(fs);
    expect((await again.load()).entries).toHaveLength(200);
    expect((await again.load()).hardState.vote).toBe('n1');
  });

  it('always: sequential saves take one fsync each', async () => {
    const fs = new CrashFs(new Prng(2));
    const s = await openOn(fs);
    const before = fs.counts.sync;
    for (let i = 1; i <= 10; i++) await s.append([entry(i, 1)]);
    expect(fs.counts.sync - before).toBe(10);
  });

  it('a failed write rejects the save and every later one; close refuses saves too', async () => {
    const fs = new CrashFs(new Prng(7));
    const events: string[] = [];
    const s = await WalStorage.open({
      dir: '/d',
      fs: fs.process(),
      onEvent: (e) => events.push(e),
    });
    await s.append([entry(1, 1)]);
    fs.crashAfter(1);
    await expect(s.append([entry(2, 1)])).rejects.toThrow(/storage failed: write to \/d failed/);
    await expect(s.saveHardState({ term: 1, vote: null, commit: 0 })).rejects.toThrow(
      /storage failed/,
    );
    expect(events).toContain('storage_failed');

    const other = await WalStorage.open({ dir: '/e', fs: new CrashFs(new Prng(8)) });
    await other.close();
    await expect(other.append([entry(1, 1)])).rejects.toThrow(/closed/);
  });

  it('never: saves resolve without an fsync', async () => {
    const fs = new CrashFs(new Prng(3));
    const s = await openOn(fs, { fsync: 'never' });
    const before = fs.counts.sync;
    for (let i = 1; i <= 10; i++) await s.append([entry(i, 1)]);
    expect(fs.counts.sync - before).toBe(0);
    await s.sync();
    expect(fs.counts.sync - before).toBe(1);
  });

  it('batch: fsyncs at most once per interval, saves resolve only after it', async () => {
    const fs = new CrashFs(new Prng(4));
    let clock = 0;
    const waits: { fn: () => void; ms: number }[] = [];
    const timers: Timers = {
      setTimeout: (fn, ms) => waits.push({ fn, ms }),
      clearTimeout: () => undefined,
    };
    const s = await openOn(fs, { fsync: 'batch', batchIntervalMs: 50, timers, now: () => clock });
    const before = fs.counts.sync;
    clock = 100; // the fsync of the new segment at open was long ago
    await s.append([entry(1, 1)]); // so this one is due at once
    expect(fs.counts.sync - before).toBe(1);
    let resolved = 0;
    const later = [s.append([entry(2, 1)]), s.append([entry(3, 1)])].map((p) =>
      p.then(() => resolved++),
    );
    for (let i = 0; i < 20; i++) await Promise.resolve();
    expect(fs.counts.append).toBeGreaterThan(0);
    expect(resolved).toBe(0);
    expect(waits.map((w) => w.ms)).toEqual([50]);
    clock = 150;
    waits[0]?.fn();
    await Promise.all(later);
    expect(fs.counts.sync - before).toBe(2);
  });

  it('unsafe lazy-wal: acknowledges before writing and flushes on the timer', async () => {
    const fs = new CrashFs(new Prng(5));
    const waits: { fn: () => void; ms: number }[] = [];
    const timers: Timers = {
      setTimeout: (fn, ms) => waits.push({ fn, ms }),
      clearTimeout: () => undefined,
    };
    const s = await openOn(fs, { unsafeLazyWal: true, timers });
    expect(waits.map((w) => w.ms)).toEqual([1000]);
    const appendsBefore = fs.counts.append;
    await s.append(range(1, 5, 1));
    await s.saveHardState({ term: 1, vote: 'n3', commit: 5 });
    for (let i = 0; i < 20; i++) await Promise.resolve();
    expect(fs.counts.append).toBe(appendsBefore);

    // Power lost before the timer: acknowledged writes are gone.
    const copy = new CrashFs(new Prng(6));
    for (const [path, data] of fs.files()) copy.putDurable(path, data);
    expect((await (await openOn(copy)).load()).entries).toHaveLength(0);

    waits[0]?.fn();
    for (let i = 0; i < 50 && fs.counts.sync === 0; i++) await Promise.resolve();
    await s.sync();
    fs.crashNow();
    fs.reboot();
    const state = await (await openOn(fs)).load();
    expect(state.entries).toHaveLength(5);
    expect(state.hardState.vote).toBe('n3');
  });
});
