import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ByteReader, ByteWriter, DecodeError } from '../util/bytes.js';
import {
  MAX_COMMAND_BYTES,
  MAX_COMMAND_REPLY_BYTES,
  MAX_KEY_BYTES,
  MAX_VALUE_BYTES,
  decodeProposal,
  encodeProposal,
  parseRequest,
  readReply,
  writeReply,
  type Proposal,
  type Request,
} from './commands.js';
import { formatValue, resp, type RespValue } from './resp.js';

const req = (...args: (string | Buffer)[]): Request =>
  parseRequest(args.map((a) => (typeof a === 'string' ? Buffer.from(a) : a)));

const errorText = (r: Request): string => {
  if (r.kind !== 'reply' || r.reply.type !== 'error')
    throw new Error(`not an error: ${JSON.stringify(r)}`);
  return r.reply.value;
};

describe('parseRequest', () => {
  it('classifies reads, writes and node commands, case-insensitively', () => {
    expect(req('get', 'k')).toEqual({ kind: 'read', key: Buffer.from('k') });
    expect(req('SET', 'k', 'v')).toEqual({
      kind: 'write',
      proposal: {
        command: { op: 'set', key: Buffer.from('k'), value: Buffer.from('v') },
        session: null,
      },
    });
    expect(req('Del', 'k')).toMatchObject({ kind: 'write', proposal: { command: { op: 'del' } } });
    expect(req('CAS', 'k', 'a', 'b')).toMatchObject({
      kind: 'write',
      proposal: { command: { op: 'cas', expected: Buffer.from('a'), value: Buffer.from('b') } },
    });
    expect(req('RAFT.STATUS')).toEqual({ kind: 'status' });
    expect(req('info', 'Stats')).toEqual({ kind: 'info', section: 'stats' });
    expect(req('QUIT')).toEqual({ kind: 'quit' });
    expect(req('PING')).toEqual({ kind: 'reply', reply: resp.simple('PONG') });
    expect(req('PING', 'hi')).toEqual({ kind: 'reply', reply: resp.bulk('hi') });
    expect(req('RAFT.SESSION')).toEqual({
      kind: 'write',
      proposal: { command: { op: 'open-session' }, session: null },
    });
  });

  it('attaches a session with RAFT.ONCE', () => {
    expect(req('RAFT.ONCE', '17', '3', 'set', 'k', 'v')).toMatchObject({
      kind: 'write',
      proposal: { command: { op: 'set' }, session: { id: 17, seq: 3 } },
    });
    // A read has no effect to deduplicate: it stays a plain read.
    expect(req('RAFT.ONCE', '17', '4', 'GET', 'k')).toEqual({
      kind: 'read',
      key: Buffer.from('k'),
    });
  });

  it.each([
    [['SET', 'k'], "ERR wrong number of arguments for 'set' command"],
    [['SET', 'k', 'v', 'EX', '10'], 'ERR syntax error: SET takes a key and a value, no options'],
    [['GET'], "ERR wrong number of arguments for 'get' command"],
    [['DEL', 'a', 'b'], "ERR wrong number of arguments for 'del' command"],
    [['CAS', 'k', 'a'], "ERR wrong number of arguments for 'cas' command"],
    [['FLUSHALL'], "ERR unknown command 'FLUSHALL'"],
    [['nope', 'a\nb'], "ERR unknown command 'nope', with args beginning with: 'a?b'"],
    [
      ['RAFT.ONCE', '1', '2'],
      'ERR RAFT.ONCE takes a session id, a sequence number and a command: RAFT.ONCE id seq SET k v',
    ],
    [
      ['RAFT.ONCE', '0', '1', 'SET', 'k', 'v'],
      "ERR RAFT.ONCE session id must be a positive integer, got '0'",
    ],
    [
      ['RAFT.ONCE', '1', '-1', 'SET', 'k', 'v'],
      "ERR RAFT.ONCE sequence number must be a positive integer, got '-1'",
    ],
    [
      ['RAFT.ONCE', '1', '1', 'RAFT.SESSION'],
      "ERR RAFT.ONCE applies to SET, DEL, CAS and GET, not 'RAFT.SESSION'",
    ],
    [['RAFT.ONCE', '1', '1', 'SET', 'k'], "ERR wrong number of arguments for 'set' command"],
  ])('refuses %j with -%s', (args, message) => {
    expect(errorText(req(...args))).toBe(message);
  });

  it('refuses a key or value over the limit before anything is proposed', () => {
    const key = 'k'.repeat(MAX_KEY_BYTES);
    const value = 'v'.repeat(MAX_VALUE_BYTES);
    expect(req('SET', key, value).kind).toBe('write');
    expect(errorText(req('SET', key + 'k', 'v'))).toBe(
      `ERR key too long: ${MAX_KEY_BYTES + 1} bytes, the limit is ${MAX_KEY_BYTES}`,
    );
    expect(errorText(req('GET', key + 'k'))).toMatch(/^ERR key too long/);
    expect(errorText(req('SET', 'k', value + 'v'))).toMatch(/^ERR value too long/);
    expect(errorText(req('CAS', 'k', value + 'v', 'x'))).toMatch(/^ERR expected value too long/);
    expect(errorText(req('RAFT.ONCE', '1', '1', 'CAS', 'k', 'x', value + 'v'))).toMatch(
      /^ERR value too long/,
    );
  });
});

