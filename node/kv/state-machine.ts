/**
 * The replicated key-value state: keys and values, and the table of exactly-once
 * sessions. Everything here is a pure function of the applied entries and their
 * log indexes, never of a clock or of the local node, so every replica, and a
 * replica rebuilt from a snapshot, gives the same replies and the same state.
 */
import { crc32 } from 'node:zlib';
import { ByteReader, ByteWriter, DecodeError } from '../util/bytes.js';
import {
  MAX_KEY_BYTES,
  MAX_VALUE_BYTES,
  decodeProposal,
  readReply,
  writeReply,
  type KvCommand,
} from './commands.js';
import { resp, type RespValue } from './resp.js';

export interface KvStateMachineOptions {
  /**
   * A session not used for this many log indexes is dropped when the next entry
   * is applied. Part of the replicated semantics: every replica must use the
   * same value (the node uses the default).
   */
  readonly sessionTtlEntries?: number;
  /** Most sessions kept; opening one more drops the least recently used. Same rule. */
  readonly maxSessions?: number;
}

export const DEFAULT_SESSION_TTL_ENTRIES = 100_000;
export const DEFAULT_MAX_SESSIONS = 10_000;

interface SessionEntry {
  /** Highest sequence number applied; 0 before the first. */
  seq: number;
  /** The reply to `seq`, given again to a duplicate. */
  reply: RespValue | null;
  /** Log index of the last entry that used the session. */
  lastUsed: number;
}

const SNAPSHOT_VERSION = 1;

const OK = resp.simple('OK');
const ONE = resp.integer(1);
const ZERO = resp.integer(0);

/** Keys are binary; latin1 maps each byte to one UTF-16 unit, so this is lossless. */
function keyString(key: Uint8Array): string {
  return Buffer.from(key.buffer, key.byteOffset, key.length).toString('latin1');
}

export class KvStateMachine {
  private readonly data = new Map<string, Buffer>();
  /** In least-recently-used order: a use moves a session to the end. */
  private readonly sessions = new Map<number, SessionEntry>();
  private applied = 0;
  private readonly ttl: number;
  private readonly maxSessions: number;

  constructor(options: KvStateMachineOptions = {}) {
    this.ttl = options.sessionTtlEntries ?? DEFAULT_SESSION_TTL_ENTRIES;
    this.maxSessions = options.maxSessions ?? DEFAULT_MAX_SESSIONS;
    if (!(this.ttl >= 1) || !(this.maxSessions >= 1)) {
      throw new RangeError('sessionTtlEntries and maxSessions must be at least 1');
    }
  }

  /** Index of the last entry applied (or covered by the restored snapshot). */
  get lastApplied(): number {
    return this.applied;
  }

  get keyCount(): number {
    return this.data.size;
  }

  get sessionCount(): number {
    return this.sessions.size;
  }

  /** The current value of a key, for reads served after ReadIndex. */
  read(key: Uint8Array): Buffer | null {
    return this.data.get(keyString(key)) ?? null;
  }

  /**
   * Applies the command entry at `index` and returns the reply for its client.
   * Indexes must increase (gaps are fine: noop and config entries are not passed
   * here). Bytes that do not decode get an `-ERR` reply on every replica alike.
   */
  apply(index: number, bytes: Uint8Array): RespValue {
    if (!Number.isSafeInteger(index) || index <= this.applied) {
      throw new RangeError(
        `apply(${index}) after index ${this.applied}: entries must be applied once, in order`,
      );
    }
    this.applied = index;
    this.expireSessions(index);
    const p = decodeProposal(bytes);
    if (p instanceof DecodeError)
      return resp.error(`ERR undecodable command at index ${index}: ${p.message}`);
    if (p.command.op === 'open-session') return this.openSession(index);
    if (p.session === null || p.command.op === 'get') return this.execute(p.command);

    const { id, seq } = p.session;
    const s = this.sessions.get(id);
    if (s === undefined) {
      return resp.error(
        `ERR no session ${id} (expired or never opened): open one with RAFT.SESSION`,
      );
    }
    this.touch(id, s, index);
    if (seq === s.seq && s.reply !== null) return s.reply;
    if (seq <= s.seq) {
      return resp.error(
        `ERR stale sequence number ${seq} for session ${id}: ${s.seq} was applied already`,
      );
    }
    const reply = this.execute(p.command);
    s.seq = seq;
    s.reply = reply;
    return reply;
  }

