import { createSocket } from 'node:dgram';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DockerBackend, DockerCluster } from '../../cluster/docker-backend.js';
import type { NodeName } from '../../cluster/spec.js';
import type { ClusterSpec } from '../../cluster/spec.js';
import { defaultSpec } from '../../cluster/spec.js';
import type { TcpReport, UdpReport } from '../probe.js';

/**
 * Test helpers that observe faults by their effect on packets, with the probe
 * that ships in the image (harness/faults/probe.ts), run by `docker exec`.
 * They need no Raft: the containers run the probe server instead of the node.
 */
export const PROBE = ['node', '/app/dist/harness/faults/probe.js'];

/** A cluster whose nodes run the probe server (UDP/TCP echo on 7100) instead of raftbed node. */
export function probeSpec(name: string, nodes: number): ClusterSpec {
  return { ...defaultSpec(name, nodes), command: [...PROBE, 'serve', '--data', '{data}'] };
}

/** A private state folder for one test file (the CLI processes it starts inherit it). */
export function isolateState(): string {
  const dir = mkdtempSync(join(tmpdir(), 'raftbed-state-test-'));
  process.env['RAFTBED_STATE_DIR'] = dir;
  return dir;
}

export async function probe(
  backend: DockerBackend,
  cluster: DockerCluster,
  node: NodeName,
  args: readonly string[],
): Promise<string> {
  const id = await cluster.containerId(node);
  const r = await backend.engine.exec(id, [...PROBE, ...args], { timeoutMs: 60_000 });
  if (r.exitCode !== 0) {
    throw new Error(`probe ${args.join(' ')} in ${node} failed (${r.exitCode}): ${r.stderr}`);
  }
  return r.stdout;
}

export async function udp(
  backend: DockerBackend,
  cluster: DockerCluster,
  from: NodeName,
  to: readonly NodeName[],
  opts: { count?: number; intervalMs?: number; waitMs?: number } = {},
): Promise<UdpReport> {
  const ips = to.map((n) => cluster.address(n).host);
  const out = await probe(backend, cluster, from, [
    'udp',
    '--to',
    ips.join(','),
    '--count',
    String(opts.count ?? 100),
    '--interval-ms',
    String(opts.intervalMs ?? 2),
    '--wait-ms',
    String(opts.waitMs ?? 500),
  ]);
  return JSON.parse(out) as UdpReport;
}

export async function tcp(
  backend: DockerBackend,
  cluster: DockerCluster,
  from: NodeName,
  to: NodeName,
  bytes: number,
): Promise<TcpReport> {
  const out = await probe(backend, cluster, from, [
    'tcp',
    '--to',
    cluster.address(to).host,
    '--bytes',
    String(bytes),
  ]);
  return JSON.parse(out) as TcpReport;
}

/** Counts of datagrams each node's probe server received, by source address. */
export async function stats(
  backend: DockerBackend,
  cluster: DockerCluster,
  node: NodeName,
  reset = false,
): Promise<Record<string, number>> {
  const out = await probe(backend, cluster, node, reset ? ['stats', '--reset'] : ['stats']);
  return JSON.parse(out) as Record<string, number>;
}

/**
 * Which directed links deliver: every node sends a few datagrams to every
 * other, and each receiver reports whom it heard from. `from>to` is in the set
 * when `to` received from `from`.
 */
export async function delivered(
  backend: DockerBackend,
  cluster: DockerCluster,
  nodes: readonly NodeName[] = cluster.nodes,
): Promise<Set<string>> {
  await Promise.all(nodes.map((n) => stats(backend, cluster, n, true)));
  await Promise.all(
    nodes.map((n) =>
      udp(
        backend,
        cluster,
        n,
        nodes.filter((m) => m !== n),
        { count: 5, intervalMs: 5, waitMs: 200 },
      ),
    ),
  );
  const byIp = new Map(nodes.map((n) => [cluster.address(n).host, n]));
  const links = new Set<string>();
  for (const to of nodes) {
    const counts = await stats(backend, cluster, to);
    for (const [ip, count] of Object.entries(counts)) {
      const from = byIp.get(ip);
      if (from !== undefined && count > 0) links.add(`${from}>${to}`);
    }
  }
  return links;
}

/** Every directed link between distinct nodes, minus the cut ones. */
export function expectedLinks(
  nodes: readonly NodeName[],
  cuts: readonly { from: NodeName; to: NodeName }[],
): Set<string> {
  const links = new Set<string>();
  for (const a of nodes) for (const b of nodes) if (a !== b) links.add(`${a}>${b}`);
  for (const c of cuts) links.delete(`${c.from}>${c.to}`);
  return links;
}

export const sorted = (s: Set<string>): string[] => [...s].sort();

/** Whether the probe at host:port echoes a datagram sent from this host within `timeoutMs`. */
export function hostEcho(host: string, port = 7100, timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = createSocket('udp4');
    const done = (ok: boolean): void => {
      clearTimeout(timer);
      sock.close();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    sock.on('message', () => done(true));
    sock.on('error', () => done(false));
    sock.send('ping', port, host);
  });
}

/** Polls `check` until it holds or the time is up; returns the last answer. */
export async function eventually(
  check: () => Promise<boolean>,
  timeoutMs = 5000,
): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return true;
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 50));
  }
}
