/**
 * Real `raftbed node` processes on 127.0.0.1, for the integration tests and
 * the benchmark: the built CLI, free ports chosen at run time, every JSON log
 * line kept and parsed, and the invariants the harness checks on node logs.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createSocket, type Socket } from 'node:dgram';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ClientError, ReplyError, RespClient } from '../kv/client.js';
import type { RespValue } from '../kv/resp.js';
import { parseInfo, parseStatusReply, type NodeStatus } from '../kv/status.js';
import { parseNodeLogLine, type NodeLogLine } from '../log.js';
import { parseSegmentName } from '../storage/files.js';

export const HOST = '127.0.0.1';
/** The checkout: the nearest folder up from here with a package.json (from source or from dist). */
function findRoot(): string {
  let dir = fileURLToPath(new URL('.', import.meta.url));
  while (!existsSync(join(dir, 'package.json')) && dirname(dir) !== dir) dir = dirname(dir);
  return dir;
}
const ROOT = findRoot();
export const CLI = join(ROOT, 'dist', 'harness', 'cli', 'main.js');

/** The tests run the built CLI, as a container does; a missing build is a failure, not a skip. */
export function requireBuiltCli(): void {
  if (!existsSync(CLI))
    throw new Error(
      `${CLI} is missing: build first (npx tsc -p tsconfig.build.json, or make check)`,
    );
}

export async function freeUdpPorts(n: number): Promise<number[]> {
  const sockets = await Promise.all(
    Array.from({ length: n }, () => {
      const s = createSocket('udp4');
      return new Promise<Socket>((ok) => s.bind(0, HOST, () => ok(s)));
    }),
  );
  const ports = sockets.map((s) => s.address().port);
  await Promise.all(sockets.map((s) => new Promise<void>((ok) => s.close(() => ok()))));
  return ports;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((ok) => setTimeout(ok, ms));
}

/** Polls `probe` until it returns a value other than undefined. */
export async function eventually<T>(
  what: string,
  probe: () => Promise<T | undefined> | T | undefined,
  timeoutMs = 10_000,
  everyMs = 25,
): Promise<T> {
  const end = Date.now() + timeoutMs;
  let last: string | null = null;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (err) {
      last = err instanceof Error ? err.message : JSON.stringify(err);
    }
    if (Date.now() > end)
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${what}` +
          (last === null ? '' : ` (last error: ${last})`),
      );
    await sleep(everyMs);
  }
}

export interface Exit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/** One `raftbed node` process. */
export class NodeProcess {
  readonly lines: NodeLogLine[] = [];
  /** stdout lines that are not log lines (there should be none). */
  readonly strays: string[] = [];
  stderr = '';
  readonly exited: Promise<Exit>;
  exit: Exit | null = null;
  private readonly child: ChildProcess;
  private buffer = '';
  private waiters: Array<() => void> = [];

  constructor(args: readonly string[], env: Readonly<Record<string, string>> = {}) {
    this.child = spawn(process.execPath, [CLI, 'node', ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ...env },
    });
    this.child.stdout?.setEncoding('utf8');
    this.child.stderr?.setEncoding('utf8');
    this.child.stdout?.on('data', (chunk: string) => this.onStdout(chunk));
    this.child.stderr?.on('data', (chunk: string) => {
      this.stderr += chunk;
    });
    this.exited = new Promise((ok) =>
      this.child.on('close', (code, signal) => {
        this.exit = { code, signal };
        this.wake();
        ok(this.exit);
      }),
    );
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  get running(): boolean {
    return this.exit === null;
  }

  signal(sig: NodeJS.Signals): void {
    if (this.running) this.child.kill(sig);
  }

  /** The first log line (from `from` on) that satisfies `pred`. */
  async waitFor(
    what: string,
    pred: (l: NodeLogLine) => boolean,
    timeoutMs = 10_000,
    from = 0,
  ): Promise<NodeLogLine> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const found = this.lines.slice(from).find(pred);
      if (found !== undefined) return found;
      if (!this.running)
        throw new Error(
          `node exited (${JSON.stringify(this.exit)}) before ${what}: ${this.stderr}`,
        );
      const left = end - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${what}`);
      await new Promise<void>((ok) => {
        const t = setTimeout(ok, left);
        this.waiters.push(() => {
          clearTimeout(t);
          ok();
        });
      });
    }
  }

  /** The client port from the `start` line of this boot. */
  async started(timeoutMs = 10_000): Promise<number> {
    const line = await this.waitFor('the start line', (l) => l.event === 'start', timeoutMs);
    if (line.event !== 'start') throw new Error('unreachable');
    const port = Number(line.client.split(':').pop());
    if (!(port > 0)) throw new Error(`no client port in ${line.client}`);
    return port;
  }

  private onStdout(chunk: string): void {
    this.buffer += chunk;
    let at: number;
    while ((at = this.buffer.indexOf('\n')) >= 0) {
      const text = this.buffer.slice(0, at);
      this.buffer = this.buffer.slice(at + 1);
      const line = parseNodeLogLine(text);
      if (line === null) this.strays.push(text);
      else this.lines.push(line);
    }
    this.wake();
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }
}

