/**
 * The key-value commands: from RESP arguments to a typed request, and the
 * compact bytes a write becomes in a log entry (and in a forwarded write).
 *
 * Size limits are chosen so that the largest command, a CAS with a maximal key
 * and two maximal values plus a session, fits one forwarded datagram of at most
 * 1,200 bytes with the transport's header (see forward.ts and MAX_COMMAND_BYTES).
 */
import { ByteReader, ByteWriter, DecodeError, uvarintSize } from '../util/bytes.js';
import { resp, type RespValue } from './resp.js';

export const MAX_KEY_BYTES = 256;
export const MAX_VALUE_BYTES = 384;

/** A client session for exactly-once writes: the id RAFT.SESSION returned and a sequence number. */
export interface Session {
  readonly id: number;
  readonly seq: number;
}

export type KvCommand =
  | { readonly op: 'get'; readonly key: Buffer }
  | { readonly op: 'set'; readonly key: Buffer; readonly value: Buffer }
  | { readonly op: 'del'; readonly key: Buffer }
  | { readonly op: 'cas'; readonly key: Buffer; readonly expected: Buffer; readonly value: Buffer }
  /** Opens an exactly-once session; its id is the log index of this entry. */
  | { readonly op: 'open-session' };

/** What goes into a log entry: a command and, for exactly-once, its session. */
export interface Proposal {
  readonly command: KvCommand;
  readonly session: Session | null;
}

/**
 * A client request, classified for the server:
 * `reply` is answered at once (PING, ECHO, bad commands), `read` goes through
 * ReadIndex, `write` is proposed (or forwarded) as `encodeProposal(proposal)`.
 */
export type Request =
  | { readonly kind: 'reply'; readonly reply: RespValue }
  | { readonly kind: 'quit' }
  | { readonly kind: 'status' }
  | { readonly kind: 'info'; readonly section: string | null }
  | { readonly kind: 'read'; readonly key: Buffer }
  | { readonly kind: 'write'; readonly proposal: Proposal };

const FORMAT_VERSION = 1;
const OP_CODES = { set: 1, del: 2, cas: 3, get: 4, 'open-session': 5 } as const;
const FLAG_SESSION = 1;

/** Worst-case bytes of encodeProposal: header, session, and a CAS with maximal fields. */
export const MAX_COMMAND_BYTES =
  3 +
  2 * uvarintSize(Number.MAX_SAFE_INTEGER) +
  uvarintSize(MAX_KEY_BYTES) +
  MAX_KEY_BYTES +
  2 * (uvarintSize(MAX_VALUE_BYTES) + MAX_VALUE_BYTES);

function err(message: string): Request {
  return { kind: 'reply', reply: resp.error(`ERR ${message}`) };
}

function arity(name: string): Request {
  return err(`wrong number of arguments for '${name.toLowerCase()}' command`);
}

function quoteArg(b: Buffer): string {
  const s = b.subarray(0, 40).toString('latin1');
  return `'${s.replace(/[^\x20-\x7e]/g, '?')}${b.length > 40 ? '...' : ''}'`;
}

function checkKey(key: Buffer): string | null {
  if (key.length > MAX_KEY_BYTES) {
    return `key too long: ${key.length} bytes, the limit is ${MAX_KEY_BYTES}`;
  }
  return null;
}

function checkValue(value: Buffer, what = 'value'): string | null {
  if (value.length > MAX_VALUE_BYTES) {
    return `${what} too long: ${value.length} bytes, the limit is ${MAX_VALUE_BYTES}`;
  }
  return null;
}

/** A positive integer argument (session id, sequence number), or null. */
function positiveInt(arg: Buffer | undefined): number | null {
  if (arg === undefined || arg.length === 0 || arg.length > 16) return null;
  const s = arg.toString('latin1');
  if (!/^[1-9]\d*$/.test(s)) return null;
  const n = Number(s);
  return Number.isSafeInteger(n) ? n : null;
}

/** A key-value command from its arguments (name first), size limits checked. */
function parseKvCommand(name: string, args: readonly Buffer[]): KvCommand | Request | null {
  const a = (i: number): Buffer => args[i] as Buffer;
  switch (name) {
    case 'GET':
      if (args.length !== 2) return arity(name);
      return { op: 'get', key: a(1) };
    case 'SET':
      if (args.length < 3) return arity(name);
      if (args.length > 3) return err('syntax error: SET takes a key and a value, no options');
      return { op: 'set', key: a(1), value: a(2) };
    case 'DEL':
      if (args.length !== 2) return arity(name);
      return { op: 'del', key: a(1) };
    case 'CAS':
      if (args.length !== 4) return arity(name);
      return { op: 'cas', key: a(1), expected: a(2), value: a(3) };
    default:
      return null;
  }
}

function sizeError(c: KvCommand): string | null {
  if (c.op === 'open-session') return null;
  const k = checkKey(c.key);
  if (k !== null) return k;
  if (c.op === 'set') return checkValue(c.value);
  if (c.op === 'cas') return checkValue(c.expected, 'expected value') ?? checkValue(c.value);
  return null;
}

