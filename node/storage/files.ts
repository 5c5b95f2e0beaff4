/**
 * File names in the data directory and the snapshot file format.
 *
 *   wal-<seq>-<index>.log   a WAL segment; seq orders segments, index is the
 *                           next log index when it was created (for people)
 *   snap-<index>.snap       a snapshot covering the log up to index; it is in
 *                           force once a WAL record refers to it
 *   *.tmp                   a snapshot being written; removed at start
 *
 * Numbers are zero-padded to 16 digits so names sort in order.
 */
import { crc32 } from 'node:zlib';
import type { Snapshot } from '../raft/types.js';
import { ByteReader, ByteWriter } from '../util/bytes.js';
import { StorageCorruptError } from './errors.js';

const PAD = 16;
const SEGMENT_NAME = /^wal-(\d{16})-(\d{16})\.log$/;
const SNAPSHOT_NAME = /^snap-(\d{16})\.snap$/;
export const TEMP_SUFFIX = '.tmp';

export function segmentName(seq: number, index: number): string {
  return `wal-${pad(seq)}-${pad(index)}.log`;
}

export function parseSegmentName(name: string): { seq: number; index: number } | null {
  const m = SEGMENT_NAME.exec(name);
  if (m === null) return null;
  const seq = Number(m[1]);
  const index = Number(m[2]);
  return Number.isSafeInteger(seq) && Number.isSafeInteger(index) ? { seq, index } : null;
}

export function snapshotName(index: number): string {
  return `snap-${pad(index)}.snap`;
}

export function parseSnapshotName(name: string): number | null {
  const m = SNAPSHOT_NAME.exec(name);
  if (m === null) return null;
  const index = Number(m[1]);
  return Number.isSafeInteger(index) ? index : null;
}

function pad(n: number): string {
  return String(n).padStart(PAD, '0');
}

const SNAP_MAGIC = new TextEncoder().encode('raftbed-snap');
const SNAP_VERSION = 1;
const MAX_PEERS = 1024;

export function encodeSnapshotFile(snapshot: Snapshot): Uint8Array {
  const { meta, data } = snapshot;
  const w = new ByteWriter(64 + data.length);
  w.raw(SNAP_MAGIC).uvarint(SNAP_VERSION).uvarint(meta.index).uvarint(meta.term);
  w.uvarint(meta.peers.length);
  for (const p of meta.peers) w.string(p);
  w.bytes(data);
  const body = w.finish();
  const out = new Uint8Array(body.length + 4);
  out.set(body);
  new DataView(out.buffer).setUint32(body.length, crc32(body) >>> 0, false);
  return out;
}

/** Decodes a snapshot file or throws StorageCorruptError naming it. */
export function decodeSnapshotFile(name: string, buf: Uint8Array): Snapshot {
  if (buf.length < SNAP_MAGIC.length + 4)
    throw new StorageCorruptError(name, buf.length, 'snapshot file too short');
  const body = buf.subarray(0, buf.length - 4);
  const stored = new DataView(buf.buffer, buf.byteOffset + body.length, 4).getUint32(0, false);
  if (crc32(body) >>> 0 !== stored)
    throw new StorageCorruptError(name, body.length, 'snapshot checksum mismatch');
  const r = new ByteReader(body);
  const magic = r.raw(SNAP_MAGIC.length);
  if (!SNAP_MAGIC.every((b, i) => magic[i] === b))
    throw new StorageCorruptError(name, 0, 'not a snapshot file');
  const version = r.uvarint();
  if (r.ok && version !== SNAP_VERSION)
    throw new StorageCorruptError(name, r.offset, `unsupported snapshot version ${version}`);
  const index = r.uvarint();
  const term = r.uvarint();
  const count = r.uvarint();
  if (count > MAX_PEERS) r.fail(`${count} peers`);
  const peers: string[] = [];
  for (let i = 0; i < count && r.ok; i++) peers.push(r.string());
  const data = r.bytes().slice();
  r.expectEnd();
  if (r.error !== null) throw new StorageCorruptError(name, r.error.offset, r.error.message);
  return { meta: { index, term, peers }, data };
}
