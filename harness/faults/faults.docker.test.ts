import { execFile } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DockerBackend } from '../cluster/docker-backend.js';
import type { DockerCluster } from '../cluster/docker-backend.js';
import type { ClusterEvent } from '../cluster/backend.js';
import { repoRoot } from '../docker/repo.js';
import { findDelayers } from './delay.js';
import { reachability, resolvePartition } from './shapes.js';
import {
  delivered,
  expectedLinks,
  isolateState,
  probeSpec,
  sorted,
  stats,
  tcp,
  udp,
} from './test-support/probing.js';

const run = promisify(execFile);
const NAME = 'rbh-faults';
const CLI = [`${repoRoot()}/dist/harness/cli/main.js`];

/** Runs the real CLI in its own process, as a user would. */
async function cli(...args: string[]): Promise<Record<string, unknown>> {
  const { stdout } = await run(process.execPath, [...CLI, ...args, '--name', NAME, '--json']);
  return JSON.parse(stdout) as Record<string, unknown>;
}

let backend: DockerBackend;
let cluster: DockerCluster;
let stateDir: string;
const events: ClusterEvent[] = [];

beforeAll(async () => {
  stateDir = isolateState();
  backend = await DockerBackend.connect();
  await backend.down(NAME);
  cluster = await backend.up(probeSpec(NAME, 3));
  cluster.onEvent((e) => events.push(e));
});

afterAll(async () => {
  await backend?.down(NAME);
});

async function rules(node: string, table = 'filter'): Promise<string> {
  return (await cluster.netnsRun(node, ['iptables', '-t', table, '-S'])).stdout;
}

/** The rules in raftbed's chains (the chains and their jumps stay, empty, once made). */
async function ourRules(node: string): Promise<string[]> {
  return (await rules(node)).split('\n').filter((l) => l.startsWith('-A RAFTBED-'));
}

describe('partitions, observed by which datagrams arrive', () => {
  it('groups: links between groups are cut both ways, the rest deliver; join heals', async () => {
    const natBefore = await rules('n1', 'nat');
    const p = await cluster.partition({ kind: 'groups', groups: [['n1'], ['n2', 'n3']] });
    expect(sorted(await delivered(backend, cluster))).toEqual(['n2>n3', 'n3>n2']);
    expect(sorted(await delivered(backend, cluster))).toEqual(
      sorted(expectedLinks(cluster.nodes, p.cuts)),
    );
    // Docker's own rules (embedded DNS, nat table) are left exactly as they were.
    expect(await rules('n1', 'nat')).toBe(natBefore);
    await cluster.heal();
    expect(sorted(await delivered(backend, cluster))).toEqual(
      sorted(expectedLinks(cluster.nodes, [])),
    );
    expect(await ourRules('n1')).toEqual([]);
  });

  it('one way: n1 cannot reach n2, n2 still reaches n1', async () => {
    await cluster.partition({ kind: 'oneway', from: ['n1'], to: ['n2'] });
    const links = await delivered(backend, cluster);
    expect(links.has('n1>n2')).toBe(false);
    expect(links.has('n2>n1')).toBe(true);
    expect(links.size).toBe(5);
  });

  it('ring, bridge and isolate cut exactly the links their shapes say', async () => {
    for (const shape of [
      { kind: 'ring', seed: 3 },
      { kind: 'bridge', seed: 5 },
      { kind: 'isolate', node: 'n3' },
    ] as const) {
      const p = await cluster.partition(shape);
      expect(p).toEqual(resolvePartition(shape, cluster.nodes));
      expect(sorted(await delivered(backend, cluster))).toEqual(
        sorted(expectedLinks(cluster.nodes, p.cuts)),
      );
    }
    // The ring of 3: each node hears itself and one other, never the same pair.
    const ring = resolvePartition({ kind: 'ring', seed: 3 }, cluster.nodes);
    for (const heard of reachability(cluster.nodes, ring.cuts).values()) expect(heard.size).toBe(2);
    await cluster.heal();
  });

  it('every rule is in raftbed chains and tagged with the cluster', async () => {
    await cluster.partition({ kind: 'isolate', node: 'n1' });
    await cluster.flaky(['n2'], 0.2);
    // Starting a running node changes nothing: its rules are not made twice.
    await cluster.start(['n1']);
    await cluster.partition({ kind: 'isolate', node: 'n1' });
    for (const node of cluster.nodes) {
      const jumps = (await rules(node)).split('\n').filter((l) => /^-A (INPUT|OUTPUT) /.test(l));
      expect(jumps).toHaveLength(2);
    }
    for (const node of cluster.nodes) {
      const lines = (await rules(node)).split('\n').filter((l) => l.startsWith('-A'));
      expect(lines.length).toBeGreaterThan(0);
      for (const l of lines) {
        expect(l).toMatch(/^-A (INPUT|OUTPUT|RAFTBED-IN|RAFTBED-OUT) /);
        expect(l).toMatch(new RegExp(`--comment "raftbed:${NAME}(:partition|:flaky)?"`));
      }
    }
    await cluster.heal();
  });
});

