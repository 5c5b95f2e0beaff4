/**
 * Starting `raftbed node` from damaged or odd data and settings: a torn WAL
 * tail is cut and logged and the node serves; corruption in the middle of
 * the log refuses to start with the file and offset; bad flags, busy ports
 * and an unusable data directory give one line and exit code 3; settings come
 * from the environment or a config file.
 */
import { createSocket } from 'node:dgram';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RespClient } from '../kv/client.js';
import { HOST, LocalCluster, NodeProcess, freeUdpPorts, requireBuiltCli } from './local-cluster.js';

/** Where the last whole record of a WAL segment starts, and its length with its 8-byte head. */
function lastRecord(bytes: Buffer): { start: number; length: number } {
  let at = 0;
  let last = { start: 0, length: 0 };
  while (at + 8 <= bytes.length) {
    const length = 8 + bytes.readUInt32BE(at);
    if (at + length > bytes.length) break;
    last = { start: at, length };
    at += length;
  }
  if (last.length === 0) throw new Error('no whole record');
  return last;
}

function stderrLines(p: NodeProcess): string[] {
  return p.stderr.split('\n').filter((l) => l !== '');
}

describe('raftbed node recovering from its data directory', () => {
  let cluster: LocalCluster;

  beforeAll(async () => {
    cluster = await LocalCluster.start();
  });

  afterAll(async () => {
    await cluster?.destroy();
  });

  async function writeSome(prefix: string, n: number): Promise<void> {
    const leader = await cluster.leader();
    const c = await cluster.client(leader);
    const replies = await c.pipeline(
      Array.from({ length: n }, (_, i) => ['SET', `${prefix}-${i}`, `${i}`]),
    );
    for (const r of replies) expect(r).toEqual({ type: 'simple', value: 'OK' });
  }

  /**
   * Writes `n` keys, then kills the `which`th follower once it has applied them:
   * its newest WAL segment and the bytes it holds, to damage before a restart.
   */
  async function killedFollowerSegment(
    prefix: string,
    n: number,
    which: number,
  ): Promise<{ leader: string; victim: string; file: string; bytes: Buffer }> {
    await writeSome(prefix, n);
    const leader = await cluster.leader();
    const victim = cluster.followers(leader)[which] as string;
    await cluster.caughtUp(victim, (await cluster.status(leader)).commit);
    await cluster.kill(victim);
    const file = await cluster.lastSegment(victim);
    return { leader, victim, file, bytes: await readFile(file) };
  }

  async function expectKeys(via: string, prefix: string, n: number): Promise<void> {
    for (let i = 0; i < n; i++)
      expect(await cluster.call(via, ['GET', `${prefix}-${i}`])).toBe(`${i}`);
  }

  it('cuts a torn tail off the last WAL segment, logs it, and serves', async () => {
    const { leader, victim, file, bytes } = await killedFollowerSegment('torn', 30, 0);
    // A crash in the middle of writing one more record: the file ends mid-record. (Cutting
    // a record that was acknowledged would lose what the leader counts on, which an
    // fsynced write never is.)
    const last = lastRecord(bytes);
    const partial = bytes.subarray(last.start, last.start + Math.ceil(last.length / 2));
    await writeFile(file, Buffer.concat([bytes, partial]));

    const proc = await cluster.launch(victim);
    const cut = await proc.waitFor('wal-truncated', (l) => l.event === 'wal-truncated');
    expect(cut).toMatchObject({
      event: 'wal-truncated',
      reason: 'torn-tail',
      file,
      offset: bytes.length,
      bytes: partial.length,
      level: 'warn',
    });
    expect(proc.lines.find((l) => l.event === 'recovered')).toMatchObject({
      event: 'recovered',
      lastIndex: (await cluster.status(leader)).commit,
    });
    expect((await stat(file)).size).toBe(bytes.length);
    await cluster.leader();
    await expectKeys(victim, 'torn', 30);
    expect(await cluster.call(victim, ['SET', 'after-torn', 'ok'])).toBe('OK');
  });

  it('refuses to start on corruption in the middle of the log, naming the file and offset', async () => {
    const { leader, victim, file, bytes } = await killedFollowerSegment('mid', 40, 1);
    const at = Math.floor(bytes.length / 2);
    bytes[at] = (bytes[at] ?? 0) ^ 0xff;
    await writeFile(file, bytes);

    const proc = cluster.spawn(victim);
    const exit = await proc.exited;
    expect(exit).toEqual({ code: 3, signal: null });
    const lines = stderrLines(proc);
    expect(lines).toHaveLength(1);
    const m = /^raftbed node: storage corrupt: (\S+) at offset (\d+): .*refusing to start/.exec(
      lines[0] ?? '',
    );
    expect(m, lines[0]).not.toBeNull();
    expect(m?.[1]).toBe(file);
    const offset = Number(m?.[2]);
    expect(offset).toBeLessThanOrEqual(at);
    expect(offset).toBeGreaterThan(0);
    expect(proc.lines.at(-1)).toMatchObject({ event: 'stop', code: 3 });
    // Nothing was repaired: the files are as the damage left them.
    expect(await readFile(file)).toEqual(bytes);

    // The rest of the cluster still serves.
    expect(await cluster.call(leader, ['SET', 'after-corrupt', 'ok'])).toBe('OK');
  });
});

