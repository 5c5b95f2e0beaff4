/**
 * Reading a WAL segment and telling a torn tail from corruption.
 *
 * The rule: when a record at offset X cannot be read (partial header or data,
 * impossible length, checksum mismatch, undecodable payload), every byte
 * offset after X is tried as the start of a record. If none holds a valid
 * record, what follows X is the remains of a write the crash interrupted
 * (zeros, garbage, a prefix): a torn tail, if this is the last segment. If a
 * valid record follows, the damage is in the middle of the log: data that was
 * once written completely has changed, and storage refuses to start.
 *
 * Appends are sequential, so a crash can only tear the end of the last
 * segment; segments before it were synced before the next one was created.
 * A damaged record that is itself the last one is indistinguishable from a
 * torn write and is dropped; CRC-32 makes a damaged record that still reads
 * as valid a 1 in 2^32 event.
 */
import { FRAME_HEADER_BYTES, MAX_RECORD_BYTES, readFrame } from './records.js';
import type { WalRecord } from './records.js';

export interface ScannedRecord {
  readonly record: WalRecord;
  readonly offset: number;
}

export interface SegmentDamage {
  readonly offset: number;
  readonly reason: string;
  /** Offset of a valid record after the damage, or null if none (a torn tail). */
  readonly validRecordAfter: number | null;
}

export interface SegmentScan {
  readonly records: ScannedRecord[];
  /** End of the last valid record: where a torn tail is cut. */
  readonly validEnd: number;
  readonly damage: SegmentDamage | null;
}

export function scanSegment(buf: Uint8Array): SegmentScan {
  const records: ScannedRecord[] = [];
  let offset = 0;
  while (offset < buf.length) {
    const frame = readFrame(buf, offset);
    if (!frame.ok) {
      return {
        records,
        validEnd: offset,
        damage: {
          offset,
          reason: frame.reason,
          validRecordAfter: findValidRecord(buf, offset + 1),
        },
      };
    }
    records.push({ record: frame.record, offset });
    offset = frame.end;
  }
  return { records, validEnd: offset, damage: null };
}

/** The first offset at or after `from` where a whole valid record starts, or null. */
export function findValidRecord(buf: Uint8Array, from: number): number | null {
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  for (let p = from; p + FRAME_HEADER_BYTES < buf.length; p++) {
    // Cheap filter first: most positions in zeros or garbage fail on the length.
    const length = view.getUint32(p, false);
    if (length === 0 || length > MAX_RECORD_BYTES || length > buf.length - p - FRAME_HEADER_BYTES)
      continue;
    if (readFrame(buf, p).ok) return p;
  }
  return null;
}