describe('loss, delay and rate, observed by the probe', () => {
  it('flaky drops a share of what the node sends near the asked one; fast ends it', async () => {
    await cluster.flaky(['n2'], 0.3);
    const r = await udp(backend, cluster, 'n1', ['n2'], { count: 600, intervalMs: 1 });
    const t = r.targets[cluster.address('n2').host];
    const lost = 1 - (t?.received ?? 0) / (t?.sent ?? 1);
    expect(lost).toBeGreaterThan(0.3 - 0.08);
    expect(lost).toBeLessThan(0.3 + 0.08);
    // Only what n2 sends is dropped: n2 heard every request.
    const heard = await stats(backend, cluster, 'n2');
    expect(heard[cluster.address('n1').host]).toBeGreaterThanOrEqual(600);
    await cluster.fast();
    const after = await udp(backend, cluster, 'n1', ['n2'], { count: 200 });
    expect(after.targets[cluster.address('n2').host]?.received).toBe(200);
  });

  it('slow raises the round trip by the asked delay within 30%, jitter spreads it', async () => {
    const ip = cluster.address('n2').host;
    const base =
      (await udp(backend, cluster, 'n1', ['n2'], { count: 50 })).targets[ip]?.rtt?.p50 ?? 0;
    await cluster.slow(['n2'], { delayMs: 100, jitterMs: 20 });
    const r = (await udp(backend, cluster, 'n1', ['n2'], { count: 200, waitMs: 600 })).targets[ip];
    expect(r?.received).toBe(200);
    const added = (r?.rtt?.p50 ?? 0) - base;
    expect(added).toBeGreaterThan(70);
    expect(added).toBeLessThan(130);
    expect((r?.rtt?.max ?? 0) - (r?.rtt?.min ?? 0)).toBeGreaterThan(20);
    expect(r?.rtt?.min ?? 0).toBeGreaterThan(75);
    await cluster.fast();
    const after = (await udp(backend, cluster, 'n1', ['n2'], { count: 50 })).targets[ip];
    expect(after?.rtt?.p50 ?? 1000).toBeLessThan(20);
  });

  it('a dead delayer lets packets through undelayed (queue bypass)', async () => {
    await cluster.slow(['n3'], { delayMs: 200 });
    const [d] = findDelayers(`raftbed:${NAME}:n3`);
    expect(d).toBeDefined();
    process.kill(d?.pid ?? 0, 'SIGKILL');
    await new Promise((r) => setTimeout(r, 200));
    const r = (await udp(backend, cluster, 'n1', ['n3'], { count: 50 })).targets[
      cluster.address('n3').host
    ];
    expect(r?.received).toBe(50);
    expect(r?.rtt?.p50 ?? 1000).toBeLessThan(50);
    // The next change notices and starts a new one.
    await cluster.slow(['n3'], { delayMs: 60 });
    expect(findDelayers(`raftbed:${NAME}:n3`)).toHaveLength(1);
    await cluster.fast();
    expect(findDelayers(`raftbed:${NAME}:`)).toHaveLength(0);
  });

  it('a rate limit slows a bulk transfer from the node', async () => {
    const quick = await tcp(backend, cluster, 'n1', 'n2', 100_000);
    await cluster.slow(['n2'], { delayMs: 0, rateKbit: 800 });
    const limited = await tcp(backend, cluster, 'n1', 'n2', 100_000);
    await cluster.fast();
    // 100 kB at 800 kbit/s is 1 s; unlimited it takes milliseconds.
    expect(limited.ms).toBeGreaterThan(700);
    expect(quick.ms).toBeLessThan(300);
  });
});

