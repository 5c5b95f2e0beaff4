/**
 * RESP2, the Redis protocol: a streaming parser for what clients send (arrays of
 * bulk strings, and inline commands as typed into telnet), a streaming parser for
 * what servers answer (used by the client), and the serializer for both.
 *
 * Parsers never throw on input: garbage ends in a RespProtocolError whose message
 * is what Redis itself would answer (`-ERR Protocol error: ...`) before closing.
 */

/** A reply or any other RESP2 value. `null` bulk and array values are RESP's nil. */
export type RespValue =
  | { readonly type: 'simple'; readonly value: string }
  | { readonly type: 'error'; readonly value: string }
  | { readonly type: 'integer'; readonly value: number }
  | { readonly type: 'bulk'; readonly value: Uint8Array | null }
  | { readonly type: 'array'; readonly value: readonly RespValue[] | null };

/** Builders for replies, so handlers read `resp.simple('OK')`. */
export const resp = {
  simple: (value: string): RespValue => ({ type: 'simple', value }),
  error: (value: string): RespValue => ({ type: 'error', value }),
  integer: (value: number): RespValue => ({ type: 'integer', value }),
  bulk: (value: Uint8Array | string | null): RespValue => ({
    type: 'bulk',
    value: typeof value === 'string' ? Buffer.from(value, 'utf8') : value,
  }),
  nil: (): RespValue => ({ type: 'bulk', value: null }),
  array: (value: readonly RespValue[] | null): RespValue => ({ type: 'array', value }),
} as const;

/** One command as the client sent it: its arguments, the command name first. */
export type RespCommand = Buffer[];

export interface RespLimits {
  /** Longest bulk string accepted (Redis: proto-max-bulk-len). */
  readonly maxBulkBytes: number;
  /** Most elements in one command array. */
  readonly maxArrayLength: number;
  /** Longest inline command line. */
  readonly maxInlineBytes: number;
  /** Most bytes of arguments in one command, whatever their number. */
  readonly maxCommandBytes: number;
}

/**
 * Generous next to the key-value limits (commands.ts refuses large keys and values
 * with a plain -ERR), small enough that one connection cannot hold much memory.
 */
export const DEFAULT_RESP_LIMITS: RespLimits = {
  maxBulkBytes: 64 * 1024,
  maxArrayLength: 1024,
  maxInlineBytes: 64 * 1024,
  maxCommandBytes: 1024 * 1024,
};

/** What a server answers with `-ERR ${message}` before it closes the connection. */
export class RespProtocolError extends Error {
  override readonly name = 'RespProtocolError';
  constructor(
    readonly reason: string,
    /** Bytes consumed from the stream before the error, for logs. */
    readonly offset: number,
  ) {
    super(`Protocol error: ${reason}`);
  }
}

export interface ParseResult<T> {
  readonly items: T[];
  /** Set once the stream is broken; later pushes return it again and nothing else. */
  readonly error: RespProtocolError | null;
}

const CR = 0x0d;
const LF = 0x0a;
/** `$` or `*` plus up to 20 digits and a sign fit easily; Redis allows more but means the same. */
const MAX_COUNT_LINE = 32;

/**
 * Bytes received and not yet parsed, in one growable buffer so that a command
 * arriving a byte at a time costs linear, not quadratic, copying.
 */
class ByteQueue {
  buf: Buffer = Buffer.alloc(0);
  start = 0;
  end = 0;
  /** Total bytes ever consumed, for error offsets. */
  consumed = 0;

  get length(): number {
    return this.end - this.start;
  }

  append(chunk: Uint8Array): void {
    if (chunk.length === 0) return;
    const live = this.end - this.start;
    if (this.end + chunk.length > this.buf.length) {
      let cap = Math.max(4096, this.buf.length);
      while (cap < live + chunk.length) cap *= 2;
      if (cap === this.buf.length) {
        this.buf.copyWithin(0, this.start, this.end);
      } else {
        const next = Buffer.allocUnsafe(cap);
        this.buf.copy(next, 0, this.start, this.end);
        this.buf = next;
      }
      this.start = 0;
      this.end = live;
    }
    this.buf.set(chunk, this.end);
    this.end += chunk.length;
  }

