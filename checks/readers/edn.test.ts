import { describe, expect, it } from 'vitest';
import { HistoryError } from '../history.js';
import { EdnSymbol, Keyword, ednGet, parseEdn, showEdn } from './edn.js';
import type { EdnMap, EdnSeq, EdnTagged, EdnChar } from './edn.js';
import { toValue } from './jepsen-edn.js';

const read = (text: string) => parseEdn(text, 'test.edn');

describe('EDN reader', () => {
  it('reads scalars: nil, booleans, numbers, strings, keywords, symbols, characters', () => {
    const forms = read(
      'nil true false 42 -7 +3 1.5 -2e3 12N 1.25M 3/4 ##Inf "s" :k :ns/name sym \\a \\newline \\u0041',
    );
    expect(forms.slice(0, 11)).toEqual([null, true, false, 42, -7, 3, 1.5, -2000, 12, 1.25, 0.75]);
    expect(forms[11]).toBe(Infinity);
    expect(forms[12]).toBe('s');
    expect(forms[13]).toBe(Keyword.of('k'));
    expect((forms[14] as Keyword).name).toBe('ns/name');
    expect(forms[15]).toBeInstanceOf(EdnSymbol);
    expect((forms[16] as EdnChar).char).toBe('a');
    expect((forms[17] as EdnChar).char).toBe('\n');
    expect((forms[18] as EdnChar).char).toBe('A');
  });

  it('keeps integers beyond 2^53 exact as their digits', () => {
    expect(read('123456789012345678901234567890')).toEqual(['123456789012345678901234567890']);
  });

  it('unescapes strings and keeps newlines inside them', () => {
    const [s] = read('"a\\"b\\\\c\\nd\\te\\u00e9 ; not a comment\nline two"');
    expect(s).toBe('a"b\\c\nd\te\u00e9 ; not a comment\nline two');
  });

  it('skips comments, commas and #_ discards', () => {
    expect(read('; a comment\n1, 2 #_ 3 #_[4 5] 6 ; trailing')).toEqual([1, 2, 6]);
    const [m] = read('{:a 1 #_ :b :c 2}');
    expect(showEdn(m)).toBe('{:a 1, :c 2}');
  });

  it('reads lists, vectors, sets and maps spread over lines, with their lines', () => {
    const [v] = read('\n[(1 2)\n #{:x :y}\n {:type :invoke,\n  :f :read,\n  :value nil}]');
    const seq = v as EdnSeq;
    expect(seq.kind).toBe('vector');
    expect(seq.line).toBe(2);
    expect((seq.items[0] as EdnSeq).kind).toBe('list');
    expect((seq.items[1] as EdnSeq).kind).toBe('set');
    const map = seq.items[2] as EdnMap;
    expect(map.line).toBe(4);
    expect(ednGet(map, 'f')).toBe(Keyword.of('read'));
    expect(ednGet(map, 'value')).toBeNull();
    expect(ednGet(map, 'missing')).toBeUndefined();
  });

  it("keeps a tagged literal's tag and value: #inst, #uuid, records", () => {
    const [inst, rec] = read('#inst "2024-01-02T03:04:05Z" #jepsen.history.Op{:index 0, :f :read}');
    expect((inst as EdnTagged).tag).toBe('inst');
    expect(toValue(inst as EdnTagged)).toBe('2024-01-02T03:04:05Z');
    expect((rec as EdnTagged).tag).toBe('jepsen.history.Op');
    expect(toValue(rec as EdnTagged)).toEqual({ index: 0, f: 'read' });
  });

  it('converts EDN data to history values: keywords become names, vectors arrays', () => {
    const [v] = read('[[:read :x nil] [:write :y 2] #{1} {:a [1 "b"]}]');
    expect(toValue(v as EdnSeq)).toEqual([
      ['read', 'x', null],
      ['write', 'y', 2],
      [1],
      { a: [1, 'b'] },
    ]);
  });

  const malformed: [string, string, RegExp][] = [
    // A truncated file is reported where the input ends, naming where the form opened.
    [
      'unclosed vector',
      '[1 2\n{:a 1}\n',
      /test\.edn:3: malformed EDN: vector opened at line 1 is not closed \(truncated file\?\)/,
    ],
    [
      'unclosed map',
      '[{:a 1\n :b',
      /test\.edn:2: malformed EDN: map opened at line 1 is not closed/,
    ],
    [
      'odd map',
      '{:a 1\n :b}',
      /test\.edn:2: malformed EDN: map opened at line 1 has a key \(:b\) without a value/,
    ],
    ['mismatched closer', '[1 2)', /test\.edn:1: malformed EDN: '\)' closes the vector/],
    ['stray closer', '1\n]', /test\.edn:2: malformed EDN: unmatched '\]'/],
    [
      'unclosed string',
      '\n"abc',
      /test\.edn:2: malformed EDN: string opened at line 2 is not closed/,
    ],
    ['bad escape', '"a\\qb"', /unknown escape \\q/],
    ['bad number', '12abc', /bad number '12abc'/],
    ['bad dispatch', '#{1} #(+ 1 2)', /'#' must start a set/],
    ['lone colon', ': x', /a ':' not followed by a keyword name/],
    ['tag without value', '#inst', /tag #inst has no value/],
  ];
  for (const [name, text, message] of malformed) {
    it(`rejects ${name} with the line`, () => {
      expect(() => read(text)).toThrow(HistoryError);
      expect(() => read(text)).toThrow(message);
    });
  }
});
