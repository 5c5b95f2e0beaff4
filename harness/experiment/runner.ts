import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { checkAvailability } from '../../checks/availability.js';
import { checkLatency } from '../../checks/latency.js';
import { checkNodeLogs, type NodeLog } from '../../checks/node-logs.js';
import { Prng } from '../../node/util/prng.js';
import { SetupError } from '../cli/errors.js';
import { readHistoryFile } from '../history/reader.js';
import { HistoryWriter } from '../history/writer.js';
import { Nemesis } from '../nemesis/nemesis.js';
import { planSchedule, type NemesisConfig } from '../nemesis/schedule.js';
import { renderReport } from '../report/html.js';
import type { ClientAdapter } from '../workload/adapter.js';
import { DEFAULT_MIX, OpGenerator } from '../workload/generator.js';
import { noStats, runFinalReads, runWorkload, type WorkloadStats } from '../workload/workload.js';
import type { Cluster, ClusterBackend } from './backend.js';
import type { Clock } from './clock.js';
import { experimentToYaml, type Experiment } from './experiment.js';
import { silentProgress, type ProgressSink } from './progress.js';
import {
  exitCodeOf,
  verdict,
  type CheckResults,
  type LinearizabilityResult,
  type RunResults,
  type WorkloadCounts,
} from './results.js';
import { createRunDir, RUN_FILES, writeFileAtomic, writeResults } from './run-dir.js';

export interface LinearizabilityOptions {
  readonly model: 'kv' | 'cas-register';
  readonly timeoutMs: number;
  readonly initial: null;
}

/** Checks a history file for linearizability (the checker in checks/ behind this). */
export type LinearizabilityCheck = (
  historyFile: string,
  options: LinearizabilityOptions,
) => Promise<LinearizabilityResult>;

export interface RunDeps {
  readonly backend: ClusterBackend;
  /** How clients reach the cluster's nodes, with each op's timeout. */
  readonly adapter: (cluster: Cluster, opTimeoutMs: number) => ClientAdapter;
  readonly checkLinearizability: LinearizabilityCheck;
  readonly clock: Clock;
  readonly progress?: ProgressSink;
  /** Aborts the run (Ctrl-C): heal, tear down unless keep, write what ran. */
  readonly signal?: AbortSignal;
  /** How long to wait for a leader after `up` and after healing. */
  readonly leaderWaitMs?: number;
}

export interface RunOptions {
  readonly experiment: Experiment;
  /** Parent of run folders (`runs`). */
  readonly outDir: string;
  /** Leave the cluster up after the run. */
  readonly keep: boolean;
  /** Names the cluster (default `raftbed-run`). */
  readonly clusterName?: string;
}

export interface RunOutcome {
  readonly dir: string;
  readonly results: RunResults;
}

/** A clock whose zero is the moment the workload started: history times count from there. */
function shifted(clock: Clock, originMs: number): Clock {
  return {
    nowMs: () => clock.nowMs() - originMs,
    sleep: (ms, signal) => clock.sleep(ms, signal),
  };
}

export function nemesisConfig(e: Experiment): NemesisConfig {
  const n = e.nemesis;
  return {
    kinds: n.kinds,
    faultMs: n.faultS * 1000,
    healMs: n.healS * 1000,
    firstMs: n.firstS * 1000,
    order: n.order,
    partitionShapes: n.partition,
    pauseTargets: n.pause,
    killTargets: n.kill,
    flakyTargets: n.flaky.targets,
    slowTargets: n.slow.targets,
    flakyLoss: n.flaky.loss,
    slowDelayMs: n.slow.delayMs,
    slowJitterMs: n.slow.jitterMs,
  };
}

const counts = (s: WorkloadStats): WorkloadCounts => ({
  invoked: s.invoked,
  ok: s.ok,
  fail: s.fail,
  info: s.info,
});

async function waitForLeader(
  cluster: Cluster,
  clock: Clock,
  ms: number,
  signal?: AbortSignal,
): Promise<string | null> {
  const until = clock.nowMs() + ms;
  for (;;) {
    let leader: string | null = null;
    try {
      leader = await cluster.faults.leader();
    } catch {
      leader = null;
    }
    if (leader !== null || clock.nowMs() >= until || signal?.aborted === true) return leader;
    await clock.sleep(200, signal);
  }
}

/**
 * One experiment, in Jepsen's phases: setup, workload under faults, heal and
 * recover, final reads, teardown; then the checks, results.json and report.html.
 * The history is on disk as it happens; an interrupted run still gets results
 * for what ran.
 */