function isRequest(x: KvCommand | Request): x is Request {
  return 'kind' in x;
}

function toRequest(command: KvCommand, session: Session | null): Request {
  const tooBig = sizeError(command);
  if (tooBig !== null) return err(tooBig);
  if (command.op === 'get') return { kind: 'read', key: command.key };
  return { kind: 'write', proposal: { command, session } };
}

/**
 * Classifies one client command. Never throws: anything it cannot accept is a
 * `reply` with `-ERR`, so nothing is proposed for it.
 */
export function parseRequest(args: readonly Buffer[]): Request {
  const first = args[0];
  if (first === undefined) return err('empty command');
  const name = first.toString('latin1').toUpperCase();
  const kv = parseKvCommand(name, args);
  if (kv !== null) return isRequest(kv) ? kv : toRequest(kv, null);
  switch (name) {
    case 'PING':
      if (args.length > 2) return arity(name);
      return { kind: 'reply', reply: args[1] ? resp.bulk(args[1]) : resp.simple('PONG') };
    case 'ECHO':
      if (args.length !== 2) return arity(name);
      return { kind: 'reply', reply: resp.bulk(args[1] ?? null) };
    case 'QUIT':
      return { kind: 'quit' };
    case 'COMMAND':
      // redis-cli asks for command docs when it starts interactively; none is an answer it accepts.
      return { kind: 'reply', reply: resp.array([]) };
    case 'SELECT':
      if (args.length !== 2) return arity(name);
      return args[1]?.toString('latin1') === '0'
        ? { kind: 'reply', reply: resp.simple('OK') }
        : err('DB index is out of range');
    case 'INFO':
      if (args.length > 2) return err('syntax error');
      return { kind: 'info', section: args[1]?.toString('latin1').toLowerCase() ?? null };
    case 'RAFT.STATUS':
      if (args.length !== 1) return arity(name);
      return { kind: 'status' };
    case 'RAFT.SESSION':
      if (args.length !== 1) return arity(name);
      return { kind: 'write', proposal: { command: { op: 'open-session' }, session: null } };
    case 'RAFT.ONCE':
      return parseOnce(args);
    default: {
      const rest = args.slice(1, 4).map(quoteArg).join(' ');
      return err(
        `unknown command ${quoteArg(first)}` + (rest ? `, with args beginning with: ${rest}` : ''),
      );
    }
  }
}

/** `RAFT.ONCE <session-id> <seq> SET|DEL|CAS ...` (and GET, which has no effect to dedupe). */
function parseOnce(args: readonly Buffer[]): Request {
  if (args.length < 4) {
    return err(
      'RAFT.ONCE takes a session id, a sequence number and a command: RAFT.ONCE id seq SET k v',
    );
  }
  const id = positiveInt(args[1]);
  if (id === null)
    return err(
      `RAFT.ONCE session id must be a positive integer, got ${quoteArg(args[1] as Buffer)}`,
    );
  const seq = positiveInt(args[2]);
  if (seq === null) {
    return err(
      `RAFT.ONCE sequence number must be a positive integer, got ${quoteArg(args[2] as Buffer)}`,
    );
  }
  const inner = args.slice(3);
  const name = (inner[0] as Buffer).toString('latin1').toUpperCase();
  const kv = parseKvCommand(name, inner);
  if (kv === null)
    return err(`RAFT.ONCE applies to SET, DEL, CAS and GET, not ${quoteArg(inner[0] as Buffer)}`);
  return isRequest(kv) ? kv : toRequest(kv, { id, seq });
}

// ---------------------------------------------------------------------------
// Log entry bytes

/**
 * Layout: u8 format version (1), u8 op, u8 flags (bit 0: session), then if a
 * session: uvarint id, uvarint seq; then the op's fields as length-prefixed bytes:
 * set key value · del key · cas key expected value · get key · open-session (none).
 */
export function encodeProposal(p: Proposal): Uint8Array {
  const w = new ByteWriter(64);
  const c = p.command;
  w.u8(FORMAT_VERSION)
    .u8(OP_CODES[c.op])
    .u8(p.session === null ? 0 : FLAG_SESSION);
  if (p.session !== null) w.uvarint(p.session.id).uvarint(p.session.seq);
  switch (c.op) {
    case 'set':
      w.bytes(c.key).bytes(c.value);
      break;
    case 'del':
    case 'get':
      w.bytes(c.key);
      break;
    case 'cas':
      w.bytes(c.key).bytes(c.expected).bytes(c.value);
      break;
    case 'open-session':
      break;
  }
  return w.finish();
}

