/**
 * Docker multiplexes a container's stdout and stderr on one stream when the
 * container has no TTY: frames of [stream(1) 0 0 0 size(4, big endian)] then
 * `size` bytes. This splits that framing back into two streams, across chunk
 * boundaries, without assuming a frame arrives in one piece.
 */
export type StreamKind = 'stdout' | 'stderr';

export class Demuxer {
  private pending: Buffer = Buffer.alloc(0);

  constructor(private readonly onFrame: (kind: StreamKind, data: Buffer) => void) {}

  push(chunk: Buffer): void {
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    let offset = 0;
    while (this.pending.length - offset >= 8) {
      const type = this.pending[offset];
      const size = this.pending.readUInt32BE(offset + 4);
      if (this.pending.length - offset - 8 < size) break;
      const data = this.pending.subarray(offset + 8, offset + 8 + size);
      // 0 is stdin (echoed only with an attached TTY); treat anything unknown as stdout.
      this.onFrame(type === 2 ? 'stderr' : 'stdout', data);
      offset += 8 + size;
    }
    this.pending = this.pending.subarray(offset);
  }

  /** Bytes of an incomplete frame left at the end of the stream. */
  get leftover(): number {
    return this.pending.length;
  }
}

/** Splits a whole multiplexed buffer (e.g. a non-following logs call). */
export function demuxBuffer(buf: Buffer): { stdout: Buffer; stderr: Buffer; combined: Buffer } {
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  const all: Buffer[] = [];
  const d = new Demuxer((kind, data) => {
    (kind === 'stderr' ? err : out).push(data);
    all.push(data);
  });
  d.push(buf);
  return { stdout: Buffer.concat(out), stderr: Buffer.concat(err), combined: Buffer.concat(all) };
}

/** Builds one frame; for tests and for fakes of the engine. */
export function frame(kind: StreamKind, data: Buffer | string): Buffer {
  const body = typeof data === 'string' ? Buffer.from(data) : data;
  const head = Buffer.alloc(8);
  head[0] = kind === 'stderr' ? 2 : 1;
  head.writeUInt32BE(body.length, 4);
  return Buffer.concat([head, body]);
}
