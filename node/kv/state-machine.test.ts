import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DecodeError } from '../util/bytes.js';
import { encodeProposal, type KvCommand, type Proposal, type Session } from './commands.js';
import { formatValue } from './resp.js';
import { KvStateMachine } from './state-machine.js';

const b = (s: string): Buffer => Buffer.from(s);
const set = (k: string, v: string): KvCommand => ({ op: 'set', key: b(k), value: b(v) });
const del = (k: string): KvCommand => ({ op: 'del', key: b(k) });
const cas = (k: string, e: string, v: string): KvCommand => ({
  op: 'cas',
  key: b(k),
  expected: b(e),
  value: b(v),
});
const get = (k: string): KvCommand => ({ op: 'get', key: b(k) });
const enc = (command: KvCommand, session: Session | null = null): Uint8Array =>
  encodeProposal({ command, session });
const OPEN = enc({ op: 'open-session' });

/** Applies at consecutive indexes from `start`, returning replies as text. */
function run(sm: KvStateMachine, entries: Uint8Array[], start = sm.lastApplied + 1): string[] {
  return entries.map((e, i) => formatValue(sm.apply(start + i, e)));
}

describe('KvStateMachine commands', () => {
  it('answers GET, SET, DEL and CAS as cli.md says', () => {
    const sm = new KvStateMachine();
    expect(
      run(sm, [
        enc(get('k')),
        enc(del('k')),
        enc(cas('k', 'x', 'y')), // absent never matches
        enc(set('k', '1')),
        enc(get('k')),
        enc(cas('k', '2', '3')),
        enc(cas('k', '1', '3')),
        enc(del('k')),
        enc(del('k')),
      ]),
    ).toEqual(['(nil)', ':0', ':0', '+OK', '"1"', ':0', ':1', ':1', ':0']);
    expect(sm.read(b('k'))).toBeNull();
    expect(sm.lastApplied).toBe(9);
  });

  it('never matches an absent key, even against an empty expected value', () => {
    const sm = new KvStateMachine();
    expect(run(sm, [enc(cas('k', '', 'v'))])).toEqual([':0']);
    expect(sm.read(b('k'))).toBeNull();
    expect(run(sm, [enc(set('k', '')), enc(cas('k', '', 'v'))])).toEqual(['+OK', ':1']);
  });

  it('answers undecodable bytes with -ERR and changes nothing', () => {
    const sm = new KvStateMachine();
    expect(run(sm, [Uint8Array.from([1, 77, 0])])[0]).toMatch(
      /^-ERR undecodable command at index 1: unknown command op 77/,
    );
    expect(sm.keyCount).toBe(0);
  });

  it('refuses an index that does not increase', () => {
    const sm = new KvStateMachine();
    sm.apply(5, enc(set('a', '1')));
    expect(() => sm.apply(5, enc(set('a', '2')))).toThrow(RangeError);
    expect(() => sm.apply(3, enc(set('a', '2')))).toThrow(RangeError);
    expect(sm.read(b('a'))?.toString()).toBe('1');
  });
});

