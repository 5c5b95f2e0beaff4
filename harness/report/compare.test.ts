import { describe, expect, it } from 'vitest';
import {
  compareFigures,
  formatComparison,
  median,
  medianFigures,
  type RunFigures,
} from './compare.js';

const base: RunFigures = {
  label: 'a',
  runs: 1,
  validShare: 1,
  verdicts: [true],
  okRate: 0.9,
  okRateInFaults: 0.7,
  okRateOutsideFaults: 0.99,
  longestFailStreak: 4,
  maxRecoveryMs: 1200,
  p50Ms: 4,
  p99Ms: 40,
  throughput: 180,
};

describe('compareFigures', () => {
  it('does not flag B when it is within every threshold', () => {
    const b = {
      ...base,
      label: 'b',
      okRate: 0.88,
      p50Ms: 4.8,
      p99Ms: 45,
      throughput: 170,
      longestFailStreak: 6,
    };
    const c = compareFigures(base, b);
    expect(c.regressed).toBe(false);
    expect(formatComparison(c)).toContain('B does not regress past the thresholds');
  });

  it('flags each figure that got worse past its threshold, and only those', () => {
    const b = {
      ...base,
      label: 'b',
      okRateInFaults: 0.5,
      p99Ms: 80,
      throughput: 150,
      maxRecoveryMs: 3000,
    };
    const c = compareFigures(base, b);
    expect(c.rows.filter((r) => r.regressed).map((r) => r.metric)).toEqual([
      'ok rate in faults',
      'slowest recovery',
      'latency p99',
      'throughput',
    ]);
    const text = formatComparison(c);
    expect(text).toMatch(/latency p99\s+40\.0 ms\s+80\.0 ms\s+\+100%\s+<< regression/);
    expect(text).toContain(
      'B regresses on: ok rate in faults, slowest recovery, latency p99, throughput',
    );
  });

  it('a verdict going from valid to not valid is a regression; better figures are not', () => {
    const worse = compareFigures(base, { ...base, validShare: 0, verdicts: [false] });
    expect(worse.rows[0]).toMatchObject({
      metric: 'verdict',
      a: 'valid',
      b: 'not valid',
      regressed: true,
    });
    const better = compareFigures(base, {
      ...base,
      okRate: 1,
      p50Ms: 1,
      p99Ms: 5,
      throughput: 400,
    });
    expect(better.regressed).toBe(false);
  });

  it('ignores tiny latency changes below the floor', () => {
    const c = compareFigures({ ...base, p50Ms: 0.4 }, { ...base, p50Ms: 0.9 });
    expect(c.rows.find((r) => r.metric === 'latency p50')?.regressed).toBe(false);
  });
});

describe('medians', () => {
  it('takes the median of each figure over repeated runs', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([null, 5])).toBe(5);
    expect(median([])).toBeNull();
    const runs = [10, 30, 20].map((p99, i) => ({
      ...base,
      p99Ms: p99,
      validShare: i === 0 ? 0 : 1,
      verdicts: [i !== 0],
    }));
    const m = medianFigures('img', runs);
    expect(m).toMatchObject({ runs: 3, p99Ms: 20, validShare: 2 / 3 });
    expect(compareFigures(m, m).rows[0]).toMatchObject({ a: '2/3 valid' });
  });
});
