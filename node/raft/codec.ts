/**
 * The binary form of every Raft message: one type byte, the sender, the
 * recipient and the term, then the type's fields. Integers are LEB128 varints,
 * byte strings are length-prefixed, and an append's entries carry no index
 * (it follows from `prevIndex`). Decoding never throws: garbage gives a
 * DecodeError that the caller drops and counts.
 */
import { ByteReader, ByteWriter, DecodeError, utf8, uvarintSize } from '../util/bytes.js';
import type { Message, MessageType } from './messages.js';
import { MAX_NUMBER, MESSAGE_TYPES } from './messages.js';
import type { Entry, EntryKind, SnapshotMeta } from './types.js';

/** Longest node id accepted on the wire, in UTF-8 bytes. */
export const MAX_ID_BYTES = 64;
/** Most peers a snapshot's configuration may list. */
export const MAX_PEERS = 64;

const KINDS: readonly EntryKind[] = ['noop', 'command', 'config'];

function typeCode(type: MessageType): number {
  return MESSAGE_TYPES.indexOf(type) + 1;
}

function kindCode(kind: EntryKind): number {
  return KINDS.indexOf(kind);
}

const idCache = new Map<string, Uint8Array>();

/** Node ids repeat in every message: encode each once. */
function idBytes(id: string): Uint8Array {
  let b = idCache.get(id);
  if (b === undefined) {
    b = utf8(id);
    if (idCache.size < 4096) idCache.set(id, b);
  }
  return b;
}

/** Short ASCII ids by their bytes packed in a number: ids repeat in every message. */
const shortIds = new Map<number, string>();

