import { describe, expect, it } from 'vitest';
import { Prng } from '../../node/util/prng.js';
import { DEFAULT_MIX, OpGenerator } from './generator.js';

function gen(seed: number, workload: 'kv' | 'register' = 'kv', opsPerKey = 300, keys = 4) {
  return new OpGenerator({ workload, keys, opsPerKey, mix: DEFAULT_MIX, prng: new Prng(seed) });
}

describe('OpGenerator', () => {
  it('writes every value once across writes and cas', () => {
    const g = gen(1);
    const written: unknown[] = [];
    for (let i = 0; i < 5000; i++) {
      const op = g.next();
      if (op.f === 'write') written.push(op.value);
      if (op.f === 'cas') written.push((op.value as [unknown, unknown])[1]);
    }
    expect(written.length).toBeGreaterThan(1000);
    expect(new Set(written).size).toBe(written.length);
    expect(written.every((v) => Number.isSafeInteger(v))).toBe(true);
  });

  it('draws the mix it was asked for', () => {
    const g = gen(2);
    const counts = { read: 0, write: 0, cas: 0 };
    for (let i = 0; i < 10_000; i++) counts[g.next().f]++;
    expect(counts.read / 10_000).toBeCloseTo(0.5, 1);
    expect(counts.cas / 10_000).toBeGreaterThan(0.15);
  });

  it('retires a kv key after opsPerKey operations and never reuses it', () => {
    const g = gen(3, 'kv', 50, 2);
    const perKey = new Map<string, number>();
    const order: string[] = [];
    for (let i = 0; i < 1000; i++) {
      const { key } = g.next();
      if (!perKey.has(key)) order.push(key);
      perKey.set(key, (perKey.get(key) ?? 0) + 1);
    }
    expect(Math.max(...perKey.values())).toBeLessThanOrEqual(50);
    expect(perKey.size).toBeGreaterThanOrEqual(1000 / 50);
    expect(new Set(order).size).toBe(order.length);
    expect(g.keysUsed()).toEqual(expect.arrayContaining(order));
    expect(g.keyed).toBe(true);
  });

  it('keeps the register workload on one unkeyed register', () => {
    const g = gen(4, 'register', 10);
    const keys = new Set<string>();
    for (let i = 0; i < 500; i++) keys.add(g.next().key);
    expect(keys.size).toBe(1);
    expect(g.keyed).toBe(false);
  });

  it('expects values that were written to the same key, so cas can succeed', () => {
    const g = gen(5, 'kv', 1000, 3);
    const writtenTo = new Map<unknown, string>();
    let cas = 0;
    for (let i = 0; i < 3000; i++) {
      const op = g.next();
      if (op.f === 'write') writtenTo.set(op.value, op.key);
      if (op.f === 'cas') {
        const [expected, next] = op.value as [unknown, unknown];
        expect(writtenTo.get(expected)).toBe(op.key);
        writtenTo.set(next, op.key);
        cas++;
      }
    }
    expect(cas).toBeGreaterThan(300);
  });

  it('replays: the same seed gives the same ops', () => {
    const a = gen(9);
    const b = gen(9);
    const c = gen(10);
    const take = (g: OpGenerator) => Array.from({ length: 200 }, () => g.next());
    const first = take(a);
    expect(take(b)).toEqual(first);
    expect(take(c)).not.toEqual(first);
  });
});
