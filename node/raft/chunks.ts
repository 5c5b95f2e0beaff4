/**
 * Chunked transfer of a byte string too large for one message (a snapshot, or
 * an entry larger than an append can carry), as in libraft: the sender keeps a
 * window of chunks in flight, the receiver accepts them only in order and
 * acknowledges the contiguous bytes it holds, so a lost datagram costs one
 * chunk's resend (go-back-N after a quiet spell), not the whole transfer.
 */

/** The sending side of one transfer. Offsets are byte offsets into the payload. */
export class ChunkSender {
  /** Bytes the receiver acknowledged. */
  acked = 0;
  /** Next byte to send. */
  sent = 0;
  /** Ms since the last acknowledgement that moved `acked` (or since the start). */
  idleMs = 0;

  constructor(
    readonly total: number,
    /** Payload bytes per chunk. */
    readonly chunkSize: number,
    /** Chunks in flight at most. */
    readonly window: number,
  ) {}

  get done(): boolean {
    return this.acked >= this.total;
  }

  /** The [offset, length] pairs to send now (at least one for an empty payload). */
  take(): Array<[number, number]> {
    const out: Array<[number, number]> = [];
    if (this.total === 0) {
      if (this.sent === 0) {
        out.push([0, 0]);
        this.sent = 1;
      }
      return out;
    }
    const limit = this.acked + this.window * this.chunkSize;
    while (this.sent < this.total && this.sent < limit) {
      const len = Math.min(this.chunkSize, this.total - this.sent);
      out.push([this.sent, len]);
      this.sent += len;
    }
    return out;
  }

  /** The receiver holds `offset` contiguous bytes. Returns true when that is news. */
  ack(offset: number): boolean {
    if (offset <= this.acked) {
      // An ack of 0 after progress means the receiver lost its partial copy.
      if (offset === 0 && this.acked > 0) this.restart();
      return false;
    }
    this.acked = Math.min(offset, this.total);
    if (this.sent < this.acked) this.sent = this.acked;
    this.idleMs = 0;
    return true;
  }

  /** Time passes; after `retransmitMs` without progress, resend from the last ack. */
  tick(ms: number, retransmitMs: number): boolean {
    if (this.done) return false;
    this.idleMs += ms;
    if (this.idleMs < retransmitMs) return false;
    this.idleMs = 0;
    this.sent = this.acked;
    return true;
  }

  restart(): void {
    this.acked = 0;
    this.sent = 0;
    this.idleMs = 0;
  }
}

/** The receiving side: reassembles bytes that arrive in order. */
export class ChunkReceiver {
  readonly buf: Uint8Array;
  received = 0;

  constructor(readonly total: number) {
    this.buf = new Uint8Array(total);
  }

  get complete(): boolean {
    return this.received >= this.total;
  }

  /** Takes the chunk if it is the next one; earlier or later chunks change nothing. */
  accept(offset: number, data: Uint8Array): void {
    if (offset !== this.received || offset + data.length > this.total) return;
    this.buf.set(data, offset);
    this.received += data.length;
  }
}
