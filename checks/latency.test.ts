import { describe, expect, it } from 'vitest';
import type { TimedEvent } from './availability.js';
import { checkLatency, percentile, percentiles } from './latency.js';

describe('percentile', () => {
  it('uses the nearest rank', () => {
    const v = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(percentile(v, 50)).toBe(50);
    expect(percentile(v, 99)).toBe(99);
    expect(percentile(v, 100)).toBe(100);
    expect(percentile([7], 99.9)).toBe(7);
    expect(percentile([], 50)).toBeNull();
    expect(percentiles([3, 1, 2])).toMatchObject({ count: 3, mean: 2, p50: 2, max: 3 });
  });
});

describe('checkLatency', () => {
  it('measures invoke to completion per f, ok apart from the rest', () => {
    const events: TimedEvent[] = [];
    for (let i = 0; i < 100; i++) {
      const p = i % 4;
      const at = i * 10;
      const f = i % 2 === 0 ? 'read' : 'write';
      events.push({ process: p, type: 'invoke', f, time: at * 1e6 });
      events.push({
        process: p,
        type: i === 99 ? 'info' : 'ok',
        f,
        time: (at + 1 + (i % 10)) * 1e6,
      });
    }
    events.push({ process: 'nemesis', type: 'info', f: 'start-kill', time: 0 });
    const r = checkLatency(events);
    expect(r.ok.count).toBe(99);
    expect(r.notOk.count).toBe(1);
    expect(r.ok.p50).toBe(5);
    expect(r.ok.max).toBe(10);
    expect(r.byF['read']?.count).toBe(50);
    expect(r.byF['write']?.count).toBe(49);
    expect(r.throughput).toBeCloseTo(99 / 1.0, 0);
  });
});