  byteAt(i: number): number {
    return this.buf[this.start + i] ?? 0;
  }

  /** Offset (relative to start) of the first LF at or after `from`, or -1. */
  indexOfLf(from: number): number {
    const i = this.buf.indexOf(LF, this.start + from);
    return i === -1 || i >= this.end ? -1 : i - this.start;
  }

  /** A copy, since the buffer is reused. */
  copy(from: number, to: number): Buffer {
    return Buffer.from(this.buf.subarray(this.start + from, this.start + to));
  }

  view(from: number, to: number): Buffer {
    return this.buf.subarray(this.start + from, this.start + to);
  }

  consume(n: number): void {
    this.start += n;
    this.consumed += n;
    if (this.start === this.end) {
      this.start = 0;
      this.end = 0;
      // A big command is gone; an idle connection should not keep its buffer.
      if (this.buf.length > 64 * 1024) this.buf = Buffer.alloc(0);
    }
  }
}

/** Redis's string2ll: an optional minus, then digits, nothing else, within 64 bits. */
function parseCount(line: Buffer | string): number | null {
  // A reply line is already text: re-encoding it would turn some non-ASCII
  // characters into digits.
  const s = typeof line === 'string' ? line : line.toString('latin1');
  if (!/^-?\d{1,18}$/.test(s)) return null;
  const n = Number(s);
  return Number.isSafeInteger(n) ? n : null;
}

/**
 * Parses what clients send: `*N\r\n` followed by N `$len\r\n<bytes>\r\n`, or an
 * inline line. Feed it chunks as they arrive; it returns every command completed
 * so far, in order, and keeps the rest for the next chunk.
 */
export class RespCommandParser {
  private readonly q = new ByteQueue();
  private readonly limits: RespLimits;
  private failed: RespProtocolError | null = null;
  /** Inside a command array: the arguments read so far and how many remain. */
  private args: Buffer[] | null = null;
  private remaining = 0;
  private argBytes = 0;
  /** How far the current line was already searched for LF. */
  private scanned = 0;

  constructor(limits: Partial<RespLimits> = {}) {
    this.limits = { ...DEFAULT_RESP_LIMITS, ...limits };
  }

  get error(): RespProtocolError | null {
    return this.failed;
  }

  /** Bytes held for a command not yet complete. */
  get buffered(): number {
    return this.q.length;
  }

  push(chunk: Uint8Array): ParseResult<RespCommand> {
    const items: RespCommand[] = [];
    if (this.failed !== null) return { items, error: this.failed };
    this.q.append(chunk);
    for (;;) {
      const step = this.args === null ? this.startCommand() : this.continueArray();
      if (step === 'more') break;
      if (step instanceof RespProtocolError) {
        this.failed = step;
        this.args = null;
        break;
      }
      if (step !== 'skip') items.push(step);
    }
    return { items, error: this.failed };
  }

  private fail(reason: string): RespProtocolError {
    return new RespProtocolError(reason, this.q.consumed);
  }

  /** The next line (without CRLF or LF) or null when it has not fully arrived. */
  private line(): { content: Buffer; next: number } | null {
    const lf = this.q.indexOfLf(this.scanned);
    if (lf === -1) {
      this.scanned = this.q.length;
      return null;
    }
    this.scanned = 0;
    const end = lf > 0 && this.q.byteAt(lf - 1) === CR ? lf - 1 : lf;
    return { content: this.q.view(0, end), next: lf + 1 };
  }

  private startCommand(): RespCommand | 'more' | 'skip' | RespProtocolError {
    if (this.q.length === 0) return 'more';
    if (this.q.byteAt(0) !== 0x2a /* '*' */) return this.inline();
    const line = this.line();
    if (line === null) {
      return this.q.length > MAX_COUNT_LINE ? this.fail('too big mbulk count string') : 'more';
    }
    if (line.content.length + 2 !== line.next) return this.fail('invalid multibulk length');
    const n = parseCount(line.content.subarray(1));
    if (n === null || n > this.limits.maxArrayLength) return this.fail('invalid multibulk length');
    this.q.consume(line.next);
    if (n <= 0) return 'skip';
    this.args = [];
    this.remaining = n;
    this.argBytes = 0;
    return this.continueArray();
  }

