import { crc32 } from 'node:zlib';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  MAX_HEADER_BYTES,
  decodeDatagram,
  encodeDatagram,
  headerBytes,
  type DatagramHeader,
} from './header.js';

const header: DatagramHeader = { kind: 'raft', clusterId: 'raftbed', from: 'n1', to: 'n2' };

describe('datagram header', () => {
  it('round-trips the header and the payload', () => {
    const payload = Buffer.from('hello');
    const d = encodeDatagram(header, payload);
    expect(d.length).toBe(headerBytes(header) + payload.length);
    expect(decodeDatagram(d)).toEqual({ ...header, payload });
  });

  it('lays out magic, version, kind, checksum and ids as documented', () => {
    const d = encodeDatagram(
      { kind: 'forward-reply', clusterId: 'c', from: 'a', to: 'bb' },
      Buffer.from([9]),
    );
    expect([...d.subarray(0, 4)]).toEqual([0x52, 0x42, 1, 3]);
    expect([...d.subarray(8)]).toEqual([1, 0x63, 1, 0x61, 2, 0x62, 0x62, 9]);
  });

  it('stays under 64 bytes with the longest ids', () => {
    const long = 'x'.repeat(16);
    const d = encodeDatagram(
      { kind: 'forward', clusterId: long, from: long, to: long },
      new Uint8Array(0),
    );
    expect(d.length).toBe(MAX_HEADER_BYTES);
    expect(MAX_HEADER_BYTES).toBeLessThan(64);
  });

  it('refuses invalid ids when encoding', () => {
    expect(() => encodeDatagram({ ...header, from: 'n 1' }, new Uint8Array(0))).toThrow(RangeError);
    expect(() =>
      encodeDatagram({ ...header, clusterId: 'x'.repeat(17) }, new Uint8Array(0)),
    ).toThrow(RangeError);
  });

  it('names what is wrong with a bad datagram', () => {
    const good = encodeDatagram(header, Buffer.from('p'));
    const flip = (i: number, v: number): Buffer => {
      const b = Buffer.from(good);
      b[i] = v;
      return b;
    };
    expect(decodeDatagram(good.subarray(0, 3))).toBe('truncated');
    expect(decodeDatagram(good.subarray(0, 10))).toBe('truncated');
    expect(decodeDatagram(flip(0, 0x00))).toBe('malformed');
    expect(decodeDatagram(flip(2, 2))).toBe('version');
    expect(decodeDatagram(flip(3, 9))).toBe('malformed');
    expect(decodeDatagram(flip(good.length - 1, 0x71))).toBe('checksum');
    expect(decodeDatagram(good.subarray(0, good.length - 1))).toBe('checksum');
  });

  it('refuses a checksummed datagram whose ids are bad or cut short', () => {
    const raw = (bytes: number[]): Buffer => {
      const b = Buffer.from([0x52, 0x42, 1, 1, 0, 0, 0, 0, ...bytes]);
      // A valid checksum, so that the id checks are what refuses it.
      b.writeUInt32BE(crc32(b.subarray(8)), 4);
      return b;
    };
    expect(decodeDatagram(raw([0, 0, 0]))).toBe('malformed'); // empty cluster id
    expect(decodeDatagram(raw([1, 0x20, 1, 0x61, 1, 0x62]))).toBe('malformed'); // a space
    expect(decodeDatagram(raw([17, ...new Array<number>(20).fill(0x61)]))).toBe('malformed'); // too long
    expect(decodeDatagram(raw([5, 0x61, 0x61]))).toBe('truncated');
  });

  it('never throws on random or mutated datagrams', () => {
    const good = encodeDatagram(header, Buffer.from('payload'));
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 80 }),
        fc.array(fc.tuple(fc.nat(), fc.nat({ max: 255 })), { maxLength: 4 }),
        (random, muts) => {
          decodeDatagram(Buffer.from(random));
          const m = Buffer.from(good);
          for (const [at, v] of muts) m[at % m.length] = v;
          const r = decodeDatagram(m);
          if (typeof r !== 'string') expect(r.payload.length).toBeLessThanOrEqual(m.length);
        },
      ),
      { numRuns: 5000 },
    );
  });
});
