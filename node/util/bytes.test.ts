import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ByteReader, ByteWriter, uvarintSize } from './bytes.js';

describe('ByteWriter and ByteReader', () => {
  it('round-trip every field kind', () => {
    fc.assert(
      fc.property(
        fc.nat({ max: 255 }),
        fc.nat(),
        fc.maxSafeNat(),
        fc.boolean(),
        fc.uint8Array({ maxLength: 300 }),
        fc.string({ unit: 'grapheme', maxLength: 50 }),
        (u8, u32, v, b, bytes, s) => {
          const w = new ByteWriter(4);
          w.u8(u8).u32(u32).uvarint(v).bool(b).bytes(bytes).string(s);
          const r = new ByteReader(w.finish());
          expect(r.u8()).toBe(u8);
          expect(r.u32()).toBe(u32);
          expect(r.uvarint()).toBe(v);
          expect(r.bool()).toBe(b);
          expect([...r.bytes()]).toEqual([...bytes]);
          expect(r.string()).toBe(s);
          r.expectEnd();
          expect(r.error).toBeNull();
        },
      ),
    );
  });

  it('sizes varints as they are written', () => {
    for (const v of [0, 1, 127, 128, 16383, 16384, 2 ** 35, Number.MAX_SAFE_INTEGER]) {
      expect(new ByteWriter().uvarint(v).length).toBe(uvarintSize(v));
    }
  });

  it('reports truncation with its offset and never throws', () => {
    const w = new ByteWriter().u32(7).bytes(new Uint8Array(10)).finish();
    const r = new ByteReader(w.subarray(0, 9));
    r.u32();
    r.bytes();
    expect(r.ok).toBe(false);
    expect(r.error?.message).toMatch(/truncated bytes at byte 5/);
    expect(r.u32()).toBe(0);
  });

  it('refuses a length over the limit and trailing bytes', () => {
    const r = new ByteReader(new ByteWriter().bytes(new Uint8Array(100)).finish());
    r.bytes(10);
    expect(r.error?.message).toMatch(/over the limit/);
    const t = new ByteReader(new Uint8Array([1, 2]));
    t.u8();
    t.expectEnd();
    expect(t.error?.message).toMatch(/1 trailing bytes/);
  });

  it('survives arbitrary garbage', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (garbage) => {
        const r = new ByteReader(garbage);
        r.uvarint();
        r.string();
        r.bytes(1000);
        r.bool();
        expect(typeof r.ok).toBe('boolean');
      }),
    );
  });
});
