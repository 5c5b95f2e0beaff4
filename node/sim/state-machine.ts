/**
 * The simulated state machine: a running 32-bit digest of every command
 * applied, so two nodes that applied different entries at an index end up with
 * different digests there. Its snapshot is the (index, digest) pair padded with
 * filler bytes, so snapshots span several chunks.
 */
import { ByteReader, ByteWriter } from '../util/bytes.js';
import type { Entry } from '../raft/types.js';

export function hashBytes(data: Uint8Array, seed = 0x811c9dc5): number {
  let h = seed >>> 0;
  for (let i = 0; i < data.length; i++) {
    h ^= data[i] ?? 0;
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** An entry's identity: its term, kind and data. */
export function entryHash(e: Entry): number {
  const k = e.kind === 'command' ? 1 : e.kind === 'config' ? 2 : 3;
  return hashBytes(e.data, Math.imul(e.term ^ (k << 24), 0x9e3779b1) >>> 0);
}

export class SimStateMachine {
  index = 0;
  digest = 0;

  apply(e: Entry): void {
    this.index = e.index;
    this.digest = (Math.imul(this.digest ^ entryHash(e), 0x85ebca6b) + e.index) >>> 0;
  }

  /** Snapshot bytes: index, digest, then `padding` filler bytes. */
  snapshot(padding: number): Uint8Array {
    const w = new ByteWriter(padding + 16);
    w.uvarint(this.index)
      .u32(this.digest)
      .bytes(new Uint8Array(padding).fill(this.digest & 0xff));
    return w.finish();
  }

  /** Restores from snapshot bytes; false when they are not what snapshot() wrote. */
  restore(data: Uint8Array): boolean {
    const r = new ByteReader(data);
    const index = r.uvarint();
    const digest = r.u32();
    r.bytes();
    r.expectEnd();
    if (!r.ok) return false;
    this.index = index;
    this.digest = digest;
    return true;
  }
}
