import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { readHistoryFile } from '../history/reader.js';
import { readExperimentFile, type Experiment } from './experiment.js';
import type { LinearizabilityResult } from './results.js';
import { runExperiment, type LinearizabilityOptions } from './runner.js';
import { FakeClock } from './test-support/fake-clock.js';
import { FakeClusterBackend } from './test-support/fake-cluster.js';
import { smallExperiment } from './test-support/fake-run.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function experiment(over: Partial<Experiment> = {}): Experiment {
  return smallExperiment(1234, { name: 'unit', ...over });
}

function setup(lin: LinearizabilityResult['valid'] = true) {
  const out = mkdtempSync(join(tmpdir(), 'raftbed-runs-'));
  dirs.push(out);
  const clock = new FakeClock();
  const backend = new FakeClusterBackend(clock);
  const calls: { file: string; options: LinearizabilityOptions }[] = [];
  const deps = {
    backend,
    clock,
    adapter: () => backend.last!.adapter,
    checkLinearizability: (file: string, options: LinearizabilityOptions) => {
      calls.push({ file, options });
      return Promise.resolve<LinearizabilityResult>({
        valid: lin,
        model: options.model,
        summary: lin === true ? 'linearizable' : 'not linearizable',
      });
    },
  };
  return { out, clock, backend, deps, calls };
}

