import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  RespCommandParser,
  RespProtocolError,
  RespReplyParser,
  encodeCommand,
  encodeValue,
  encodeValues,
  formatValue,
  resp,
  splitInline,
  type RespValue,
} from './resp.js';

const text = (args: readonly Buffer[]): string[] => args.map((a) => a.toString('latin1'));

function parseAll(input: string | Buffer, limits = {}): { cmds: string[][]; error: string | null } {
  const p = new RespCommandParser(limits);
  const r = p.push(typeof input === 'string' ? Buffer.from(input, 'latin1') : input);
  return { cmds: r.items.map(text), error: r.error?.message ?? null };
}

/** Splits `bytes` at the given cut points and feeds the pieces one by one. */
function feedInPieces(bytes: Buffer, cuts: number[]): { cmds: Buffer[][]; error: unknown } {
  const p = new RespCommandParser();
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const cmds: Buffer[][] = [];
  let from = 0;
  let error: unknown = null;
  for (const to of [...points, bytes.length]) {
    const r = p.push(bytes.subarray(from, to));
    cmds.push(...r.items);
    error = r.error;
    from = to;
  }
  return { cmds, error };
}

describe('RespCommandParser', () => {
  it('parses a command array as redis-cli sends it', () => {
    expect(parseAll('*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nhello\r\n')).toEqual({
      cmds: [['SET', 'k', 'hello']],
      error: null,
    });
  });

  it('parses many pipelined commands from one chunk, in order', () => {
    const wire = Buffer.concat([
      encodeCommand(['SET', 'a', '1']),
      encodeCommand(['GET', 'a']),
      Buffer.from('PING\r\n'),
      encodeCommand(['DEL', 'a']),
    ]);
    expect(parseAll(wire).cmds).toEqual([['SET', 'a', '1'], ['GET', 'a'], ['PING'], ['DEL', 'a']]);
  });

  it('keeps a command split at every possible byte until it is complete', () => {
    const wire = Buffer.concat([
      encodeCommand(['CAS', 'key', 'old', 'new']),
      Buffer.from('GET x\r\n'),
    ]);
    for (let cut = 0; cut <= wire.length; cut++) {
      const r = feedInPieces(wire, [cut]);
      expect(r.cmds.map(text)).toEqual([
        ['CAS', 'key', 'old', 'new'],
        ['GET', 'x'],
      ]);
      expect(r.error).toBeNull();
    }
  });

  it('returns the commands before garbage, then the error, and stays failed', () => {
    const p = new RespCommandParser();
    const r = p.push(Buffer.from('PING\r\n*2\r\n$3\r\nGET\r\n+oops\r\n'));
    expect(r.items.map(text)).toEqual([['PING']]);
    expect(r.error).toBeInstanceOf(RespProtocolError);
    expect(r.error?.message).toBe("Protocol error: expected '$', got '+'");
    const again = p.push(Buffer.from('PING\r\n'));
    expect(again.items).toEqual([]);
    expect(again.error).toBe(r.error);
  });

  it.each([
    ['*abc\r\n', 'invalid multibulk length'],
    ['*2000\r\n', 'invalid multibulk length'],
    ['*1\r\n$-5\r\n', 'invalid bulk length'],
    ['*1\r\n$70000\r\n', 'invalid bulk length'],
    ['*1\r\n$x\r\n', 'invalid bulk length'],
    ['*1\r\n$3\r\nabcXY', 'expected CRLF after bulk string'],
    ['*1\n', 'invalid multibulk length'],
    ['*1\r\n$1\nx\r\n', 'invalid bulk length'],
    ['*' + '1'.repeat(40), 'too big mbulk count string'],
    ['*1\r\n$' + '1'.repeat(40), 'too big bulk count string'],
    ['SET "unterminated\r\n', 'unbalanced quotes in request'],
    ['SET "a"b\r\n', 'unbalanced quotes in request'],
  ])('refuses %j with "%s"', (input, reason) => {
    expect(parseAll(input).error).toBe(`Protocol error: ${reason}`);
  });

  it('refuses an inline line longer than the limit even before its newline', () => {
    const p = new RespCommandParser({ maxInlineBytes: 100 });
    expect(p.push(Buffer.from('x'.repeat(100))).error).toBeNull();
    expect(p.push(Buffer.from('x')).error?.reason).toBe('too big inline request');
  });

  it('refuses a command whose arguments together exceed the limit', () => {
    const p = new RespCommandParser({ maxCommandBytes: 10 });
    expect(p.push(encodeCommand(['SET', 'k', '1234567'])).error?.reason).toBe('command too large');
  });

  it('skips empty inline lines and empty arrays as Redis does', () => {
    expect(parseAll('\r\n\n  \r\n*0\r\n*-1\r\nPING\r\n')).toEqual({
      cmds: [['PING']],
      error: null,
    });
  });

  it('keeps binary arguments exactly, CR and LF included', () => {
    const bin = Buffer.from([0, 13, 10, 255, 36, 42]);
    const r = new RespCommandParser().push(encodeCommand([Buffer.from('SET'), bin, bin]));
    expect(r.items).toHaveLength(1);
    expect(r.items[0]?.[1]?.equals(bin)).toBe(true);
  });

  it('returns arguments that later input cannot overwrite', () => {
    const p = new RespCommandParser();
    const first = p.push(Buffer.from('*1\r\n$4\r\nPING\r\n*1\r\n$1'));
    p.push(Buffer.from('\r\nX\r\n' + 'Y'.repeat(10000) + '\r\n'));
    expect(text(first.items[0]!)).toEqual(['PING']);
  });

  it('round-trips any commands split anywhere', () => {
    fc.assert(
      fc.property(
        fc.array(fc.array(fc.uint8Array({ maxLength: 40 }), { minLength: 1, maxLength: 6 }), {
          maxLength: 8,
        }),
        fc.array(fc.nat(), { maxLength: 10 }),
        (cmds, cuts) => {
          const wire = Buffer.concat(cmds.map((c) => encodeCommand(c)));
          const r = feedInPieces(wire, cuts);
          expect(r.error).toBeNull();
          expect(r.cmds.map((c) => c.map((a) => [...a]))).toEqual(
            cmds.map((c) => c.map((a) => [...a])),
          );
        },
      ),
    );
  });

  it('never throws on random bytes, split anywhere', () => {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ maxLength: 64 }), { maxLength: 20 }),
        fc.boolean(),
        (chunks, prefixStar) => {
          const p = new RespCommandParser({ maxBulkBytes: 1000, maxInlineBytes: 200 });
          if (prefixStar) p.push(Buffer.from('*3\r\n$3\r\nSET\r\n'));
          for (const c of chunks) {
            const r = p.push(c);
            for (const cmd of r.items) expect(cmd.length).toBeGreaterThan(0);
          }
        },
      ),
      { numRuns: 3000 },
    );
  });

  it('never throws on mutated valid commands', () => {
    const base = Buffer.concat([
      encodeCommand(['SET', 'key', 'value']),
      encodeCommand(['CAS', 'k', 'a', 'b']),
      Buffer.from('GET "k\\x41"\r\n'),
    ]);
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat(), fc.nat({ max: 255 })), { minLength: 1, maxLength: 6 }),
        fc.array(fc.nat(), { maxLength: 5 }),
        (mutations, cuts) => {
          const wire = Buffer.from(base);
          for (const [at, b] of mutations) wire[at % wire.length] = b;
          const r = feedInPieces(wire, cuts);
          expect(r.error === null || r.error instanceof RespProtocolError).toBe(true);
        },
      ),
      { numRuns: 3000 },
    );
  });
});

