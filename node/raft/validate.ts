/**
 * Shape and range checks for a message handed to the core. The codec already
 * rejects garbage bytes, but a message object may also come from elsewhere (a
 * test, a future transport), so the core trusts nothing: a message that fails
 * here is dropped and counted, never thrown on.
 */
import { MAX_ID_BYTES, MAX_PEERS } from './codec.js';
import { MAX_NUMBER, MESSAGE_TYPES } from './messages.js';
import type { Message } from './messages.js';

export const DROP_REASONS = ['malformed', 'unknownPeer', 'wrongRecipient', 'outOfRange'] as const;

/** Why the core dropped a message. */
export type DropReason = (typeof DROP_REASONS)[number];

const KINDS = new Set(['noop', 'command', 'config']);

function isNum(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 && v <= MAX_NUMBER;
}

function isId(v: unknown): v is string {
  return typeof v === 'string' && v.length > 0 && v.length <= MAX_ID_BYTES;
}

function isBytes(v: unknown): v is Uint8Array {
  return v instanceof Uint8Array;
}

type Fields = Record<string, unknown>;

/** Null when `m` is a well-formed message; otherwise why not. */
export function checkMessage(m: unknown): DropReason | null {
  if (typeof m !== 'object' || m === null) return 'malformed';
  const f = m as Fields;
  const type = f.type;
  if (typeof type !== 'string' || !(MESSAGE_TYPES as readonly string[]).includes(type))
    return 'malformed';
  if (!isId(f.from) || !isId(f.to)) return 'malformed';
  if (typeof f.term !== 'number' || !Number.isSafeInteger(f.term) || f.term < 0) return 'malformed';
  if (f.term > MAX_NUMBER) return 'outOfRange';
  const msg = m as Message;
  switch (msg.type) {
    case 'vote':
      if (typeof f.pre !== 'boolean' || !nums(f, 'lastIndex', 'lastTerm')) return 'malformed';
      if (msg.lastTerm > msg.term) return 'outOfRange';
      return null;
    case 'voteResponse':
      return typeof f.pre === 'boolean' && typeof f.granted === 'boolean' ? null : 'malformed';
    case 'append':
      if (!nums(f, 'prevIndex', 'prevTerm', 'commit') || !Array.isArray(f.entries))
        return 'malformed';
      if (msg.prevTerm > msg.term) return 'outOfRange';
      return checkEntries(msg.prevIndex, msg.prevTerm, msg.term, f.entries as unknown[]);
    case 'appendResponse':
      if (typeof f.success !== 'boolean' || !nums(f, 'index', 'hintIndex', 'hintTerm'))
        return 'malformed';
      return null;
    case 'heartbeat':
      if (!nums(f, 'commit', 'match', 'matchTerm', 'round')) return 'malformed';
      return msg.matchTerm > msg.term || msg.commit > msg.match ? 'outOfRange' : null;
    case 'heartbeatResponse':
      return nums(f, 'round', 'lastIndex') && typeof f.holds === 'boolean' ? null : 'malformed';
    case 'entryChunk':
      if (
        !nums(f, 'prevIndex', 'prevTerm', 'commit', 'entryTerm', 'total', 'offset') ||
        typeof f.kind !== 'string' ||
        !KINDS.has(f.kind) ||
        !isBytes(f.data)
      )
        return 'malformed';
      if (msg.entryTerm > msg.term || msg.prevTerm > msg.entryTerm) return 'outOfRange';
      if (msg.offset + msg.data.length > msg.total || msg.prevIndex + 1 > MAX_NUMBER)
        return 'outOfRange';
      return null;
    case 'entryChunkAck':
      return nums(f, 'index', 'entryTerm', 'offset') ? null : 'malformed';
    case 'snapshotChunk': {
      if (!nums(f, 'total', 'offset') || !isBytes(f.data)) return 'malformed';
      const meta = f.meta as Fields | null | undefined;
      if (typeof meta !== 'object' || meta === null || !nums(meta, 'index', 'term'))
        return 'malformed';
      const peers = meta.peers;
      if (!Array.isArray(peers) || peers.length > MAX_PEERS || !peers.every(isId))
        return 'malformed';
      if (msg.meta.term > msg.term || msg.offset + msg.data.length > msg.total) return 'outOfRange';
      return null;
    }
    case 'snapshotAck':
      return nums(f, 'index', 'snapshotTerm', 'offset') ? null : 'malformed';
    case 'readIndex':
      return nums(f, 'id') ? null : 'malformed';
    case 'readIndexResponse':
      return nums(f, 'id', 'index') && typeof f.ok === 'boolean' ? null : 'malformed';
  }
}

function nums(f: Fields, ...names: string[]): boolean {
  return names.every((n) => isNum(f[n]));
}

/** Entries must follow prevIndex one by one, with terms that never go down and never pass the sender's. */
function checkEntries(
  prevIndex: number,
  prevTerm: number,
  term: number,
  entries: unknown[],
): DropReason | null {
  let lastTerm = prevTerm;
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i] as Fields | null | undefined;
    if (typeof e !== 'object' || e === null) return 'malformed';
    if (!nums(e, 'index', 'term') || typeof e.kind !== 'string' || !KINDS.has(e.kind))
      return 'malformed';
    if (!isBytes(e.data)) return 'malformed';
    const et = e.term as number;
    if (e.index !== prevIndex + 1 + i || et < lastTerm || et > term) return 'outOfRange';
    lastTerm = et;
  }
  return null;
}
