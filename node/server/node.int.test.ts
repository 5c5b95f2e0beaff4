/**
 * Three real `raftbed node` processes on 127.0.0.1, one scenario after the
 * other on the same cluster: election, the commands through RespClient and
 * redis-cli, exactly-once across nodes, fuzzing both ports, losing the leader
 * to SIGKILL, a follower far behind catching up through a chunked snapshot,
 * and SIGTERM. The node logs are checked for the harness's invariants at the end.
 */
import { execFile } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeDatagram } from '../transport/header.js';
import { Prng } from '../util/prng.js';
import { HOST, LocalCluster, eventually, logViolations } from './local-cluster.js';

function redisCli(port: number, args: readonly string[]): Promise<string> {
  return new Promise((ok, fail) =>
    execFile('redis-cli', ['-h', HOST, '-p', String(port), ...args], (err, stdout, stderr) => {
      if (err !== null) {
        const missing = (err as NodeJS.ErrnoException).code === 'ENOENT';
        fail(
          new Error(
            missing
              ? 'redis-cli is not installed: install redis-tools (make check does)'
              : `redis-cli ${args.join(' ')}: ${err.message} ${stderr}`,
          ),
        );
        return;
      }
      ok(stdout.trimEnd());
    }),
  );
}

/** Sends `count` datagrams built by `make` to 127.0.0.1:port from `socket`, a batch at a time. */
async function blast(
  socket: ReturnType<typeof createSocket>,
  port: number,
  count: number,
  make: (i: number) => Buffer,
): Promise<void> {
  const batch = 500;
  for (let i = 0; i < count; i += batch) {
    const sends: Promise<void>[] = [];
    for (let j = i; j < Math.min(count, i + batch); j++)
      sends.push(new Promise((ok) => socket.send(make(j), port, HOST, () => ok())));
    await Promise.all(sends);
  }
}

function num(v: string | undefined): number {
  return Number(v ?? NaN);
}

