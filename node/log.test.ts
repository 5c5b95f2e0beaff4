import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { NodeLogger, parseNodeLogLine, startDropSummary, type NodeLogLine } from './log.js';

let clock = 0;
let lines: string[] = [];

beforeEach(() => {
  vi.useFakeTimers();
  clock = Date.parse('2025-01-02T03:04:05.000Z');
  lines = [];
});

afterEach(() => {
  vi.useRealTimers();
});

function logger(extra: { progressIntervalMs?: number; progressEntries?: number } = {}): NodeLogger {
  return new NodeLogger({
    node: 'n1',
    boot: 'b00t',
    write: (l) => lines.push(l),
    now: () => clock,
    ...extra,
  });
}

const parsed = (): NodeLogLine[] => lines.map((l) => parseNodeLogLine(l.trimEnd())!);
const commits = (): number[] => parsed().flatMap((l) => (l.event === 'commit' ? [l.commit] : []));

/** Moves both the logger's clock and the fake timers. */
function advance(ms: number): void {
  clock += ms;
  vi.advanceTimersByTime(ms);
}

describe('NodeLogger', () => {
  it('writes one JSON line with the common fields first', () => {
    const log = logger();
    log.term = 7;
    log.log({ event: 'role', role: 'leader', leader: 'n1' });
    expect(lines).toEqual([
      '{"time":"2025-01-02T03:04:05.000Z","level":"info","node":"n1","boot":"b00t","term":7,"event":"role","role":"leader","leader":"n1"}\n',
    ]);
  });

  it('draws a new random boot id at every start', () => {
    const a = new NodeLogger({ node: 'n1', write: () => {} });
    const b = new NodeLogger({ node: 'n1', write: () => {} });
    expect(a.boot).toMatch(/^[0-9a-f]{12}$/);
    expect(a.boot).not.toBe(b.boot);
  });

  it('gives warnings and errors their level', () => {
    const log = logger();
    log.log({
      event: 'wal-truncated',
      reason: 'torn-tail',
      index: 41,
      file: 'wal/0001.log',
      offset: 8192,
      bytes: 17,
    });
    log.log({ event: 'error', message: 'boom' });
    log.log({ event: 'stop', reason: 'SIGTERM', code: 0 });
    expect(parsed().map((l) => l.level)).toEqual(['warn', 'error', 'info']);
  });

  it('coalesces commit progress to one line per interval, with the latest value', () => {
    const log = logger({ progressIntervalMs: 100 });
    log.commit(1);
    for (let i = 2; i <= 50; i++) {
      advance(1);
      log.commit(i);
    }
    expect(commits()).toEqual([1]);
    advance(60); // 100 ms after the first line
    expect(commits()).toEqual([1, 50]);
    advance(500);
    expect(commits()).toEqual([1, 50]); // nothing new, nothing written
  });

  it('writes at once when progress jumped by many entries', () => {
    const log = logger({ progressEntries: 1000 });
    log.commit(1);
    log.commit(500);
    log.commit(1001);
    expect(commits()).toEqual([1, 1001]);
  });

  it('writes a step back at once, after what was pending, so the checker sees it', () => {
    const log = logger();
    log.commit(10);
    log.commit(20);
    log.commit(15);
    expect(commits()).toEqual([10, 20, 15]);
  });

  it('writes pending progress before any other event, keeping order', () => {
    const log = logger();
    log.applied(3);
    log.applied(4);
    log.log({ event: 'snapshot-taken', index: 4, snapshotTerm: 2, bytes: 100 });
    expect(parsed().map((l) => (l.event === 'applied' ? `applied ${l.applied}` : l.event))).toEqual(
      ['applied 3', 'applied 4', 'snapshot-taken'],
    );
  });

  it('coalesces without ever reordering or inventing values', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 0, max: 5 }), fc.integer({ min: 0, max: 40 })), {
          maxLength: 200,
        }),
        (steps) => {
          lines = [];
          const log = logger({ progressIntervalMs: 100, progressEntries: 50 });
          let value = 0;
          const given: number[] = [];
          let lastLineAt = -Infinity;
          let lastLineValue = -Infinity;
          for (const [dv, dt] of steps) {
            advance(dt);
            value += dv;
            given.push(value);
            const before = lines.length;
            log.commit(value);
            if (lines.length > before) {
              // Written early only when due: after the interval, or a big jump.
              const v = commits().at(-1)!;
              expect(
                clock - lastLineAt >= 100 || v - lastLineValue >= 50 || lastLineAt === -Infinity,
              ).toBe(true);
              lastLineAt = clock;
              lastLineValue = v;
            }
          }
          log.flush();
          const written = commits();
          expect(written).toEqual([...new Set(written)].sort((a, b) => a - b));
          for (const w of written) expect(given).toContain(w);
          if (given.length > 0) expect(written.at(-1)).toBe(value);
        },
      ),
    );
  });

  it('keeps going when its output fails', () => {
    const log = new NodeLogger({
      node: 'n1',
      write: () => {
        throw new Error('EPIPE');
      },
    });
    expect(() => log.log({ event: 'stop', reason: 'SIGTERM', code: 0 })).not.toThrow();
  });
});

describe('startDropSummary', () => {
  it('writes what was dropped since the last summary, and nothing when nothing was', () => {
    const log = logger();
    const counts = { checksum: 0, 'other-cluster': 0 };
    const stop = startDropSummary(log, () => counts, 1000);
    advance(1000);
    expect(lines).toEqual([]);
    counts.checksum = 3;
    counts['other-cluster'] = 1;
    advance(1000);
    counts.checksum = 5;
    advance(1000);
    stop();
    counts.checksum = 100;
    advance(5000);
    const summaries = parsed().flatMap((l) =>
      l.event === 'dropped-datagrams' ? [[l.total, l.reasons, l.level]] : [],
    );
    expect(summaries).toEqual([
      [4, { checksum: 3, 'other-cluster': 1 }, 'warn'],
      [2, { checksum: 2 }, 'warn'],
    ]);
  });
});

describe('parseNodeLogLine', () => {
  it('reads back what the logger writes', () => {
    const log = logger();
    log.term = 3;
    log.log({ event: 'elected', votes: 2, voters: 3 });
    log.commit(9);
    expect(parsed()).toMatchObject([
      { node: 'n1', boot: 'b00t', term: 3, event: 'elected', votes: 2 },
      { event: 'commit', commit: 9 },
    ]);
  });

  it.each([
    'not json',
    '[]',
    '{"time":"t","level":"info","node":"n1","boot":"b","term":1}',
    '{"time":"t","level":"loud","node":"n1","boot":"b","term":1,"event":"stop"}',
    '{"time":"t","level":"info","node":"n1","boot":"b","term":-1,"event":"stop"}',
    '{"time":"t","level":"info","node":"n1","boot":"b","term":1,"event":"nope"}',
    '{"time":"t","level":"info","node":"n1","boot":"b","term":1,"event":"role","role":"king","leader":null}',
    '{"time":"t","level":"info","node":"n1","boot":"b","term":1,"event":"commit","commit":"5"}',
    '{"time":"t","level":"info","node":"n1","boot":"b","term":1,"event":"applied"}',
    '{"time":"t","level":"info","node":"n1","boot":"b","term":1,"event":"comm',
  ])('refuses %s', (text) => {
    expect(parseNodeLogLine(text)).toBeNull();
  });
});
