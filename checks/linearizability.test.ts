import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Value } from './history.js';
import { checkLinearizability } from './linearizability.js';
import type { CheckOptions } from './linearizability.js';
import { parseHistory } from './readers/index.js';
import { parseJsonl } from './readers/jsonl.js';
import { simulate, toJsonl } from './simulate.js';
import type { SimEvent, SimOptions } from './simulate.js';
import { bruteForce, randomEvents } from './test-support/brute-force.js';
import { xorshift } from './test-support/xorshift.js';

/** A history from compact lines: "P type f value [key]". */
function h(...lines: string[]) {
  return parseJsonl(
    lines
      .map((l) => {
        const [p, type, f, value, key, error] = l.split(' ');
        return JSON.stringify({
          process: Number(p),
          type,
          f,
          value: JSON.parse(value ?? 'null') as Value,
          ...(key !== undefined && key !== '-' ? { key } : {}),
          ...(error !== undefined ? { error } : {}),
        });
      })
      .join('\n'),
    'test.jsonl',
  );
}

const check = (events: readonly SimEvent[], options: CheckOptions = {}) =>
  checkLinearizability(parseJsonl(toJsonl(events), 'sim.jsonl'), options);

describe('checkLinearizability: semantics', () => {
  it('finds a stale read, names the op that cannot be placed and the longest prefix', async () => {
    const r = await checkLinearizability(
      h(
        '0 invoke write 1',
        '0 ok write 1',
        '1 invoke write 2',
        '1 ok write 2',
        '2 invoke read null',
        '2 ok read 1',
      ),
      { model: 'register' },
    );
    expect(r).toMatchObject({ valid: false, model: 'register', ops: 3, keys: 1 });
    expect(r.counterexample?.key).toBeNull();
    expect(r.counterexample?.op).toMatchObject({ process: 2, f: 'read', result: 1, line: 5 });
    expect(r.counterexample?.prefix.map((o) => o.value)).toEqual([1, 2]);
    expect(r.counterexample?.initial).toBe('null');
    expect(r.counterexample?.states).toEqual(['1', '2']);
  });

  it('lets concurrent ops take effect in either order', async () => {
    const r = await checkLinearizability(
      h(
        '0 invoke write 1',
        '1 invoke read null',
        '1 ok read 1',
        '2 invoke read null',
        '0 ok write 1',
        '2 ok read 1',
      ),
    );
    expect(r.valid).toBe(true);
    expect(r.linearizations[0]?.order).toEqual([0, 1, 2]);
  });

  it('lets an info write take effect, even after its timeout, or never', async () => {
    const late = h(
      '0 invoke write 1',
      '0 info write 1',
      '1 invoke read null',
      '1 ok read null',
      '2 invoke read null',
      '2 ok read 1',
    );
    expect((await checkLinearizability(late)).valid).toBe(true);
    const never = h('0 invoke write 1', '0 info write 1', '1 invoke read null', '1 ok read null');
    expect((await checkLinearizability(never)).valid).toBe(true);
    const open = h('0 invoke write 1', '1 invoke read null', '1 ok read 1');
    expect((await checkLinearizability(open)).valid).toBe(true);
    // But not before it was invoked.
    const early = h('1 invoke read null', '1 ok read 1', '0 invoke write 1', '0 info write 1');
    expect((await checkLinearizability(early)).valid).toBe(false);
  });

  it('drops failed ops and failed or unknown reads', async () => {
    const failed = h('0 invoke write 1', '0 fail write 1', '1 invoke read null', '1 ok read 1');
    expect((await checkLinearizability(failed)).valid).toBe(false);
    const reads = h(
      '0 invoke read null',
      '0 fail read null',
      '1 invoke read null',
      '1 info read null',
      '2 invoke read null',
    );
    const r = await checkLinearizability(reads);
    expect(r).toMatchObject({ valid: true, ops: 0 });
  });

  it('checks a cas-mismatch as "the value differed from the expected one"', async () => {
    /** A write of `written`, then a cas [2,3] that failed with `error`. */
    const casAfterWrite = (written: number, error: string) =>
      h(
        `0 invoke write ${written}`,
        `0 ok write ${written}`,
        '1 invoke cas [2,3]',
        `1 fail cas [2,3] - ${error}`,
      );
    const differs = casAfterWrite(1, 'cas-mismatch');
    expect((await checkLinearizability(differs)).valid).toBe(true);
    const equal = casAfterWrite(2, 'cas-mismatch');
    expect((await checkLinearizability(equal)).valid).toBe(false);
    // A plain failure is only "no effect".
    const plain = casAfterWrite(2, 'unavailable');
    expect((await checkLinearizability(plain)).valid).toBe(true);
  });

  it('uses --initial, else the format convention', async () => {
    const read0 = h('0 invoke read null', '0 ok read 0');
    expect((await checkLinearizability(read0)).valid).toBe(false);
    expect((await checkLinearizability(read0, { initial: 0 })).valid).toBe(true);
    const edn = parseHistory(
      '[{:process 0 :type :invoke :f :read} {:process 0 :type :ok :f :read :value 0}]',
    );
    expect((await checkLinearizability(edn)).valid).toBe(true);
    expect((await checkLinearizability(edn, { initial: 3 })).valid).toBe(false);
  });

  it('checks keys independently and reports the failing key', async () => {
    const r = await checkLinearizability(
      h(
        '0 invoke write 1 a',
        '0 ok write 1 a',
        '1 invoke write 2 b',
        '1 ok write 2 b',
        '2 invoke read null a',
        '2 ok read 2 a',
        '3 invoke read null b',
        '3 ok read 2 b',
      ),
    );
    expect(r).toMatchObject({ valid: false, model: 'kv', keys: 2 });
    expect(r.counterexample?.key).toBe('a');
    expect(r.counterexample?.op.line).toBe(5);
  });

  it('rejects keyed ops on a single-object model and unknown operations, naming the line', async () => {
    await expect(
      checkLinearizability(h('0 invoke read null k'), { model: 'register' }),
    ).rejects.toThrow(
      /^test\.jsonl:1: operation has key "k" but model register checks a single object/,
    );
    await expect(checkLinearizability(h('0 invoke read null', '1 invoke incr 1'))).rejects.toThrow(
      /^test\.jsonl:2: unknown operation f "incr" for model cas-register/,
    );
  });

  it('lets a mutex acquire that timed out never take effect', async () => {
    const history = parseHistory(
      '[{:process 0 :type :invoke :f :acquire} {:process 0 :type :ok :f :acquire}' +
        ' {:process 1 :type :invoke :f :acquire} {:process 1 :type :info :f :acquire}' +
        ' {:process 0 :type :invoke :f :release} {:process 0 :type :ok :f :release}]',
    );
    expect((await checkLinearizability(history)).valid).toBe(true);
  });
});

