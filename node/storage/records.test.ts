import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Entry } from '../raft/types.js';
import { encodeRecord, readFrame } from './records.js';
import type { WalRecord } from './records.js';
import { findValidRecord, scanSegment } from './segment-scan.js';

const entry = (index: number, term: number, data: Uint8Array): Entry => ({
  index,
  term,
  kind: 'command',
  data,
});
const batch = (fields: Partial<Extract<WalRecord, { type: 'batch' }>>): WalRecord => ({
  type: 'batch',
  snapshot: null,
  discardLog: false,
  entries: [],
  hardState: null,
  ...fields,
});

const samples: WalRecord[] = [
  { type: 'header', seq: 7, prevSeq: 6, prevBytes: 123_456 },
  batch({ entries: [entry(42, 3, new Uint8Array([1, 2, 3])), entry(43, 3, new Uint8Array(0))] }),
  batch({ entries: [{ index: 2 ** 40, term: 2 ** 33, kind: 'noop', data: new Uint8Array(0) }] }),
  batch({ entries: [{ index: 1, term: 1, kind: 'config', data: new Uint8Array(300).fill(9) }] }),
  batch({ hardState: { term: 5, vote: 'n2', commit: 17 } }),
  batch({ hardState: { term: 0, vote: null, commit: 0 } }),
  batch({
    snapshot: { index: 100, term: 4 },
    discardLog: true,
    entries: [entry(101, 4, new Uint8Array([7]))],
    hardState: { term: 4, vote: null, commit: 100 },
  }),
  batch({}),
];

describe('WAL records', () => {
  it('round-trip every record type', () => {
    for (const record of samples) {
      const frame = encodeRecord(record);
      const read = readFrame(frame, 0);
      expect(read).toEqual({ ok: true, record, end: frame.length });
    }
  });

  it('any single flipped bit is caught', () => {
    const frame = encodeRecord(samples[4] as WalRecord);
    for (let bit = 0; bit < frame.length * 8; bit++) {
      const damaged = frame.slice();
      damaged[bit >> 3] = (damaged[bit >> 3] ?? 0) ^ (1 << (bit & 7));
      expect(readFrame(damaged, 0).ok, `bit ${bit}`).toBe(false);
    }
  });

  it('a short frame is partial, not an error', () => {
    const frame = encodeRecord(samples[1] as WalRecord);
    for (let len = 0; len < frame.length; len++)
      expect(readFrame(frame.subarray(0, len), 0)).toMatchObject({ ok: false });
    expect(readFrame(frame.subarray(0, 5), 0)).toEqual({
      ok: false,
      reason: 'partial record header',
    });
  });

  it('never throws on arbitrary bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), fc.nat(200), (bytes, at) => {
        const r = readFrame(bytes, Math.min(at, bytes.length));
        expect(typeof r.ok).toBe('boolean');
        scanSegment(bytes);
      }),
      { numRuns: 2000 },
    );
  });
});

describe('finding a valid record after damage', () => {
  it('finds one behind garbage and none in zeros or random bytes', () => {
    const frame = encodeRecord(samples[1] as WalRecord);
    const buf = new Uint8Array(100 + frame.length);
    for (let i = 0; i < 100; i++) buf[i] = (i * 37 + 11) & 0xff;
    buf.set(frame, 100);
    expect(findValidRecord(buf, 1)).toBe(100);
    expect(findValidRecord(new Uint8Array(5000), 0)).toBeNull();
    const noise = new Uint8Array(5000).map((_, i) => (i * 2654435761) >>> 24);
    expect(findValidRecord(noise, 0)).toBeNull();
  });

  it('a scan stops at the first bad record and says whether a valid one follows', () => {
    const a = encodeRecord(samples[0] as WalRecord);
    const b = encodeRecord(samples[1] as WalRecord);
    const c = encodeRecord(samples[4] as WalRecord);
    const buf = new Uint8Array([...a, ...b, ...c]);
    buf[a.length + 9] = (buf[a.length + 9] ?? 0) ^ 1;
    const scan = scanSegment(buf);
    expect(scan.records.map((r) => r.offset)).toEqual([0]);
    expect(scan.damage).toEqual({
      offset: a.length,
      reason: 'checksum mismatch',
      validRecordAfter: a.length + b.length,
    });
    const torn = scanSegment(new Uint8Array([...a, ...b.subarray(0, 10)]));
    expect(torn.damage).toEqual({
      offset: a.length,
      reason: 'partial record',
      validRecordAfter: null,
    });
    expect(torn.validEnd).toBe(a.length);
  });
});
