import { appendFile, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Entry, HardState, Snapshot } from '../raft/types.js';
import { Prng } from '../util/prng.js';
import { CrashFs } from './crash-fs.js';
import { StorageCorruptError } from './errors.js';
import { encodeRecord } from './records.js';
import { scanSegment } from './segment-scan.js';
import { LogModel, matchesSomePrefix } from './test-support/log-model.js';
import { WalStorage } from './wal-storage.js';
import type { SaveBatch } from './wal-storage.js';

function entry(index: number, term: number): Entry {
  return { index, term, kind: 'command', data: new TextEncoder().encode(`value-${index}-${term}`) };
}

function range(from: number, to: number, term: number): Entry[] {
  const out: Entry[] = [];
  for (let i = from; i <= to; i++) out.push(entry(i, term));
  return out;
}

describe('recovery of damaged files', () => {
  let dir: string;
  const events: { event: string; fields: Record<string, unknown> }[] = [];
  const open = (segmentBytes = 64 * 1024): Promise<WalStorage> =>
    WalStorage.open({
      dir,
      segmentBytes,
      onEvent: (event, fields) => events.push({ event, fields }),
    });
  const segments = async (): Promise<string[]> =>
    (await readdir(dir)).filter((n) => n.startsWith('wal-')).sort();
  const lastSegment = async (): Promise<string> => (await segments()).at(-1) ?? '';
  /** Offsets of the records in a segment file. */
  const offsets = async (name: string): Promise<number[]> =>
    scanSegment(new Uint8Array(await readFile(join(dir, name)))).records.map((r) => r.offset);
  const flipByte = async (name: string, offset: number): Promise<void> => {
    const buf = await readFile(join(dir, name));
    buf[offset] = (buf[offset] ?? 0) ^ 0x40;
    await writeFile(join(dir, name), buf);
  };

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'raftbed-recovery-'));
    events.length = 0;
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  /** Ten saves of one entry each: records are header, state, then entries 1..10. */
  async function writeTen(): Promise<void> {
    const s = await open();
    for (let i = 1; i <= 10; i++) await s.append([entry(i, 1)]);
    await s.close();
  }

  it('a partial record at the end is cut off and reported with file, offset and bytes', async () => {
    await writeTen();
    const name = await lastSegment();
    const size = (await stat(join(dir, name))).size;
    const frame = encodeRecord({
      type: 'batch',
      snapshot: null,
      discardLog: false,
      entries: [entry(11, 1)],
      hardState: null,
    });
    await appendFile(join(dir, name), frame.subarray(0, 13));

    const s = await open();
    expect((await s.load()).entries.map((e) => e.index)).toEqual(
      range(1, 10, 1).map((e) => e.index),
    );
    const torn = {
      file: name,
      offset: size,
      bytesDropped: 13,
      reason: 'partial record',
      index: 11,
    };
    expect(s.recovery.tornTails).toEqual([torn]);
    expect(events.find((e) => e.event === 'storage_torn_tail')?.fields).toEqual(torn);
    expect((await stat(join(dir, name))).size).toBe(size);
    await s.close();
  });

  it('zeros after the last record (a torn write on a preallocating filesystem) are cut off', async () => {
    await writeTen();
    const name = await lastSegment();
    await appendFile(join(dir, name), new Uint8Array(4096));
    const s = await open();
    expect(s.lastIndex).toBe(10);
    expect(s.recovery.tornTails[0]?.bytesDropped).toBe(4096);
    await s.close();
  });

  it('a bad checksum in the very last record reads as a torn write: that record is dropped', async () => {
    await writeTen();
    const name = await lastSegment();
    const last = (await offsets(name)).at(-1) ?? 0;
    await flipByte(name, last + 12);
    const s = await open();
    expect(s.lastIndex).toBe(9);
    expect(s.recovery.tornTails[0]).toMatchObject({
      file: name,
      offset: last,
      reason: 'checksum mismatch',
    });
    await s.close();
  });

  it('a bad record followed by valid ones refuses to start, naming the file and offset', async () => {
    await writeTen();
    const name = await lastSegment();
    const third = (await offsets(name))[4] ?? 0; // header, state, entries 1, 2, 3
    await flipByte(name, third + 10);
    const err = await open().then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(StorageCorruptError);
    const corrupt = err as StorageCorruptError;
    expect([corrupt.file, corrupt.offset]).toEqual([name, third]);
    expect(corrupt.message).toContain(`${name} at offset ${third}`);
    expect(corrupt.message).toMatch(/checksum mismatch, followed by a valid record at offset \d+/);
    // Nothing was repaired: the file is as it was.
    expect((await offsets(name)).length).toBe(4);
    expect((await stat(join(dir, name))).size).toBeGreaterThan(third + 100);
  });

  it('damage in a segment that is not the last refuses to start', async () => {
    const s = await open(300);
    for (let i = 1; i <= 40; i += 4) await s.append(range(i, i + 3, 1));
    await s.close();
    const names = await segments();
    expect(names.length).toBeGreaterThan(2);
    const victim = names[0] ?? '';
    const size = (await stat(join(dir, victim))).size;
    await writeFile(join(dir, victim), (await readFile(join(dir, victim))).subarray(0, size - 5));
    await expect(open(300)).rejects.toThrow(
      new RegExp(`${victim} at offset \\d+: partial record in a segment that is not the last`),
    );
  });

  it('a segment cut at a record boundary, or missing, is caught by the next one', async () => {
    const s = await open(300);
    for (let i = 1; i <= 40; i += 4) await s.append(range(i, i + 3, 1));
    await s.close();
    const [first, second] = await segments();
    const cut = (await offsets(first ?? '')).at(-1) ?? 0;
    const original = await readFile(join(dir, first ?? ''));
    await writeFile(join(dir, first ?? ''), original.subarray(0, cut));
    await expect(open(300)).rejects.toThrow(/a segment is missing or was cut short/);

    await writeFile(join(dir, first ?? ''), original);
    await rm(join(dir, second ?? ''));
    await expect(open(300)).rejects.toThrow(
      new RegExp(`${first} at offset ${original.length}: .*missing or was cut short`),
    );
  });

  it('a torn segment with no whole record is removed', async () => {
    await writeTen();
    const header = encodeRecord({ type: 'header', seq: 99, prevSeq: 0, prevBytes: 0 });
    const name = 'wal-0000000000000099-0000000000000011.log';
    await writeFile(join(dir, name), header.subarray(0, 7));
    const s = await open();
    expect(s.lastIndex).toBe(10);
    expect(s.recovery.removedFiles).toContain(name);
    expect(s.recovery.tornTails[0]).toMatchObject({ file: name, offset: 0, bytesDropped: 7 });
    await s.close();
  });

  it('a snapshot is in force once its record is written; other snapshot files are removed', async () => {
    const s = await open();
    await s.append(range(1, 10, 1));
    const snap: Snapshot = { meta: { index: 8, term: 1, peers: ['n1'] }, data: new Uint8Array(50) };
    await s.saveSnapshot(snap);
    await s.close();
    // A crash between a snapshot file and its record leaves a file no record refers to.
    await writeFile(join(dir, 'snap-0000000000000009.snap'), new Uint8Array(10));
    await writeFile(join(dir, 'snap-0000000000000003.snap'), new Uint8Array(10));
    await writeFile(join(dir, 'snap-0000000000000009.snap.tmp'), new Uint8Array(10));
    const again = await open();
    expect([...again.recovery.removedFiles].sort()).toEqual([
      'snap-0000000000000003.snap',
      'snap-0000000000000009.snap',
      'snap-0000000000000009.snap.tmp',
    ]);
    const state = await again.load();
    expect(state.snapshot?.meta.index).toBe(8);
    expect(state.entries.map((e) => e.index)).toEqual([9, 10]);
    await again.close();
  });

  it('a damaged or missing snapshot in force refuses to start', async () => {
    const s = await open();
    await s.append(range(1, 10, 1));
    await s.saveSnapshot({ meta: { index: 8, term: 1, peers: ['n1'] }, data: new Uint8Array(50) });
    await s.close();
    const original = await readFile(join(dir, 'snap-0000000000000008.snap'));
    await flipByte('snap-0000000000000008.snap', 30);
    await expect(open()).rejects.toThrow(
      /snap-0000000000000008\.snap at offset \d+: snapshot checksum mismatch/,
    );
    await rm(join(dir, 'snap-0000000000000008.snap'));
    await expect(open()).rejects.toThrow(
      /snap-0000000000000008\.snap at offset 0: missing: the log refers to a snapshot at index 8/,
    );
    await writeFile(join(dir, 'snap-0000000000000008.snap'), original);
    await (await open()).close();
  });
});