  private continueArray(): RespCommand | 'more' | RespProtocolError {
    const args = this.args ?? [];
    while (this.remaining > 0) {
      if (this.q.length === 0) return 'more';
      const first = this.q.byteAt(0);
      if (first !== 0x24 /* '$' */) {
        return this.fail(`expected '$', got '${printable(first)}'`);
      }
      const line = this.line();
      if (line === null) {
        return this.q.length > MAX_COUNT_LINE ? this.fail('too big bulk count string') : 'more';
      }
      if (line.content.length + 2 !== line.next) return this.fail('invalid bulk length');
      const n = parseCount(line.content.subarray(1));
      if (n === null || n < 0 || n > this.limits.maxBulkBytes) {
        return this.fail('invalid bulk length');
      }
      if (this.argBytes + n > this.limits.maxCommandBytes) return this.fail('command too large');
      // Wait for the whole bulk and its CRLF before consuming its length line.
      const need = line.next + n + 2;
      if (this.q.length < need) {
        this.scanned = 0;
        return 'more';
      }
      if (this.q.byteAt(need - 2) !== CR || this.q.byteAt(need - 1) !== LF) {
        return this.fail('expected CRLF after bulk string');
      }
      args.push(this.q.copy(line.next, line.next + n));
      this.argBytes += n;
      this.q.consume(need);
      this.remaining--;
    }
    this.args = null;
    return args;
  }

  private inline(): RespCommand | 'more' | 'skip' | RespProtocolError {
    const line = this.line();
    if (line === null) {
      return this.q.length > this.limits.maxInlineBytes
        ? this.fail('too big inline request')
        : 'more';
    }
    if (line.content.length > this.limits.maxInlineBytes)
      return this.fail('too big inline request');
    const args = splitInline(line.content);
    if (args === null) return this.fail('unbalanced quotes in request');
    if (args.length > this.limits.maxArrayLength) return this.fail('invalid multibulk length');
    this.q.consume(line.next);
    // An empty line is a keepalive in Redis: no command, no reply.
    return args.length === 0 ? 'skip' : args;
  }
}

function printable(byte: number): string {
  return byte >= 0x20 && byte < 0x7f ? String.fromCharCode(byte) : `\\x${hex2(byte)}`;
}

function hex2(byte: number): string {
  return byte.toString(16).padStart(2, '0');
}

function isSpace(b: number): boolean {
  return b === 0x20 || b === 0x09 || b === 0x0a || b === 0x0b || b === 0x0c || b === 0x0d;
}

function hexValue(b: number): number {
  if (b >= 0x30 && b <= 0x39) return b - 0x30;
  if (b >= 0x61 && b <= 0x66) return b - 0x61 + 10;
  if (b >= 0x41 && b <= 0x46) return b - 0x41 + 10;
  return -1;
}

const ESCAPES: Readonly<Record<number, number>> = {
  0x6e: 0x0a, // \n
  0x72: 0x0d, // \r
  0x74: 0x09, // \t
  0x62: 0x08, // \b
  0x61: 0x07, // \a
};

/**
 * Splits an inline command line as Redis's sdssplitargs does: words separated by
 * spaces, "double quotes" with \n \r \t \b \a \\ \" and \xHH escapes, 'single
 * quotes' with \' only. Returns null on an unbalanced quote or a closing quote
 * not followed by a space.
 */