describe('KvStateMachine exactly-once sessions', () => {
  it('gives a duplicate the first reply without applying it again', () => {
    const sm = new KvStateMachine();
    expect(run(sm, [OPEN])).toEqual([':1']);
    const s = { id: 1, seq: 1 };
    expect(
      run(sm, [enc(cas('k', 'a', 'b'), s), enc(set('k', 'a')), enc(cas('k', 'a', 'b'), s)]),
    ).toEqual([
      ':0',
      '+OK',
      ':0', // the retry sees the first reply, not a fresh CAS that would now succeed
    ]);
    expect(sm.read(b('k'))?.toString()).toBe('a');
    expect(
      run(sm, [
        enc(del('k'), { id: 1, seq: 2 }),
        enc(set('k', 'z')),
        enc(del('k'), { id: 1, seq: 2 }),
      ]),
    ).toEqual([':1', '+OK', ':1']);
    expect(sm.read(b('k'))?.toString()).toBe('z');
  });

  it('refuses an older sequence number and an unknown session', () => {
    const sm = new KvStateMachine();
    run(sm, [OPEN, enc(set('k', '1'), { id: 1, seq: 5 })]);
    expect(run(sm, [enc(set('k', '2'), { id: 1, seq: 4 })])).toEqual([
      '-ERR stale sequence number 4 for session 1: 5 was applied already',
    ]);
    expect(run(sm, [enc(set('k', '2'), { id: 9, seq: 1 })])).toEqual([
      '-ERR no session 9 (expired or never opened): open one with RAFT.SESSION',
    ]);
    expect(sm.read(b('k'))?.toString()).toBe('1');
  });

  it('uses the log index of the RAFT.SESSION entry as the session id', () => {
    const sm = new KvStateMachine();
    expect(formatValue(sm.apply(41, OPEN))).toBe(':41');
    expect(formatValue(sm.apply(57, OPEN))).toBe(':57');
    expect(formatValue(sm.apply(58, enc(set('k', 'v'), { id: 41, seq: 1 })))).toBe('+OK');
  });

  it('expires a session unused for the TTL in log indexes, not before', () => {
    const sm = new KvStateMachine({ sessionTtlEntries: 10 });
    sm.apply(1, OPEN); // session 1, last used at 1
    sm.apply(2, OPEN); // session 2
    expect(formatValue(sm.apply(11, enc(set('k', 'a'), { id: 1, seq: 1 })))).toBe('+OK'); // 1 + 10 >= 11: alive
    expect(sm.sessionCount).toBe(2);
    sm.apply(13, enc(get('k'))); // session 2 last used at 2: 2 + 10 < 13, gone
    expect(sm.sessionCount).toBe(1);
    expect(formatValue(sm.apply(14, enc(set('k', 'b'), { id: 2, seq: 1 })))).toMatch(
      /^-ERR no session 2/,
    );
    expect(formatValue(sm.apply(21, enc(set('k', 'a'), { id: 1, seq: 1 })))).toBe('+OK'); // duplicate, still alive
    expect(sm.read(b('k'))?.toString()).toBe('a');
  });

  it('drops the least recently used session when too many are open', () => {
    const sm = new KvStateMachine({ maxSessions: 2 });
    run(sm, [OPEN, OPEN, enc(set('k', 'v'), { id: 1, seq: 1 }), OPEN]); // sessions 1, 2, then 4 evicts 2
    expect(sm.sessionCount).toBe(2);
    expect(run(sm, [enc(set('k', 'w'), { id: 2, seq: 1 })])[0]).toMatch(/^-ERR no session 2/);
    expect(
      run(sm, [enc(set('k', 'w'), { id: 1, seq: 2 }), enc(set('k', 'x'), { id: 4, seq: 1 })]),
    ).toEqual(['+OK', '+OK']);
  });
});

describe('KvStateMachine snapshots', () => {
  it('restores keys, sessions and the applied index', () => {
    const a = new KvStateMachine();
    run(a, [OPEN, enc(set('k', 'v'), { id: 1, seq: 1 }), enc(set('bin\u0000\u00ff', 'x'))]);
    const c = new KvStateMachine();
    c.restore(a.snapshot());
    expect(c.lastApplied).toBe(3);
    expect(c.read(b('k'))?.toString()).toBe('v');
    expect(c.read(b('bin\u0000\u00ff'))?.toString()).toBe('x');
    const retry = enc(set('k', 'v'), { id: 1, seq: 1 });
    expect(run(c, [retry])).toEqual(run(a, [retry]));
    expect(Buffer.from(c.snapshot()).equals(Buffer.from(a.snapshot()))).toBe(true);
  });

  it('refuses corrupt bytes and keeps its state', () => {
    const a = new KvStateMachine();
    run(a, [enc(set('k', 'v'))]);
    const snap = a.snapshot();
    const c = new KvStateMachine();
    run(c, [enc(set('mine', '1'))]);
    for (let i = 0; i < snap.length; i++) {
      const bad = Uint8Array.from(snap);
      bad[i] = (bad[i] ?? 0) ^ 0x40;
      expect(() => c.restore(bad)).toThrow(DecodeError);
    }
    expect(() => c.restore(snap.subarray(0, snap.length - 1))).toThrow(DecodeError);
    expect(() => c.restore(new Uint8Array(0))).toThrow(DecodeError);
    expect(c.read(b('mine'))?.toString()).toBe('1');
    expect(c.lastApplied).toBe(1);
  });

  it('never throws anything but DecodeError on random bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 100 }), (bytes) => {
        try {
          new KvStateMachine().restore(bytes);
        } catch (e) {
          expect(e).toBeInstanceOf(DecodeError);
        }
      }),
      { numRuns: 2000 },
    );
  });
});

// ---------------------------------------------------------------------------
// Property: two replicas agree, whether or not one is rebuilt from a snapshot.

type Step =
  | { t: 'cmd'; command: KvCommand; client: number | null; seqDelta: number }
  | { t: 'open' }
  | { t: 'garbage'; bytes: Uint8Array };