describe('fuzzing the files of a real data directory', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'raftbed-fuzz-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  /** A directory with several segments and a snapshot, and the saves that made it. */
  async function build(): Promise<{ files: Map<string, Uint8Array>; saves: SaveBatch[] }> {
    const saves: SaveBatch[] = [];
    const s = await WalStorage.open({ dir, segmentBytes: 400 });
    const save = async (batch: SaveBatch): Promise<void> => {
      await s.save(batch);
      saves.push(batch);
    };
    const append = (entries: Entry[]): Promise<void> => save({ entries });
    const hard = (hardState: HardState): Promise<void> => save({ hardState });
    for (let i = 1; i <= 30; i += 3) await append(range(i, i + 2, 1));
    await hard({ term: 1, vote: 'n1', commit: 20 });
    await append(range(25, 28, 2));
    const snapshot: Snapshot = {
      meta: { index: 20, term: 1, peers: ['n1', 'n2'] },
      data: new Uint8Array(64).fill(7),
    };
    await save({ snapshot });
    for (let i = 29; i <= 50; i += 2) await append(range(i, i + 1, 2));
    await hard({ term: 2, vote: 'n2', commit: 45 });
    const installed: Snapshot = {
      meta: { index: 48, term: 3, peers: ['n1'] },
      data: new Uint8Array(9),
    };
    await save({
      snapshot: installed,
      discardLog: true,
      entries: range(49, 51, 3),
      hardState: { term: 3, vote: null, commit: 48 },
    });
    for (let i = 52; i <= 120; i += 3) await append(range(i, i + 2, 3));
    await hard({ term: 3, vote: null, commit: 100 });
    await s.close();
    const files = new Map<string, Uint8Array>();
    for (const name of await readdir(dir))
      files.set(name, new Uint8Array(await readFile(join(dir, name))));
    return { files, saves };
  }

  function mutate(
    prng: Prng,
    files: Map<string, Uint8Array>,
  ): { files: Map<string, Uint8Array>; what: string } {
    const out = new Map([...files].map(([n, b]) => [n, b.slice()] as const));
    const name = prng.pick([...out.keys()]);
    let buf = out.get(name) ?? new Uint8Array(0);
    const what: string[] = [];
    const kind = prng.int(0, 3);
    if (kind !== 1) {
      for (let i = prng.int(1, 4); i > 0 && buf.length > 0; i--) {
        const at = prng.int(0, buf.length - 1);
        buf[at] = (buf[at] ?? 0) ^ prng.int(1, 255);
        what.push(`flip ${name}@${at}`);
      }
    }
    if (kind >= 1 && buf.length > 0) {
      const size = prng.int(0, buf.length - 1);
      buf = buf.subarray(0, size);
      what.push(`truncate ${name} to ${size}`);
    }
    out.set(name, buf);
    return { files: out, what: what.join(', ') };
  }

  it('byte flips and truncations give a clear error or a state some prefix of the saves left', async () => {
    const { files, saves } = await build();
    expect([...files.keys()].filter((n) => n.startsWith('wal-')).length).toBeGreaterThan(2);
    const prng = new Prng(2024);
    const outcomes = { refused: 0, accepted: 0, tornTailCut: 0 };
    for (let i = 0; i < 400; i++) {
      const { files: damaged, what } = mutate(prng, files);
      const fs = new CrashFs(prng.fork());
      for (const [name, bytes] of damaged) fs.putDurable(`/d/${name}`, bytes);
      let storage: WalStorage;
      try {
        storage = await WalStorage.open({ dir: '/d', fs, segmentBytes: 400 });
      } catch (e) {
        if (!(e instanceof StorageCorruptError)) throw new Error(`${what}: ${String(e)}`);
        expect(damaged.has(e.file), `${what}: error names ${e.file}`).toBe(true);
        expect(e.message).toContain(`${e.file} at offset ${e.offset}`);
        outcomes.refused++;
        continue;
      }
      const verdict = matchesSomePrefix(new LogModel(), saves, 0, await storage.load());
      expect(verdict, what).toBeNull();
      outcomes.accepted++;
      if (storage.recovery.tornTails.length > 0) outcomes.tornTailCut++;
    }
    // Both ways out were taken, so the loop exercised both rules.
    expect(outcomes.refused).toBeGreaterThan(100);
    expect(outcomes.tornTailCut).toBeGreaterThan(10);
  });

  it('the same holds on the real disk for a few cases', async () => {
    const { files, saves } = await build();
    const prng = new Prng(7);
    for (let i = 0; i < 15; i++) {
      const { files: damaged, what } = mutate(prng, files);
      const caseDir = join(dir, `case-${i}`);
      await rm(caseDir, { recursive: true, force: true });
      const storage0 = WalStorage.open({ dir: caseDir });
      await (await storage0).close();
      for (const name of await readdir(caseDir)) await rm(join(caseDir, name));
      for (const [name, bytes] of damaged) await writeFile(join(caseDir, name), bytes);
      try {
        const s = await WalStorage.open({ dir: caseDir, segmentBytes: 400 });
        expect(matchesSomePrefix(new LogModel(), saves, 0, await s.load()), what).toBeNull();
        await s.close();
      } catch (e) {
        if (!(e instanceof StorageCorruptError)) throw new Error(`${what}: ${String(e)}`);
      }
    }
  });
});
