import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Prng } from '../../node/util/prng.js';
import { planSchedule } from '../nemesis/schedule.js';
import { readExperimentFile, type Experiment } from './experiment.js';
import { nemesisConfig } from './runner.js';

const dir = join(import.meta.dirname, '..', '..', 'experiments');
const nodes = (n: number) => Array.from({ length: n }, (_, i) => `n${i + 1}`);
/** The fault plan the runner would follow for the experiment. */
const planOf = (e: Experiment) =>
  planSchedule(nemesisConfig(e), nodes(e.nodes), e.timeLimitS * 1000, new Prng(e.seed));

describe('the experiments shipped in experiments/', () => {
  const files = readdirSync(dir).filter((f) => f.endsWith('.yml'));

  it('all parse, and each names itself after its file', () => {
    expect(files.length).toBeGreaterThanOrEqual(8);
    for (const f of files) {
      const e = readExperimentFile(join(dir, f), 0);
      expect(e.name).toBe(f.replace(/\.yml$/, ''));
    }
  });

  it('the seed suite partitions each of five servers in turn, 20 s cut and 10 s healed, with the fail-streak criterion', () => {
    const e = readExperimentFile(join(dir, 'seed-partition-each.yml'), 0);
    const plan = planOf(e);
    expect(plan.map((f) => (f.nodes as string[])[0])).toEqual(['n1', 'n2', 'n3', 'n4', 'n5']);
    for (const f of plan) expect(f.endMs - f.startMs).toBe(20_000);
    expect(plan[1]!.startMs - plan[0]!.endMs).toBe(10_000);
    expect(e.clientFailover).toBe(true);
    expect(e.checks.availability).toEqual({ required: true, failStreakLimit: 10 });
  });

  it('proof (a) puts each of the five fault kinds in force once within its 30 s', () => {
    const e = readExperimentFile(join(dir, 'proof-correct.yml'), 0);
    const plan = planOf(e);
    expect(new Set(plan.map((f) => f.kind))).toEqual(
      new Set(['partition', 'pause', 'kill', 'flaky', 'slow']),
    );
    expect(e.timeLimitS).toBeLessThanOrEqual(30);
    expect(e.unsafe).toBeNull();
  });

  it('proof (c) kills every node at once, and more than once', () => {
    const e = readExperimentFile(join(dir, 'proof-lazy-wal.yml'), 0);
    const plan = planOf(e);
    expect(plan.length).toBeGreaterThanOrEqual(3);
    for (const f of plan) expect(f).toMatchObject({ kind: 'kill', nodes: ['n1', 'n2', 'n3'] });
    expect(e.unsafe).toBe('lazy-wal');
  });
});
