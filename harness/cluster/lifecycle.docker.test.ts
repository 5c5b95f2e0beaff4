import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureImage } from '../docker/image.js';
import { repoRoot } from '../docker/repo.js';
import { findDelayers } from '../faults/delay.js';
import { inNetns } from '../faults/netns.js';
import {
  eventually,
  hostEcho,
  isolateState,
  PROBE,
  probe,
  probeSpec,
} from '../faults/test-support/probing.js';
import { ClusterError, DockerBackend } from './docker-backend.js';
import type { DockerCluster } from './docker-backend.js';
import { CLUSTER_LABEL } from './names.js';

const run = promisify(execFile);
const NAME = 'rbh-life';
const CLI = `${repoRoot()}/dist/harness/cli/main.js`;
const ALL = [NAME, 'rbh-crash', 'rbh-sigint', 'rbh-yml', 'rbh-clash'];

let backend: DockerBackend;
let cluster: DockerCluster;
let stateDir: string;
let image: string;
const bystanders: string[] = [];

async function leftovers(name: string): Promise<number> {
  const labels = { [CLUSTER_LABEL]: name };
  const [c, n, v] = await Promise.all([
    backend.engine.listContainers(labels),
    backend.engine.listNetworks(labels),
    backend.engine.listVolumes(labels),
  ]);
  return c.length + n.length + v.length + findDelayers(`raftbed:${name}:`).length;
}

function canConnect(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createConnection({ host, port });
    s.setTimeout(2000, () => {
      s.destroy();
      resolve(false);
    });
    s.on('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.on('error', () => resolve(false));
  });
}

beforeAll(async () => {
  stateDir = isolateState();
  backend = await DockerBackend.connect();
  for (const n of ALL) await backend.down(n);
  image = (await ensureImage(backend.engine, { root: repoRoot() })).ref;
  // Containers raftbed did not create: one with no label, one of another cluster.
  for (const [name, labels] of [
    ['rbh-bystander', {}],
    ['rbh-bystander-other', { [CLUSTER_LABEL]: 'rbh-someone-else' }],
  ] as const) {
    const old = await backend.engine.inspectContainer(name);
    if (old) await backend.engine.removeContainer(old.id);
    const id = await backend.engine.createContainer({
      name,
      image,
      cmd: [...PROBE, 'serve'],
      labels,
    });
    await backend.engine.startContainer(id);
    bystanders.push(id);
  }
  cluster = await backend.up({ ...probeSpec(NAME, 3), image });
});

afterAll(async () => {
  for (const n of ALL) await backend?.down(n);
  for (const id of bystanders) await backend?.engine.removeContainer(id);
});