describe('splitInline', () => {
  const split = (s: string): string[] | null => {
    const r = splitInline(Buffer.from(s, 'latin1'));
    return r === null ? null : text(r);
  };

  it('splits on runs of spaces and tabs', () => {
    expect(split('  SET\tk   v ')).toEqual(['SET', 'k', 'v']);
  });

  it('reads double quotes with escapes and single quotes literally', () => {
    expect(split('SET "a b\\n\\x41\\"" \'it\\\'s\' ""')).toEqual(['SET', 'a b\nA"', "it's", '']);
  });

  it('refuses a quote glued to the next word', () => {
    expect(split('"a"b')).toBeNull();
    expect(split("'a")).toBeNull();
  });
});

describe('encodeValue', () => {
  it('writes each RESP2 type as Redis does', () => {
    expect(encodeValue(resp.simple('OK')).toString()).toBe('+OK\r\n');
    expect(encodeValue(resp.error('ERR bad')).toString()).toBe('-ERR bad\r\n');
    expect(encodeValue(resp.integer(-42)).toString()).toBe(':-42\r\n');
    expect(encodeValue(resp.bulk('hé')).toString()).toBe('$3\r\nhé\r\n');
    expect(encodeValue(resp.nil()).toString()).toBe('$-1\r\n');
    expect(encodeValue(resp.array(null)).toString()).toBe('*-1\r\n');
    expect(encodeValue(resp.array([resp.integer(1), resp.bulk('')])).toString()).toBe(
      '*2\r\n:1\r\n$0\r\n\r\n',
    );
  });

  it('keeps an error on one line so it cannot end the reply early', () => {
    expect(encodeValue(resp.error('ERR a\r\n+OK')).toString()).toBe('-ERR a +OK\r\n');
  });
});