describe('runExperiment', () => {
  it('runs every phase, heals, tears down and writes the whole run folder', async () => {
    const s = setup();
    const e = experiment();
    const { dir, results } = await s.clock.runUntilSettled(
      runExperiment({ experiment: e, outDir: s.out, keep: false }, s.deps),
    );
    expect(readdirSync(dir).sort()).toEqual(
      ['experiment.yml', 'history.jsonl', 'logs', 'report.html', 'results.json'].sort(),
    );
    expect(readdirSync(join(dir, 'logs')).sort()).toEqual(['n1.log', 'n2.log', 'n3.log']);
    const cluster = s.backend.last!;
    expect(cluster.faults.healthy).toBe(true);
    expect(cluster.downCalls).toBe(1);
    expect(results.valid).toBe(true);
    expect(results.exitCode).toBe(0);
    expect(Object.keys(results.checks).sort()).toEqual([
      'availability',
      'latency',
      'linearizability',
      'node-logs',
    ]);
    expect(s.calls).toEqual([
      {
        file: join(dir, 'history.jsonl'),
        options: { model: 'kv', timeoutMs: 120_000, initial: null },
      },
    ]);
    // ~50 ops/s for 20 s, and faults at 2, 9, 16 s.
    expect(results.workload.invoked).toBeGreaterThan(800);
    expect(results.faults.map((f) => [f.startMs, f.endMs])).toEqual([
      [2000, 6000],
      [9000, 13000],
      [16000, 20000],
    ]);
    // Final reads: every key through every node.
    const { events } = readHistoryFile(join(dir, 'history.jsonl'));
    const nemesisLines = events.filter((ev) => ev.process === 'nemesis');
    expect(nemesisLines).toHaveLength(6);
    expect(results.finalReads.invoked).toBe(
      3 *
        new Set(events.flatMap((ev) => ('key' in ev && ev.key !== undefined ? [ev.key] : []))).size,
    );
    expect(results.finalReads.ok).toBe(results.finalReads.invoked);
    // The experiment as run replays: the file gives back the same experiment, seed included.
    expect(readExperimentFile(join(dir, 'experiment.yml'), 0)).toEqual(e);
    expect(JSON.parse(readFileSync(join(dir, 'results.json'), 'utf8'))).toMatchObject({
      valid: true,
      name: 'unit',
    });
    expect(readFileSync(join(dir, 'report.html'), 'utf8')).toContain('<svg');
  });

  it('the same seed replays the same schedule and ops', async () => {
    const a = setup();
    const ra = await a.clock.runUntilSettled(
      runExperiment({ experiment: experiment(), outDir: a.out, keep: false }, a.deps),
    );
    const b = setup();
    const rb = await b.clock.runUntilSettled(
      runExperiment({ experiment: experiment(), outDir: b.out, keep: false }, b.deps),
    );
    const strip = (dir: string) => readFileSync(join(dir, 'history.jsonl'), 'utf8');
    expect(strip(rb.dir)).toBe(strip(ra.dir));
    expect(rb.results.faults).toEqual(ra.results.faults);
  });

  it('exits 1 when the checker finds an anomaly and 2 when it gives up', async () => {
    const bad = setup(false);
    const r1 = await bad.clock.runUntilSettled(
      runExperiment({ experiment: experiment(), outDir: bad.out, keep: false }, bad.deps),
    );
    expect([r1.results.valid, r1.results.exitCode]).toEqual([false, 1]);
    const unk = setup('unknown');
    const r2 = await unk.clock.runUntilSettled(
      runExperiment({ experiment: experiment(), outDir: unk.out, keep: false }, unk.deps),
    );
    expect([r2.results.valid, r2.results.exitCode]).toEqual(['unknown', 2]);
  });

  it('lets availability decide only when the experiment requires it', async () => {
    // Killing every node for 8 s gives every client a long run of refusals.
    const e = (required: boolean) =>
      experiment({
        clientFailover: true,
        nemesis: { ...experiment().nemesis, kinds: ['kill'], kill: ['all'], faultS: 8, firstS: 2 },
        checks: {
          linearizability: { timeoutS: 120 },
          availability: { required, failStreakLimit: 10 },
        },
      });
    const loose = setup();
    const r1 = await loose.clock.runUntilSettled(
      runExperiment({ experiment: e(false), outDir: loose.out, keep: false }, loose.deps),
    );
    expect(r1.results.checks.availability?.valid).toBe(false);
    expect(r1.results.valid).toBe(true);
    const strict = setup();
    const r2 = await strict.clock.runUntilSettled(
      runExperiment({ experiment: e(true), outDir: strict.out, keep: false }, strict.deps),
    );
    expect(r2.results.valid).toBe(false);
    expect(r2.results.exitCode).toBe(1);
    expect(r2.results.checks.availability?.longestFailStreak?.length).toBeGreaterThanOrEqual(10);
  });

  it('fails the run when the node logs show two leaders in a term', async () => {
    const s = setup();
    const run = runExperiment(
      { experiment: experiment({ timeLimitS: 3 }), outDir: s.out, keep: false },
      s.deps,
    );
    await s.clock.runUntil(1);
    s.backend.last!.logs.set(
      'n2',
      JSON.stringify({ node: 'n2', boot: 'x', term: 1, event: 'role', role: 'leader' }) + '\n',
    );
    const { results } = await s.clock.runUntilSettled(run);
    expect(results.checks['node-logs']?.valid).toBe(false);
    expect(results.valid).toBe(false);
  });

  it('on abort heals, tears down, keeps the history and writes results for what ran', async () => {
    const s = setup();
    const ctrl = new AbortController();
    const e = experiment({
      timeLimitS: 60,
      nemesis: { ...experiment().nemesis, kinds: ['pause'], pause: ['all'], firstS: 1, faultS: 30 },
    });
    const run = runExperiment(
      { experiment: e, outDir: s.out, keep: false },
      { ...s.deps, signal: ctrl.signal },
    );
    await s.clock.runUntil(5000);
    expect(s.backend.last!.faults.paused.size).toBe(3);
    ctrl.abort();
    const { dir, results } = await s.clock.runUntilSettled(run);
    expect(results.interrupted).toBe(true);
    expect(results.workloadS).toBeLessThan(10);
    expect(s.backend.last!.faults.healthy).toBe(true);
    expect(s.backend.last!.downCalls).toBe(1);
    expect(results.finalReads.invoked).toBe(0);
    const { events } = readHistoryFile(join(dir, 'history.jsonl'));
    expect(events.length).toBeGreaterThan(50);
    expect(events.filter((ev) => ev.process === 'nemesis').map((ev) => ev.f)).toEqual([
      'start-pause',
      'stop-pause',
    ]);
    expect(existsSync(join(dir, 'report.html'))).toBe(true);
  });

  it('a fault verb that fails is recorded, warned about, and the run goes on', async () => {
    const s = setup();
    const e = experiment({
      nemesis: {
        ...experiment().nemesis,
        kinds: ['slow'],
        slow: { delayMs: 30, jitterMs: 5, targets: ['all'] },
      },
    });
    const run = runExperiment({ experiment: e, outDir: s.out, keep: false }, s.deps);
    await s.clock.runUntil(0);
    s.backend.last!.faults.failing.add('slow');
    const { results } = await s.clock.runUntilSettled(run);
    expect(results.faults.every((f) => f.error === 'slow failed')).toBe(true);
    expect(results.warnings).toContain('fault slow at 2.0 s failed: slow failed');
    expect(results.workload.invoked).toBeGreaterThan(800);
    expect(s.backend.last!.faults.healthy).toBe(true);
  });

  it('--keep leaves the cluster up; a failed setup is a SetupError naming the cause', async () => {
    const s = setup();
    await s.clock.runUntilSettled(
      runExperiment(
        { experiment: experiment({ timeLimitS: 2 }), outDir: s.out, keep: true },
        s.deps,
      ),
    );
    expect(s.backend.last!.downCalls).toBe(0);
    const f = setup();
    f.backend.failUp = 'no Docker engine answers';
    await expect(
      runExperiment({ experiment: experiment(), outDir: f.out, keep: false }, f.deps),
    ).rejects.toThrow('raftbed run: cluster setup failed: no Docker engine answers');
  });

  it('gives up with a SetupError when no leader is elected, and still tears down', async () => {
    const s = setup();
    s.backend.leader = null;
    const run = runExperiment(
      { experiment: experiment(), outDir: s.out, keep: false },
      { ...s.deps, leaderWaitMs: 1000 },
    );
    await expect(s.clock.runUntilSettled(run)).rejects.toThrow('no leader elected within 1 s');
    expect(s.backend.last!.downCalls).toBe(1);
  });
});