describe('checkLinearizability: limits', () => {
  const big = simulate({
    seed: 7,
    ops: 20_000,
    concurrency: 8,
    model: 'cas-register',
    infoRate: 0.02,
  });

  it('answers unknown, never a verdict, when the time is up', async () => {
    const r = await check(big, { timeoutMs: 0 });
    expect(r.valid).toBe('unknown');
    expect(r.reason).toMatch(/timed out after 0 ms/);
  });

  it('answers unknown when the search outgrows its memory budget', async () => {
    const r = await check(big, { maxCacheBytes: 64 * 1024 });
    expect(r.valid).toBe('unknown');
    expect(r.reason).toMatch(/search memory over 64 KiB/);
  });
});

// --- Properties: simulated atomic objects give linearizable histories; one read changed
// --- to a value no linearization allows makes them not linearizable.

// Many `info` ops make the search exponential (for every checker of this kind), so
// the generated histories keep them to Jepsen-like rates.
const simOptions = (model: SimOptions['model']) =>
  fc.record({
    seed: fc.integer(),
    ops: fc.integer({ min: 1, max: 200 }),
    concurrency: fc.integer({ min: 1, max: 6 }),
    model: fc.constant(model),
    keys: fc.integer({ min: 1, max: 5 }),
    values: fc.integer({ min: 1, max: 6 }),
    infoRate: fc.double({ min: 0, max: 0.08, noNaN: true }),
  });

/** Changes the result of the `which`-th ok read; undefined when there is none. */
function mutateRead(
  events: readonly SimEvent[],
  which: number,
  value: Value,
): SimEvent[] | undefined {
  const reads = events.filter((e) => e.type === 'ok' && e.f === 'read');
  if (reads.length === 0) return undefined;
  const target = reads[which % reads.length] as SimEvent;
  return events.map((e) => (e === target ? { ...e, value } : e));
}