const respValue: fc.Arbitrary<RespValue> = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.string({ maxLength: 20 }).map((s) => resp.simple(s.replace(/[\r\n]/g, ''))),
    fc.string({ maxLength: 20 }).map((s) => resp.error(s.replace(/[\r\n]/g, ''))),
    fc.integer().map((n) => resp.integer(n)),
    fc
      .option(fc.uint8Array({ maxLength: 30 }))
      .map((b) => resp.bulk(b === null ? null : Buffer.from(b))),
    fc
      .option(fc.array(tie('value') as fc.Arbitrary<RespValue>, { maxLength: 4 }))
      .map((a) => resp.array(a)),
  ),
})).value;

describe('RespReplyParser', () => {
  it('round-trips any values split anywhere', () => {
    fc.assert(
      fc.property(
        fc.array(respValue, { maxLength: 6 }),
        fc.array(fc.nat(), { maxLength: 8 }),
        (vs, cuts) => {
          const wire = encodeValues(vs);
          const p = new RespReplyParser();
          const points = [...new Set(cuts.map((c) => c % (wire.length + 1)))].sort((a, b) => a - b);
          const got: RespValue[] = [];
          let from = 0;
          for (const to of [...points, wire.length]) {
            const r = p.push(wire.subarray(from, to));
            expect(r.error).toBeNull();
            got.push(...r.items);
            from = to;
          }
          expect(got.map(formatValue)).toEqual(vs.map(formatValue));
        },
      ),
    );
  });

  it('refuses an unknown type byte and deep nesting', () => {
    expect(new RespReplyParser().push(Buffer.from('%1\r\n')).error?.reason).toBe(
      "unknown reply type '%'",
    );
    const deep = '*1\r\n'.repeat(40) + ':1\r\n';
    expect(new RespReplyParser().push(Buffer.from(deep)).error?.reason).toBe(
      'arrays nested too deep',
    );
  });

  it('reads only ASCII digits as a number', () => {
    // U+0131 (dotless i) is 0x31, '1', once narrowed to one byte.
    for (const line of [':\u0131\r\n', '$\u0131\r\nx\r\n', '*\u0131\r\n:1\r\n']) {
      expect(new RespReplyParser().push(Buffer.from(line, 'utf8')).error).not.toBeNull();
    }
    expect(new RespReplyParser().push(Buffer.from(':12\r\n')).items).toEqual([resp.integer(12)]);
  });

  it('never throws on random bytes', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 64 }), { maxLength: 20 }), (chunks) => {
        const p = new RespReplyParser({ maxBulkBytes: 1000, maxLineBytes: 100 });
        for (const c of chunks) p.push(c);
      }),
      { numRuns: 3000 },
    );
  });
});
