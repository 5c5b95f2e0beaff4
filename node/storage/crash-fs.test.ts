import { describe, expect, it } from 'vitest';
import { Prng } from '../util/prng.js';
import { CrashFs, CrashedError } from './crash-fs.js';

const bytes = (...v: number[]): Uint8Array => new Uint8Array(v);

async function fileWith(
  fs: CrashFs,
  path: string,
  synced: Uint8Array,
  unsynced: Uint8Array,
): Promise<void> {
  await fs.mkdir('/d');
  const f = await fs.create(path);
  await f.append(synced);
  await f.sync();
  await fs.syncDir('/d');
  await f.append(unsynced);
}

describe('CrashFs', () => {
  it('keeps synced data and loses unsynced data at a power loss', async () => {
    const fs = new CrashFs(new Prng(1), { tornWrites: false });
    await fileWith(fs, '/d/a', bytes(1, 2, 3), bytes(4, 5, 6));
    expect(fs.files().get('/d/a')).toEqual(bytes(1, 2, 3, 4, 5, 6));
    const outcomes = new Set<string>();
    for (let seed = 0; seed < 40; seed++) {
      const f2 = new CrashFs(new Prng(seed), { tornWrites: false });
      await fileWith(f2, '/d/a', bytes(1, 2, 3), bytes(4, 5, 6));
      f2.crashNow();
      f2.reboot();
      outcomes.add(Array.from(f2.files().get('/d/a') ?? []).join());
    }
    // Whole writes only: either the unsynced write made it or it did not.
    expect([...outcomes].sort()).toEqual(['1,2,3', '1,2,3,4,5,6']);
  });

  it('a torn write leaves a prefix, possibly followed by junk, never more than was written', async () => {
    const kinds = new Set<string>();
    for (let seed = 0; seed < 200; seed++) {
      const fs = new CrashFs(new Prng(seed));
      await fileWith(fs, '/d/a', bytes(9, 9), new Uint8Array(64).fill(5));
      fs.crashNow();
      fs.reboot();
      const data = fs.files().get('/d/a') ?? new Uint8Array(0);
      expect(Array.from(data.subarray(0, 2))).toEqual([9, 9]);
      expect(data.length).toBeLessThanOrEqual(66);
      const tail = data.subarray(2);
      let prefix = 0;
      while (prefix < tail.length && tail[prefix] === 5) prefix++;
      kinds.add(
        tail.length === 0
          ? 'lost'
          : tail.length === 64 && prefix === 64
            ? 'whole'
            : prefix < tail.length
              ? 'junk'
              : 'prefix',
      );
    }
    expect([...kinds].sort()).toEqual(['junk', 'lost', 'prefix', 'whole']);
  });

  it('a new name survives only once the directory is synced', async () => {
    const seen = new Set<boolean>();
    for (let seed = 0; seed < 30; seed++) {
      const fs = new CrashFs(new Prng(seed));
      await fs.mkdir('/d');
      const f = await fs.create('/d/new');
      await f.append(bytes(1));
      await f.sync();
      fs.crashNow();
      fs.reboot();
      seen.add(fs.files().has('/d/new'));
      const synced = new CrashFs(new Prng(seed));
      await synced.mkdir('/d');
      await (await synced.create('/d/new')).sync();
      await synced.syncDir('/d');
      synced.crashNow();
      synced.reboot();
      expect(synced.files().has('/d/new')).toBe(true);
    }
    expect([...seen].sort()).toEqual([false, true]);
  });

  it('renames and unlinks before a crash survive as an in-order prefix', async () => {
    for (let seed = 0; seed < 50; seed++) {
      const fs = new CrashFs(new Prng(seed));
      fs.putDurable('/d/a.tmp', bytes(1));
      fs.putDurable('/d/old', bytes(2));
      await fs.rename('/d/a.tmp', '/d/a');
      await fs.unlink('/d/old');
      fs.crashNow();
      fs.reboot();
      const names = [...fs.files().keys()].sort().join(' ');
      // the unlink never survives without the rename before it
      expect(['/d/a.tmp /d/old', '/d/a /d/old', '/d/a']).toContain(names);
    }
  });

  it('crashAfter fails the n-th call and everything after; a process from before the reboot stays dead', async () => {
    const fs = new CrashFs(new Prng(3));
    const before = fs.process();
    await before.mkdir('/d');
    const f = await before.create('/d/x');
    fs.crashAfter(2);
    await f.append(bytes(1));
    await expect(f.sync()).rejects.toBeInstanceOf(CrashedError);
    await expect(before.readdir('/d')).rejects.toBeInstanceOf(CrashedError);
    fs.reboot();
    await expect(before.readdir('/d')).rejects.toBeInstanceOf(CrashedError);
    await expect(f.append(bytes(2))).rejects.toBeInstanceOf(CrashedError);
    const after = fs.process();
    expect(await after.readdir('/d')).toEqual(expect.any(Array));
  });

  it('replays the same outcome from the same seed', async () => {
    const run = async (): Promise<string> => {
      const fs = new CrashFs(new Prng(42));
      await fileWith(fs, '/d/a', bytes(1), new Uint8Array(100).fill(3));
      await (await fs.create('/d/b')).append(bytes(4));
      fs.crashNow();
      fs.reboot();
      return JSON.stringify([...fs.files()].map(([k, v]) => [k, Array.from(v)]));
    };
    expect(await run()).toBe(await run());
  });
});