export function splitInline(line: Uint8Array): Buffer[] | null {
  const args: Buffer[] = [];
  let i = 0;
  const n = line.length;
  for (;;) {
    while (i < n && isSpace(line[i] ?? 0)) i++;
    if (i >= n) return args;
    const out: number[] = [];
    const quote = line[i];
    if (quote === 0x22 /* " */ || quote === 0x27 /* ' */) {
      i++;
      let closed = false;
      while (i < n) {
        const c = line[i] ?? 0;
        if (quote === 0x22 && c === 0x5c /* \ */ && i + 1 < n) {
          const e = line[i + 1] ?? 0;
          const h1 = hexValue(line[i + 2] ?? 0xff);
          const h2 = hexValue(line[i + 3] ?? 0xff);
          if (e === 0x78 /* x */ && i + 3 < n && h1 >= 0 && h2 >= 0) {
            out.push(h1 * 16 + h2);
            i += 4;
          } else {
            out.push(ESCAPES[e] ?? e);
            i += 2;
          }
        } else if (quote === 0x27 && c === 0x5c && line[i + 1] === 0x27) {
          out.push(0x27);
          i += 2;
        } else if (c === quote) {
          i++;
          if (i < n && !isSpace(line[i] ?? 0)) return null;
          closed = true;
          break;
        } else {
          out.push(c);
          i++;
        }
      }
      if (!closed) return null;
    } else {
      while (i < n && !isSpace(line[i] ?? 0)) out.push(line[i++] ?? 0);
    }
    args.push(Buffer.from(out));
  }
}

// ---------------------------------------------------------------------------
// Serializer

/** Simple strings and errors are one line; a CR or LF inside would end the reply early. */
function oneLine(s: string): string {
  return s.replace(/[\r\n]+/g, ' ');
}

function encodeInto(v: RespValue, parts: Buffer[]): void {
  switch (v.type) {
    case 'simple':
      parts.push(Buffer.from(`+${oneLine(v.value)}\r\n`, 'utf8'));
      return;
    case 'error':
      parts.push(Buffer.from(`-${oneLine(v.value)}\r\n`, 'utf8'));
      return;
    case 'integer':
      parts.push(Buffer.from(`:${Math.trunc(v.value)}\r\n`, 'latin1'));
      return;
    case 'bulk':
      if (v.value === null) {
        parts.push(Buffer.from('$-1\r\n', 'latin1'));
        return;
      }
      parts.push(
        Buffer.from(`$${v.value.length}\r\n`, 'latin1'),
        Buffer.from(v.value.buffer, v.value.byteOffset, v.value.length),
        CRLF,
      );
      return;
    case 'array':
      if (v.value === null) {
        parts.push(Buffer.from('*-1\r\n', 'latin1'));
        return;
      }
      parts.push(Buffer.from(`*${v.value.length}\r\n`, 'latin1'));
      for (const item of v.value) encodeInto(item, parts);
      return;
  }
}

const CRLF = Buffer.from('\r\n', 'latin1');

/** The wire bytes of one value. */
export function encodeValue(v: RespValue): Buffer {
  const parts: Buffer[] = [];
  encodeInto(v, parts);
  return parts.length === 1 ? (parts[0] as Buffer) : Buffer.concat(parts);
}

/** The wire bytes of several values back to back (a pipeline of replies or commands). */
export function encodeValues(vs: readonly RespValue[]): Buffer {
  const parts: Buffer[] = [];
  for (const v of vs) encodeInto(v, parts);
  return Buffer.concat(parts);
}

/** A command as clients send it: an array of bulk strings. */
export function encodeCommand(args: readonly (string | Uint8Array)[]): Buffer {
  return encodeValue(resp.array(args.map((a) => resp.bulk(a))));
}

/** A RESP value as text for messages and test failures: `+OK`, `:1`, `"v"`, `(nil)`. */
export function formatValue(v: RespValue): string {
  switch (v.type) {
    case 'simple':
      return `+${v.value}`;
    case 'error':
      return `-${v.value}`;
    case 'integer':
      return `:${v.value}`;
    case 'bulk':
      return v.value === null ? '(nil)' : JSON.stringify(Buffer.from(v.value).toString('utf8'));
    case 'array':
      return v.value === null ? '(nil array)' : `[${v.value.map(formatValue).join(', ')}]`;
  }
}

// ---------------------------------------------------------------------------
// Reply parser (what a client reads)

export interface ReplyLimits {
  readonly maxBulkBytes: number;
  readonly maxArrayLength: number;
  readonly maxLineBytes: number;
  readonly maxDepth: number;
}

