/**
 * How long each cluster verb takes next to the raw engine or iptables calls
 * under it, measured in the same run and printed as ratios (target: each verb
 * within 1.5x of its raw calls). The raw side does by hand what the verb
 * does, the way one would without raftbed: engine API calls for containers,
 * one `nsenter ... iptables` per rule for faults, the delayer started by hand.
 *
 *   make bench      (or: node dist/harness/cluster/cluster.bench.js [--reps N])
 */
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Engine } from '../docker/engine.js';
import { ensureImage } from '../docker/image.js';
import { repoRoot } from '../docker/repo.js';
import { ensureDelayer } from '../faults/delay.js';
import { DELAY_QUEUE } from '../faults/rules.js';
import { DockerBackend } from './docker-backend.js';
import type { DockerCluster } from './docker-backend.js';
import { defaultSpec, nodeNames } from './spec.js';
import type { ClusterSpec } from './spec.js';
import { StateStore } from './state.js';
import { chooseSubnet, gatewayIp, nodeIp } from './subnet.js';

const run = promisify(execFile);
const PROBE_CMD = ['node', '/app/dist/harness/faults/probe.js', 'serve'];

interface Row {
  readonly verb: string;
  readonly raw: string;
  readonly verbMs: number;
  readonly rawMs: number;
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[mid] ?? 0) : ((s[mid - 1] ?? 0) + (s[mid] ?? 0)) / 2;
}

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t0 = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

interface Side {
  /** Untimed, before each timed run: brings the cluster to where the run starts. */
  readonly before?: () => Promise<unknown>;
  readonly run: () => Promise<unknown>;
  /** Untimed, after each timed run. */
  readonly after?: () => Promise<unknown>;
}

/** Alternates verb and raw so both see the same machine noise. */
async function compare(
  rows: Row[],
  reps: number,
  verb: string,
  raw: string,
  v: Side,
  r: Side,
): Promise<void> {
  const vt: number[] = [];
  const rt: number[] = [];
  for (let i = 0; i < reps; i++) {
    await v.before?.();
    vt.push(await timed(v.run));
    await v.after?.();
    await r.before?.();
    rt.push(await timed(r.run));
    await r.after?.();
  }
  const row = { verb, raw, verbMs: median(vt), rawMs: median(rt) };
  rows.push(row);
  process.stderr.write(`  ${verb}: ${row.verbMs.toFixed(1)} ms, raw ${row.rawMs.toFixed(1)} ms\n`);
}

async function inNs(pid: number, args: readonly string[]): Promise<void> {
  await run('nsenter', ['-t', String(pid), '-n', '--', ...args]);
}

/** The raw calls under `up`: network, volumes, containers, start, all through the engine API. */
async function rawUp(
  engine: Engine,
  image: string,
  name: string,
  n: number,
  subnet: string,
): Promise<void> {
  const labels = { 'raftbed.cluster': name };
  const net = `${name}-net`;
  await engine.createNetwork({ name: net, subnet, gateway: gatewayIp(subnet), labels });
  const nodes = nodeNames(n);
  await Promise.all(nodes.map((x) => engine.createVolume(`${name}-${x}-data`, labels)));
  const ids = await Promise.all(
    nodes.map((x, i) =>
      engine.createContainer({
        name: `${name}-${x}`,
        image,
        cmd: PROBE_CMD,
        labels,
        network: net,
        ipv4: nodeIp(subnet, i + 1),
        volumes: { [`${name}-${x}-data`]: '/data' },
      }),
    ),
  );
  await Promise.all(ids.map((id) => engine.startContainer(id)));
}

async function rawDown(engine: Engine, name: string): Promise<void> {
  const labels = { 'raftbed.cluster': name };
  const cs = await engine.listContainers(labels);
  await Promise.all(cs.map((c) => engine.removeContainer(c.id)));
  for (const n of await engine.listNetworks(labels)) await engine.removeNetwork(n.id);
  const vs = await engine.listVolumes(labels);
  await Promise.all(vs.map((v) => engine.removeVolume(v.name)));
}

async function pids(engine: Engine, cluster: DockerCluster): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const n of cluster.nodes) {
    out[n] = (await engine.inspectContainer(await cluster.containerId(n)))?.pid ?? 0;
  }
  return out;
}

