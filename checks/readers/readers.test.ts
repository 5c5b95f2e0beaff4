import { readFileSync, readdirSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { HistoryError } from '../history.js';
import { detectFormat, parseHistory, parseInitial } from './index.js';
import { parseJepsenEdn } from './jepsen-edn.js';
import { parseJsonl } from './jsonl.js';
import { parsePorcupineLog } from './porcupine-log.js';

const jsonl = (...lines: string[]) => parseJsonl(lines.join('\n'), 'h.jsonl');

describe('JSONL reader (history.md)', () => {
  it('pairs invocations with completions by process, in invocation order', () => {
    const h = jsonl(
      '{"index":0,"time":10,"process":3,"type":"invoke","f":"cas","key":"k7","value":[1,4]}',
      '{"process":1,"type":"invoke","f":"read","value":null}',
      '',
      '{"process":"nemesis","type":"info","f":"start-partition","value":["n1"]}',
      '{"index":1,"time":20,"process":3,"type":"ok","f":"cas","key":"k7","value":[1,4],"node":"n2"}',
      '{"process":1,"type":"fail","f":"read","value":null,"error":"timeout"}',
      '{"process":2,"type":"invoke","f":"write","value":"x"}',
    );
    expect(h.format).toBe('jsonl');
    expect(h.events).toBe(6);
    expect(h.nemesis).toEqual([
      { type: 'info', f: 'start-partition', value: ['n1'], position: 2, line: 4 },
    ]);
    expect(h.ops.map((o) => [o.process, o.f, o.outcome, o.call, o.ret, o.line, o.retLine])).toEqual(
      [
        [3, 'cas', 'ok', 0, 3, 1, 5],
        [1, 'read', 'fail', 1, 4, 2, 6],
        [2, 'write', 'open', 5, -1, 7, -1],
      ],
    );
    expect(h.ops[0]).toMatchObject({
      key: 'k7',
      value: [1, 4],
      result: [1, 4],
      time: 10,
      retTime: 20,
      node: 'n2',
    });
    expect(h.ops[1]).toMatchObject({ error: 'timeout' });
    expect(h.suggestedModel).toBe('kv');
    expect(h.conventions).toEqual({ registerInitial: null, nilReadObservesNothing: false });
  });

  it('suggests cas-register for a keyless history', () => {
    expect(jsonl('{"process":0,"type":"invoke","f":"read","value":null}').suggestedModel).toBe(
      'cas-register',
    );
  });

  const bad: [string, string[], RegExp][] = [
    [
      'a truncated line',
      ['{"process":0,"type":"invoke","f":"read","value":null}', '{"process":0,"type":"ok","f":"re'],
      /^h\.jsonl:2: not a JSON object \(truncated line\?\)/,
    ],
    [
      'a completion without an invoke',
      ['{"process":4,"type":"ok","f":"write","value":1}'],
      /^h\.jsonl:1: ok write of process 4 completes nothing/,
    ],
    [
      'a second invoke in flight',
      [
        '{"process":0,"type":"invoke","f":"read","value":null}',
        '{"process":0,"type":"invoke","f":"write","value":1}',
      ],
      /^h\.jsonl:2: process 0 invokes write while its read from line 1 has not completed/,
    ],
    [
      'a completion of another f',
      [
        '{"process":0,"type":"invoke","f":"read","value":null}',
        '{"process":0,"type":"ok","f":"write","value":1}',
      ],
      /^h\.jsonl:2: ok completes write but process 0 invoked read \(line 1\)/,
    ],
    [
      'a completion of another key',
      [
        '{"process":0,"type":"invoke","f":"read","key":"a","value":null}',
        '{"process":0,"type":"ok","f":"read","key":"b","value":1}',
      ],
      /^h\.jsonl:2: ok read has key "b" but its invocation \(line 1\) has key "a"/,
    ],
    [
      'an unknown type',
      ['{"process":0,"type":"done","f":"read","value":null}'],
      /^h\.jsonl:1: field "type" must be one of invoke, ok, fail, info, got "done"/,
    ],
    [
      'a bad process',
      ['{"process":"p1","type":"invoke","f":"read","value":null}'],
      /^h\.jsonl:1: field "process" must be an integer or "nemesis"/,
    ],
    [
      'a missing value',
      ['{"process":0,"type":"invoke","f":"read"}'],
      /^h\.jsonl:1: missing field "value"/,
    ],
    [
      'a missing f',
      ['{"process":0,"type":"invoke","value":null}'],
      /^h\.jsonl:1: field "f" must be a non-empty string, got nothing/,
    ],
    ['an array line', ['[1,2]'], /^h\.jsonl:1: expected one JSON object per line/],
    [
      'a bad key',
      ['{"process":0,"type":"invoke","f":"read","key":[1],"value":null}'],
      /^h\.jsonl:1: field "key" must be a string or an integer/,
    ],
  ];
  for (const [name, lines, message] of bad) {
    it(`rejects ${name} with file and line`, () => {
      expect(() => jsonl(...lines)).toThrow(HistoryError);
      expect(() => jsonl(...lines)).toThrow(message);
    });
  }
});

describe('Jepsen EDN reader', () => {
  it('reads a vector of op maps with Knossos conventions', () => {
    const h = parseJepsenEdn(
      `; comment
[{:process 0, :type :invoke, :f :write, :value 3}
 {:process :nemesis, :type :info, :f :start, :value nil}
 {:process 0, :type :ok,
  :f :write, :value 3, :time 12}
 {:process 1 :type :invoke :f :cas :value [1 2]}
 {:process 1 :type :fail :f :cas :value [1 2] :error :cas-mismatch}]`,
      'k.edn',
    );
    expect(h.conventions).toEqual({ registerInitial: 0, nilReadObservesNothing: true });
    expect(h.suggestedModel).toBe('cas-register');
    expect(h.nemesis).toHaveLength(1);
    expect(h.ops.map((o) => [o.f, o.outcome, o.line, o.retLine, o.error])).toEqual([
      ['write', 'ok', 2, 4, undefined],
      ['cas', 'fail', 6, 7, 'cas-mismatch'],
    ]);
    expect(h.ops[0]?.retTime).toBe(12);
  });

  it('reads op maps one after another (Porcupine kv) and suggests porcupine-kv', () => {
    const h = parseJepsenEdn(
      '{:process 9, :type :invoke, :f :append, :key "0", :value "x 9 0 y"}\n{:process 9, :type :ok, :f :append, :key "0", :value "x 9 0 y"}\n',
      'c.txt',
    );
    expect(h.suggestedModel).toBe('porcupine-kv');
    expect(h.ops[0]).toMatchObject({ key: '0', value: 'x 9 0 y', outcome: 'ok' });
  });

  it('suggests mutex and multi-register by their operations', () => {
    expect(parseJepsenEdn('[{:process 0 :type :invoke :f :acquire}]', 'm.edn').suggestedModel).toBe(
      'mutex',
    );
    expect(
      parseJepsenEdn('[{:process 0 :type :invoke :f :txn :value [[:read :x nil]]}]', 't.edn')
        .suggestedModel,
    ).toBe('multi-register');
  });

  it('rejects what is not an op map, and bad fields, with the line', () => {
    expect(() => parseJepsenEdn('[{:process 0 :type :invoke :f :read}\n 42]', 'b.edn')).toThrow(
      /^b\.edn:2: expected an operation map like \{:type :invoke.*got 42$/,
    );
    expect(() => parseJepsenEdn('[\n{:process 0 :type :maybe :f :read}]', 'b.edn')).toThrow(
      /^b\.edn:2: :type must be one of :invoke, :ok, :fail, :info, got :maybe/,
    );
    expect(() => parseJepsenEdn('[{:process 0 :type :invoke :f 3}]', 'b.edn')).toThrow(
      /^b\.edn:1: :f must be a keyword/,
    );
    expect(() => parseJepsenEdn('[{:process [0] :type :invoke :f :read}]', 'b.edn')).toThrow(
      /^b\.edn:1: :process must be an integer or :nemesis/,
    );
    expect(() => parseJepsenEdn('[{:process 0 :type :ok :f :read :value 1}]', 'b.edn')).toThrow(
      /^b\.edn:1: ok read of process 0 completes nothing/,
    );
  });
});

describe('flat op lines (Porcupine kv), read without the general EDN reader', () => {
  // A leading space keeps the quick reader away: the reference is the EDN reader.
  const both = (text: string) => [
    parseJepsenEdn(text, 'kv.txt'),
    parseJepsenEdn(` ${text}`, 'kv.txt'),
  ];

  it("reads Porcupine's kv logs exactly as the EDN reader does", () => {
    const dir = new URL('../corpus/porcupine/test_data/kv/', import.meta.url);
    const files = readdirSync(dir).filter((f) => f.endsWith('.txt'));
    expect(files.length).toBeGreaterThan(0);
    for (const file of files) {
      const [quick, reference] = both(readFileSync(new URL(file, dir), 'utf8'));
      expect(quick).toEqual(reference);
    }
  });

  it('gives the same history or the same error on lines of any shape', () => {
    // Mostly the canonical shape (so that whole histories take the quick path),
    // now and then something else in any field.
    const or = <T>(usual: T, ...others: T[]) =>
      fc.oneof({ arbitrary: fc.constant(usual), weight: 12 }, fc.constantFrom(...others));
    const op = fc.record({
      process: fc.constantFrom('0', '1', '12', '007'),
      f: fc.constantFrom(':get', ':put', ':append'),
      key: fc.constantFrom('"0"', '""', '"k 1"'),
      value: fc.constantFrom('nil', '"x 1 y"', '""', '-12', '7'),
      done: fc.constantFrom(':ok', ':fail', ':info'),
      oddity: or(
        '',
        ':process :nemesis',
        ':type :bogus',
        ':f :Get',
        ':key 3',
        ':value "a\\"b"',
        ':value [1 2]',
        ':value "two\nlines"',
        'sep',
        'crlf',
        'comment',
      ),
      gap: or('\n', '\n\n', '\n\n\n'),
    });
    fc.assert(
      fc.property(fc.array(op, { minLength: 1, maxLength: 8 }), fc.boolean(), (ops, last) => {
        const lines: string[] = [];
        for (const o of ops) {
          for (const type of [':invoke', o.done]) {
            const fields = [
              `:process ${o.process}`,
              `:type ${type}`,
              `:f ${o.f}`,
              `:key ${o.key}`,
              `:value ${o.value}`,
            ];
            const odd = o.oddity.startsWith(':') ? o.oddity : '';
            const i = fields.findIndex((f) => odd !== '' && f.startsWith(odd.split(' ')[0] ?? ''));
            if (i >= 0 && type !== ':invoke') fields[i] = odd;
            const sep = o.oddity === 'sep' ? ' ' : ', ';
            const end = o.oddity === 'crlf' ? '\r\n' : o.oddity === 'comment' ? ' ;c\n' : o.gap;
            lines.push(`{${fields.join(sep)}}${end}`);
          }
        }
        let text = lines.join('');
        if (!last) text = text.replace(/\s+$/, '');
        const outcome = (t: string): unknown => {
          try {
            return parseJepsenEdn(t, 'kv.txt');
          } catch (err) {
            return (err as Error).message;
          }
        };
        expect(outcome(text)).toEqual(outcome(` ${text}`));
      }),
      { numRuns: 500 },
    );
  });
});

describe("Porcupine's Jepsen logs", () => {
  const log = [
    'INFO  jepsen.util - 0\t:invoke\t:cas\t[1 4]',
    'INFO  jepsen.core - Worker 0 starting',
    'INFO  jepsen.util - 1   :invoke :write  3',
    'INFO  jepsen.util - 0\t:fail\t:cas\t[1 4]',
    'INFO  jepsen.util - 1\t:info\t:write\t:timed-out',
    'INFO  jepsen.util - 2\t:invoke\t:read\tnil',
    'INFO  jepsen.util - 2\t:fail\t:read\t:timed-out',
    'INFO  jepsen.util - 3\t:invoke\t:read\tnil',
    'INFO  jepsen.util - 3\t:ok\t:read\tnil',
  ].join('\n');

  it('maps a failed cas to a definite mismatch and timeouts to errors', () => {
    const h = parsePorcupineLog(log, 'etcd.log');
    expect(h.format).toBe('porcupine');
    expect(h.conventions.registerInitial).toBeNull();
    expect(
      h.ops.map((o) => [
        o.process,
        o.f,
        o.outcome,
        o.error ?? null,
        o.value,
        o.result ?? null,
        o.line,
      ]),
    ).toEqual([
      [0, 'cas', 'fail', 'cas-mismatch', [1, 4], [1, 4], 1],
      [1, 'write', 'info', 'timed-out', 3, null, 3],
      [2, 'read', 'fail', 'timed-out', null, null, 6],
      [3, 'read', 'ok', null, null, null, 8],
    ]);
  });

  it('rejects a truncated op line and lines that are not log lines', () => {
    expect(() => parsePorcupineLog('INFO  jepsen.util - 0\t:invoke\t:cas\t[1', 'e.log')).toThrow(
      /^e\.log:1: bad value '\[1': malformed EDN: vector opened at line 1 is not closed/,
    );
    expect(() =>
      parsePorcupineLog('INFO  jepsen.util - 0\t:invoke\t:cas\t[1 2]\nINFO  jepse', 'e.log'),
    ).toThrow(/^e\.log:2: not a Jepsen log line/);
    expect(() => parsePorcupineLog('INFO  jepsen.util - 0 :invoke', 'e.log')).toThrow(
      /^e\.log:1: a jepsen.util line that is not an operation/,
    );
  });
});

describe('format detection and --initial', () => {
  it('detects each format from its first characters', () => {
    expect(detectFormat('{"process":0}')).toBe('jsonl');
    expect(detectFormat('  \n{ "process":0}')).toBe('jsonl');
    expect(detectFormat('INFO  jepsen.util - 0\t:invoke\t:read\tnil')).toBe('porcupine');
    expect(detectFormat('[{:process 0}]')).toBe('edn');
    expect(detectFormat('; comment\n({:process 0})')).toBe('edn');
    expect(detectFormat('{:process 0, :type :invoke}')).toBe('edn');
    expect(detectFormat('', 'x.log')).toBe('porcupine');
    expect(detectFormat('', 'x.edn')).toBe('edn');
    expect(detectFormat('', 'x.jsonl')).toBe('jsonl');
  });

  it('honours --format and an initial value given when reading', () => {
    const text = '{:process 0, :type :invoke, :f :get, :key "k", :value nil}';
    const h = parseHistory(text, { format: 'porcupine', initial: 'abc', source: 'kv.txt' });
    expect(h.format).toBe('porcupine');
    expect(h.initial).toBe('abc');
    expect(() => parseHistory(text, { format: 'jsonl', source: 'kv.txt' })).toThrow(
      /^kv\.txt:1: not a JSON object/,
    );
  });

  it('reads --initial as a JSON scalar, else as a string', () => {
    expect(parseInitial('0')).toBe(0);
    expect(parseInitial('null')).toBeNull();
    expect(parseInitial('"7"')).toBe('7');
    expect(parseInitial('abc')).toBe('abc');
    expect(parseInitial('[1]')).toBe('[1]');
  });
});
