import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { MAX_HEADER_BYTES } from '../transport/header.js';
import { DecodeError } from '../util/bytes.js';
import { MAX_KEY_BYTES, MAX_VALUE_BYTES, encodeProposal } from './commands.js';
import {
  FORWARD_DATAGRAM_BUDGET,
  ForwardRequestIds,
  Forwarder,
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

  it('keep the request id of a command that does not decode, so the leader can answer it', () => {
    const back = decodeForwardRequest(
      encodeForwardRequest({ requestId: 5, command: Uint8Array.from([1, 99, 0]) }),
    );
    expect(back).not.toBeInstanceOf(DecodeError);
    if (!(back instanceof DecodeError)) {
      expect(back.requestId).toBe(5);
      expect(back.proposal).toBeInstanceOf(DecodeError);
    }
  });

  it('refuse trailing or missing bytes, and an oversized command', () => {
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

describe('Forwarder', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  const command = encodeProposal({
    command: { op: 'set', key: Buffer.from('k'), value: Buffer.from('v') },
    session: null,
  });

  /** A Forwarder whose sends are recorded; `up` says whether the transport takes them. */
  function setup(up = true) {
    const sent: { to: string; requestId: number }[] = [];
    const f = new Forwarder({
      timeoutMs: 500,
      ids: new ForwardRequestIds(100),
      send: (to, payload) => {
        const req = decodeForwardRequest(payload);
        if (req instanceof DecodeError) throw req;
        sent.push({ to, requestId: req.requestId });
        return up;
      },
    });
    const answer = (from: string, requestId: number, reply = resp.simple('OK')): void =>
      f.onReply(from, encodeForwardReply({ requestId, reply }));
    return { f, sent, answer };
  }

  it("relays the leader's reply to the request it answers", async () => {
    const { f, sent, answer } = setup();
    const a = f.forward('n2', command);
    const b = f.forward('n2', command);
    expect(sent).toEqual([
      { to: 'n2', requestId: 101 },
      { to: 'n2', requestId: 102 },
    ]);
    answer('n2', 102, resp.integer(0));
    answer('n2', 101, resp.error('TRYAGAIN not the leader'));
    expect(formatValue(await a)).toBe('-TRYAGAIN not the leader');
    expect(formatValue(await b)).toBe(':0');
    expect(f.inFlight).toBe(0);
    expect(f.counters).toMatchObject({ forwarded: 2, replied: 2 });
  });

  it('answers -TRYAGAIN when the transport could not send, -TIMEOUT when no reply came', async () => {
    const down = setup(false);
    expect(formatValue(await down.f.forward('n2', command))).toMatch(
      /^-TRYAGAIN cannot reach the leader n2/,
    );
    const { f, answer } = setup();
    const p = f.forward('n3', command);
    vi.advanceTimersByTime(500);
    expect(formatValue(await p)).toMatch(
      /^-TIMEOUT forwarded to the leader n3, no reply within 500 ms/,
    );
    answer('n3', 101); // too late
    expect(f.counters).toMatchObject({ timedOut: 1, late: 1, replied: 0 });
  });

  it('ignores a reply from another node than the one asked, and garbage', async () => {
    const { f, answer } = setup();
    const p = f.forward('n2', command);
    answer('n3', 101);
    f.onReply('n2', Uint8Array.from([7, 7, 7]));
    expect(f.inFlight).toBe(1);
    answer('n2', 101, resp.integer(1));
    expect(formatValue(await p)).toBe(':1');
    expect(f.counters).toMatchObject({ malformed: 2, replied: 1 });
  });

  it('answers -TIMEOUT to everything waiting when closed', async () => {
    const { f } = setup();
    const p = f.forward('n2', command);
    f.close();
    expect(formatValue(await p)).toMatch(/^-TIMEOUT .* node stopping/);
  });
});
