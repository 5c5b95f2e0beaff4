import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  DirLock,
  DirLockedError,
  LOCK_FILE,
  parseHolder,
  parseProcStat,
  procfs,
  type LockHolder,
  type ProcessTable,
} from './dir-lock.js';

const dirs: string[] = [];
function freshDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'raftbed-lock-'));
  dirs.push(d);
  return join(d, 'data');
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** A made-up machine: `live` maps running pids to their start ticks. */
function table(self: number, live: Record<number, number>, kernelBoot = 'k1'): ProcessTable {
  return {
    self,
    exists: (pid) => Promise.resolve(pid in live),
    startTicks: (pid) => Promise.resolve(live[pid] ?? null),
    kernelBoot: () => Promise.resolve(kernelBoot),
  };
}

function holder(over: Partial<LockHolder>): LockHolder {
  return {
    pid: 4242,
    node: 'n1',
    boot: 'old',
    kernelBoot: 'k1',
    startTicks: 500,
    since: '2024-01-01T00:00:00.000Z',
    ...over,
  };
}

/** A data directory holding only a LOCK with `content`. */
function plant(dir: string, content: string): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, LOCK_FILE), content);
}

function lockOf(dir: string): LockHolder | null {
  return parseHolder(readFileSync(join(dir, LOCK_FILE), 'utf8'));
}

describe('DirLock', () => {
  it('creates the directory and a LOCK naming this process; release removes it', async () => {
    const dir = freshDir();
    const lock = await DirLock.acquire({ dir, node: 'n1', boot: 'b1', now: () => 0 });
    expect(lock.takenOver).toBeNull();
    const held = lockOf(dir);
    expect(held).toMatchObject({
      pid: process.pid,
      node: 'n1',
      boot: 'b1',
      since: '1970-01-01T00:00:00.000Z',
    });
    expect(held?.startTicks).toBe(await procfs.startTicks(process.pid));
    // Nothing but the lock is left behind (no temp files).
    expect(readdirSync(dir)).toEqual([LOCK_FILE]);
    await lock.release();
    expect(readdirSync(dir)).toEqual([]);
  });

  it('refuses while the holder runs, naming the directory and its pid, and leaves its lock', async () => {
    const dir = freshDir();
    // The parent of this test process runs, with the start time procfs reports.
    const pid = process.ppid;
    const theirs = holder({
      pid,
      kernelBoot: await procfs.kernelBoot(),
      startTicks: await procfs.startTicks(pid),
    });
    plant(dir, JSON.stringify(theirs));
    const err = await DirLock.acquire({ dir, node: 'n1', boot: 'b2' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DirLockedError);
    expect((err as Error).message).toContain(`data directory ${dir} is in use by pid ${pid}`);
    expect(lockOf(dir)).toEqual(theirs);
    expect(readdirSync(dir)).toEqual([LOCK_FILE]);
  });

  it('refuses a second lock of the same directory in this process', async () => {
    const dir = freshDir();
    const first = await DirLock.acquire({ dir, node: 'n1', boot: 'b1' });
    await expect(DirLock.acquire({ dir, node: 'n1', boot: 'b2' })).rejects.toBeInstanceOf(
      DirLockedError,
    );
    await first.release();
    const again = await DirLock.acquire({ dir, node: 'n1', boot: 'b3' });
    expect(lockOf(dir)?.boot).toBe('b3');
    await again.release();
  });

  it.each([
    ['holder-gone', holder({}), table(7, {})],
    ['own-pid', holder({ pid: 7 }), table(7, { 7: 1 })],
    ['pid-reused', holder({}), table(7, { 4242: 999 })],
    ['machine-rebooted', holder({}), table(7, { 4242: 500 }, 'k2')],
  ] as const)('takes over a stale lock: %s', async (reason, old, processes) => {
    const dir = freshDir();
    plant(dir, JSON.stringify(old));
    const lock = await DirLock.acquire({ dir, node: 'n1', boot: 'new', processes });
    expect(lock.takenOver).toEqual({ reason, holder: old });
    expect(lockOf(dir)).toMatchObject({ pid: 7, boot: 'new' });
    expect(readdirSync(dir)).toEqual([LOCK_FILE]);
    await lock.release();
  });

  it('keeps a lock whose holder runs with the start time it recorded (or none known)', async () => {
    for (const startTicks of [500, null]) {
      const dir = freshDir();
      plant(dir, JSON.stringify(holder({ startTicks })));
      await expect(
        DirLock.acquire({ dir, node: 'n1', boot: 'b', processes: table(7, { 4242: 500 }) }),
      ).rejects.toThrow(/in use by pid 4242 \(node n1, boot old/);
    }
  });

  it('takes over an unreadable lock (empty, garbage, no pid)', async () => {
    for (const content of ['', '{"pid":', 'garbage', '{"pid":0}', '[1]']) {
      const dir = freshDir();
      plant(dir, content);
      const lock = await DirLock.acquire({ dir, node: 'n1', boot: 'b', processes: table(7, {}) });
      expect(lock.takenOver).toEqual({ reason: 'unreadable', holder: null });
      await lock.release();
    }
  });

  it('of two starters racing for one stale lock, exactly one wins', async () => {
    for (let round = 0; round < 20; round++) {
      const dir = freshDir();
      plant(dir, JSON.stringify(holder({ pid: 999 })));
      const live = { 1001: 1, 1002: 2 };
      const results = await Promise.allSettled([
        DirLock.acquire({ dir, node: 'a', boot: 'a', processes: table(1001, live) }),
        DirLock.acquire({ dir, node: 'b', boot: 'b', processes: table(1002, live) }),
      ]);
      const won = results.filter((r) => r.status === 'fulfilled');
      const lost = results.filter((r) => r.status === 'rejected');
      expect(won).toHaveLength(1);
      expect(lost).toHaveLength(1);
      expect((lost[0] as PromiseRejectedResult).reason).toBeInstanceOf(DirLockedError);
      const winner = (won[0] as PromiseFulfilledResult<DirLock>).value;
      expect(lockOf(dir)?.pid).toBe(winner.holder.pid);
      expect(readdirSync(dir)).toEqual([LOCK_FILE]);
      await winner.release();
    }
  });

  it('release leaves a lock that is no longer its own', async () => {
    const dir = freshDir();
    const lock = await DirLock.acquire({ dir, node: 'n1', boot: 'b' });
    // Someone removed ours and another node took the directory.
    rmSync(join(dir, LOCK_FILE));
    writeFileSync(join(dir, LOCK_FILE), JSON.stringify(holder({})));
    await lock.release();
    expect(lockOf(dir)?.pid).toBe(4242);
  });
});

describe('parseProcStat', () => {
  it('reads state and start time after a command name with spaces and parentheses', () => {
    const rest = Array.from({ length: 50 }, (_, i) => String(i + 3));
    rest[0] = 'S';
    rest[19] = '123456';
    expect(parseProcStat(`77 (a) b (c)) ${rest.join(' ')}`)).toEqual({
      state: 'S',
      startTicks: 123456,
    });
    expect(parseProcStat('77 no-parenthesis')).toBeNull();
    expect(parseProcStat('77 (x) S 1 2')).toBeNull();
  });

  it('matches what procfs reports for this process', async () => {
    const text = readFileSync('/proc/self/stat', 'utf8');
    expect(parseProcStat(text)?.state).toBe('R');
    expect(await procfs.exists(process.pid)).toBe(true);
    expect(await procfs.startTicks(process.pid)).toBe(parseProcStat(text)?.startTicks);
  });
});