export interface ClusterOptions {
  readonly size?: number;
  /** Flags for every node, after the required ones. */
  readonly args?: readonly string[];
  /** Where the data directories go (a folder is made in it); the OS temp dir by default. */
  readonly root?: string;
}

/** Three (or `size`) nodes with their data directories, restartable with the same data. */
export class LocalCluster {
  readonly ids: string[];
  readonly procs = new Map<string, NodeProcess>();
  /** Every process ever started, for the log invariants and the cleanup. */
  readonly history: NodeProcess[] = [];
  private readonly ports = new Map<string, number>();
  private readonly clients = new Map<string, RespClient>();

  private constructor(
    readonly dir: string,
    readonly peers: string,
    readonly raftPorts: ReadonlyMap<string, number>,
    private readonly args: readonly string[],
  ) {
    this.ids = [...raftPorts.keys()];
  }

  static async start(options: ClusterOptions = {}): Promise<LocalCluster> {
    requireBuiltCli();
    const size = options.size ?? 3;
    const dir = await mkdtemp(join(options.root ?? tmpdir(), 'raftbed-int-'));
    const ports = await freeUdpPorts(size);
    const raftPorts = new Map(ports.map((p, i) => [`n${i + 1}`, p]));
    const peers = [...raftPorts].map(([id, p]) => `${id}=${HOST}:${p}`).join(',');
    const cluster = new LocalCluster(dir, peers, raftPorts, options.args ?? []);
    await Promise.all(cluster.ids.map((id) => cluster.launch(id)));
    return cluster;
  }

  dataDir(id: string): string {
    return join(this.dir, id);
  }

  /** The path of the newest WAL segment in `id`'s data directory. */
  async lastSegment(id: string): Promise<string> {
    const dir = this.dataDir(id);
    const segs = (await readdir(dir)).filter((f) => parseSegmentName(f) !== null).sort();
    const last = segs.at(-1);
    if (last === undefined) throw new Error(`no WAL segment in ${dir}`);
    return join(dir, last);
  }

  proc(id: string): NodeProcess {
    const p = this.procs.get(id);
    if (p === undefined) throw new Error(`no process for ${id}`);
    return p;
  }

  /** Starts `id` (again, with the same data) and waits for its start line. */
  async launch(id: string, extra: readonly string[] = []): Promise<NodeProcess> {
    const p = this.spawn(id, extra);
    this.ports.set(id, await p.started());
    return p;
  }

  /** Starts `id` without waiting (for tests of refusals). */
  spawn(id: string, extra: readonly string[] = []): NodeProcess {
    this.dropClient(id);
    const p = new NodeProcess([
      '--id',
      id,
      '--peers',
      this.peers,
      '--data',
      this.dataDir(id),
      '--client-port',
      '0',
      '--bind-client',
      HOST,
      ...this.args,
      ...extra,
    ]);
    this.procs.set(id, p);
    this.history.push(p);
    return p;
  }

  clientPort(id: string): number {
    const port = this.ports.get(id);
    if (port === undefined) throw new Error(`${id} has no client port yet`);
    return port;
  }

  /** A connected client to `id`, reused while it stays connected. */
  async client(id: string, commandTimeoutMs = 8000): Promise<RespClient> {
    const c = this.clients.get(id);
    if (c?.connected === true) return c;
    const fresh = await RespClient.connect({
      host: HOST,
      port: this.clientPort(id),
      commandTimeoutMs,
    });
    this.clients.set(id, fresh);
    return fresh;
  }

  /** One command; error replies come back as `{ error }` rather than thrown. */
  async call(id: string, args: readonly (string | number)[]): Promise<Reply> {
    const c = await this.client(id);
    try {
      return text(await c.call(args));
    } catch (err) {
      if (err instanceof ReplyError) return { error: err.reply };
      throw err;
    }
  }

