import { describe, expect, it } from 'vitest';
import type { Operation, Value } from '../history.js';
import { ILLEGAL, hashValue } from './model.js';
import type { Model, ModelOp } from './model.js';
import { getModel, loadModels } from './registry.js';

const ok = (f: string, value: Value, result?: Value): ModelOp => ({
  f,
  value,
  result: result ?? value,
  kind: 'ok',
});
const mismatch = (f: string, value: Value): ModelOp => ({
  f,
  value,
  result: undefined,
  kind: 'mismatch',
});
const maybe = (f: string, value: Value): ModelOp => ({
  f,
  value,
  result: undefined,
  kind: 'maybe',
});
const op = (f: string, value: Value, extra: Partial<Operation> = {}): Operation => ({
  index: 0,
  process: 0,
  f,
  value,
  outcome: 'ok',
  call: 0,
  ret: 1,
  line: 7,
  retLine: 8,
  ...extra,
});

/** Runs ops from the model's initial state; the states after each, or ILLEGAL at the first illegal one. */
function run<S>(model: Model<S>, initial: Value, ops: ModelOp[]): (S | typeof ILLEGAL)[] {
  let state = model.init(initial);
  const out: (S | typeof ILLEGAL)[] = [];
  for (const o of ops) {
    const next = model.step(state, o);
    out.push(next);
    if (next === ILLEGAL) break;
    state = next;
  }
  return out;
}