  private execute(c: Exclude<KvCommand, { op: 'open-session' }>): RespValue {
    const k = keyString(c.key);
    switch (c.op) {
      case 'get':
        return resp.bulk(this.data.get(k) ?? null);
      case 'set':
        this.data.set(k, c.value);
        return OK;
      case 'del':
        return this.data.delete(k) ? ONE : ZERO;
      case 'cas': {
        // An absent key never matches, whatever the expected value.
        const current = this.data.get(k);
        if (current === undefined || !current.equals(c.expected)) return ZERO;
        this.data.set(k, c.value);
        return ONE;
      }
    }
  }

  private openSession(index: number): RespValue {
    this.sessions.set(index, { seq: 0, reply: null, lastUsed: index });
    while (this.sessions.size > this.maxSessions) {
      const oldest = this.sessions.keys().next();
      if (oldest.done === true) break;
      this.sessions.delete(oldest.value);
    }
    return resp.integer(index);
  }

  private touch(id: number, s: SessionEntry, index: number): void {
    s.lastUsed = index;
    this.sessions.delete(id);
    this.sessions.set(id, s);
  }

  private expireSessions(index: number): void {
    for (const [id, s] of this.sessions) {
      if (s.lastUsed + this.ttl >= index) break;
      this.sessions.delete(id);
    }
  }

  /**
   * Layout: u8 version, uvarint last applied index, uvarint key count, then per
   * key: bytes key, bytes value; uvarint session count, then per session in
   * least-recently-used order: uvarint id, uvarint seq, uvarint last used,
   * bool has reply, [reply]; finally u32 CRC-32 of everything before it.
   */
  snapshot(): Uint8Array {
    const w = new ByteWriter(1024);
    w.u8(SNAPSHOT_VERSION).uvarint(this.applied).uvarint(this.data.size);
    for (const [k, v] of this.data) w.bytes(Buffer.from(k, 'latin1')).bytes(v);
    w.uvarint(this.sessions.size);
    for (const [id, s] of this.sessions) {
      w.uvarint(id)
        .uvarint(s.seq)
        .uvarint(s.lastUsed)
        .bool(s.reply !== null);
      if (s.reply !== null) writeReply(w, s.reply);
    }
    const body = w.finish();
    const out = new Uint8Array(body.length + 4);
    out.set(body);
    new DataView(out.buffer).setUint32(body.length, crc32(body), false);
    return out;
  }

  /**
   * Replaces the whole state with a snapshot's. Throws a DecodeError, leaving
   * the state as it was, when the bytes are not a snapshot this code wrote.
   */
  restore(bytes: Uint8Array): void {
    if (bytes.length < 5) throw new DecodeError('snapshot too short', 0);
    const body = bytes.subarray(0, bytes.length - 4);
    const stored = new DataView(bytes.buffer, bytes.byteOffset + body.length, 4).getUint32(
      0,
      false,
    );
    if (crc32(body) !== stored) throw new DecodeError('snapshot checksum mismatch', body.length);
    const r = new ByteReader(body);
    const version = r.u8();
    if (r.ok && version !== SNAPSHOT_VERSION) r.fail(`unknown snapshot version ${version}`);
    const applied = r.uvarint();
    const data = new Map<string, Buffer>();
    const keys = r.uvarint();
    for (let i = 0; i < keys && r.ok; i++) {
      const k = keyString(r.bytes(MAX_KEY_BYTES));
      data.set(k, Buffer.from(r.bytes(MAX_VALUE_BYTES)));
    }
    if (r.ok && data.size !== keys) r.fail('duplicate key in snapshot');
    const sessions = new Map<number, SessionEntry>();
    const count = r.uvarint();
    let previousUse = 0;
    for (let i = 0; i < count && r.ok; i++) {
      const id = r.uvarint();
      const seq = r.uvarint();
      const lastUsed = r.uvarint();
      const reply = r.bool() ? readReply(r) : null;
      if (
        r.ok &&
        (lastUsed < previousUse || lastUsed > applied || id > lastUsed || sessions.has(id))
      ) {
        r.fail('session table out of order');
      }
      previousUse = lastUsed;
      sessions.set(id, { seq, reply, lastUsed });
    }
    r.expectEnd();
    if (r.error !== null) throw r.error;
    this.data.clear();
    for (const [k, v] of data) this.data.set(k, v);
    this.sessions.clear();
    for (const [id, s] of sessions) this.sessions.set(id, s);
    this.applied = applied;
  }
}
