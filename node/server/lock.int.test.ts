/**
 * The data directory lock with real processes: a second node on a running
 * node's `--data` is refused with one line naming the directory and the
 * holder's pid; after a SIGKILL the next start takes the lock over and serves;
 * SIGTERM removes the lock.
 */
import { existsSync, readFileSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalCluster } from './local-cluster.js';

describe('raftbed node locking its data directory', () => {
  let cluster: LocalCluster;

  beforeAll(async () => {
    cluster = await LocalCluster.start({ size: 1 });
  });

  afterAll(async () => {
    await cluster?.destroy();
  });

  it('refuses a second node on the same data directory, then takes over after kill -9, and SIGTERM releases', async () => {
    const id = 'n1';
    const dir = cluster.dataDir(id);
    const lockFile = join(dir, 'LOCK');
    const first = cluster.proc(id);
    await cluster.leader();
    expect(await cluster.call(id, ['SET', 'k', 'v1'])).toBe('OK');
    const held = JSON.parse(readFileSync(lockFile, 'utf8')) as Record<string, unknown>;
    const boot = first.lines.find((l) => l.event === 'start')?.boot;
    expect(held).toMatchObject({ pid: first.pid, node: id, boot });

    // Same flags, same directory, while the first one runs.
    const second = cluster.spawn(id);
    expect(await second.exited).toEqual({ code: 3, signal: null });
    const lines = second.stderr.split('\n').filter((l) => l !== '');
    expect(lines).toEqual([
      expect.stringMatching(
        new RegExp(`^raftbed node: data directory ${dir} is in use by pid ${first.pid} \\(`),
      ),
    ]);
    expect(second.lines.at(-1)).toMatchObject({ event: 'stop', code: 3 });
    // It touched nothing: no recovery ran, and the first node's lock and service are intact.
    expect(second.lines.some((l) => l.event === 'recovered')).toBe(false);
    expect(JSON.parse(readFileSync(lockFile, 'utf8'))).toEqual(held);
    expect(first.running).toBe(true);
    expect(await cluster.call(id, ['GET', 'k'])).toBe('v1');

    // SIGKILL leaves the lock behind; the next start finds its holder gone and takes it over.
    // (cluster.kill would signal the latest process of `id`: the refused one.)
    first.signal('SIGKILL');
    expect(await first.exited).toEqual({ code: null, signal: 'SIGKILL' });
    expect(existsSync(lockFile)).toBe(true);
    const third = await cluster.launch(id);
    const takeover = third.lines.find((l) => l.event === 'lock-taken-over');
    expect(takeover).toMatchObject({
      level: 'warn',
      file: lockFile,
      reason: 'holder-gone',
      holderPid: first.pid,
      holderBoot: boot,
    });
    // Before recovery: the lock comes first.
    const order = third.lines.map((l) => l.event);
    expect(order.indexOf('lock-taken-over')).toBeLessThan(order.indexOf('recovered'));
    expect(JSON.parse(readFileSync(lockFile, 'utf8'))).toMatchObject({ pid: third.pid });
    await cluster.leader();
    expect(await cluster.call(id, ['GET', 'k'])).toBe('v1');
    expect(await cluster.call(id, ['SET', 'k', 'v2'])).toBe('OK');

    // A clean stop removes the lock, and the next start has nothing to take over.
    expect(await cluster.terminate(id)).toEqual({ code: 0, signal: null });
    expect(existsSync(lockFile)).toBe(false);
    expect((await readdir(dir)).filter((f) => f.startsWith('LOCK'))).toEqual([]);
    const fourth = await cluster.launch(id);
    expect(fourth.lines.some((l) => l.event === 'lock-taken-over')).toBe(false);
    await cluster.leader();
    expect(await cluster.call(id, ['GET', 'k'])).toBe('v2');
  });
});
