import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkLinearizability } from '../linearizability.js';
import type { CheckOptions, CheckResult, OpSummary } from '../linearizability.js';
import type { ModelOp } from '../models/model.js';
import { ILLEGAL } from '../models/model.js';
import { getModel } from '../models/registry.js';
import { parseHistory } from '../readers/index.js';
import { prepare } from '../semantics.js';
import {
  appendKvHistory,
  bruteForceAppendKv,
  changeGet,
  toKvEdn,
} from '../test-support/append-kv.js';
import type { AppendKvOptions, KvEvent } from '../test-support/append-kv.js';
import { xorshift } from '../test-support/xorshift.js';
import { MemoryBudget } from './config-cache.js';
import { searchPartition } from './wgl.js';

const check = (events: readonly KvEvent[], options: CheckOptions = {}) =>
  checkLinearizability(parseHistory(toKvEdn(events), { source: 'kv.txt' }), {
    model: 'porcupine-kv',
    ...options,
  });

/** Ways to break a get: stale or future reads, pieces lost, added or reordered. */
const CHANGES: readonly ((seen: string) => string)[] = [
  (seen) => seen.slice(0, -1),
  (seen) => `${seen}a`,
  (seen) => `b${seen}`,
  (seen) => seen.slice(Math.ceil(seen.length / 2)) + seen.slice(0, Math.ceil(seen.length / 2)),
  (seen) => (seen === 'ab' ? 'ba' : 'ab'),
  () => '',
];

const options = (maxOps: number, maxProcesses: number) =>
  fc.record<AppendKvOptions>({
    ops: fc.integer({ min: 1, max: maxOps }),
    processes: fc.integer({ min: 1, max: maxProcesses }),
    keys: fc.integer({ min: 1, max: 3 }),
    putRate: fc.double({ min: 0, max: 0.3, noNaN: true }),
    infoRate: fc.double({ min: 0, max: 0.15, noNaN: true }),
  });

/** A history of the simulated store, with one of its gets (when it has one) changed. */
const withOneGetChanged = (maxOps: number, maxProcesses: number) =>
  fc
    .tuple(
      fc.integer(),
      options(maxOps, maxProcesses),
      fc.nat(),
      fc.nat({ max: CHANGES.length - 1 }),
    )
    .map(([seed, opts, which, how]) => {
      const valid = appendKvHistory(xorshift(seed), opts);
      return changeGet(valid, which, CHANGES[how] as (s: string) => string) ?? valid;
    });

/**
 * A counterexample as the search explains it: its prefix replays legally (ops ok),
 * and the op it names, a get, is illegal right after it.
 */
async function expectExplained(r: CheckResult): Promise<void> {
  const c = r.counterexample;
  expect(c).toBeDefined();
  if (c === undefined) return;
  const m = await getModel('porcupine-kv');
  const asOp = (o: OpSummary): ModelOp => ({
    f: o.f,
    value: o.value,
    result: o.result,
    kind: o.outcome === 'ok' ? 'ok' : 'maybe',
  });
  let s = m.init('');
  for (const op of c.prefix.filter((o) => o.key === c.key)) {
    const next = m.step(s, asOp(op));
    expect(next).not.toBe(ILLEGAL);
    if (next !== ILLEGAL) s = next;
  }
  // The named op is the one whose return came first among those left: it had to be
  // placed next. A put or an append always steps legally, and may still be named
  // when every way on from it fails; a get is named because it cannot follow.
  expect(c.op.outcome).toBe('ok');
  expect(c.prefix).not.toContainEqual(c.op);
  if (c.op.f === 'get') expect(m.step(s, asOp(c.op))).toBe(ILLEGAL);
}

describe('porcupine-kv canStillObserve', () => {
  it('is false only when the value is not a prefix of what the get saw', async () => {
    const m = await getModel('porcupine-kv');
    const get = (seen: unknown): ModelOp => ({
      f: 'get',
      value: null,
      result: seen as string,
      kind: 'ok',
    });
    const state = (...steps: ModelOp[]): unknown => {
      let s = m.init('');
      for (const op of steps) {
        const next = m.step(s, op);
        if (next === ILLEGAL) throw new Error('illegal');
        s = next;
      }
      return s;
    };
    const append = (v: string): ModelOp => ({ f: 'append', value: v, result: v, kind: 'ok' });
    const put = (v: string): ModelOp => ({ f: 'put', value: v, result: v, kind: 'ok' });
    const ab = state(append('a'), append('b'));
    expect(m.canStillObserve?.(ab, get('abc'))).toBe(true);
    expect(m.canStillObserve?.(ab, get('ab'))).toBe(true);
    expect(m.canStillObserve?.(state(put('ab')), get('abx'))).toBe(true);
    expect(m.canStillObserve?.(ab, get('ba'))).toBe(false);
    expect(m.canStillObserve?.(ab, get('a'))).toBe(false);
    expect(m.canStillObserve?.(ab, get('xab'))).toBe(false);
    expect(m.canStillObserve?.(state(), get('anything'))).toBe(true);
    expect(m.canStillObserve?.(ab, get(null))).toBe(false);
    expect(m.resets?.(put('x'))).toBe(true);
    expect(m.resets?.(append('x'))).toBe(false);
    expect(m.resets?.(get('x'))).toBe(false);
  });
});

