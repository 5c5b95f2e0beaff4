/**
 * The cluster configuration as the data of a `config` log entry: the list of
 * voting members. A fresh cluster's first leader writes one, so the membership
 * is in the log (and in every snapshot's meta) from the start, and changing it
 * later is appending another.
 */
import { ByteReader, ByteWriter, DecodeError } from '../util/bytes.js';
import { MAX_ID_BYTES, MAX_PEERS } from './codec.js';
import type { Entry, NodeId } from './types.js';

export function encodeConfig(peers: readonly NodeId[]): Uint8Array {
  const w = new ByteWriter(64);
  w.uvarint(peers.length);
  for (const p of peers) w.string(p);
  return w.finish();
}

export function decodeConfig(data: Uint8Array): NodeId[] | DecodeError {
  const r = new ByteReader(data);
  const count = r.uvarint();
  if (count > MAX_PEERS) r.fail(`${count} peers is over the limit of ${MAX_PEERS}`);
  const peers: NodeId[] = [];
  for (let i = 0; i < count && r.ok; i++) peers.push(r.string(MAX_ID_BYTES));
  r.expectEnd();
  return r.error ?? peers;
}

/** The members named by the latest valid config entry among `entries`, if any. */
export function latestConfig(entries: readonly Entry[]): NodeId[] | null {
  for (let i = entries.length - 1; i >= 0; i--) {
    const e = entries[i];
    if (e?.kind !== 'config') continue;
    const peers = decodeConfig(e.data);
    if (!(peers instanceof DecodeError)) return peers;
  }
  return null;
}
