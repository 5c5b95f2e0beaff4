import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RespClient } from '../../node/kv/client.js';
import type { RespValue } from '../../node/kv/resp.js';
import { ensureImage } from '../docker/image.js';
import { repoRoot } from '../docker/repo.js';
import { eventually, isolateState } from '../faults/test-support/probing.js';
import { DockerBackend } from './docker-backend.js';
import type { DockerCluster } from './docker-backend.js';
import { raftStatus } from './raft-status.js';
import { defaultSpec } from './spec.js';

/**
 * The real node under the harness's faults: a leader appears, an isolated node
 * cannot commit while the majority can, and a node killed during a partition
 * restarts, rejoins and catches up once healed.
 */
const NAMES = ['rbh-raft3', 'rbh-raft5'];
let backend: DockerBackend;
let image: string;

/** One command on a fresh connection; an error reply or a failure comes back as a string. */
async function call(
  c: DockerCluster,
  node: string,
  args: string[],
  timeoutMs = 3000,
): Promise<string> {
  const a = c.address(node);
  let client: RespClient | undefined;
  try {
    client = await RespClient.connect({ host: a.host, port: a.port, commandTimeoutMs: timeoutMs });
    const v: RespValue = await client.call(args);
    if (v.type === 'bulk') return v.value === null ? '(nil)' : Buffer.from(v.value).toString();
    if (v.type === 'simple' || v.type === 'integer') return String(v.value);
    return JSON.stringify(v);
  } catch (err) {
    return `failed: ${err instanceof Error ? err.message : String(err)}`;
  } finally {
    client?.close();
  }
}

beforeAll(async () => {
  isolateState();
  backend = await DockerBackend.connect();
  for (const n of NAMES) await backend.down(n);
  image = (await ensureImage(backend.engine, { root: repoRoot() })).ref;
});

afterAll(async () => {
  for (const n of NAMES) await backend?.down(n);
});

describe('raftbed node under the harness', () => {
  it('3 nodes elect a leader that every node knows, and it commits', async () => {
    const c = await backend.up({ ...defaultSpec('rbh-raft3', 3), image });
    const leader = await c.waitForLeader(20_000);
    expect(leader).toBeDefined();
    expect(
      await eventually(async () => {
        const views = await Promise.all(c.nodes.map((n) => raftStatus(c.address(n).host, 6379)));
        return views.every((v) => v?.leader === leader);
      }, 10_000),
    ).toBe(true);
    expect(await call(c, leader ?? 'n1', ['SET', 'k', 'v'])).toBe('OK');
    // status reports each node's role, term and applied index from RAFT.STATUS.
    const st = await c.status();
    expect(st.nodes.filter((n) => n.raft?.role === 'leader').map((n) => n.node)).toEqual([leader]);
    expect(new Set(st.nodes.map((n) => n.raft?.term)).size).toBe(1);
    expect(
      await eventually(async () => {
        const now = await c.status();
        return now.nodes.every((n) => (n.raft?.applied ?? 0) > 0);
      }, 5000),
    ).toBe(true);
    await backend.down('rbh-raft3');
  });

  it('5 nodes: a leader appears; an isolated node cannot commit, the majority can', async () => {
    const c = await backend.up({ ...defaultSpec('rbh-raft5', 5), image });
    expect(await c.waitForLeader(20_000)).toBeDefined();
    const leader = await c.leader();
    const p = await c.partition({ kind: 'isolate-leader' });
    expect(p.description.startsWith(`${leader} | `)).toBe(true);
    const alone = leader ?? '';
    const majority = c.nodes.filter((n) => n !== alone);
    // The majority elects a new leader and commits.
    expect(
      await eventually(
        async () => (await call(c, majority[0] ?? '', ['SET', 'a', '1'])) === 'OK',
        20_000,
      ),
    ).toBe(true);
    // The isolated node cannot: its write fails or times out, and it never becomes readable.
    const lonely = await call(c, alone ?? '', ['SET', 'b', '2'], 3000);
    expect(lonely).not.toBe('OK');
    expect(await call(c, majority[1] ?? '', ['GET', 'b'])).not.toBe('2');
  });

  it('a node killed during the partition restarts, rejoins and catches up once healed', async () => {
    const c = await backend.attach('rbh-raft5');
    const description = (await c.faults()).partition?.description ?? '';
    const alone = description.split(' | ')[0] ?? '';
    expect(c.nodes).toContain(alone);
    const majority = c.nodes.filter((n) => n !== alone);
    await c.kill([alone]);
    for (let i = 0; i < 20; i++)
      expect(await call(c, majority[i % majority.length] ?? '', ['SET', `k${i}`, `${i}`])).toBe(
        'OK',
      );
    await c.start([alone]);
    // Still cut off after its restart: it has not seen the new writes.
    await new Promise((r) => setTimeout(r, 1500));
    const behind = await raftStatus(c.address(alone).host, 6379);
    const ahead = await raftStatus(c.address(majority[0] ?? '').host, 6379);
    expect(behind?.applied ?? 0).toBeLessThan(ahead?.applied ?? 0);
    await c.heal();
    expect(
      await eventually(async () => {
        const [mine, theirs] = await Promise.all([
          raftStatus(c.address(alone).host, 6379),
          raftStatus(c.address(majority[0] ?? '').host, 6379),
        ]);
        return mine !== undefined && theirs !== undefined && mine.applied >= theirs.commit;
      }, 30_000),
    ).toBe(true);
    expect(await call(c, alone, ['GET', 'k19'])).toBe('19');
  });
});