describe('cluster lifecycle', () => {
  it('up makes labelled containers with static addresses the host reaches directly', async () => {
    const st = await cluster.status();
    expect(st.nodes.map((n) => [n.node, n.container, n.state])).toEqual([
      ['n1', 'rbh-life-n1', 'running'],
      ['n2', 'rbh-life-n2', 'running'],
      ['n3', 'rbh-life-n3', 'running'],
    ]);
    const subnet = st.nodes[0]?.address.host.split('.').slice(0, 3).join('.');
    expect(st.nodes.map((n) => n.address.host)).toEqual([
      `${subnet}.11`,
      `${subnet}.12`,
      `${subnet}.13`,
    ]);
    const labels = { [CLUSTER_LABEL]: NAME };
    expect(await backend.engine.listContainers(labels)).toHaveLength(3);
    expect(await backend.engine.listNetworks(labels)).toHaveLength(1);
    expect(await backend.engine.listVolumes(labels)).toHaveLength(3);
    // Nothing is published: the host reaches the bridge address itself.
    expect(await eventually(() => canConnect(cluster.address('n2').host, 7100))).toBe(true);
  });

  it('up refuses a name that is taken, saying what to do', async () => {
    await expect(backend.up({ ...probeSpec(NAME, 3), image })).rejects.toThrow(ClusterError);
    await expect(backend.up({ ...probeSpec(NAME, 3), image })).rejects.toThrow(
      /raftbed down --name rbh-life/,
    );
  });

  it('kill and start keep the address and the volume', async () => {
    const ip = cluster.address('n1').host;
    // Its first boot is on the volume once it serves.
    expect(await eventually(() => hostEcho(ip))).toBe(true);
    await cluster.kill(['n1']);
    expect((await cluster.status()).nodes[0]?.state).toBe('stopped');
    await expect(cluster.pause(['n1'])).rejects.toThrow(/cannot pause n1: it is not running/);
    expect(await canConnect(ip, 7100)).toBe(false);
    await cluster.start(['n1']);
    expect(await eventually(() => canConnect(ip, 7100))).toBe(true);
    expect((await probe(backend, cluster, 'n1', ['boots'])).trim()).toBe('2');
    const info = await backend.engine.inspectContainer('rbh-life-n1');
    expect(Object.values(info?.addresses ?? {})).toEqual([ip]);
    const log = await cluster.logs('n1');
    expect(log.match(/probe serving/g)).toHaveLength(2);
  });

  it('pause freezes the processes and unpause thaws them', async () => {
    const ip = cluster.address('n2').host;
    expect(await eventually(() => hostEcho(ip))).toBe(true);
    await cluster.pause(['n2']);
    await cluster.pause(['n2']); // already paused: nothing to do
    await expect(cluster.start(['n2'])).rejects.toThrow(/cannot start n2: it is paused/);
    expect((await cluster.faults()).paused).toEqual(['n2']);
    // The kernel still answers (the address is up) but no process runs to echo.
    expect(await hostEcho(ip, 7100, 800)).toBe(false);
    await expect(cluster.pause(['n9'])).rejects.toThrow(/unknown node 'n9'/);
    await cluster.unpause(['n2']);
    expect(await hostEcho(ip)).toBe(true);
    expect((await cluster.faults()).paused).toEqual([]);
  });

  it('logs, status and an unknown cluster through the CLI', async () => {
    const logs = await run(process.execPath, [CLI, 'logs', 'n3', '--name', NAME]);
    expect(logs.stdout).toMatch(/probe serving on udp\/tcp 7100/);
    const status = await run(process.execPath, [CLI, 'status', '--name', NAME]);
    expect(status.stdout).toMatch(/^cluster rbh-life/);
    expect(status.stdout).toMatch(/\nfaults: none\n$/);
    const err = await run(process.execPath, [CLI, 'status', '--name', 'rbh-nothing-here']).then(
      () => undefined,
      (e: unknown) => e as { code: number; stderr: string },
    );
    expect(err?.code).toBe(3);
    expect(err?.stderr.trim().split('\n')).toHaveLength(1);
    expect(err?.stderr).toMatch(/no cluster named rbh-nothing-here/);
  });

  it('up reads raftbed.yml: name, nodes and subnet', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'raftbed-yml-'));
    writeFileSync(
      join(dir, 'raftbed.yml'),
      [
        'name: rbh-yml',
        'nodes: 2',
        `image: ${image}`,
        'subnet: 10.77.250.0/24',
        `command: [${PROBE.join(', ')}, serve]`,
      ].join('\n'),
    );
    try {
      const up = await run(process.execPath, [CLI, 'up', '--json'], { cwd: dir });
      const out = JSON.parse(up.stdout) as { cluster: string; nodes: { address: string }[] };
      expect(out.cluster).toBe('rbh-yml');
      expect(out.nodes.map((n) => n.address)).toEqual(['10.77.250.11:6379', '10.77.250.12:6379']);
      const down = await run(process.execPath, [CLI, 'down'], { cwd: dir });
      expect(down.stdout).toMatch(/^down: removed 2 containers, 1 network, 2 volumes/);
      expect(await leftovers('rbh-yml')).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('cleanup', () => {
  it('down removes what a crashed harness left: objects by label, helpers by tag', async () => {
    const crashed = await backend.up({ ...probeSpec('rbh-crash', 2), image });
    await crashed.slow(['n1'], { delayMs: 30 });
    expect(findDelayers('raftbed:rbh-crash:')).toHaveLength(1);
    // The harness "crashes": its state file is gone, what it made is still there.
    rmSync(join(stateDir, 'rbh-crash.json'));
    const down = await run(process.execPath, [CLI, 'down', '--name', 'rbh-crash', '--json']);
    expect(JSON.parse(down.stdout)).toMatchObject({
      containers: 2,
      networks: 1,
      volumes: 2,
      helpers: 1,
    });
    expect(await leftovers('rbh-crash')).toBe(0);
  });

  it('an up that fails half-way removes what it made and nothing else', async () => {
    // A container raftbed did not make holds the name up wants for n2.
    const squatter = await backend.engine.createContainer({
      name: 'rbh-clash-n2',
      image,
      cmd: [...PROBE, 'serve'],
      labels: {},
    });
    try {
      await expect(backend.up({ ...probeSpec('rbh-clash', 3), image })).rejects.toThrow(
        /rbh-clash-n2/,
      );
      expect(await leftovers('rbh-clash')).toBe(0);
      expect((await backend.engine.inspectContainer(squatter))?.name).toBe('rbh-clash-n2');
      expect(existsSync(join(stateDir, 'rbh-clash.json'))).toBe(false);
    } finally {
      await backend.engine.removeContainer(squatter);
    }
  });

  it('up --replace removes the old cluster first', async () => {
    await backend.up({ ...probeSpec('rbh-clash', 2), image });
    const again = await backend.up({ ...probeSpec('rbh-clash', 3), image }, { replace: true });
    expect((await again.status()).nodes.map((n) => n.state)).toEqual([
      'running',
      'running',
      'running',
    ]);
    expect(await backend.engine.listVolumes({ [CLUSTER_LABEL]: 'rbh-clash' })).toHaveLength(3);
    await backend.down('rbh-clash');
  });

  it('Ctrl-C during up leaves either the whole cluster or nothing', async () => {
    for (const delayMs of [500, 1000]) {
      const child = spawn(
        process.execPath,
        [CLI, 'up', '--name', 'rbh-sigint', '--nodes', '3', '--image', image],
        { stdio: ['ignore', 'pipe', 'pipe'] },
      );
      let output = '';
      child.stdout.on('data', (c: Buffer) => (output += c.toString()));
      child.stderr.on('data', (c: Buffer) => (output += c.toString()));
      // Listen before waiting: a command that ends early must not be missed.
      const closed = new Promise<number | null>((r) => child.on('close', r));
      await new Promise((r) => setTimeout(r, delayMs));
      child.kill('SIGINT');
      const code = await closed;
      const left = await leftovers('rbh-sigint');
      // null: the signal came before the CLI had started anything (default handling).
      if (code === 130 || code === null) {
        expect(left).toBe(0);
        expect(existsSync(join(stateDir, 'rbh-sigint.json'))).toBe(false);
      } else {
        expect(`exit ${code}: ${output}`).toMatch(/^exit 0: up: cluster rbh-sigint/);
        const st = await (await backend.attach('rbh-sigint')).status();
        expect(st.nodes.map((n) => n.state)).toEqual(['running', 'running', 'running']);
      }
      await backend.down('rbh-sigint');
    }
  });

  it('down leaves nothing labelled and never touches containers raftbed did not make', async () => {
    const before = await Promise.all(
      bystanders.map(async (id) => {
        const info = await backend.engine.inspectContainer(id);
        return {
          id,
          startedAt: info?.startedAt,
          rules: (await inNetns(info?.pid ?? 0, ['iptables', '-S'])).stdout,
        };
      }),
    );
    await cluster.partition({ kind: 'isolate', node: 'n1' });
    await cluster.slow('all', { delayMs: 10 });
    const report = await cluster.down();
    expect(report).toMatchObject({ containers: 3, networks: 1, volumes: 3 });
    expect(await leftovers(NAME)).toBe(0);
    expect(existsSync(join(stateDir, `${NAME}.json`))).toBe(false);
    for (const b of before) {
      const info = await backend.engine.inspectContainer(b.id);
      expect(info?.status).toBe('running');
      expect(info?.startedAt).toBe(b.startedAt);
      expect((await inNetns(info?.pid ?? 0, ['iptables', '-S'])).stdout).toBe(b.rules);
    }
    expect((await backend.down(NAME)).containers).toBe(0);
  });
});