/** Reads a node id; ASCII ids (the usual `n1`) skip the UTF-8 decoder. */
function readId(r: ByteReader): string {
  const b = r.bytes(MAX_ID_BYTES);
  let ascii = true;
  let key = b.length;
  for (let i = 0; i < b.length; i++) {
    const c = b[i] ?? 0;
    if (c >= 0x80) ascii = false;
    key = key * 128 + c;
  }
  if (ascii) {
    const cacheable = b.length <= 6;
    const hit = cacheable ? shortIds.get(key) : undefined;
    if (hit !== undefined) return hit;
    let s = '';
    for (let i = 0; i < b.length; i++) s += String.fromCharCode(b[i] ?? 0);
    if (cacheable && shortIds.size < 4096) shortIds.set(key, s);
    return s;
  }
  try {
    return strictUtf8.decode(b);
  } catch {
    r.fail('invalid UTF-8 in a node id');
    return '';
  }
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

export function encodeMessage(m: Message): Uint8Array {
  const w = new ByteWriter(m.type === 'append' || m.type.endsWith('Chunk') ? 256 : 48);
  w.u8(typeCode(m.type)).bytes(idBytes(m.from)).bytes(idBytes(m.to)).uvarint(m.term);
  switch (m.type) {
    case 'vote':
      w.bool(m.pre).uvarint(m.lastIndex).uvarint(m.lastTerm);
      break;
    case 'voteResponse':
      w.bool(m.pre).bool(m.granted);
      break;
    case 'append':
      w.uvarint(m.prevIndex).uvarint(m.prevTerm).uvarint(m.commit).uvarint(m.entries.length);
      for (const e of m.entries) w.uvarint(e.term).u8(kindCode(e.kind)).bytes(e.data);
      break;
    case 'appendResponse':
      w.bool(m.success).uvarint(m.index).uvarint(m.hintIndex).uvarint(m.hintTerm);
      break;
    case 'heartbeat':
      w.uvarint(m.commit).uvarint(m.round);
      break;
    case 'heartbeatResponse':
      w.uvarint(m.round);
      break;
    case 'entryChunk':
      w.uvarint(m.prevIndex).uvarint(m.prevTerm).uvarint(m.commit).uvarint(m.entryTerm);
      w.u8(kindCode(m.kind)).uvarint(m.total).uvarint(m.offset).bytes(m.data);
      break;
    case 'entryChunkAck':
      w.uvarint(m.index).uvarint(m.entryTerm).uvarint(m.offset);
      break;
    case 'snapshotChunk':
      writeMeta(w, m.meta);
      w.uvarint(m.total).uvarint(m.offset).bytes(m.data);
      break;
    case 'snapshotAck':
      w.uvarint(m.index).uvarint(m.snapshotTerm).uvarint(m.offset);
      break;
    case 'readIndex':
      w.uvarint(m.id);
      break;
    case 'readIndexResponse':
      w.uvarint(m.id).bool(m.ok).uvarint(m.index);
      break;
  }
  return w.finish();
}

function writeMeta(w: ByteWriter, meta: SnapshotMeta): void {
  w.uvarint(meta.index).uvarint(meta.term).uvarint(meta.peers.length);
  for (const p of meta.peers) w.bytes(idBytes(p));
}

/** The encoded length of `m`, in bytes. */
export function encodedLength(m: Message): number {
  return encodeMessage(m).length;
}

/** Bytes one entry adds to an append message. */
export function entryWireSize(e: Entry): number {
  return uvarintSize(e.term) + 1 + uvarintSize(e.data.length) + e.data.length;
}

/**
 * The most payload bytes that fit in `room` bytes once the payload's length
 * prefix is counted (`room` already includes the one byte an empty payload's
 * prefix takes).
 */
export function payloadRoom(room: number): number {
  let n = room - 1;
  while (n > 0 && n + uvarintSize(n) > room) n--;
  return Math.max(0, n);
}

/** Decodes one message; never throws. */
export function decodeMessage(bytes: Uint8Array): Message | DecodeError {
  const r = new ByteReader(bytes);
  const code = r.u8();
  const type = MESSAGE_TYPES[code - 1];
  if (!r.ok) return r.error ?? new DecodeError('empty message', 0);
  if (type === undefined) return new DecodeError(`unknown message type ${code}`, 0);
  const from = readId(r);
  const to = readId(r);
  const term = num(r);
  let m: Message;
  switch (type) {
    case 'vote':
      m = { type, from, to, term, pre: r.bool(), lastIndex: num(r), lastTerm: num(r) };
      break;
    case 'voteResponse':
      m = { type, from, to, term, pre: r.bool(), granted: r.bool() };
      break;
    case 'append': {
      const prevIndex = num(r);
      const prevTerm = num(r);
      const commit = num(r);
      const count = r.uvarint();
      // Each entry takes at least three bytes, so a count beyond that is garbage.
      if (count * 3 > r.remaining) r.fail(`entry count ${count} exceeds the message`);
      const entries: Entry[] = [];
      for (let i = 0; i < count && r.ok; i++) {
        const entryTerm = num(r);
        const kind = readKind(r);
        const data = r.bytes();
        entries.push({ index: prevIndex + 1 + i, term: entryTerm, kind, data: data.slice() });
      }
      m = { type, from, to, term, prevIndex, prevTerm, commit, entries };
      break;
    }
    case 'appendResponse':
      m = {
        type,
        from,
        to,
        term,
        success: r.bool(),
        index: num(r),
        hintIndex: num(r),
        hintTerm: num(r),
      };
      break;
    case 'heartbeat':
      m = { type, from, to, term, commit: num(r), round: num(r) };
      break;
    case 'heartbeatResponse':
      m = { type, from, to, term, round: num(r) };
      break;
    case 'entryChunk': {
      const prevIndex = num(r);
      const prevTerm = num(r);
      const commit = num(r);
      const entryTerm = num(r);
      const kind = readKind(r);
      const total = num(r);
      const offset = num(r);
      const data = r.bytes().slice();
      if (r.ok && offset + data.length > total) r.fail('chunk runs past the entry');
      m = {
        type,
        from,
        to,
        term,
        prevIndex,
        prevTerm,
        commit,
        entryTerm,
        kind,
        total,
        offset,
        data,
      };
      break;
    }
    case 'entryChunkAck':
      m = { type, from, to, term, index: num(r), entryTerm: num(r), offset: num(r) };
      break;
    case 'snapshotChunk': {
      const meta = readMeta(r);
      const total = num(r);
      const offset = num(r);
      const data = r.bytes().slice();
      if (r.ok && offset + data.length > total) r.fail('chunk runs past the snapshot');
      m = { type, from, to, term, meta, total, offset, data };
      break;
    }
    case 'snapshotAck':
      m = { type, from, to, term, index: num(r), snapshotTerm: num(r), offset: num(r) };
      break;
    case 'readIndex':
      m = { type, from, to, term, id: num(r) };
      break;
    case 'readIndexResponse':
      m = { type, from, to, term, id: num(r), ok: r.bool(), index: num(r) };
      break;
  }
  r.expectEnd();
  return r.error ?? m;
}

function num(r: ByteReader): number {
  const v = r.uvarint();
  if (v > MAX_NUMBER) r.fail(`number ${v} out of range`);
  return v;
}

function readKind(r: ByteReader): EntryKind {
  const code = r.u8();
  const kind = KINDS[code];
  if (kind === undefined) {
    r.fail(`unknown entry kind ${code}`);
    return 'noop';
  }
  return kind;
}

function readMeta(r: ByteReader): SnapshotMeta {
  const index = num(r);
  const term = num(r);
  const count = r.uvarint();
  if (count > MAX_PEERS) r.fail(`${count} peers is over the limit of ${MAX_PEERS}`);
  const peers: string[] = [];
  for (let i = 0; i < count && r.ok; i++) peers.push(readId(r));
  return { index, term, peers };
}