describe('raftbed node refusing bad settings with one line and exit 3', () => {
  beforeAll(() => requireBuiltCli());

  async function refused(args: readonly string[], env: Record<string, string> = {}) {
    const p = new NodeProcess(args, env);
    const exit = await p.exited;
    return { exit, lines: stderrLines(p) };
  }

  it('an unknown flag', async () => {
    const r = await refused(['--id', 'n1', '--frobnicate', '3']);
    expect(r.exit).toEqual({ code: 3, signal: null });
    expect(r.lines).toHaveLength(1);
    expect(r.lines[0]).toMatch(/--frobnicate/);
  });

  it('a missing required setting', async () => {
    const r = await refused(['--id', 'n1', '--data', '/tmp/x']);
    expect(r.exit.code).toBe(3);
    expect(r.lines).toEqual([
      'raftbed node: --peers is required (or RAFTBED_PEERS in the environment, or ' +
        "'peers' in --config)",
    ]);
  });

  it('a client port in use, a Raft port in use, a data directory that is a file', async () => {
    const dir = tmpdir();
    const [raft, other] = await freeUdpPorts(2);
    const peers = `n1=${HOST}:${raft},n2=${HOST}:${other}`;
    const busy = createServer();
    await new Promise<void>((ok) => busy.listen(0, HOST, () => ok()));
    const port = (busy.address() as { port: number }).port;
    const dataFile = join(dir, `raftbed-not-a-dir-${process.pid}`);
    await writeFile(dataFile, 'x');
    try {
      const common = ['--id', 'n1', '--peers', peers, '--bind-client', HOST];
      const a = await refused([...common, '--data', dataFile, '--client-port', '0']);
      expect(a.exit.code).toBe(3);
      expect(a.lines).toHaveLength(1);
      expect(a.lines[0]).toContain(`raftbed node: cannot open the data directory ${dataFile}`);

      const data = join(dir, `raftbed-busy-${process.pid}`);
      const b = await refused([...common, '--data', data, '--client-port', String(port)]);
      expect(b.exit.code).toBe(3);
      expect(b.lines).toHaveLength(1);
      expect(b.lines[0]).toContain(`cannot listen for clients on ${HOST}:${port}`);

      const udp = createSocket('udp4');
      await new Promise<void>((ok) => udp.bind(raft, HOST, () => ok()));
      const c = await refused([...common, '--data', data, '--client-port', '0']);
      udp.close();
      expect(c.exit.code).toBe(3);
      expect(c.lines).toHaveLength(1);
      expect(c.lines[0]).toContain(`cannot bind n1's Raft address ${HOST}:${raft}`);
      await rm(data, { recursive: true, force: true });
    } finally {
      busy.close();
      await rm(dataFile, { force: true });
    }
  });
});

describe('raftbed node configured by the environment or a file', () => {
  beforeAll(() => requireBuiltCli());

  it('runs a one-node cluster from RAFTBED_* variables, and another from a YAML file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'raftbed-env-'));
    const [p1, p2] = await freeUdpPorts(2);
    try {
      const fromEnv = new NodeProcess([], {
        RAFTBED_ID: 'solo',
        RAFTBED_PEERS: `solo=${HOST}:${p1}`,
        RAFTBED_DATA: join(dir, 'env'),
        RAFTBED_CLIENT_PORT: '0',
        RAFTBED_BIND_CLIENT: HOST,
        RAFTBED_FSYNC: 'never',
      });
      const file = join(dir, 'node.yml');
      await writeFile(
        file,
        [
          'id: one',
          `peers: { one: "${HOST}:${p2}" }`,
          `data: ${join(dir, 'file')}`,
          'client-port: 0',
          `bind-client: ${HOST}`,
          'election-timeout-ms: [100, 200]',
          'heartbeat-ms: 20',
          '',
        ].join('\n'),
      );
      const fromFile = new NodeProcess(['--config', file]);
      for (const [proc, id, fsync] of [
        [fromEnv, 'solo', 'never'],
        [fromFile, 'one', 'always'],
      ] as const) {
        const port = await proc.started();
        const start = proc.lines.find((l) => l.event === 'start');
        expect(start).toMatchObject({ node: id, fsync, unsafe: 'none' });
        await proc.waitFor('leadership', (l) => l.event === 'role' && l.role === 'leader');
        const c = await RespClient.connect({ host: HOST, port });
        expect((await c.call(['SET', 'k', id])).type).toBe('simple');
        expect(await c.call(['GET', 'k'])).toEqual({ type: 'bulk', value: Buffer.from(id) });
        c.close();
        proc.signal('SIGTERM');
        expect(await proc.exited).toEqual({ code: 0, signal: null });
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