export const DEFAULT_REPLY_LIMITS: ReplyLimits = {
  maxBulkBytes: 16 * 1024 * 1024,
  maxArrayLength: 1024 * 1024,
  maxLineBytes: 64 * 1024,
  maxDepth: 32,
};

type Parsed = { value: RespValue; next: number } | 'more' | RespProtocolError;

/**
 * Parses what a server sends. An incomplete value is parsed again from its
 * start when more bytes arrive; replies here are small and a bulk's body is
 * never scanned, so that costs little.
 */
export class RespReplyParser {
  private readonly q = new ByteQueue();
  private readonly limits: ReplyLimits;
  private failed: RespProtocolError | null = null;

  constructor(limits: Partial<ReplyLimits> = {}) {
    this.limits = { ...DEFAULT_REPLY_LIMITS, ...limits };
  }

  get error(): RespProtocolError | null {
    return this.failed;
  }

  push(chunk: Uint8Array): ParseResult<RespValue> {
    const items: RespValue[] = [];
    if (this.failed !== null) return { items, error: this.failed };
    this.q.append(chunk);
    while (this.q.length > 0) {
      const r = this.parseAt(0, 0);
      if (r === 'more') break;
      if (r instanceof RespProtocolError) {
        this.failed = r;
        break;
      }
      items.push(r.value);
      this.q.consume(r.next);
    }
    return { items, error: this.failed };
  }

  private fail(reason: string, at: number): RespProtocolError {
    return new RespProtocolError(reason, this.q.consumed + at);
  }

  private lineAt(at: number): { text: string; next: number } | 'more' | RespProtocolError {
    const lf = this.q.indexOfLf(at);
    if (lf === -1) {
      return this.q.length - at > this.limits.maxLineBytes
        ? this.fail('line too long', at)
        : 'more';
    }
    if (lf === at || this.q.byteAt(lf - 1) !== CR) return this.fail('expected CRLF', lf);
    return { text: this.q.view(at + 1, lf - 1).toString('utf8'), next: lf + 1 };
  }

  private parseAt(at: number, depth: number): Parsed {
    if (at >= this.q.length) return 'more';
    const type = this.q.byteAt(at);
    const line = this.lineAt(at);
    if (line === 'more' || line instanceof RespProtocolError) return line;
    switch (type) {
      case 0x2b /* + */:
        return { value: resp.simple(line.text), next: line.next };
      case 0x2d /* - */:
        return { value: resp.error(line.text), next: line.next };
      case 0x3a /* : */: {
        const n = parseCount(line.text);
        if (n === null) return this.fail(`bad integer '${line.text.slice(0, 40)}'`, at);
        return { value: resp.integer(n), next: line.next };
      }
      case 0x24 /* $ */: {
        const n = parseCount(line.text);
        if (n === null || n < -1 || n > this.limits.maxBulkBytes) {
          return this.fail('invalid bulk length', at);
        }
        if (n === -1) return { value: resp.nil(), next: line.next };
        const end = line.next + n;
        if (this.q.length < end + 2) return 'more';
        if (this.q.byteAt(end) !== CR || this.q.byteAt(end + 1) !== LF) {
          return this.fail('expected CRLF after bulk string', end);
        }
        return { value: resp.bulk(this.q.copy(line.next, end)), next: end + 2 };
      }
      case 0x2a /* * */: {
        const n = parseCount(line.text);
        if (n === null || n < -1 || n > this.limits.maxArrayLength) {
          return this.fail('invalid multibulk length', at);
        }
        if (n === -1) return { value: resp.array(null), next: line.next };
        if (depth >= this.limits.maxDepth) return this.fail('arrays nested too deep', at);
        const items: RespValue[] = [];
        let next = line.next;
        for (let i = 0; i < n; i++) {
          const r = this.parseAt(next, depth + 1);
          if (r === 'more' || r instanceof RespProtocolError) return r;
          items.push(r.value);
          next = r.next;
        }
        return { value: resp.array(items), next };
      }
      default:
        return this.fail(`unknown reply type '${printable(type)}'`, at);
    }
  }
}