describe('pruning by growth (porcupine-kv)', () => {
  it('finds histories of a simulated atomic store linearizable', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer(), options(80, 8), async (seed, opts) => {
        const r = await check(appendKvHistory(xorshift(seed), opts), { timeoutMs: 10_000 });
        expect(r.valid).toBe(true);
      }),
      { numRuns: 150 },
    );
  });

  it('agrees with a brute-force search on small histories with one get changed', async () => {
    await fc.assert(
      fc.asyncProperty(withOneGetChanged(8, 4), async (events) => {
        const expected = bruteForceAppendKv(events);
        expect((await check(events)).valid).toBe(expected);
        expect((await check(events, { reductions: false })).valid).toBe(expected);
      }),
      { numRuns: 600 },
    );
  });

  it('agrees with plain WGL on medium histories with one get changed', async () => {
    await fc.assert(
      fc.asyncProperty(withOneGetChanged(60, 8), async (events) => {
        const plain = await check(events, { reductions: false, timeoutMs: 2_000 });
        const pruned = await check(events, { timeoutMs: 2_000 });
        if (plain.valid !== 'unknown') expect(pruned.valid).toBe(plain.valid);
        if (pruned.valid === false) await expectExplained(pruned);
      }),
      { numRuns: 200 },
    );
  });

  it('plain WGL finds a short history with a lost append linearizable', async () => {
    // The transition memo once read an empty slot as "op 0 from state 0 is illegal",
    // which made plain WGL call this history (append "a" never took effect, put
    // "x 2 y" did not either) not linearizable.
    const inv = (process: number, f: KvEvent['f'], value: string | null): KvEvent => ({
      process,
      type: 'invoke',
      f,
      key: '0',
      value,
    });
    const end = (process: number, type: 'ok' | 'info', f: KvEvent['f'], value: string | null) => ({
      ...inv(process, f, value),
      type,
    });
    const events: KvEvent[] = [
      inv(6, 'append', 'a'),
      inv(0, 'put', 'x 2 y'),
      inv(2, 'append', 'ab'),
      end(0, 'info', 'put', 'x 2 y'),
      inv(7, 'append', 'c'),
      inv(4, 'append', 'ab'),
      inv(5, 'get', null),
      inv(3, 'get', null),
      end(7, 'ok', 'append', 'c'),
      end(4, 'ok', 'append', 'ab'),
      end(6, 'info', 'append', 'a'),
      end(3, 'ok', 'get', ''),
      end(2, 'ok', 'append', 'ab'),
      end(5, 'ok', 'get', 'acab'),
    ];
    expect(bruteForceAppendKv(events)).toBe(true);
    expect((await check(events, { reductions: false })).valid).toBe(true);
    expect((await check(events)).valid).toBe(true);
  });

  it('names a get that cannot be placed after a prefix that is linearizable', async () => {
    // p0 appends "a" and p1 appends "b", concurrently; p2 then reads "ba", and p3,
    // later still, "ab": no order of the two appends satisfies both.
    const events: KvEvent[] = [
      { process: 0, type: 'invoke', f: 'append', key: 'k', value: 'a' },
      { process: 1, type: 'invoke', f: 'append', key: 'k', value: 'b' },
      { process: 0, type: 'ok', f: 'append', key: 'k', value: 'a' },
      { process: 1, type: 'ok', f: 'append', key: 'k', value: 'b' },
      { process: 2, type: 'invoke', f: 'get', key: 'k', value: null },
      { process: 2, type: 'ok', f: 'get', key: 'k', value: 'ba' },
      { process: 3, type: 'invoke', f: 'get', key: 'k', value: null },
      { process: 3, type: 'ok', f: 'get', key: 'k', value: 'ab' },
    ];
    expect(bruteForceAppendKv(events)).toBe(false);
    const r = await check(events);
    expect(r.valid).toBe(false);
    await expectExplained(r);
  });

  it('explores fewer configurations than plain WGL when appends race', async () => {
    // Many concurrent appends with gets between them: every order of the appends
    // is a different string, so Lowe's cache alone cannot merge them.
    const events = appendKvHistory(xorshift(7), {
      ops: 120,
      processes: 8,
      keys: 1,
      putRate: 0.05,
      infoRate: 0,
    });
    const history = parseHistory(toKvEdn(events), { source: 'kv.txt' });
    const model = await getModel('porcupine-kv');
    const [partition] = prepare(history, model).partitions;
    if (partition === undefined) throw new Error('no partition');
    const search = (reductions: boolean) =>
      searchPartition(partition, model, '', {
        deadline: Date.now() + 10_000,
        cache: true,
        memory: new MemoryBudget(1 << 28),
        reductions,
      });
    const plain = search(false);
    const pruned = search(true);
    expect(pruned.outcome).toBe('valid');
    expect(plain.outcome).toBe('valid');
    expect(pruned.configs).toBeLessThan(plain.configs);
  });

  it('interns states by equality, not by hash: every hash colliding changes no verdict', async () => {
    // One hash for every state: interning must tell states apart by equals() alone
    // (two different states never share an id), and the memo and the cache with it.
    const real = await getModel('porcupine-kv');
    const colliding = { ...real, hash: () => 7 };
    await fc.assert(
      fc.asyncProperty(withOneGetChanged(10, 4), async (events) => {
        const expected = bruteForceAppendKv(events);
        const r = await check(events, { model: colliding, workers: 1 });
        expect(r.valid).toBe(expected);
      }),
      { numRuns: 300 },
    );
  });
});
