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

  private dupAcks = 0;
  /**
   * One rewind per loss: set when we go back to resend, cleared when the ack
   * moves forward or the retransmit timer fires. Without it, every late or
   * repeated ack would resend a window, each resent chunk would bring back an
   * ack, and the transfer would snowball.
   */
  private rewound = false;

  /**
   * The receiver holds `offset` contiguous bytes. A repeated ack while later
   * chunks are out means one went missing: resend from there at once. A lower
   * ack means the receiver holds less than before (it restarted, or started
   * over on a late chunk): go on from what it holds.
   */
  ack(offset: number): void {
    if (offset > this.acked) {
      this.acked = Math.min(offset, this.total);
      if (this.sent < this.acked) this.sent = this.acked;
      this.idleMs = 0;
      this.dupAcks = 0;
      this.rewound = false;
      return;
    }
    if (this.rewound) return;
    if (offset < this.acked) {
      this.rewind(offset);
    } else if (this.sent > this.acked && ++this.dupAcks >= 2) {
      this.rewind(offset);
    }
  }

  private rewind(offset: number): void {
    this.acked = offset;
    this.sent = offset;
    this.dupAcks = 0;
    this.rewound = true;
  }

  /** Time passes; after `retransmitMs` without progress, resend from the last ack. */
  tick(ms: number, retransmitMs: number): boolean {
    if (this.done) return false;
    this.idleMs += ms;
    if (this.idleMs < retransmitMs) return false;
    this.idleMs = 0;
    this.sent = this.acked;
    this.rewound = false;
    return true;
  }

  restart(): void {
    this.acked = 0;
    this.sent = 0;
    this.idleMs = 0;
    this.dupAcks = 0;
    this.rewound = false;
  }
}

/** Bytes past the contiguous prefix a receiver holds on to (reordered chunks). */
export const AHEAD_LIMIT = 64 * 1024;

/**
 * The receiving side: reassembles chunks, holding ones that arrive early (up
 * to AHEAD_LIMIT bytes ahead) so reordering costs no resend. Memory grows with
 * what actually arrived, never with the length a message claims.
 */
export class ChunkReceiver {
  private buf = new Uint8Array(0);
  /** Contiguous bytes held from offset 0. */
  received = 0;
  private ahead = new Map<number, Uint8Array>();
  private aheadBytes = 0;

  constructor(readonly total: number) {}

  get complete(): boolean {
    return this.received >= this.total;
  }

  /** The reassembled payload (complete only when `complete`). */
  bytes(): Uint8Array {
    return this.buf.length === this.total ? this.buf : this.buf.slice(0, this.total);
  }

  accept(offset: number, data: Uint8Array): void {
    const end = offset + data.length;
    if (end > this.total) return;
    if (offset > this.received) {
      if (end - this.received > AHEAD_LIMIT || this.ahead.has(offset)) return;
      this.ahead.set(offset, data.slice());
      this.aheadBytes += data.length;
      return;
    }
    this.extend(offset, data);
    // Chunks held ahead may now continue the prefix.
    for (let moved = true; moved && this.ahead.size > 0;) {
      moved = false;
      for (const [off, chunk] of this.ahead) {
        if (off > this.received) continue;
        this.ahead.delete(off);
        this.aheadBytes -= chunk.length;
        this.extend(off, chunk);
        moved = true;
      }
    }
  }

  private extend(offset: number, data: Uint8Array): void {
    const end = offset + data.length;
    if (end <= this.received) return;
    if (end > this.buf.length) {
      let size = Math.max(this.buf.length * 2, 1024);
      while (size < end) size *= 2;
      const next = new Uint8Array(Math.min(size, this.total));
      next.set(this.buf.subarray(0, this.received));
      this.buf = next;
    }
    this.buf.set(data.subarray(this.received - offset), this.received);
    this.received = end;
  }
}