describe('a three-node cluster of raftbed node processes', () => {
  let cluster: LocalCluster;
  /** Every write acknowledged with +OK so far: key -> value. */
  const acked = new Map<string, string>();

  async function setAcked(via: string, key: string, value: string): Promise<void> {
    expect(await cluster.call(via, ['SET', key, value])).toBe('OK');
    acked.set(key, value);
  }

  /**
   * Writes every pair through whichever node leads, pipelined 40 at a time. A
   * flood of datagrams may cost the leader its quorum for a moment: a write
   * answered -TIMEOUT or -TRYAGAIN is sent again (a plain SET of the same value
   * leaves the same state however often it applies).
   */
  async function setMany(pairs: ReadonlyArray<[string, string]>, down: string[] = []) {
    let left = [...pairs];
    for (let round = 0; round < 5 && left.length > 0; round++) {
      const leader = await cluster.leader(10_000, down);
      const retry: Array<[string, string]> = [];
      for (let i = 0; i < left.length; i += 40) {
        const batch = left.slice(i, i + 40);
        const replies = await (
          await cluster.client(leader)
        ).pipeline(batch.map(([k, v]) => ['SET', k, v]));
        replies.forEach((r, j) => {
          const [k, v] = batch[j] as [string, string];
          if (r.type === 'simple' && r.value === 'OK') acked.set(k, v);
          else if (r.type === 'error' && /^(TIMEOUT|TRYAGAIN) /.test(r.value)) retry.push([k, v]);
          else throw new Error(`SET ${k}: ${JSON.stringify(r)}`);
        });
      }
      left = retry;
    }
    expect(left).toEqual([]);
  }

  async function expectAcked(via: string): Promise<void> {
    for (const [k, v] of acked) expect(await cluster.call(via, ['GET', k]), k).toBe(v);
  }

  beforeAll(async () => {
    // A short log so that compaction and snapshot transfer happen within the test.
    cluster = await LocalCluster.start({ args: ['--log-length', '64'] });
  });

  afterAll(async () => {
    await cluster?.destroy();
  });

  it('elects one leader that every node knows, and says so once in its log', async () => {
    const leader = await cluster.leader();
    const term = (await cluster.status(leader)).term;
    const leaderLines = cluster
      .allLines()
      .filter((l) => l.event === 'role' && l.role === 'leader' && l.term === term);
    expect(leaderLines.map((l) => l.node)).toEqual([leader]);
    const elected = cluster.proc(leader).lines.find((l) => l.event === 'elected');
    expect(elected?.term).toBe(term);
    for (const id of cluster.ids) {
      const first = cluster.proc(id).lines[0];
      expect(first?.event).toBe('recovered');
      expect(cluster.proc(id).strays).toEqual([]);
    }
  });

  it('serves SET, GET, CAS and DEL on the leader and on followers alike', async () => {
    const leader = await cluster.leader();
    const [f1, f2] = cluster.followers(leader) as [string, string];
    await setAcked(leader, 'k', 'v1');
    expect(await cluster.call(f1, ['GET', 'k'])).toBe('v1');
    expect(await cluster.call(f1, ['CAS', 'k', 'v1', 'v2'])).toBe(1);
    expect(await cluster.call(f2, ['CAS', 'k', 'v1', 'v3'])).toBe(0);
    expect(await cluster.call(f2, ['GET', 'k'])).toBe('v2');
    expect(await cluster.call(leader, ['CAS', 'absent', '', 'x'])).toBe(0);
    expect(await cluster.call(f2, ['DEL', 'k'])).toBe(1);
    expect(await cluster.call(f1, ['DEL', 'k'])).toBe(0);
    acked.delete('k');
    expect(await cluster.call(leader, ['GET', 'k'])).toBeNull();
    expect(await cluster.call(f1, ['PING'])).toBe('PONG');
    expect(await cluster.call(f1, ['SET', 'k'])).toEqual({
      error: "ERR wrong number of arguments for 'set' command",
    });
    expect(await cluster.call(f1, ['SET', 'x'.repeat(257), 'v'])).toEqual({
      error: 'ERR key too long: 257 bytes, the limit is 256',
    });
    // Writes on followers went to the leader once each; reads were served locally.
    const info = await cluster.info(f1);
    expect(num(info.Stats?.forwards)).toBe(2);
    expect(num(info.Stats?.forwards_replied)).toBe(2);
    expect(num(info.Stats?.reads_served)).toBeGreaterThanOrEqual(1);
    expect(num(info.Persistence?.fsyncs)).toBeGreaterThan(0);
    const status = await cluster.status(f1);
    expect(status).toMatchObject({ id: f1, role: 'follower', leader });
    expect(status.applied).toBeGreaterThanOrEqual(1);
  });

  it('works through redis-cli', async () => {
    const leader = await cluster.leader();
    const follower = cluster.followers(leader)[0] as string;
    const port = cluster.clientPort(follower);
    expect(await redisCli(port, ['SET', 'rc', 'hello world'])).toBe('OK');
    expect(await redisCli(port, ['GET', 'rc'])).toBe('hello world');
    expect(await redisCli(port, ['CAS', 'rc', 'hello world', 'bye'])).toBe('1');
    expect(await redisCli(port, ['CAS', 'rc', 'hello world', 'again'])).toBe('0');
    expect(await redisCli(port, ['DEL', 'rc'])).toBe('1');
    expect(await redisCli(port, ['GET', 'rc'])).toBe('');
    const status = (await redisCli(port, ['RAFT.STATUS'])).split('\n');
    expect(status.slice(0, 6)).toEqual(['id', follower, 'role', 'follower', 'term', status[5]]);
    expect(status[7]).toBe(leader);
    const info = await redisCli(port, ['INFO', 'raft']);
    expect(info).toContain('# Raft');
    expect(info).toContain(`leader:${leader}`);
  });

  it('applies a RAFT.ONCE write once across a retry through another node', async () => {
    const leader = await cluster.leader();
    const [f1, f2] = cluster.followers(leader) as [string, string];
    const opened = await cluster.call(f1, ['RAFT.SESSION']);
    expect(typeof opened).toBe('number');
    const id = opened as number;
    expect(await cluster.call(f1, ['RAFT.ONCE', id, 1, 'SET', 'eo', 'first'])).toBe('OK');
    await setAcked(leader, 'eo', 'second');
    // The client did not see the first reply and retries elsewhere: the stored reply, no effect.
    expect(await cluster.call(f2, ['RAFT.ONCE', id, 1, 'SET', 'eo', 'first'])).toBe('OK');
    expect(await cluster.call(leader, ['GET', 'eo'])).toBe('second');
    expect(await cluster.call(f2, ['RAFT.ONCE', id, 2, 'CAS', 'eo', 'second', 'third'])).toBe(1);
    expect(await cluster.call(leader, ['RAFT.ONCE', id, 2, 'CAS', 'eo', 'second', 'third'])).toBe(
      1,
    );
    expect(await cluster.call(f1, ['CAS', 'eo', 'second', 'fourth'])).toBe(0);
    acked.set('eo', 'third');
    const stale = (await cluster.call(f1, ['RAFT.ONCE', id, 1, 'SET', 'eo', 'x'])) as {
      error: string;
    };
    expect(stale.error).toBe(
      `ERR stale sequence number 1 for session ${id}: 2 was applied already`,
    );
    await expectAcked(f2);
  });

  it('survives 100,000 random datagrams and garbage on the client port, and counts them', async () => {
    const leader = await cluster.leader();
    const follower = cluster.followers(leader)[0] as string;
    const before = await cluster.info(leader);
    const rng = new Prng('node.int datagrams');
    const socket = createSocket('udp4');
    await new Promise<void>((ok) => socket.bind(0, HOST, () => ok()));
    const raftPort = cluster.raftPorts.get(leader) as number;
    const valid = (payload: Buffer): Buffer =>
      encodeDatagram({ kind: 'raft', clusterId: 'raftbed', from: follower, to: leader }, payload);
    const random = (n: number): Buffer => {
      const b = Buffer.alloc(n);
      for (let i = 0; i < n; i++) b[i] = rng.int(0, 255);
      return b;
    };
    await blast(socket, raftPort, 100_000, (i) => {
      const kind = i % 10;
      if (kind < 7) return random(rng.int(0, 1500));
      // The right magic and version, so the checksum is what refuses them.
      if (kind < 9) return Buffer.concat([Buffer.from([0x52, 0x42, 1]), random(rng.int(0, 300))]);
      // A well-formed header naming a member, from the wrong address.
      return valid(random(rng.int(0, 200)));
    });
    socket.close();

    // Garbage on every client port: answered or cut, never a crash.
    for (const id of cluster.ids) {
      await new Promise<void>((ok) => {
        const s = connect(cluster.clientPort(id), HOST, () => {
          s.write(random(4000));
          s.end('\r\n*1\r\n$999999999\r\n');
        });
        s.on('data', () => undefined);
        s.on('error', () => ok());
        s.on('close', () => ok());
      });
    }

    await setMany([['after-fuzz', 'still serving']]);
    await expectAcked(follower);
    const after = await cluster.info(leader);
    const moved = (field: string): number =>
      num(after.Transport?.[field]) - num(before.Transport?.[field]);
    expect(moved('dropped_datagrams')).toBeGreaterThan(1000);
    expect(moved('dropped_checksum')).toBeGreaterThan(100);
    expect(moved('dropped_address_mismatch')).toBeGreaterThan(100);
    expect(num(after.Clients?.protocol_errors)).toBeGreaterThanOrEqual(1);
    for (const id of cluster.ids) expect(cluster.proc(id).running).toBe(true);
    await eventually('a dropped-datagrams summary line', () =>
      cluster.proc(leader).lines.find((l) => l.event === 'dropped-datagrams'),
    );
  });

  it('loses the leader to SIGKILL: a new leader serves every acknowledged write, the old one catches up', async () => {
    const old = await cluster.leader();
    const writes: Promise<void>[] = [];
    for (let i = 0; i < 30; i++)
      writes.push(setAcked(cluster.ids[i % 3] as string, `before-kill-${i}`, `v${i}`));
    await Promise.all(writes);
    await cluster.kill(old);
    const next = await cluster.leader(10_000, [old]);
    expect(next).not.toBe(old);
    await setAcked(next, 'after-kill', 'new leader');
    for (const id of cluster.followers(old)) await expectAcked(id);

    await cluster.launch(old);
    const commit = (await cluster.status(next)).commit;
    await cluster.caughtUp(old, commit);
    const status = await cluster.status(old);
    expect(status).toMatchObject({ role: 'follower', leader: next });
    await expectAcked(old);
  });

  it('brings a follower far behind up to date through a chunked snapshot', async () => {
    const leader = await cluster.leader();
    const behind = cluster.followers(leader)[0] as string;
    await cluster.kill(behind);

    // While it is down, well-formed datagrams "from" it with garbage inside reach the leader's core.
    const before = await cluster.info(leader);
    const rng = new Prng('node.int core fuzz');
    const socket = createSocket('udp4');
    await new Promise<void>((ok) =>
      socket.bind(cluster.raftPorts.get(behind) as number, HOST, () => ok()),
    );
    await blast(socket, cluster.raftPorts.get(leader) as number, 5000, () => {
      const n = rng.int(1, 300);
      const payload = Buffer.alloc(n);
      for (let i = 0; i < n; i++) payload[i] = rng.int(0, 255);
      payload[0] = rng.int(1, 14); // a real message type, so decoding goes further
      return encodeDatagram(
        { kind: 'raft', clusterId: 'raftbed', from: behind, to: leader },
        payload,
      );
    });
    socket.close();

    // Far more entries than --log-length 64, with values that make the snapshot span chunks.
    const value = 'x'.repeat(200);
    await setMany(
      Array.from({ length: 400 }, (_, i): [string, string] => [`far-${i}`, `${value}${i}`]),
      [behind],
    );
    const after = await cluster.info(leader);
    expect(num(after.Transport?.dropped_messages_malformed)).toBeGreaterThan(
      num(before.Transport?.dropped_messages_malformed),
    );
    const current = await cluster.leader(10_000, [behind]);
    const leaderStatus = await cluster.status(current);
    expect(leaderStatus.snapshot).toBeGreaterThan(leaderStatus.commit - 400);

    const proc = await cluster.launch(behind);
    const installed = await proc.waitFor(
      'snapshot-installed',
      (l) => l.event === 'snapshot-installed',
      15_000,
    );
    if (installed.event !== 'snapshot-installed') throw new Error('unreachable');
    expect(installed.bytes).toBeGreaterThan(4 * 1024); // several 1,024-byte chunks
    expect(installed.from).toBe(current);
    await cluster.caughtUp(behind, leaderStatus.commit);
    await expectAcked(behind);
    expect(proc.lines.some((l) => l.event === 'wal-truncated' && l.reason !== 'compaction')).toBe(
      false,
    );
    const taken = cluster.proc(current).lines.filter((l) => l.event === 'snapshot-taken');
    expect(taken.length).toBeGreaterThan(0);
  });

  it('finishes the commands in flight on SIGTERM and exits 0', async () => {
    const leader = await cluster.leader();
    const port = cluster.clientPort(leader);
    const replies: string[] = [];
    const keys = Array.from({ length: 200 }, (_, i) => `term-${i}`);
    await new Promise<void>((ok, fail) => {
      const s = connect(port, HOST, () => {
        s.write(keys.map((k) => `SET ${k} v\r\n`).join(''));
      });
      let buffered = '';
      let signalled = false;
      s.setEncoding('utf8');
      s.on('data', (chunk: string) => {
        if (!signalled) {
          signalled = true;
          cluster.proc(leader).signal('SIGTERM');
        }
        buffered += chunk;
        const parts = buffered.split('\r\n');
        buffered = parts.pop() ?? '';
        replies.push(...parts);
      });
      s.on('error', fail);
      s.on('close', () => ok());
    });
    const exit = await cluster.proc(leader).exited;
    expect(exit).toEqual({ code: 0, signal: null });
    const last = cluster.proc(leader).lines.at(-1);
    expect(last).toMatchObject({ event: 'stop', reason: 'SIGTERM', code: 0 });
    expect(replies.length).toBeGreaterThan(0);
    for (const r of replies) expect(r === '+OK' || r.startsWith('-TIMEOUT'), r).toBe(true);
    replies.forEach((r, i) => {
      if (r === '+OK') acked.set(keys[i] as string, 'v');
    });

    // The others carry on; the stopped node comes back with everything.
    const next = await cluster.leader(10_000, [leader]);
    await setAcked(next, 'after-sigterm', 'yes');
    await cluster.launch(leader);
    await cluster.caughtUp(leader, (await cluster.status(next)).commit);
    await expectAcked(leader);

    const exits = await Promise.all(cluster.ids.map((id) => cluster.terminate(id)));
    expect(exits).toEqual(cluster.ids.map(() => ({ code: 0, signal: null })));
  });

  it('logged at most one leader per term and no commit going backwards within a boot', () => {
    const lines = cluster.allLines();
    expect(lines.filter((l) => l.event === 'commit').length).toBeGreaterThan(10);
    expect(logViolations(lines)).toEqual([]);
    for (const p of cluster.history) {
      expect(p.strays).toEqual([]);
      expect(p.lines.filter((l) => l.event === 'start')).toHaveLength(1);
    }
  });
});