export async function runExperiment(options: RunOptions, deps: RunDeps): Promise<RunOutcome> {
  const { experiment: e } = options;
  const clusterName = options.clusterName ?? 'raftbed-run';
  const leaderWaitMs = deps.leaderWaitMs ?? 30_000;
  const progress = deps.progress ?? silentProgress;
  const startedAt = new Date();
  const dir = createRunDir(options.outDir, e.name, startedAt);
  writeFileSync(join(dir, RUN_FILES.experiment), experimentToYaml(e));
  const warnings: string[] = [];
  const prng = new Prng(e.seed);
  const schedulePrng = prng.fork();
  const workloadPrng = prng.fork();
  const generatorPrng = prng.fork();
  const aborted = (): boolean => deps.signal?.aborted === true;

  progress.phase('setup');
  let cluster: Cluster;
  try {
    cluster = await deps.backend.up(
      {
        name: clusterName,
        nodes: e.nodes,
        image: e.image,
        unsafe: e.unsafe,
      },
      deps.signal,
    );
  } catch (err) {
    throw new SetupError(
      `raftbed run: cluster setup failed: ${err instanceof Error ? err.message : String(err)}`,
    );
  }

  let history: HistoryWriter | null = null;
  let nemesis: Nemesis | null = null;
  let workloadStats = noStats();
  let finalStats = noStats();
  let workloadS = 0;
  const logs: NodeLog[] = [];
  try {
    const leader = await waitForLeader(cluster, deps.clock, leaderWaitMs, deps.signal);
    if (leader === null && !aborted()) {
      throw new SetupError(
        `raftbed run: no leader elected within ${leaderWaitMs / 1000} s of setup`,
      );
    }
    progress.note(
      `cluster up: ${cluster.nodes.join(', ')} (image ${cluster.image}), leader ${leader ?? 'none'}; run folder ${dir}`,
    );

    const clock = shifted(deps.clock, deps.clock.nowMs());
    history = new HistoryWriter(join(dir, RUN_FILES.history), {
      nowMs: () => clock.nowMs(),
      onEvent: (ev) => progress.event(ev),
    });
    const writer = history;
    const untilMs = e.timeLimitS * 1000;
    const generator = new OpGenerator({
      workload: e.workload,
      keys: e.keys,
      opsPerKey: e.opsPerKey,
      mix: DEFAULT_MIX,
      prng: generatorPrng,
    });
    const adapter = deps.adapter(cluster, e.opTimeoutMs);
    const schedule = planSchedule(nemesisConfig(e), cluster.nodes, untilMs, schedulePrng);
    nemesis = new Nemesis({
      backend: cluster.faults,
      clock,
      schedule,
      record: (ev) => writer.nemesis(ev),
      onChange: (inForce) => progress.faults(inForce),
      ...(deps.signal === undefined ? {} : { signal: deps.signal }),
    });

    progress.phase('workload');
    const [stats] = await Promise.all([
      runWorkload({
        adapter,
        generator,
        history: writer,
        clock,
        prng: workloadPrng,
        nodes: cluster.nodes,
        concurrency: e.concurrency,
        rate: e.rate,
        timeoutMs: e.opTimeoutMs,
        untilMs,
        failover: e.clientFailover,
        ...(deps.signal === undefined ? {} : { signal: deps.signal }),
      }),
      nemesis.run(),
    ]);
    workloadStats = stats;
    workloadS = Math.min(clock.nowMs(), untilMs) / 1000;

    progress.phase('heal');
    await healQuietly(nemesis, warnings);
    if (!aborted()) {
      const recovered = await waitForLeader(cluster, deps.clock, leaderWaitMs, deps.signal);
      if (recovered === null) warnings.push('no leader after healing');
      await deps.clock.sleep(e.recoverS * 1000, deps.signal);
    }
    if (!aborted()) {
      progress.phase('final reads');
      finalStats = await runFinalReads({
        adapter,
        generator,
        history: writer,
        clock,
        nodes: cluster.nodes,
        keys: generator.keysUsed(),
        timeoutMs: e.opTimeoutMs,
        firstProcess: workloadStats.nextProcess,
      });
    }
  } finally {
    if (nemesis !== null) await healQuietly(nemesis, warnings);
    history?.close();
    for (const node of cluster.nodes) {
      try {
        const text = await cluster.readLog(node);
        writeFileSync(join(dir, RUN_FILES.logs, `${node}.log`), text);
        logs.push({ node, text });
      } catch (err) {
        warnings.push(
          `could not read the log of ${node}: ${err instanceof Error ? err.message : String(err)}`,
        );
      }
    }
    if (!options.keep) {
      progress.phase('teardown');
      try {
        await cluster.down();
      } catch (err) {
        warnings.push(`teardown failed: ${err instanceof Error ? err.message : String(err)}`);
      }
    } else {
      progress.note(
        `--keep: cluster ${clusterName} left up (raftbed status --name ${clusterName}; raftbed down --name ${clusterName})`,
      );
    }
  }

  for (const f of nemesis?.log ?? []) {
    if (f.error !== undefined)
      warnings.push(
        `fault ${f.description} at ${(f.startMs / 1000).toFixed(1)} s failed: ${f.error}`,
      );
  }
  progress.phase('checks');
  const historyFile = join(dir, RUN_FILES.history);
  const { events } = readHistoryFile(historyFile);
  const checks: CheckResults = {
    linearizability: await deps.checkLinearizability(historyFile, {
      model: e.workload === 'kv' ? 'kv' : 'cas-register',
      timeoutMs: e.checks.linearizability.timeoutS * 1000,
      initial: null,
    }),
    availability: checkAvailability(events, {
      concurrency: e.concurrency,
      failStreakLimit: e.checks.availability.failStreakLimit,
      required: e.checks.availability.required,
      workloadEndMs: workloadS * 1000,
    }),
    latency: checkLatency(events),
    'node-logs': checkNodeLogs(logs),
  };
  const valid = verdict(checks);
  const results: RunResults = {
    name: e.name,
    valid,
    exitCode: exitCodeOf(valid),
    startedAt: startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
    workloadS,
    interrupted: aborted(),
    experiment: e,
    image: cluster.image,
    nodes: cluster.nodes,
    workload: counts(workloadStats),
    finalReads: counts(finalStats),
    faults: nemesis?.log ?? [],
    checks,
    warnings,
  };
  writeResults(dir, results);
  writeFileAtomic(join(dir, RUN_FILES.report), await renderReport({ results, events }));
  progress.stop();
  return { dir, results };
}

async function healQuietly(nemesis: Nemesis, warnings: string[]): Promise<void> {
  try {
    await nemesis.healAll();
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    if (!warnings.includes(message)) warnings.push(message);
  }
}