describe('properties', () => {
  for (const model of ['register', 'cas-register', 'kv'] as const) {
    it(`histories of a simulated atomic ${model} are linearizable`, async () => {
      await fc.assert(
        fc.asyncProperty(simOptions(model), async (opts) => {
          const r = await check(simulate(opts), { model });
          expect(r.valid).toBe(true);
        }),
        { numRuns: 60 },
      );
    });

    it(`a ${model} read of a value never written is caught, at that read`, async () => {
      await fc.assert(
        fc.asyncProperty(simOptions(model), fc.nat(), async (opts, which) => {
          const events = mutateRead(simulate(opts), which, 'never-written');
          if (events === undefined) return;
          const r = await check(events, { model });
          expect(r.valid).toBe(false);
          expect(r.counterexample?.op.result).toBe('never-written');
        }),
        { numRuns: 60 },
      );
    });
  }

  it('agrees with a brute-force search on small simulated histories with one read changed', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          seed: fc.integer(),
          ops: fc.integer({ min: 1, max: 7 }),
          concurrency: fc.integer({ min: 1, max: 4 }),
          model: fc.constantFrom('cas-register' as const, 'kv' as const),
          keys: fc.integer({ min: 1, max: 2 }),
          values: fc.integer({ min: 1, max: 3 }),
          infoRate: fc.double({ min: 0, max: 0.4, noNaN: true }),
        }),
        fc.nat(),
        fc.constantFrom<Value>(null, 0, 1, 2),
        async (opts, which, value) => {
          const events = mutateRead(simulate(opts), which, value) ?? simulate(opts);
          const expected = bruteForce(events, null);
          const r = await check(events, { model: opts.model });
          expect(r.valid).toBe(expected);
        },
      ),
      { numRuns: 400 },
    );
  });

  it('agrees with a brute-force search on arbitrary small histories, with and without its optimisations', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer(),
        fc.integer({ min: 1, max: 8 }),
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 1, max: 2 }),
        async (seed, ops, processes, keys) => {
          const rand = xorshift(seed);
          const events = randomEvents(rand, { ops, processes, keys, values: 3 });
          const expected = bruteForce(events, null);
          for (const options of [{}, { cache: false }, { partition: false }] as CheckOptions[]) {
            const r = await check(events, { model: 'kv', ...options });
            expect(r.valid).toBe(expected);
          }
        },
      ),
      { numRuns: 600 },
    );
  });

  it('agrees with plain WGL (no reductions) on medium histories with info ops', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer(),
        fc.integer({ min: 5, max: 40 }),
        fc.integer({ min: 1, max: 5 }),
        fc.boolean(),
        async (seed, ops, processes, simulated) => {
          const rand = xorshift(seed);
          const events = simulated
            ? (mutateRead(
                simulate({
                  seed,
                  ops,
                  concurrency: processes,
                  model: 'cas-register',
                  values: 3,
                  infoRate: 0.2,
                }),
                seed >>> 0,
                Math.floor(rand() * 3),
              ) ?? [])
            : randomEvents(rand, { ops, processes, keys: 1, values: 3 });
          const plain = await check(events, {
            model: 'cas-register',
            reductions: false,
            timeoutMs: 2_000,
          });
          const reduced = await check(events, { model: 'cas-register', timeoutMs: 2_000 });
          if (plain.valid !== 'unknown' && reduced.valid !== 'unknown')
            expect(reduced.valid).toBe(plain.valid);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('never takes maybe ops on different keys of one merged object for twins', async () => {
    // Found by the property below: two timed-out writes of the same value to k0 and
    // k1 were once treated as interchangeable when all keys were checked as one map.
    const events = simulate({
      seed: 2147483630,
      ops: 18,
      concurrency: 1,
      model: 'kv',
      keys: 2,
      values: 1,
      infoRate: 0.06362164742313327,
    });
    const split = await check(events, { model: 'kv' });
    const merged = await check(events, { model: 'kv', partition: false });
    const plain = await check(events, { model: 'kv', partition: false, reductions: false });
    expect(split.valid).toBe(true);
    expect(plain.valid).toBe(true);
    expect(merged.valid).toBe(true);
  });

  it('gives the same verdicts without the cache and without splitting by key', async () => {
    await fc.assert(
      fc.asyncProperty(simOptions('kv'), fc.nat(), fc.boolean(), async (opts, which, mutate) => {
        const small = { ...opts, ops: Math.min(opts.ops, 40) };
        const events =
          (mutate ? mutateRead(simulate(small), which, 4) : undefined) ?? simulate(small);
        const full = await check(events, { model: 'kv' });
        const noCache = await check(events, { model: 'kv', cache: false, timeoutMs: 5_000 });
        const oneObject = await check(events, { model: 'kv', partition: false });
        if (noCache.valid !== 'unknown') expect(noCache.valid).toBe(full.valid);
        expect(oneObject.valid).toBe(full.valid);
      }),
      { numRuns: 60 },
    );
  });
});
