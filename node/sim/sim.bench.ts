/**
 * Benchmarks of the Raft core in simulation (`make bench`):
 *
 *   1. proposals committed per CPU second, 3 and 5 nodes, with batching
 *      (up to 1,024 entries per append) and without (one entry per append);
 *      the run without batching is the baseline of the same run;
 *   2. simulated time from a leader crash to a new leader, with 150-300 ms
 *      election timeouts (the Raft paper's setting), median and p99 over many
 *      seeds; the baseline is the minimum election timeout.
 *
 * The cluster runs the same driver the node runs, with the library's default
 * settings (options.ts DEFAULTS), on a calm simulated network
 * (1-3 ms delay, no loss) and disks that take 1-2 ms per write.
 */
import { DEFAULTS } from '../raft/options.js';
import type { NodeId } from '../raft/types.js';
import { Simulation } from './simulation.js';
import type { World } from './world.js';

const SIM_MS = 20_000;
const FAILOVER_SEEDS = 1_000;

function calm(
  overrides: Partial<World['settings']> = {},
  client: Partial<World> = {},
): Partial<World> {
  return {
    churn: false,
    settings: { ...DEFAULTS, ...overrides },
    chaos: { loss: 0, duplicate: 0, minDelayMs: 1, maxDelayMs: 3, slowChance: 0, slowDelayMs: 0 },
    diskMs: [1, 2],
    tickMs: [10, 10],
    pauseMs: 0,
    faultEveryMs: 0,
    readShare: 0,
    snapshotPadding: 0,
    largeShare: 0,
    crashAfterVote: 0,
    newLeaderFault: 0,
    cutOnFirstCommit: 0,
    ...client,
  };
}

function cpuMs(from: NodeJS.CpuUsage): number {
  const d = process.cpuUsage(from);
  return (d.user + d.system) / 1_000;
}

function throughput(
  nodes: number,
  batching: boolean,
): { perCpuSecond: number; perSimSecond: number } {
  const sim = new Simulation({
    seed: 42,
    nodes,
    steps: Number.MAX_SAFE_INTEGER,
    world: calm(
      { maxEntriesPerAppend: batching ? 1_024 : 1 },
      { clientEveryMs: 1, clientBurst: 8 },
    ),
  });
  sim.runUntil(() => sim.committed > 2, 5_000); // elected, no-op and configuration committed
  const startCommitted = sim.committed;
  const startTime = sim.time;
  const started = process.cpuUsage();
  sim.runUntil(() => false, SIM_MS);
  const used = cpuMs(started);
  if (sim.violation !== null) throw new Error(`violation: ${sim.violation.detail}`);
  const committed = sim.committed - startCommitted;
  return {
    perCpuSecond: (committed * 1_000) / used,
    perSimSecond: (committed * 1_000) / (sim.time - startTime),
  };
}

function failover(nodes: number, seed: number): number {
  const sim = new Simulation({
    seed,
    nodes,
    steps: Number.MAX_SAFE_INTEGER,
    world: calm({}, { clientEveryMs: 20, clientBurst: 1 }),
  });
  if (!sim.runUntil(() => sim.leader() !== null && sim.committed > 2, 10_000))
    throw new Error(`seed ${seed}: no leader to crash`);
  // Crash at a moment that varies with the seed relative to heartbeats.
  sim.runUntil(() => false, 200 + (seed % 97));
  const old = sim.leader() as NodeId;
  const crashedAt = sim.time;
  sim.crashNode(old);
  const elected = sim.runUntil(() => {
    const l = sim.leader();
    return l !== null && l !== old;
  }, 10_000);
  if (!elected) throw new Error(`seed ${seed}: no new leader within 10 s`);
  return sim.time - crashedAt;
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
}

function main(): void {
  console.log(
    'Raft core in simulation (same driver as the node; calm network, 1-2 ms disk writes)',
  );
  console.log('');
  console.log('proposals committed per CPU second (simulator included), 20 s simulated each:');
  for (const nodes of [3, 5]) {
    const off = throughput(nodes, false);
    const on = throughput(nodes, true);
    console.log(
      `  ${nodes} nodes: batching ${on.perCpuSecond.toFixed(0)}/s, one entry per append ${off.perCpuSecond.toFixed(0)}/s, ` +
        `ratio ${(on.perCpuSecond / off.perCpuSecond).toFixed(2)}x ` +
        `(simulated throughput ${on.perSimSecond.toFixed(0)}/s vs ${off.perSimSecond.toFixed(0)}/s)`,
    );
  }
  console.log('');
  console.log(
    `leader crash to a new leader, election timeout 150-300 ms, ${FAILOVER_SEEDS} seeds:`,
  );
  for (const nodes of [3, 5]) {
    const times: number[] = [];
    const started = process.cpuUsage();
    for (let seed = 1; seed <= FAILOVER_SEEDS; seed++) times.push(failover(nodes, seed));
    times.sort((a, b) => a - b);
    const median = percentile(times, 50);
    const p99 = percentile(times, 99);
    console.log(
      `  ${nodes} nodes: median ${median} ms, p99 ${p99} ms, max ${times.at(-1)} ms ` +
        `(${(median / 150).toFixed(2)}x and ${(p99 / 150).toFixed(2)}x the minimum election timeout; ` +
        `${(cpuMs(started) / FAILOVER_SEEDS).toFixed(1)} ms cpu per seed)`,
    );
  }
}

main();
