import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DecodeError } from '../util/bytes.js';
import { decodeMessage, encodeMessage, entryWireSize, payloadRoom } from './codec.js';
import type { Message } from './messages.js';
import { arbMessage, entries } from './test-support/arbitraries.js';

/** The DecodeError's message, or a note that decoding succeeded. */
function errorOf(r: Message | DecodeError): string {
  return r instanceof DecodeError ? r.message : `decoded a ${r.type}`;
}

describe('message codec', () => {
  it('round-trips every message type', () => {
    fc.assert(
      fc.property(arbMessage, (m) => {
        const back = decodeMessage(encodeMessage(m));
        expect(back).not.toBeInstanceOf(DecodeError);
        expect(back).toEqual(m);
      }),
      { numRuns: 2_000 },
    );
  });

  it('is compact: a heartbeat between n1 and n2 takes a dozen bytes', () => {
    const hb: Message = {
      type: 'heartbeat',
      from: 'n1',
      to: 'n2',
      term: 7,
      commit: 1234,
      round: 9,
    };
    expect(encodeMessage(hb).length).toBeLessThanOrEqual(12);
  });

  it('sizes an append exactly: header plus entryWireSize per entry', () => {
    fc.assert(
      fc.property(entries(10), (es) => {
        const base: Message = {
          type: 'append',
          from: 'n1',
          to: 'n2',
          term: 3,
          prevIndex: 10,
          prevTerm: 2,
          commit: 9,
          entries: [],
        };
        const header = encodeMessage(base).length - 1;
        const full = encodeMessage({ ...base, entries: es }).length;
        const countBytes = es.length < 128 ? 1 : 2;
        expect(full).toBe(header + countBytes + es.reduce((a, e) => a + entryWireSize(e), 0));
      }),
    );
  });

  it('payloadRoom leaves room for the length prefix', () => {
    for (const room of [1, 2, 127, 128, 129, 200, 16_385, 16_386]) {
      const n = payloadRoom(room);
      const prefix = n < 128 ? 1 : n < 16_384 ? 2 : 3;
      expect(n + prefix).toBeLessThanOrEqual(room);
      expect(n + 1 + (n + 1 < 128 ? 1 : n + 1 < 16_384 ? 2 : 3)).toBeGreaterThan(room);
    }
  });

  it('never throws on random bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        const r = decodeMessage(bytes);
        if (!(r instanceof DecodeError)) expect(encodeMessage(r)).toEqual(bytes);
      }),
      { numRuns: 5_000 },
    );
  });

  it('rejects every truncation and survives every bit flip of valid messages', () => {
    fc.assert(
      fc.property(arbMessage, fc.nat(), fc.nat(7), (m, at, bit) => {
        const bytes = encodeMessage(m);
        for (let cut = 0; cut < bytes.length; cut++)
          expect(decodeMessage(bytes.subarray(0, cut))).toBeInstanceOf(DecodeError);
        const flipped = bytes.slice();
        const i = at % flipped.length;
        flipped[i] = (flipped[i] ?? 0) ^ (1 << bit);
        const r = decodeMessage(flipped);
        expect(r instanceof DecodeError || typeof r.type === 'string').toBe(true);
      }),
      { numRuns: 500 },
    );
  });

  it('names the problem in a DecodeError', () => {
    expect(decodeMessage(new Uint8Array([]))).toBeInstanceOf(DecodeError);
    expect(errorOf(decodeMessage(new Uint8Array([99])))).toMatch(/unknown message type 99/);
    const hb = encodeMessage({
      type: 'heartbeat',
      from: 'n1',
      to: 'n2',
      term: 1,
      commit: 0,
      round: 1,
    });
    const trailing = new Uint8Array([...hb, 0]);
    expect(errorOf(decodeMessage(trailing))).toMatch(/trailing/);
  });

  it('rejects numbers past the absurd limit and chunks running past their total', () => {
    const w = encodeMessage({ type: 'heartbeatResponse', from: 'n1', to: 'n2', term: 1, round: 1 });
    // Replace the term (byte 7, one byte) by a varint of 2^49.
    const big = [0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01];
    const bytes = new Uint8Array([...w.subarray(0, 7), ...big, ...w.subarray(8)]);
    expect(errorOf(decodeMessage(bytes))).toMatch(/out of range/);
    const chunk = encodeMessage({
      type: 'snapshotChunk',
      from: 'n1',
      to: 'n2',
      term: 1,
      meta: { index: 5, term: 1, peers: ['n1'] },
      total: 10,
      offset: 8,
      data: new Uint8Array([1, 2]),
    });
    // total is the byte after the meta: lower it from 10 to 9.
    const idx = chunk.indexOf(10, 12);
    const bad = chunk.slice();
    bad[idx] = 9;
    expect(errorOf(decodeMessage(bad))).toMatch(/past the snapshot/);
  });
});
