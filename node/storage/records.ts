/**
 * WAL records. Each record on disk is a frame:
 *
 *   u32 length of the payload (big-endian, >= 1)
 *   u32 CRC-32 of the four length bytes followed by the payload
 *   payload: u8 type, then the type's fields (ByteWriter encoding)
 *
 * The CRC covers the length, so a damaged length is caught like damaged data.
 * A segment starts with a `header` record naming its sequence number and the
 * previous segment's (with that segment's final size), then a `batch` record
 * restating the state in force (snapshot reference and hard state), then one
 * `batch` record per save. A batch is one record, so a crash keeps all of a
 * save or none of it.
 */
import { crc32 } from 'node:zlib';
import type { Entry, EntryKind, HardState } from '../raft/types.js';
import { ByteReader, ByteWriter } from '../util/bytes.js';

export const FRAME_HEADER_BYTES = 8;
/** A record larger than this is refused when saved and is damage when read. */
export const MAX_RECORD_BYTES = 64 * 1024 * 1024;
const WAL_MAGIC = new TextEncoder().encode('raftbed-wal');
const WAL_VERSION = 1;

const RecordType = { Header: 1, Batch: 2 } as const;
const HAS_SNAPSHOT = 1;
const DISCARD_LOG = 2;
const HAS_HARD_STATE = 4;

/** Names the snapshot file that became the base of the log at this point. */
export interface SnapshotRef {
  readonly index: number;
  readonly term: number;
}

export type WalRecord =
  | {
      readonly type: 'header';
      readonly seq: number;
      /** The segment before this one and its final size, so recovery can tell one is missing or cut short. */
      readonly prevSeq: number;
      readonly prevBytes: number;
    }
  | {
      readonly type: 'batch';
      /** Applied in this order: snapshot, discardLog, entries, hardState. */
      readonly snapshot: SnapshotRef | null;
      readonly discardLog: boolean;
      /** Contiguous; the first one cuts the log from its index on. */
      readonly entries: readonly Entry[];
      readonly hardState: HardState | null;
    };

/** Entry kinds by their code on disk. */
export const ENTRY_KINDS: readonly EntryKind[] = ['noop', 'command', 'config'];

export function encodeRecord(record: WalRecord): Uint8Array {
  const w = new ByteWriter(64);
  w.u32(0).u32(0);
  if (record.type === 'header') {
    w.u8(RecordType.Header).raw(WAL_MAGIC).uvarint(WAL_VERSION).uvarint(record.seq);
    w.uvarint(record.prevSeq).uvarint(record.prevBytes);
  } else {
    const { snapshot, discardLog, entries, hardState } = record;
    const flags =
      (snapshot !== null ? HAS_SNAPSHOT : 0) |
      (discardLog ? DISCARD_LOG : 0) |
      (hardState !== null ? HAS_HARD_STATE : 0);
    w.u8(RecordType.Batch).u8(flags);
    if (snapshot !== null) w.uvarint(snapshot.index).uvarint(snapshot.term);
    if (hardState !== null) {
      w.uvarint(hardState.term).bool(hardState.vote !== null);
      if (hardState.vote !== null) w.string(hardState.vote);
      w.uvarint(hardState.commit);
    }
    w.uvarint(entries.length);
    if (entries.length > 0) w.uvarint(entries[0]?.index ?? 0);
    for (const e of entries) w.uvarint(e.term).u8(ENTRY_KINDS.indexOf(e.kind)).bytes(e.data);
  }
  const frame = w.finish();
  const payloadLength = frame.length - FRAME_HEADER_BYTES;
  if (payloadLength > MAX_RECORD_BYTES)
    throw new RangeError(
      `WAL record of ${payloadLength} bytes over the limit of ${MAX_RECORD_BYTES}`,
    );
  const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
  view.setUint32(0, payloadLength, false);
  view.setUint32(4, frameCrc(frame.subarray(0, 4), frame.subarray(FRAME_HEADER_BYTES)), false);
  return frame;
}

function frameCrc(lengthBytes: Uint8Array, payload: Uint8Array): number {
  return crc32(payload, crc32(lengthBytes)) >>> 0;
}

/** The outcome of reading one frame at an offset. */
export type FrameRead =
  | { readonly ok: true; readonly record: WalRecord; readonly end: number }
  | { readonly ok: false; readonly reason: string };

/**
 * Reads the frame at `offset`. Never throws: a short, damaged or undecodable
 * frame comes back as `{ ok: false, reason }`.
 */
export function readFrame(buf: Uint8Array, offset: number): FrameRead {
  const left = buf.length - offset;
  if (left < FRAME_HEADER_BYTES) return { ok: false, reason: 'partial record header' };
  const view = new DataView(buf.buffer, buf.byteOffset + offset, FRAME_HEADER_BYTES);
  const length = view.getUint32(0, false);
  if (length === 0 || length > MAX_RECORD_BYTES)
    return { ok: false, reason: `impossible record length ${length}` };
  if (length > left - FRAME_HEADER_BYTES) return { ok: false, reason: 'partial record' };
  const payload = buf.subarray(offset + FRAME_HEADER_BYTES, offset + FRAME_HEADER_BYTES + length);
  if (frameCrc(buf.subarray(offset, offset + 4), payload) !== view.getUint32(4, false))
    return { ok: false, reason: 'checksum mismatch' };
  const record = decodePayload(payload);
  if (typeof record === 'string') return { ok: false, reason: record };
  return { ok: true, record, end: offset + FRAME_HEADER_BYTES + length };
}

function decodePayload(payload: Uint8Array): WalRecord | string {
  const r = new ByteReader(payload);
  const type = r.u8();
  let record: WalRecord;
  if (type === RecordType.Header) {
    const magic = r.raw(WAL_MAGIC.length);
    if (r.ok && !equalBytes(magic, WAL_MAGIC)) return 'bad segment magic';
    const version = r.uvarint();
    if (r.ok && version !== WAL_VERSION) return `unsupported WAL version ${version}`;
    record = { type: 'header', seq: r.uvarint(), prevSeq: r.uvarint(), prevBytes: r.uvarint() };
  } else if (type === RecordType.Batch) {
    const flags = r.u8();
    if (flags > (HAS_SNAPSHOT | DISCARD_LOG | HAS_HARD_STATE))
      return `unknown batch flags ${flags}`;
    const snapshot =
      (flags & HAS_SNAPSHOT) !== 0 ? { index: r.uvarint(), term: r.uvarint() } : null;
    let hardState: HardState | null = null;
    if ((flags & HAS_HARD_STATE) !== 0) {
      const term = r.uvarint();
      const vote = r.bool() ? r.string() : null;
      hardState = { term, vote, commit: r.uvarint() };
    }
    const count = r.uvarint();
    // Each entry takes at least three bytes: a count beyond that is damage, not a reason to allocate.
    if (count * 3 > r.remaining) return `batch of ${count} entries in ${r.remaining} bytes`;
    const entries: Entry[] = [];
    const first = count > 0 ? r.uvarint() : 0;
    for (let i = 0; i < count && r.ok; i++) {
      const term = r.uvarint();
      const kind = ENTRY_KINDS[r.u8()];
      const data = r.bytes(MAX_RECORD_BYTES).slice();
      if (kind === undefined) return 'unknown entry kind';
      entries.push({ index: first + i, term, kind, data });
    }
    record = {
      type: 'batch',
      snapshot,
      discardLog: (flags & DISCARD_LOG) !== 0,
      entries,
      hardState,
    };
  } else {
    return `unknown record type ${type}`;
  }
  r.expectEnd();
  return r.error === null ? record : `undecodable record: ${r.error.message}`;
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