const buf = fc.uint8Array({ maxLength: 20 }).map((b) => Buffer.from(b));
const proposal: fc.Arbitrary<Proposal> = fc.oneof(
  fc.record({
    command: fc.oneof(
      fc.record({ op: fc.constant('set' as const), key: buf, value: buf }),
      fc.record({ op: fc.constant('del' as const), key: buf }),
      fc.record({ op: fc.constant('get' as const), key: buf }),
      fc.record({ op: fc.constant('cas' as const), key: buf, expected: buf, value: buf }),
    ),
    session: fc.option(fc.record({ id: fc.integer({ min: 1 }), seq: fc.integer({ min: 1 }) })),
  }),
  fc.constant<Proposal>({ command: { op: 'open-session' }, session: null }),
);

describe('encodeProposal / decodeProposal', () => {
  it('round-trips every proposal', () => {
    fc.assert(
      fc.property(proposal, (p) => {
        expect(decodeProposal(encodeProposal(p))).toEqual(p);
      }),
    );
  });

  it('keeps the largest command within MAX_COMMAND_BYTES', () => {
    const biggest = encodeProposal({
      command: {
        op: 'cas',
        key: Buffer.alloc(MAX_KEY_BYTES),
        expected: Buffer.alloc(MAX_VALUE_BYTES),
        value: Buffer.alloc(MAX_VALUE_BYTES),
      },
      session: { id: Number.MAX_SAFE_INTEGER, seq: Number.MAX_SAFE_INTEGER },
    });
    expect(biggest.length).toBe(MAX_COMMAND_BYTES);
    expect(decodeProposal(biggest)).not.toBeInstanceOf(DecodeError);
  });

  it.each([
    ['empty', []],
    ['unknown version', [9, 1, 0, 0, 0]],
    ['unknown op', [1, 99, 0]],
    ['unknown flags', [1, 2, 4, 1, 0x6b]],
    ['trailing bytes', [1, 2, 0, 1, 0x6b, 0]],
    ['zero session', [1, 2, 1, 0, 1, 1, 0x6b]],
    ['session on open-session', [1, 5, 1, 1, 1]],
    ['oversized key', [1, 2, 0, 0x81, 0x02, ...new Array<number>(257).fill(0)]],
  ])('refuses %s', (_name, bytes) => {
    expect(decodeProposal(Uint8Array.from(bytes))).toBeInstanceOf(DecodeError);
  });

  it('never throws on random bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 80 }), (b) => {
        const r = decodeProposal(b);
        if (!(r instanceof DecodeError)) expect(decodeProposal(encodeProposal(r))).toEqual(r);
      }),
      { numRuns: 5000 },
    );
  });
});

describe('writeReply / readReply', () => {
  const roundTrip = (v: RespValue): RespValue => {
    const w = new ByteWriter();
    writeReply(w, v);
    const r = new ByteReader(w.finish());
    const out = readReply(r);
    r.expectEnd();
    expect(r.error).toBeNull();
    return out;
  };

  it('round-trips the replies of commands', () => {
    for (const v of [
      resp.simple('OK'),
      resp.error('TIMEOUT not confirmed'),
      resp.integer(0),
      resp.integer(-7),
      resp.integer(Number.MAX_SAFE_INTEGER),
      resp.integer(-Number.MAX_SAFE_INTEGER),
      resp.bulk(Buffer.alloc(MAX_VALUE_BYTES, 1)),
      resp.nil(),
      resp.array(null),
      resp.array([resp.integer(1), resp.bulk('x')]),
    ]) {
      expect(formatValue(roundTrip(v))).toBe(formatValue(v));
    }
  });

  it('cuts long error text so any reply stays within MAX_COMMAND_REPLY_BYTES', () => {
    const w = new ByteWriter();
    writeReply(w, resp.error('ERR ' + 'é'.repeat(500)));
    expect(w.length).toBeLessThanOrEqual(MAX_COMMAND_REPLY_BYTES);
    const back = readReply(new ByteReader(w.finish()));
    expect(back.type === 'error' && back.value.startsWith('ERR éé')).toBe(true);
    expect(back.type === 'error' && back.value.includes('\uFFFD')).toBe(false);
  });

  it('never throws on random bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 60 }), (b) => {
        readReply(new ByteReader(b));
      }),
      { numRuns: 5000 },
    );
  });
});
