/**
 * Bounds-checked binary encoding shared by the Raft message codec, the transport
 * header, the WAL records and the key-value commands. Readers never throw on bad
 * input from outside: they record a DecodeError that the caller drops and counts.
 */

export class DecodeError extends Error {
  override readonly name = 'DecodeError';
  constructor(
    message: string,
    readonly offset: number,
  ) {
    super(`${message} at byte ${offset}`);
  }
}

const textEncoder = new TextEncoder();
const textDecoder = new TextDecoder('utf-8', { fatal: true });

/** Appends to a growable buffer. Unsigned integers use LEB128 varints. */
export class ByteWriter {
  private buf: Uint8Array;
  private view: DataView;
  private len = 0;

  constructor(initial = 256) {
    this.buf = new Uint8Array(initial);
    this.view = new DataView(this.buf.buffer);
  }

  get length(): number {
    return this.len;
  }

  private ensure(extra: number): void {
    if (this.len + extra <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.len + extra) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }

  u8(v: number): this {
    this.ensure(1);
    this.buf[this.len++] = v & 0xff;
    return this;
  }

  u32(v: number): this {
    this.ensure(4);
    this.view.setUint32(this.len, v >>> 0, false);
    this.len += 4;
    return this;
  }

  /** Unsigned varint for 0 <= v <= Number.MAX_SAFE_INTEGER. */
  uvarint(v: number): this {
    if (!Number.isSafeInteger(v) || v < 0) throw new RangeError(`uvarint out of range: ${v}`);
    this.ensure(8);
    while (v >= 0x80) {
      this.buf[this.len++] = (v % 0x80) | 0x80;
      v = Math.floor(v / 0x80);
    }
    this.buf[this.len++] = v;
    return this;
  }

  bool(v: boolean): this {
    return this.u8(v ? 1 : 0);
  }

  /** Length-prefixed bytes. */
  bytes(v: Uint8Array): this {
    this.uvarint(v.length);
    this.raw(v);
    return this;
  }

  raw(v: Uint8Array): this {
    this.ensure(v.length);
    this.buf.set(v, this.len);
    this.len += v.length;
    return this;
  }

  /** Length-prefixed UTF-8. */
  string(v: string): this {
    return this.bytes(textEncoder.encode(v));
  }

  /** A copy of what was written. */
  finish(): Uint8Array {
    return this.buf.slice(0, this.len);
  }
}

/** Reads what ByteWriter wrote; the first error sticks and later reads return zeros. */
export class ByteReader {
  private pos: number;
  private err: DecodeError | null = null;

  constructor(
    private readonly buf: Uint8Array,
    start = 0,
    private readonly end = buf.length,
  ) {
    this.pos = start;
  }

  get offset(): number {
    return this.pos;
  }

  get remaining(): number {
    return this.end - this.pos;
  }

  get error(): DecodeError | null {
    return this.err;
  }

  get ok(): boolean {
    return this.err === null;
  }

  fail(message: string): void {
    this.err ??= new DecodeError(message, this.pos);
  }

  private need(n: number, what: string): boolean {
    if (this.err !== null) return false;
    if (this.end - this.pos < n) {
      this.fail(`truncated ${what}`);
      return false;
    }
    return true;
  }

  u8(): number {
    if (!this.need(1, 'byte')) return 0;
    return this.buf[this.pos++] ?? 0;
  }

  u32(): number {
    if (!this.need(4, 'u32')) return 0;
    const v =
      ((this.buf[this.pos] ?? 0) * 0x1000000 +
        (((this.buf[this.pos + 1] ?? 0) << 16) |
          ((this.buf[this.pos + 2] ?? 0) << 8) |
          (this.buf[this.pos + 3] ?? 0))) >>>
      0;
    this.pos += 4;
    return v;
  }

  uvarint(): number {
    let result = 0;
    let scale = 1;
    for (let i = 0; i < 8; i++) {
      if (!this.need(1, 'varint')) return 0;
      const b = this.buf[this.pos++] ?? 0;
      result += (b & 0x7f) * scale;
      if (b < 0x80) {
        if (!Number.isSafeInteger(result)) {
          this.fail('varint too large');
          return 0;
        }
        return result;
      }
      scale *= 0x80;
    }
    this.fail('varint too long');
    return 0;
  }

  bool(): boolean {
    const v = this.u8();
    if (v > 1) this.fail('bad boolean');
    return v === 1;
  }

  /** Length-prefixed bytes, at most `max` long. Returns a view, not a copy. */
  bytes(max = Number.MAX_SAFE_INTEGER): Uint8Array {
    const n = this.uvarint();
    if (n > max) {
      this.fail(`length ${n} over the limit of ${max}`);
      return new Uint8Array(0);
    }
    return this.raw(n);
  }

  raw(n: number): Uint8Array {
    if (!this.need(n, 'bytes')) return new Uint8Array(0);
    const v = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return v;
  }

  string(max = 65_536): string {
    const b = this.bytes(max);
    if (this.err !== null) return '';
    try {
      return textDecoder.decode(b);
    } catch {
      this.fail('invalid UTF-8');
      return '';
    }
  }

  /** Fails unless everything was consumed; call at the end of a message. */
  expectEnd(): void {
    if (this.err === null && this.pos !== this.end)
      this.fail(`${this.end - this.pos} trailing bytes`);
  }
}

/** Bytes a uvarint of v takes, for size budgets computed without encoding. */
export function uvarintSize(v: number): number {
  let n = 1;
  while (v >= 0x80) {
    v = Math.floor(v / 0x80);
    n++;
  }
  return n;
}

export function utf8(s: string): Uint8Array {
  return textEncoder.encode(s);
}

export function fromUtf8(b: Uint8Array): string {
  return new TextDecoder().decode(b);
}
