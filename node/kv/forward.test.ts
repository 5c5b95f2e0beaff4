import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MAX_HEADER_BYTES } from '../transport/header.js';
import { DecodeError } from '../util/bytes.js';
import { MAX_KEY_BYTES, MAX_VALUE_BYTES, encodeProposal } from './commands.js';
import {
  FORWARD_DATAGRAM_BUDGET,
  ForwardRequestIds,
  MAX_FORWARD_REPLY_BYTES,
  MAX_FORWARD_REQUEST_BYTES,
  decodeForwardReply,
  decodeForwardRequest,
  encodeForwardReply,
  encodeForwardRequest,
} from './forward.js';
import { formatValue, resp } from './resp.js';

const biggestCommand = encodeProposal({
  command: {
    op: 'cas',
    key: Buffer.alloc(MAX_KEY_BYTES, 1),
    expected: Buffer.alloc(MAX_VALUE_BYTES, 2),
    value: Buffer.alloc(MAX_VALUE_BYTES, 3),
  },
  session: { id: Number.MAX_SAFE_INTEGER, seq: Number.MAX_SAFE_INTEGER },
});

describe('forwarded requests', () => {
  it('round-trip the request id and the command, decoded for validation', () => {
    const command = encodeProposal({
      command: { op: 'set', key: Buffer.from('k'), value: Buffer.from('v') },
      session: { id: 3, seq: 9 },
    });
    const back = decodeForwardRequest(encodeForwardRequest({ requestId: 12345, command }));
    expect(back).toEqual({
      requestId: 12345,
      command,
      proposal: {
        command: { op: 'set', key: Buffer.from('k'), value: Buffer.from('v') },
        session: { id: 3, seq: 9 },
      },
    });
  });

  it('fit one datagram of the budget, header included, for the largest command', () => {
    const wire = encodeForwardRequest({
      requestId: Number.MAX_SAFE_INTEGER,
      command: biggestCommand,
    });
    expect(wire.length).toBe(MAX_FORWARD_REQUEST_BYTES);
    expect(MAX_HEADER_BYTES + MAX_FORWARD_REQUEST_BYTES).toBeLessThanOrEqual(
      FORWARD_DATAGRAM_BUDGET,
    );
    expect(decodeForwardRequest(wire)).not.toBeInstanceOf(DecodeError);
  });

  it('refuse a command that is not a valid proposal, or trailing bytes', () => {
    expect(
      decodeForwardRequest(
        encodeForwardRequest({ requestId: 1, command: Uint8Array.from([1, 99, 0]) }),
      ),
    ).toBeInstanceOf(DecodeError);
    const wire = encodeForwardRequest({ requestId: 1, command: biggestCommand });
    expect(decodeForwardRequest(Buffer.concat([wire, Buffer.from([0])]))).toBeInstanceOf(
      DecodeError,
    );
    expect(decodeForwardRequest(wire.subarray(0, wire.length - 1))).toBeInstanceOf(DecodeError);
    expect(() =>
      encodeForwardRequest({ requestId: 1, command: new Uint8Array(MAX_FORWARD_REQUEST_BYTES) }),
    ).toThrow(RangeError);
  });

  it('never throw on random bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 60 }), (b) => {
        decodeForwardRequest(b);
        decodeForwardReply(b);
      }),
      { numRuns: 5000 },
    );
  });
});

describe('forwarded replies', () => {
  it('round-trip every reply a command can have', () => {
    for (const reply of [
      resp.simple('OK'),
      resp.integer(1),
      resp.integer(0),
      resp.integer(9007199254740991),
      resp.bulk(Buffer.alloc(MAX_VALUE_BYTES, 0x7a)),
      resp.nil(),
      resp.error('TRYAGAIN no leader known'),
      resp.error('TIMEOUT proposed, not confirmed'),
    ]) {
      const back = decodeForwardReply(encodeForwardReply({ requestId: 77, reply }));
      expect(back).not.toBeInstanceOf(DecodeError);
      if (!(back instanceof DecodeError)) {
        expect(back.requestId).toBe(77);
        expect(formatValue(back.reply)).toBe(formatValue(reply));
      }
    }
  });

  it('fit one datagram of the budget, the longest value or error included', () => {
    const big = encodeForwardReply({
      requestId: Number.MAX_SAFE_INTEGER,
      reply: resp.bulk(Buffer.alloc(MAX_VALUE_BYTES)),
    });
    const longError = encodeForwardReply({
      requestId: Number.MAX_SAFE_INTEGER,
      reply: resp.error('ERR ' + 'x'.repeat(5000)),
    });
    expect(Math.max(big.length, longError.length)).toBeLessThanOrEqual(MAX_FORWARD_REPLY_BYTES);
    expect(MAX_HEADER_BYTES + MAX_FORWARD_REPLY_BYTES).toBeLessThanOrEqual(FORWARD_DATAGRAM_BUDGET);
  });
});

describe('ForwardRequestIds', () => {
  it('counts up from a random start that differs between boots', () => {
    const a = new ForwardRequestIds();
    const b = new ForwardRequestIds();
    const first = a.next();
    expect(a.next()).toBe(first + 1);
    expect(b.next()).not.toBe(first); // 1 in 2^47 to fail
    const wrap = new ForwardRequestIds(Number.MAX_SAFE_INTEGER - 1);
    expect([wrap.next(), wrap.next()]).toEqual([Number.MAX_SAFE_INTEGER, 1]);
  });
});