const keyArb = fc.constantFrom('a', 'b', 'c');
const valArb = fc.constantFrom('', '1', '2');
const cmdArb: fc.Arbitrary<KvCommand> = fc.oneof(
  fc.record({ op: fc.constant('get' as const), key: keyArb.map(b) }),
  fc.record({ op: fc.constant('set' as const), key: keyArb.map(b), value: valArb.map(b) }),
  fc.record({ op: fc.constant('del' as const), key: keyArb.map(b) }),
  fc.record({
    op: fc.constant('cas' as const),
    key: keyArb.map(b),
    expected: valArb.map(b),
    value: valArb.map(b),
  }),
);
const stepArb: fc.Arbitrary<Step> = fc.oneof(
  {
    weight: 8,
    arbitrary: fc.record({
      t: fc.constant('cmd' as const),
      command: cmdArb,
      client: fc.option(fc.nat({ max: 3 })),
      seqDelta: fc.integer({ min: -1, max: 2 }),
    }),
  },
  { weight: 1, arbitrary: fc.constant({ t: 'open' as const }) },
  {
    weight: 1,
    arbitrary: fc.record({
      t: fc.constant('garbage' as const),
      bytes: fc.uint8Array({ maxLength: 8 }),
    }),
  },
);

/**
 * Turns steps into log entries. Clients reuse, repeat (delta 0) and go back
 * (delta -1) on sequence numbers, so duplicates and stale requests are common.
 */
function toEntries(steps: Step[], gaps: number[]): { index: number; bytes: Uint8Array }[] {
  const sessions: number[] = [];
  const seqs = new Map<number, number>();
  let index = 0;
  return steps.map((s, i) => {
    index += 1 + ((gaps[i] ?? 0) % 3); // noop and config entries leave gaps
    if (s.t === 'open') {
      sessions.push(index);
      return { index, bytes: OPEN };
    }
    if (s.t === 'garbage') return { index, bytes: s.bytes };
    let session: Proposal['session'] = null;
    const id = s.client === null ? undefined : sessions[s.client % Math.max(1, sessions.length)];
    if (id !== undefined) {
      const seq = Math.max(1, (seqs.get(id) ?? 0) + s.seqDelta);
      seqs.set(id, Math.max(seq, seqs.get(id) ?? 0));
      session = { id, seq };
    }
    return { index, bytes: encodeProposal({ command: s.command, session }) };
  });
}

describe('KvStateMachine replicas', () => {
  it('give the same replies and state when one is snapshotted and restored midway', () => {
    fc.assert(
      fc.property(
        fc.array(stepArb, { maxLength: 80 }),
        fc.array(fc.nat(), { maxLength: 80 }),
        fc.nat(),
        fc.integer({ min: 1, max: 30 }),
        (steps, gaps, cutAt, ttl) => {
          const opts = { sessionTtlEntries: ttl, maxSessions: 3 };
          const entries = toEntries(steps, gaps);
          const cut = entries.length === 0 ? 0 : cutAt % (entries.length + 1);
          const whole = new KvStateMachine(opts);
          const first = new KvStateMachine(opts);
          const wholeReplies = entries.map((e) => formatValue(whole.apply(e.index, e.bytes)));
          const splitReplies = entries
            .slice(0, cut)
            .map((e) => formatValue(first.apply(e.index, e.bytes)));
          const rebuilt = new KvStateMachine(opts);
          rebuilt.restore(first.snapshot());
          for (const e of entries.slice(cut))
            splitReplies.push(formatValue(rebuilt.apply(e.index, e.bytes)));
          expect(splitReplies).toEqual(wholeReplies);
          expect(Buffer.from(rebuilt.snapshot()).equals(Buffer.from(whole.snapshot()))).toBe(true);
        },
      ),
      { numRuns: 500 },
    );
  });

  it('apply each sessioned write at most once however often it is retried', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 1, maxLength: 30 }),
        (copies) => {
          // Every write increments a counter through CAS; retries must not add.
          const sm = new KvStateMachine();
          let index = 1;
          sm.apply(index, OPEN);
          sm.apply(++index, enc(set('n', '0')));
          copies.forEach((times, i) => {
            const cmd = cas('n', String(i), String(i + 1));
            const replies = Array.from({ length: times }, () =>
              formatValue(sm.apply(++index, enc(cmd, { id: 1, seq: i + 1 }))),
            );
            expect(new Set(replies)).toEqual(new Set([':1']));
          });
          expect(sm.read(b('n'))?.toString()).toBe(String(copies.length));
        },
      ),
    );
  });
});
