import { describe, expect, it } from 'vitest';
import { Prng } from './prng.js';

describe('Prng', () => {
  it('replays the same sequence for the same seed', () => {
    const a = new Prng(42);
    const b = new Prng(42);
    const xs = Array.from({ length: 100 }, () => a.nextU32());
    expect(Array.from({ length: 100 }, () => b.nextU32())).toEqual(xs);
    expect(new Prng('seed').next()).toBe(new Prng('seed').next());
  });

  it('gives different sequences for nearby seeds', () => {
    expect(new Prng(1).nextU32()).not.toBe(new Prng(2).nextU32());
  });

  it('stays within bounds and covers them', () => {
    const p = new Prng(7);
    const seen = new Set<number>();
    for (let i = 0; i < 2000; i++) {
      const v = p.int(3, 9);
      expect(v).toBeGreaterThanOrEqual(3);
      expect(v).toBeLessThanOrEqual(9);
      seen.add(v);
      const f = p.next();
      expect(f).toBeGreaterThanOrEqual(0);
      expect(f).toBeLessThan(1);
    }
    expect(seen.size).toBe(7);
  });

  it('is roughly uniform', () => {
    const p = new Prng(99);
    let hits = 0;
    for (let i = 0; i < 10_000; i++) if (p.chance(0.3)) hits++;
    expect(hits).toBeGreaterThan(2700);
    expect(hits).toBeLessThan(3300);
  });
});
