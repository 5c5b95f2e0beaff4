import { describe, expect, it } from 'vitest';
import { runPowerLoss } from './test-support/power-loss.js';
import type { PowerLossOptions, PowerLossResult } from './test-support/power-loss.js';

async function runSeeds(
  count: number,
  options: Omit<PowerLossOptions, 'seed'>,
): Promise<{ violations: string[]; results: PowerLossResult[] }> {
  const results: PowerLossResult[] = [];
  for (let seed = 1; seed <= count; seed++) results.push(await runPowerLoss({ seed, ...options }));
  return {
    violations: results.flatMap((r) => (r.violation === null ? [] : [r.violation])),
    results,
  };
}

describe('power loss at random points (CrashFs)', () => {
  it('fsync always: every acknowledged save survives, nothing unwritten appears', async () => {
    const { violations, results } = await runSeeds(200, { fsync: 'always' });
    expect(violations).toEqual([]);
    // The workload really crashed, tore writes and had saves acknowledged.
    expect(results.reduce((a, r) => a + r.crashes, 0)).toBeGreaterThanOrEqual(600);
    expect(results.reduce((a, r) => a + r.tornTails, 0)).toBeGreaterThan(20);
    expect(results.reduce((a, r) => a + r.acknowledged, 0)).toBeGreaterThan(2000);
  });

  it('fsync batch: acknowledged saves survive too', async () => {
    const { violations } = await runSeeds(60, { fsync: 'batch' });
    expect(violations).toEqual([]);
  });

  it('fsync never: the same test finds lost acknowledged saves', async () => {
    const { violations } = await runSeeds(60, { fsync: 'never' });
    expect(violations.length).toBeGreaterThan(0);
  });

  it('unsafe lazy-wal: the same test finds lost acknowledged saves', async () => {
    const { violations } = await runSeeds(30, { fsync: 'always', unsafeLazyWal: true });
    expect(violations.length).toBeGreaterThan(0);
  });
});
