import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { RealClock } from './clock.js';
import { readExperimentFile } from './experiment.js';
import { runExperiment, type RunOutcome } from './runner.js';
import { loadRealParts, type RealParts } from './wiring.js';

/**
 * The proof that the testbed works, on a real containerised cluster: the
 * correct build survives every fault kind, and each planted bug is caught.
 * Each experiment is about 30 s of workload (see experiments/proof-*.yml).
 */
const root = join(import.meta.dirname, '..', '..');
const outDir = join(root, '.raftbed', 'chaos-runs');
let parts: RealParts;

beforeAll(async () => {
  mkdirSync(outDir, { recursive: true });
  parts = await loadRealParts();
});

async function prove(file: string): Promise<RunOutcome> {
  const experiment = readExperimentFile(join(root, 'experiments', file), 0);
  return runExperiment(
    { experiment, outDir, keep: false, clusterName: 'raftbed-proof' },
    { ...parts, clock: new RealClock(), leaderWaitMs: 60_000 },
  );
}

describe('proofs on a real cluster', () => {
  it('(a) the correct build under partition, pause, kill, flaky and slow is valid, exit 0', async () => {
    const { results, dir } = await prove('proof-correct.yml');
    expect(new Set(results.faults.map((f) => f.kind))).toEqual(
      new Set(['partition', 'pause', 'kill', 'flaky', 'slow']),
    );
    expect(results.faults.filter((f) => f.error !== undefined)).toEqual([]);
    expect(results.workload.ok, dir).toBeGreaterThan(500);
    expect(results.finalReads.ok, dir).toBe(results.finalReads.invoked);
    expect(results.checks['node-logs']?.valid, dir).toBe(true);
    expect(
      results.checks.linearizability?.valid,
      `${dir}: ${results.checks.linearizability?.summary}`,
    ).toBe(true);
    expect(results.exitCode).toBe(0);
  });

  it('(b) --unsafe stale-reads under partitions is caught: not linearizable, exit 1', async () => {
    const { results, dir } = await prove('proof-stale-reads.yml');
    expect(results.experiment.unsafe).toBe('stale-reads');
    expect(
      results.checks.linearizability?.valid,
      `${dir}: ${results.checks.linearizability?.summary}`,
    ).toBe(false);
    expect(results.exitCode).toBe(1);
  });

  it('(c) --unsafe lazy-wal with every node killed at once loses acknowledged writes: caught, exit 1', async () => {
    const { results, dir } = await prove('proof-lazy-wal.yml');
    expect(results.faults.every((f) => f.description === 'kill n1,n2,n3')).toBe(true);
    expect(
      results.checks.linearizability?.valid,
      `${dir}: ${results.checks.linearizability?.summary}`,
    ).toBe(false);
    expect(results.exitCode).toBe(1);
  });

  it('(d) --unsafe early-ack with the leader isolated is caught: exit 1', async () => {
    const { results, dir } = await prove('proof-early-ack.yml');
    expect(results.faults.every((f) => f.description.startsWith('isolate-leader'))).toBe(true);
    expect(
      results.checks.linearizability?.valid,
      `${dir}: ${results.checks.linearizability?.summary}`,
    ).toBe(false);
    expect(results.exitCode).toBe(1);
  });
});