describe('faults compose across processes and restarts', () => {
  it('a paused node can be partitioned; pause freezes, unpause thaws', async () => {
    await cli('pause', 'n3');
    const ip = cluster.address('n3').host;
    const frozen = await udp(backend, cluster, 'n1', ['n3'], { count: 20, waitMs: 300 });
    expect(frozen.targets[ip]?.received).toBe(0);
    const out = await cli('partition', 'n1', 'n2,n3');
    expect(out['description']).toBe('n1 | n2,n3');
    const status = (await run(process.execPath, [...CLI, 'status', '--name', NAME, '--json']))
      .stdout;
    const faults = (JSON.parse(status) as { faults: { paused: string[]; partition?: object } })
      .faults;
    expect(faults.paused).toEqual(['n3']);
    expect(faults.partition).toBeDefined();
    await cli('unpause', 'n3');
    expect(sorted(await delivered(backend, cluster))).toEqual(['n2>n3', 'n3>n2']);
  });

  it('a node killed and started again gets its partition and its delay back', async () => {
    await cli('slow', '--delay', '80', 'n1');
    await cli('kill', 'n1');
    const st = await cluster.status();
    expect(st.nodes.find((n) => n.node === 'n1')?.state).toBe('stopped');
    const started = await cli('start', 'n1');
    expect(String(started['detail'])).toMatch(/faults re-applied on n1/);
    expect(sorted(await delivered(backend, cluster))).toEqual(['n2>n3', 'n3>n2']);
    await cli('partition', '--from', 'n2', '--to', 'n1');
    const r = (await udp(backend, cluster, 'n3', ['n1'], { count: 40, waitMs: 400 })).targets[
      cluster.address('n1').host
    ];
    expect(r?.rtt?.p50 ?? 0).toBeGreaterThan(56);
    const joined = await cli('join');
    expect(String(joined['detail'])).toMatch(/partition.*delay on n1/);
    expect(sorted(await delivered(backend, cluster))).toEqual(
      sorted(expectedLinks(cluster.nodes, [])),
    );
    expect(findDelayers(`raftbed:${NAME}:`)).toHaveLength(0);
  });

  it('restart keeps a lossy node lossy', async () => {
    await cluster.flaky(['n2'], 0.5);
    await cluster.restart(['n2']);
    const r = await udp(backend, cluster, 'n1', ['n2'], { count: 300, intervalMs: 1 });
    const got = r.targets[cluster.address('n2').host]?.received ?? 0;
    expect(got).toBeGreaterThan(300 * 0.35);
    expect(got).toBeLessThan(300 * 0.65);
    await cluster.heal();
  });

  it('with the state file gone, faults are read back from the nodes and join removes them', async () => {
    await cluster.partition({ kind: 'oneway', from: ['n1'], to: ['n3'] });
    await cluster.flaky(['n2'], 0.2);
    await cluster.slow(['n3'], { delayMs: 40, rateKbit: 900 });
    rmSync(join(stateDir, `${NAME}.json`));
    const status = (await run(process.execPath, [...CLI, 'status', '--name', NAME, '--json']))
      .stdout;
    const faults = (JSON.parse(status) as { faults: Record<string, unknown> }).faults;
    expect(faults['partition']).toMatchObject({ cuts: [{ from: 'n1', to: 'n3' }] });
    expect(faults['flaky']).toEqual({ n2: { loss: 0.2 } });
    expect(faults['slow']).toEqual({ n3: { delayMs: 40, jitterMs: 0, rateKbit: 900 } });
    const joined = await cli('join');
    expect(String(joined['detail'])).toMatch(
      /^join: healed the partition .*loss on n2, delay on n3/,
    );
    for (const node of cluster.nodes) {
      expect(await ourRules(node)).toEqual([]);
      expect(
        (await cluster.netnsRun(node, ['tc', 'qdisc', 'show', 'dev', 'eth0'])).stdout,
      ).not.toMatch(/tbf/);
    }
    expect(findDelayers(`raftbed:${NAME}:`)).toHaveLength(0);
    expect(sorted(await delivered(backend, cluster))).toEqual(
      sorted(expectedLinks(cluster.nodes, [])),
    );
  });

  it('isolate-leader needs a leader and says so when there is none', async () => {
    await expect(cli('partition', '--isolate-leader')).rejects.toThrow(
      /no node of rbh-faults says it leads/,
    );
  });

  it('emits begin and end events for every action', () => {
    const ends = events.filter((e) => e.phase === 'end').map((e) => e.action);
    expect(ends).toEqual(
      expect.arrayContaining(['partition', 'heal', 'flaky', 'slow', 'fast', 'restart']),
    );
    const begins = events.filter((e) => e.phase === 'begin').length;
    expect(begins).toBe(ends.length);
  });
});
