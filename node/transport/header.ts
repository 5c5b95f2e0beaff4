/**
 * The header on every Raft-port datagram. The payload after it is opaque here.
 *
 *   offset  size  field
 *   0       2     magic 0x52 0x42 ("RB")
 *   2       1     version, 1
 *   3       1     payload kind: 1 raft, 2 forward, 3 forward-reply
 *   4       4     CRC-32 (IEEE, big-endian) of every byte after this field
 *   8       1     cluster id length C (1..16), then C bytes
 *   9+C     1     sender node id length S (1..16), then S bytes
 *   10+C+S  1     destination node id length D (1..16), then D bytes
 *   11+C+S+D      payload, to the end of the datagram
 *
 * At most 59 bytes (11 + 3 x 16). Ids are ASCII letters, digits, '.', '_', '-'.
 * The checksum covers the payload too: UDP's 16-bit sum is optional and weak, and
 * a flipped bit in a term or index must not reach the Raft core.
 */
import { crc32 } from 'node:zlib';

export type PayloadKind = 'raft' | 'forward' | 'forward-reply';

export const PAYLOAD_KINDS: readonly PayloadKind[] = ['raft', 'forward', 'forward-reply'];

const KIND_CODES: Readonly<Record<PayloadKind, number>> = {
  raft: 1,
  forward: 2,
  'forward-reply': 3,
};

export const MAGIC_0 = 0x52;
export const MAGIC_1 = 0x42;
export const HEADER_VERSION = 1;
export const MAX_ID_BYTES = 16;
const FIXED_BYTES = 11;
export const MAX_HEADER_BYTES = FIXED_BYTES + 3 * MAX_ID_BYTES;

/** What a node id and a cluster id may be: short, printable, safe in logs and file names. */
export const ID_PATTERN = /^[A-Za-z0-9._-]{1,16}$/;

export function isValidId(id: string): boolean {
  return ID_PATTERN.test(id);
}

export interface DatagramHeader {
  readonly kind: PayloadKind;
  readonly clusterId: string;
  readonly from: string;
  readonly to: string;
}

export interface DecodedDatagram extends DatagramHeader {
  /** A view into the datagram. */
  readonly payload: Buffer;
}

/** Why a datagram was refused before its header was understood. */
export type HeaderFault = 'truncated' | 'malformed' | 'version' | 'checksum';

export function headerBytes(h: DatagramHeader): number {
  return FIXED_BYTES + h.clusterId.length + h.from.length + h.to.length;
}

/** Throws on an invalid id: ids are checked once, when the transport is configured. */
export function encodeDatagram(h: DatagramHeader, payload: Uint8Array): Buffer {
  for (const id of [h.clusterId, h.from, h.to]) {
    if (!isValidId(id)) throw new RangeError(`invalid id in datagram header: '${id}'`);
  }
  const head = headerBytes(h);
  const out = Buffer.allocUnsafe(head + payload.length);
  out[0] = MAGIC_0;
  out[1] = MAGIC_1;
  out[2] = HEADER_VERSION;
  out[3] = KIND_CODES[h.kind];
  let at = 8;
  for (const id of [h.clusterId, h.from, h.to]) {
    out[at++] = id.length;
    at += out.write(id, at, 'latin1');
  }
  out.set(payload, at);
  out.writeUInt32BE(crc32(out.subarray(8)), 4);
  return out;
}

function readId(buf: Buffer, at: number): { id: string; next: number } | HeaderFault {
  if (at >= buf.length) return 'truncated';
  const n = buf[at] ?? 0;
  if (n === 0 || n > MAX_ID_BYTES) return 'malformed';
  if (at + 1 + n > buf.length) return 'truncated';
  const id = buf.toString('latin1', at + 1, at + 1 + n);
  return isValidId(id) ? { id, next: at + 1 + n } : 'malformed';
}

/** Parses and verifies a header; never throws. */
export function decodeDatagram(buf: Buffer): DecodedDatagram | HeaderFault {
  if (buf.length < 4)
    return buf.length >= 2 && (buf[0] !== MAGIC_0 || buf[1] !== MAGIC_1)
      ? 'malformed'
      : 'truncated';
  if (buf[0] !== MAGIC_0 || buf[1] !== MAGIC_1) return 'malformed';
  if (buf[2] !== HEADER_VERSION) return 'version';
  const kind = PAYLOAD_KINDS[(buf[3] ?? 0) - 1];
  if (kind === undefined) return 'malformed';
  if (buf.length < FIXED_BYTES) return 'truncated';
  if (buf.readUInt32BE(4) !== crc32(buf.subarray(8))) return 'checksum';
  const cluster = readId(buf, 8);
  if (typeof cluster === 'string') return cluster;
  const from = readId(buf, cluster.next);
  if (typeof from === 'string') return from;
  const to = readId(buf, from.next);
  if (typeof to === 'string') return to;
  return { kind, clusterId: cluster.id, from: from.id, to: to.id, payload: buf.subarray(to.next) };
}