describe('model registry', () => {
  it('finds one model per file in checks/models', async () => {
    const names = [...(await loadModels()).keys()].sort();
    expect(names).toEqual([
      'cas-register',
      'kv',
      'multi-register',
      'mutex',
      'porcupine-kv',
      'register',
    ]);
    await expect(getModel('queue')).rejects.toThrow(
      /unknown model 'queue' \(known: .*cas-register/,
    );
  });
});

describe('register and cas-register', () => {
  it('reads what was written last', async () => {
    const m = await getModel('register');
    expect(run(m, null, [ok('read', null, null), ok('write', 3), ok('read', null, 3)])).toEqual([
      null,
      3,
      3,
    ]);
    expect(run(m, 0, [ok('read', null, 1)])).toEqual([ILLEGAL]);
    expect(m.validate(op('cas', [1, 2]))).toMatch(
      /unknown operation f "cas" for model register \(it knows read, write\)/,
    );
  });

  it('swaps on a matching cas, observes a mismatch, and may or may not swap when unknown', async () => {
    const m = await getModel('cas-register');
    expect(run(m, 1, [ok('cas', [1, 2]), ok('read', null, 2)])).toEqual([2, 2]);
    expect(run(m, 1, [ok('cas', [0, 2])])).toEqual([ILLEGAL]);
    expect(run(m, 1, [mismatch('cas', [0, 2])])).toEqual([1]);
    expect(run(m, 1, [mismatch('cas', [1, 2])])).toEqual([ILLEGAL]);
    expect(run(m, 1, [maybe('cas', [1, 2])])).toEqual([2]);
    expect(run(m, 1, [maybe('cas', [0, 2])])).toEqual([1]);
    expect(run(m, 1, [maybe('write', 5)])).toEqual([5]);
    expect(m.validate(op('cas', 3))).toMatch(/cas needs the value \[expected, new\], got 3/);
    expect(m.validate(op('add', 1))).toMatch(/unknown operation f "add"/);
    expect(m.isReadOnly(op('read', null))).toBe(true);
    expect('partition' in m).toBe(false);
  });

  it('compares values by JSON equality and hashes consistently with it', async () => {
    const m = await getModel('cas-register');
    expect(run(m, [1, 'a'], [ok('read', null, [1, 'a'])])).toEqual([[1, 'a']]);
    expect(run(m, 1, [ok('read', null, '1')])).toEqual([ILLEGAL]);
    for (const [a, b] of [
      [1, 1],
      ['x', 'x'],
      [null, null],
      [
        [1, 2],
        [1, 2],
      ],
    ] as [Value, Value][]) {
      expect(m.equals(a, b)).toBe(true);
      expect(m.hash(a)).toBe(m.hash(b));
    }
    expect(m.equals(1, '1')).toBe(false);
    expect(hashValue(1)).not.toBe(hashValue(2));
  });

  it('kv is a cas-register per key', async () => {
    const m = await getModel('kv');
    expect(m.partition?.(op('read', null, { key: 'k1' }))).toBe('k1');
    expect(run(m, null, [ok('cas', [null, 1]), mismatch('cas', [null, 2])])).toEqual([1, 1]);
  });
});

describe('mutex', () => {
  it('acquires when free and releases when held', async () => {
    const m = await getModel('mutex');
    expect(run(m, null, [ok('acquire', null), ok('release', null), ok('acquire', null)])).toEqual([
      true,
      false,
      true,
    ]);
    expect(run(m, null, [ok('acquire', null), ok('acquire', null)])).toEqual([true, ILLEGAL]);
    expect(run(m, null, [ok('release', null)])).toEqual([ILLEGAL]);
    expect(m.isReadOnly(op('acquire', null))).toBe(false);
    expect(m.validate(op('lock', null))).toMatch(/unknown operation f "lock" for model mutex/);
  });
});

describe('porcupine-kv', () => {
  it('gets, puts and appends strings, starting at ""', async () => {
    const m = await getModel('porcupine-kv');
    const states = run(m, m.defaultInitial, [
      ok('get', null, ''),
      ok('append', 'x 1 y'),
      ok('append', 'x 2 y'),
      ok('get', null, 'x 1 yx 2 y'),
      ok('put', 'z'),
      ok('get', null, 'z'),
    ]);
    expect(states.map((s) => (s === ILLEGAL ? s : m.showState(s)))).toEqual([
      '""',
      '"x 1 y"',
      '"x 1 yx 2 y"',
      '"x 1 yx 2 y"',
      '"z"',
      '"z"',
    ]);
    expect(run(m, '', [ok('append', 'a'), ok('get', null, 'b')])[1]).toBe(ILLEGAL);
    expect(m.validate(op('append', 3))).toMatch(/append needs a string value/);
  });

  it('hashes an appended value like the same value built at once', async () => {
    const m = await getModel('porcupine-kv');
    const [built] = run(m, 'abc', [ok('get', null, 'abc')]);
    const [appended] = run(m, 'a', [ok('append', 'bc')]);
    if (
      built === ILLEGAL ||
      built === undefined ||
      appended === ILLEGAL ||
      appended === undefined
    ) {
      throw new Error('unreachable');
    }
    expect(m.hash(built)).toBe(m.hash(appended));
    expect(m.equals(built, appended)).toBe(true);
  });
});

describe('multi-register', () => {
  it('applies txns of reads and writes atomically; nil reads always pass', async () => {
    const m = await getModel('multi-register');
    const states = run(m, 0, [
      ok('txn', [['read', 'x', null]], [['read', 'x', 0]]),
      ok('txn', [
        ['write', 'x', 2],
        ['write', 'y', 1],
      ]),
      ok(
        'txn',
        [
          ['read', 'x', null],
          ['read', 'y', null],
        ],
        [
          ['read', 'x', 2],
          ['r', 'y', 1],
        ],
      ),
      ok('txn', [['r', 'z', null]], [['r', 'z', null]]),
    ]);
    expect(states.every((s) => s !== ILLEGAL)).toBe(true);
    expect(run(m, 0, [ok('txn', [['read', 'x', null]], [['read', 'x', 1]])])).toEqual([ILLEGAL]);
    expect(m.isReadOnly(op('txn', [['read', 'x', null]]))).toBe(true);
    expect(
      m.isReadOnly(
        op('txn', [
          ['read', 'x', null],
          ['w', 'x', 1],
        ]),
      ),
    ).toBe(false);
    expect(m.validate(op('txn', [['inc', 'x', 1]]))).toMatch(
      /micro-op must be \[read\|write key value\]/,
    );
  });

  it('treats a register written back to the initial value as never written', async () => {
    const m = await getModel('multi-register');
    const [a] = run(m, 0, [ok('txn', [['w', 'x', 1]])]);
    const [b, c] = run(m, 0, [ok('txn', [['w', 'x', 5]]), ok('txn', [['w', 'x', 1]])]);
    const [fresh] = run(m, 0, [ok('txn', [['w', 'x', 0]])]);
    if (
      a === ILLEGAL ||
      c === ILLEGAL ||
      fresh === ILLEGAL ||
      a === undefined ||
      c === undefined ||
      fresh === undefined
    ) {
      throw new Error('unreachable');
    }
    expect(b).not.toBe(ILLEGAL);
    expect(m.equals(a, c)).toBe(true);
    expect(m.hash(a)).toBe(m.hash(c));
    expect(m.equals(fresh, m.init(0))).toBe(true);
  });
});