/** Reads a proposal; a DecodeError for anything encodeProposal would not have written. */
export function decodeProposal(data: Uint8Array): Proposal | DecodeError {
  if (data.length > MAX_COMMAND_BYTES) {
    return new DecodeError(
      `command of ${data.length} bytes over the limit of ${MAX_COMMAND_BYTES}`,
      0,
    );
  }
  const r = new ByteReader(data);
  const version = r.u8();
  if (r.ok && version !== FORMAT_VERSION) r.fail(`unknown command format ${version}`);
  const op = r.u8();
  const flags = r.u8();
  if (r.ok && (flags & ~FLAG_SESSION) !== 0) r.fail(`unknown command flags ${flags}`);
  let session: Session | null = null;
  if ((flags & FLAG_SESSION) !== 0) {
    const id = r.uvarint();
    const seq = r.uvarint();
    if (r.ok && (id === 0 || seq === 0)) r.fail('session id and sequence must be positive');
    session = { id, seq };
  }
  const key = (): Buffer => Buffer.from(r.bytes(MAX_KEY_BYTES));
  const value = (): Buffer => Buffer.from(r.bytes(MAX_VALUE_BYTES));
  let command: KvCommand | null = null;
  switch (op) {
    case OP_CODES.set:
      command = { op: 'set', key: key(), value: value() };
      break;
    case OP_CODES.del:
      command = { op: 'del', key: key() };
      break;
    case OP_CODES.cas:
      command = { op: 'cas', key: key(), expected: value(), value: value() };
      break;
    case OP_CODES.get:
      command = { op: 'get', key: key() };
      break;
    case OP_CODES['open-session']:
      command = { op: 'open-session' };
      if (session !== null) r.fail('open-session cannot carry a session');
      break;
    default:
      r.fail(`unknown command op ${op}`);
  }
  r.expectEnd();
  if (r.error !== null || command === null) return r.error ?? new DecodeError('no command', 0);
  return { command, session };
}

// ---------------------------------------------------------------------------
// Reply bytes (session table in snapshots, forwarded replies)

const REPLY_TAGS = {
  simple: 1,
  error: 2,
  integer: 3,
  'negative-integer': 4,
  bulk: 5,
  nil: 6,
  array: 7,
  'nil-array': 8,
} as const;
/** Error and status text longer than this is cut, so any reply of a command stays small. */
export const MAX_REPLY_TEXT_BYTES = 200;
const MAX_REPLY_DEPTH = 4;
const MAX_REPLY_ITEMS = 64;

function clipText(s: string): string {
  const b = Buffer.from(s, 'utf8');
  if (b.length <= MAX_REPLY_TEXT_BYTES) return s;
  // Cut on a character boundary: drop a partial UTF-8 sequence at the end.
  return new TextDecoder().decode(b.subarray(0, MAX_REPLY_TEXT_BYTES)).replace(/\uFFFD$/, '');
}

export function writeReply(w: ByteWriter, v: RespValue, depth = 0): void {
  switch (v.type) {
    case 'simple':
    case 'error':
      w.u8(REPLY_TAGS[v.type]).string(clipText(v.value));
      return;
    case 'integer':
      if (v.value < 0) w.u8(REPLY_TAGS['negative-integer']).uvarint(-v.value);
      else w.u8(REPLY_TAGS.integer).uvarint(v.value);
      return;
    case 'bulk':
      if (v.value === null) w.u8(REPLY_TAGS.nil);
      else w.u8(REPLY_TAGS.bulk).bytes(v.value);
      return;
    case 'array':
      if (v.value === null) {
        w.u8(REPLY_TAGS['nil-array']);
        return;
      }
      if (depth >= MAX_REPLY_DEPTH || v.value.length > MAX_REPLY_ITEMS) {
        throw new RangeError('reply too large to encode');
      }
      w.u8(REPLY_TAGS.array).uvarint(v.value.length);
      for (const item of v.value) writeReply(w, item, depth + 1);
      return;
  }
}

export function readReply(r: ByteReader, depth = 0): RespValue {
  const tag = r.u8();
  switch (tag) {
    case REPLY_TAGS.simple:
      return resp.simple(r.string(MAX_REPLY_TEXT_BYTES));
    case REPLY_TAGS.error:
      return resp.error(r.string(MAX_REPLY_TEXT_BYTES));
    case REPLY_TAGS.integer:
      return resp.integer(r.uvarint());
    case REPLY_TAGS['negative-integer']: {
      const n = r.uvarint();
      if (r.ok && n === 0) r.fail('negative zero');
      return resp.integer(-n);
    }
    case REPLY_TAGS.bulk:
      return resp.bulk(Buffer.from(r.bytes(MAX_VALUE_BYTES)));
    case REPLY_TAGS.nil:
      return resp.nil();
    case REPLY_TAGS['nil-array']:
      return resp.array(null);
    case REPLY_TAGS.array: {
      const n = r.uvarint();
      if (depth >= MAX_REPLY_DEPTH || n > MAX_REPLY_ITEMS) {
        r.fail('reply array too large');
        return resp.array(null);
      }
      const items: RespValue[] = [];
      for (let i = 0; i < n && r.ok; i++) items.push(readReply(r, depth + 1));
      return resp.array(items);
    }
    default:
      r.fail(`unknown reply tag ${tag}`);
      return resp.nil();
  }
}

/** Worst-case bytes of a reply to one key-value command: a bulk value or a clipped error. */
export const MAX_COMMAND_REPLY_BYTES =
  1 +
  Math.max(
    uvarintSize(MAX_VALUE_BYTES) + MAX_VALUE_BYTES,
    uvarintSize(MAX_REPLY_TEXT_BYTES) + MAX_REPLY_TEXT_BYTES,
  );