  async status(id: string): Promise<NodeStatus> {
    const c = await this.client(id);
    const s = parseStatusReply(await c.call(['RAFT.STATUS']));
    if (s === null) throw new Error(`${id}: RAFT.STATUS reply not understood`);
    return s;
  }

  async info(id: string): Promise<Record<string, Record<string, string>>> {
    const v = await (await this.client(id)).call(['INFO']);
    return parseInfo(v.type === 'bulk' && v.value !== null ? Buffer.from(v.value).toString() : '');
  }

  /**
   * The leader every running node (but those in `except`) agrees on, in the
   * highest term any of them reports.
   */
  async leader(timeoutMs = 10_000, except: readonly string[] = []): Promise<string> {
    const live = this.ids.filter((id) => !except.includes(id) && this.procs.get(id)?.running);
    return eventually(
      'one leader all running nodes agree on',
      async () => {
        const all = await Promise.all(live.map((id) => this.status(id)));
        const top = Math.max(...all.map((s) => s.term));
        const leaders = all.filter((s) => s.role === 'leader' && s.term === top);
        if (leaders.length !== 1) return undefined;
        const id = leaders[0]?.id as string;
        return all.every((s) => s.leader === id && s.term === top) ? id : undefined;
      },
      timeoutMs,
    );
  }

  followers(leader: string): string[] {
    return this.ids.filter((id) => id !== leader);
  }

  /** Waits until `id` applied at least `index`. */
  async caughtUp(id: string, index: number, timeoutMs = 15_000): Promise<NodeStatus> {
    return eventually(
      `${id} to apply index ${index}`,
      async () => {
        const s = await this.status(id);
        return s.applied >= index ? s : undefined;
      },
      timeoutMs,
    );
  }

  /** SIGKILL, and wait for the process to be gone. */
  async kill(id: string): Promise<void> {
    const p = this.proc(id);
    this.dropClient(id);
    p.signal('SIGKILL');
    await p.exited;
  }

  /** SIGTERM and the exit it led to. */
  async terminate(id: string): Promise<Exit> {
    const p = this.proc(id);
    this.dropClient(id);
    p.signal('SIGTERM');
    return p.exited;
  }

  /** Every node down (SIGKILL for those still up, stopped ones included), files removed. */
  async destroy(): Promise<void> {
    for (const id of [...this.clients.keys()]) this.dropClient(id);
    for (const p of this.history) {
      p.signal('SIGCONT');
      p.signal('SIGKILL');
    }
    await Promise.all(this.history.map((p) => p.exited));
    await rm(this.dir, { recursive: true, force: true });
  }

  /** Log lines of every process this cluster ran, with the process they came from. */
  allLines(): NodeLogLine[] {
    return this.history.flatMap((p) => p.lines);
  }

  private dropClient(id: string): void {
    this.clients.get(id)?.close();
    this.clients.delete(id);
  }
}

export type Reply = string | number | null | { readonly error: string } | Reply[];

/** A reply as plain data: bulk and simple strings as text, nil as null. */
export function text(v: RespValue): Reply {
  switch (v.type) {
    case 'simple':
      return v.value;
    case 'error':
      return { error: v.value };
    case 'integer':
      return v.value;
    case 'bulk':
      return v.value === null ? null : Buffer.from(v.value).toString();
    case 'array':
      return v.value === null ? null : v.value.map(text);
  }
}

/** Whether a failure of a client call means "nothing was sent". */
export function notSent(err: unknown): boolean {
  return err instanceof ClientError && !err.sent;
}

/**
 * The invariants the harness checks on node logs: at most one node writes
 * `role: leader` for any term, and within one boot `commit` never decreases.
 * Returns the violations found (none is the passing case).
 */
export function logViolations(lines: readonly NodeLogLine[]): string[] {
  const out: string[] = [];
  const leaders = new Map<number, Set<string>>();
  const lastCommit = new Map<string, number>();
  for (const l of lines) {
    if (l.event === 'role' && l.role === 'leader') {
      const set = leaders.get(l.term) ?? new Set<string>();
      set.add(`${l.node}`);
      leaders.set(l.term, set);
      if (set.size > 1) out.push(`term ${l.term} has leaders ${[...set].join(', ')}`);
    }
    if (l.event === 'commit') {
      const key = `${l.node}/${l.boot}`;
      const before = lastCommit.get(key);
      if (before !== undefined && l.commit < before)
        out.push(`${l.node} boot ${l.boot}: commit went from ${before} to ${l.commit}`);
      lastCommit.set(key, l.commit);
    }
  }
  return out;
}