async function main(): Promise<void> {
  const repsArg = process.argv.indexOf('--reps');
  const reps = repsArg >= 0 ? Number(process.argv[repsArg + 1]) : 5;
  process.env['RAFTBED_STATE_DIR'] = mkdtempSync(join(tmpdir(), 'raftbed-bench-'));
  const engine = await Engine.connect();
  const backend = new DockerBackend(engine, { store: new StateStore() });
  const image = (await ensureImage(engine, { root: repoRoot() })).ref;
  await ensureDelayer();
  const names = ['rbh-bench', 'rbh-bench-raw'];
  for (const n of names) await backend.down(n);
  const spec = (n: number): ClusterSpec => ({
    ...defaultSpec('rbh-bench', n),
    image,
    command: PROBE_CMD,
  });
  const rows: Row[] = [];
  const taken = async (): Promise<string[]> =>
    (await engine.listNetworks()).flatMap((x) => x.subnets);

  try {
    process.stderr.write(`cluster verbs, median of ${reps} runs each (image ${image} cached)\n`);
    const rawSubnet = async (): Promise<string> => chooseSubnet('rbh-bench-raw', await taken());
    for (const n of [3, 5]) {
      await compare(
        rows,
        reps,
        `up ${n} nodes`,
        `engine: network, ${n} volumes, ${n} containers, ${n} starts`,
        { run: () => backend.up(spec(n)), after: () => backend.down('rbh-bench') },
        {
          run: async () => rawUp(engine, image, 'rbh-bench-raw', n, await rawSubnet()),
          after: () => rawDown(engine, 'rbh-bench-raw'),
        },
      );
    }
    await compare(
      rows,
      reps,
      'down 5 nodes',
      'engine: list and remove containers, network, volumes',
      { before: () => backend.up(spec(5)), run: () => backend.down('rbh-bench') },
      {
        before: async () => rawUp(engine, image, 'rbh-bench-raw', 5, await rawSubnet()),
        run: () => rawDown(engine, 'rbh-bench-raw'),
      },
    );

    // The fault verbs run against one 5-node cluster; the raw side against the same containers.
    const cluster = await backend.up(spec(5));
    const n1 = await cluster.containerId('n1');
    const killRaw = async (): Promise<void> => {
      await engine.killContainer(n1);
      await engine.waitStopped(n1);
    };
    await compare(
      rows,
      reps,
      'pause n1',
      'engine: pause',
      { run: () => cluster.pause(['n1']), after: () => cluster.unpause(['n1']) },
      { run: () => engine.pauseContainer(n1), after: () => engine.unpauseContainer(n1) },
    );
    await compare(
      rows,
      reps,
      'unpause n1',
      'engine: unpause',
      { before: () => cluster.pause(['n1']), run: () => cluster.unpause(['n1']) },
      { before: () => engine.pauseContainer(n1), run: () => engine.unpauseContainer(n1) },
    );
    await compare(
      rows,
      reps,
      'kill n1',
      'engine: kill, wait until stopped',
      { run: () => cluster.kill(['n1']), after: () => cluster.start(['n1']) },
      { run: killRaw, after: () => engine.startContainer(n1) },
    );
    await compare(
      rows,
      reps,
      'start n1',
      'engine: start',
      { before: () => cluster.kill(['n1']), run: () => cluster.start(['n1']) },
      { before: killRaw, run: () => engine.startContainer(n1) },
    );
    await compare(
      rows,
      reps,
      'restart n1',
      'engine: kill, wait, start',
      { run: () => cluster.restart(['n1']) },
      {
        run: async () => {
          await killRaw();
          await engine.startContainer(n1);
        },
      },
    );

    // Network faults: raw is one nsenter + iptables per rule, receiver side only.
    const pid = await pids(engine, cluster);
    const ip = (n: string): string => cluster.address(n).host;
    const others = cluster.nodes.filter((n) => n !== 'n1');
    const isolateRaw = async (op: '-A' | '-D'): Promise<void> => {
      for (const o of others) {
        await inNs(pid['n1'] ?? 0, ['iptables', op, 'INPUT', '-s', ip(o), '-j', 'DROP']);
        await inNs(pid[o] ?? 0, ['iptables', op, 'INPUT', '-s', ip('n1'), '-j', 'DROP']);
      }
    };
    const isolate = (): Promise<unknown> => cluster.partition({ kind: 'isolate', node: 'n1' });
    await compare(
      rows,
      reps,
      'partition --isolate n1',
      '8 x nsenter iptables -A INPUT -s PEER -j DROP',
      { run: isolate, after: () => cluster.heal() },
      { run: () => isolateRaw('-A'), after: () => isolateRaw('-D') },
    );
    await compare(
      rows,
      reps,
      'join (after --isolate n1)',
      '8 x nsenter iptables -D INPUT -s PEER -j DROP',
      { before: isolate, run: () => cluster.heal() },
      { before: () => isolateRaw('-A'), run: () => isolateRaw('-D') },
    );
    const n2 = pid['n2'] ?? 0;
    const lossRule = [
      'OUTPUT',
      '-m',
      'statistic',
      '--mode',
      'random',
      '--probability',
      '0.1',
      '-j',
      'DROP',
    ];
    await compare(
      rows,
      reps,
      'flaky --loss 0.1 n2',
      '1 x nsenter iptables -A OUTPUT -m statistic ... -j DROP',
      { run: () => cluster.flaky(['n2'], 0.1), after: () => cluster.fast() },
      {
        run: () => inNs(n2, ['iptables', '-A', ...lossRule]),
        after: () => inNs(n2, ['iptables', '-D', ...lossRule]),
      },
    );
    const delayer = await ensureDelayer();
    const queueRule = [
      'OUTPUT',
      '-j',
      'NFQUEUE',
      '--queue-num',
      String(DELAY_QUEUE),
      '--queue-bypass',
    ];
    let rawDelayer: ReturnType<typeof spawn> | undefined;
    const startRawDelayer = async (): Promise<void> => {
      const child = spawn(
        'nsenter',
        ['-t', String(n2), '-n', '--', delayer, '--queue', String(DELAY_QUEUE), '--delay-ms', '50'],
        { stdio: ['ignore', 'pipe', 'ignore'] },
      );
      rawDelayer = child;
      await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
      await inNs(n2, ['iptables', '-A', ...queueRule]);
    };
    const stopRawDelayer = async (): Promise<void> => {
      await inNs(n2, ['iptables', '-D', ...queueRule]);
      const child = rawDelayer;
      if (child) {
        const gone = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await gone;
      }
    };
    const slow = (): Promise<unknown> => cluster.slow(['n2'], { delayMs: 50 });
    await compare(
      rows,
      reps,
      'slow --delay 50 n2',
      'start the delayer by hand, 1 x nsenter iptables -A OUTPUT -j NFQUEUE',
      { run: slow, after: () => cluster.fast() },
      { run: startRawDelayer, after: stopRawDelayer },
    );
    await compare(
      rows,
      reps,
      'fast (after slow n2)',
      '1 x nsenter iptables -D OUTPUT -j NFQUEUE, stop the delayer',
      { before: slow, run: () => cluster.fast() },
      { before: startRawDelayer, run: stopRawDelayer },
    );

    // The CLI adds a process start (Node, and the engine client where a verb needs the engine).
    const cli = join(repoRoot(), 'dist', 'harness', 'cli', 'main.js');
    const cliRows: { verb: string; cli: number; api: number }[] = [];
    const perCommand: [string, string[], () => Promise<unknown>, () => Promise<unknown>][] = [
      ['pause', ['pause', 'n1'], () => cluster.pause(['n1']), () => cluster.unpause(['n1'])],
      [
        'flaky',
        ['flaky', '--loss', '0.1', 'n2'],
        () => cluster.flaky(['n2'], 0.1),
        () => cluster.fast(),
      ],
    ];
    for (const [verb, args, api, undo] of perCommand) {
      const c: number[] = [];
      const a: number[] = [];
      for (let i = 0; i < reps; i++) {
        c.push(await timed(() => run(process.execPath, [cli, ...args, '--name', 'rbh-bench'])));
        await undo();
        a.push(await timed(api));
        await undo();
      }
      cliRows.push({ verb, cli: median(c), api: median(a) });
    }

    process.stdout.write(
      '\nverb                        verb ms   raw ms   ratio  raw calls under it\n',
    );
    for (const r of rows) {
      const ratio = r.verbMs / r.rawMs;
      process.stdout.write(
        `${r.verb.padEnd(27)} ${r.verbMs.toFixed(1).padStart(8)} ${r.rawMs.toFixed(1).padStart(8)} ${ratio.toFixed(2).padStart(6)}x ${ratio > 1.5 ? '!' : ' '} ${r.raw}\n`,
      );
    }
    const worst = Math.max(...rows.map((r) => r.verbMs / r.rawMs));
    process.stdout.write(`\nworst ratio ${worst.toFixed(2)}x (target 1.5x)\n`);
    for (const r of cliRows) {
      process.stdout.write(
        `raftbed ${r.verb}: ${r.cli.toFixed(0)} ms as a command, ${r.api.toFixed(1)} ms as an API call (the process adds ${(r.cli - r.api).toFixed(0)} ms)\n`,
      );
    }
  } finally {
    for (const n of names) await backend.down(n);
  }
}

main().catch((err: unknown) => {
  process.stderr.write(
    `cluster bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
  );
  process.exitCode = 1;
});
