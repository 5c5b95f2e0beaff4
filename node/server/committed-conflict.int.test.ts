/**
 * A follower holding committed entries that the leader lost, with real
 * processes: the WALs of two nodes of three lose their last writes (as a
 * lying disk would after a power cut: cut at a record boundary, so recovery
 * sees nothing wrong), those two elect a leader, and the third, which
 * committed the lost writes, comes back. It must say so in its log, once per
 * leader term, and count every refused append in INFO.
 */
import { stat, truncate } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalCluster, sleep } from './local-cluster.js';

/** The newest WAL segment of `id` and its size now. */
async function lastSegment(
  cluster: LocalCluster,
  id: string,
): Promise<{ file: string; size: number }> {
  const file = await cluster.lastSegment(id);
  return { file, size: (await stat(file)).size };
}

describe('raftbed node holding committed entries its leader lost', () => {
  let cluster: LocalCluster;

  beforeAll(async () => {
    cluster = await LocalCluster.start();
  });

  afterAll(async () => {
    await cluster?.destroy();
  });

  it('logs one committed-conflict warning per leader term and counts the refusals', async () => {
    const first = await cluster.leader();
    const [keeper, other] = cluster.followers(first) as [string, string];
    const losers = [first, other];
    expect(await cluster.call(first, ['SET', 'base', '1'])).toBe('OK');
    const base = await cluster.status(first);
    for (const id of cluster.ids) await cluster.caughtUp(id, base.commit);
    // Every save up to here is on disk: what the losers keep.
    const kept = await Promise.all(losers.map((id) => lastSegment(cluster, id)));

    // One at a time, so that each entry's save carries the commit index of the one before.
    for (let i = 0; i < 5; i++)
      expect(await cluster.call(first, ['SET', `lost-${i}`, 'x'])).toBe('OK');
    const after = await cluster.status(first);
    await cluster.caughtUp(keeper, after.commit);

    for (const id of cluster.ids) await cluster.kill(id);
    for (const [i, k] of kept.entries()) {
      const now = await lastSegment(cluster, losers[i] as string);
      expect(now.file).toBe(k.file);
      expect(now.size).toBeGreaterThan(k.size);
      await truncate(k.file, k.size);
    }

    // The two that lost the writes elect a leader; its first entry lands on a committed index of `keeper`.
    await Promise.all(losers.map((id) => cluster.launch(id)));
    const leader = await cluster.leader(10_000, [keeper]);
    const led = await cluster.status(leader);
    expect(led.last).toBe(base.last + 1);
    expect(led.term).toBeGreaterThan(base.term);

    const proc = await cluster.launch(keeper);
    const line = await proc.waitFor('committed-conflict', (l) => l.event === 'committed-conflict');
    expect(line).toMatchObject({
      level: 'warn',
      term: led.term,
      leader,
      index: base.last + 1,
      entryTerm: led.term,
      committedTerm: base.term,
    });
    if (line.event !== 'committed-conflict') throw new Error('unreachable');
    expect(line.commit).toBeGreaterThan(base.last);

    // The leader keeps retrying: every refusal is counted, but the log says it once.
    await sleep(800);
    const info = await cluster.info(keeper);
    expect(Number(info.Raft?.committed_conflicts)).toBeGreaterThan(3);
    expect(proc.lines.filter((l) => l.event === 'committed-conflict')).toHaveLength(1);
    // Its committed entries are untouched, and it still follows that leader.
    const st = await cluster.status(keeper);
    expect(st).toMatchObject({ role: 'follower', leader, last: after.last });
    expect(st.commit).toBe(line.commit);
    // Nobody else reports one.
    for (const id of losers) {
      expect(cluster.proc(id).lines.some((l) => l.event === 'committed-conflict')).toBe(false);
      expect((await cluster.info(id)).Raft?.committed_conflicts).toBe('0');
    }
  });
});
