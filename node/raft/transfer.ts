/**
 * Chunked transfers: snapshots to a follower that needs compacted entries,
 * and single entries too large for one append. Each chunk is acknowledged by
 * (snapshot index and term | entry index and term, contiguous bytes held), so a
 * lost datagram costs one chunk, and chunks of a different snapshot restart
 * the reception.
 */
import { ChunkReceiver, ChunkSender } from './chunks.js';
import { encodedLength, payloadRoom } from './codec.js';
import { MAX_NUMBER } from './messages.js';
import type { EntryChunk, EntryChunkAck, SnapshotAck, SnapshotChunk } from './messages.js';
import type { Progress } from './progress.js';
import {
  appendMatching,
  committedClash,
  refuseCommittedConflict,
  rejectAppend,
  reply,
} from './replication.js';
import type { CoreState } from './state.js';

/**
 * Chunks in flight: as many bytes as maxInflight full messages would carry,
 * so small chunks do not throttle a transfer to one tiny datagram per round trip.
 */
function chunkWindow(s: CoreState, size: number): number {
  return s.cfg.maxInflight * Math.max(1, Math.floor(s.cfg.maxMessageLength / size));
}

/**
 * A sender of `total` bytes in chunks whose message, with an empty payload, is
 * `emptyChunkLength` bytes long: each chunk carries as much as keeps its
 * message within maxMessageLength.
 */
function chunkSender(s: CoreState, total: number, emptyChunkLength: number): ChunkSender {
  // emptyChunkLength counts one byte for the empty payload's length prefix.
  const room = s.cfg.maxMessageLength - (emptyChunkLength - 1);
  const size = Math.max(1, Math.min(s.cfg.chunkLength, payloadRoom(room)));
  return new ChunkSender(total, size, chunkWindow(s, size));
}

export function startSnapshot(s: CoreState, peer: string, pr: Progress): void {
  const snapshot = s.snapshot;
  if (snapshot === null) return; // cannot happen: entries are only compacted into a snapshot
  const total = snapshot.data.length;
  const sender = chunkSender(
    s,
    total,
    encodedLength({
      type: 'snapshotChunk',
      from: s.id,
      to: peer,
      term: s.term,
      meta: snapshot.meta,
      total,
      offset: total,
      data: new Uint8Array(0),
    }),
  );
  pr.becomeSnapshot({ snapshot, sender });
  sendSnapshotChunks(s, peer, pr);
}

export function sendSnapshotChunks(s: CoreState, peer: string, pr: Progress): void {
  const tx = pr.snapshotTx;
  if (tx === null || pr.paused) return;
  const { meta, data } = tx.snapshot;
  for (const [offset, len] of tx.sender.take()) {
    const m: Omit<SnapshotChunk, 'from' | 'term'> = {
      type: 'snapshotChunk',
      to: peer,
      meta,
      total: data.length,
      offset,
      data: data.subarray(offset, offset + len),
    };
    s.send(m);
  }
}

export function startEntryTransfer(s: CoreState, peer: string, pr: Progress, index: number): void {
  const entry = s.log.entry(index);
  const prevTerm = s.log.term(index - 1);
  if (entry === undefined || prevTerm === undefined) return;
  const total = entry.data.length;
  const sender = chunkSender(
    s,
    total,
    encodedLength({
      type: 'entryChunk',
      from: s.id,
      to: peer,
      term: s.term,
      prevIndex: index - 1,
      prevTerm,
      commit: MAX_NUMBER, // the commit index grows during the transfer
      entryTerm: entry.term,
      kind: entry.kind,
      total,
      offset: total,
      data: new Uint8Array(0),
    }),
  );
  pr.entryTx = { index, term: entry.term, sender };
  sendEntryChunks(s, peer, pr);
}

export function sendEntryChunks(s: CoreState, peer: string, pr: Progress): void {
  const tx = pr.entryTx;
  if (tx === null || pr.paused) return;
  const entry = s.log.entry(tx.index);
  const prevTerm = s.log.term(tx.index - 1);
  if (entry === undefined || entry.term !== tx.term || prevTerm === undefined) {
    // Compacted meanwhile: the follower will need a snapshot instead.
    pr.becomeProbe();
    return;
  }
  for (const [offset, len] of tx.sender.take()) {
    const m: Omit<EntryChunk, 'from' | 'term'> = {
      type: 'entryChunk',
      to: peer,
      prevIndex: tx.index - 1,
      prevTerm,
      commit: s.log.committed,
      entryTerm: entry.term,
      kind: entry.kind,
      total: entry.data.length,
      offset,
      data: entry.data.subarray(offset, offset + len),
    };
    s.send(m);
  }
  if (pr.state === 'probe') pr.probeSent = true;
}

export function handleSnapshotChunk(s: CoreState, m: SnapshotChunk): void {
  const { meta } = m;
  const clash = committedClash(s, [meta]);
  if (clash !== null) {
    refuseCommittedConflict(s, m.from, clash);
    return;
  }
  if (meta.index <= s.log.committed) {
    // We already hold everything up to there; tell the leader how far we are.
    if (s.snapshotRx !== null && s.snapshotRx.meta.index <= meta.index) s.snapshotRx = null;
    reply(s, m.from, true, s.log.committed);
    return;
  }
  let rx = s.snapshotRx;
  if (rx === null || rx.meta.index !== meta.index || rx.meta.term !== meta.term) {
    // A different snapshot: start over on its first chunk, unless it is a late
    // chunk of an older transfer by the same leader (one from an earlier
    // leader never completes, so the current leader's always wins).
    const stale = rx !== null && rx.leaderTerm === m.term && meta.index < rx.meta.index;
    if (m.offset !== 0 || stale) {
      ackSnapshot(s, m, 0);
      return;
    }
    rx = { meta, leaderTerm: m.term, rx: new ChunkReceiver(m.total) };
    s.snapshotRx = rx;
  }
  if (rx.rx.total !== m.total) {
    s.drop('outOfRange');
    return;
  }
  rx.rx.accept(m.offset, m.data);
  if (!rx.rx.complete) {
    ackSnapshot(s, m, rx.rx.received);
    return;
  }
  s.snapshotRx = null;
  if (s.log.matchTerm(meta.index, meta.term)) {
    // Our log already has the snapshot's last entry: keep the log, just commit.
    s.log.commitTo(meta.index);
  } else {
    const snapshot = { meta, data: rx.rx.bytes() };
    s.log.install(snapshot);
    s.snapshot = snapshot;
    s.entryRx = null;
  }
  // Queued now, sent after the Ready that persists the snapshot.
  reply(s, m.from, true, meta.index);
}

function ackSnapshot(s: CoreState, m: SnapshotChunk, offset: number): void {
  const ack: Omit<SnapshotAck, 'from' | 'term'> = {
    type: 'snapshotAck',
    to: m.from,
    index: m.meta.index,
    snapshotTerm: m.meta.term,
    offset,
  };
  s.send(ack);
}

export function handleSnapshotAck(s: CoreState, m: SnapshotAck): void {
  const pr = s.progress.get(m.from);
  const tx = pr?.snapshotTx;
  if (pr === undefined || tx === null || tx === undefined) return;
  if (tx.snapshot.meta.index !== m.index || tx.snapshot.meta.term !== m.snapshotTerm) return;
  if (ackChunks(s, tx.sender, m.offset)) sendSnapshotChunks(s, m.from, pr);
}

/**
 * The follower holds `offset` bytes of what `sender` sends; false (and
 * counted) when it claims more than there is. The step that routed the ack
 * already marked the follower active and reachable.
 */
function ackChunks(s: CoreState, sender: ChunkSender, offset: number): boolean {
  if (offset > sender.total) {
    s.drop('outOfRange');
    return false;
  }
  sender.ack(offset);
  return true;
}

export function handleEntryChunk(s: CoreState, m: EntryChunk): void {
  const index = m.prevIndex + 1;
  const clash = committedClash(s, [
    { index: m.prevIndex, term: m.prevTerm },
    { index, term: m.entryTerm },
  ]);
  if (clash !== null) {
    if (s.entryRx?.index === index) s.entryRx = null;
    refuseCommittedConflict(s, m.from, clash);
    return;
  }
  if (index <= s.log.committed || s.log.matchTerm(index, m.entryTerm)) {
    // Already held (a resent chunk whose final ack was lost): by log matching,
    // our log agrees with the leader's up to there. A reception of a later
    // entry stays.
    if (s.entryRx !== null && s.entryRx.index <= index) s.entryRx = null;
    const held = s.log.matchTerm(index, m.entryTerm) ? index : 0;
    reply(s, m.from, true, Math.max(s.log.committed, held));
    return;
  }
  // The reception this chunk continues, if any.
  const cur = s.entryRx;
  let rx =
    cur !== null && cur.index === index && cur.term === m.entryTerm && cur.rx.total === m.total
      ? cur
      : null;
  if (m.offset === 0) {
    if (!s.log.matchTerm(m.prevIndex, m.prevTerm)) {
      s.entryRx = null;
      rejectAppend(s, m.from, m.prevIndex, m.prevTerm);
      return;
    }
    if (rx === null) {
      rx = { index, term: m.entryTerm, kind: m.kind, rx: new ChunkReceiver(m.total) };
      s.entryRx = rx;
    }
  } else if (rx === null) {
    ackEntry(s, m, 0);
    return;
  }
  rx.rx.accept(m.offset, m.data);
  if (!rx.rx.complete) {
    ackEntry(s, m, rx.rx.received);
    return;
  }
  s.entryRx = null;
  if (!s.log.matchTerm(m.prevIndex, m.prevTerm)) {
    rejectAppend(s, m.from, m.prevIndex, m.prevTerm);
    return;
  }
  const entry = { index, term: rx.term, kind: rx.kind, data: rx.rx.bytes() };
  const lastNew = appendMatching(s, m.from, [entry], m.prevIndex);
  if (lastNew === null) return;
  s.log.commitTo(Math.min(m.commit, lastNew));
  reply(s, m.from, true, lastNew);
}

function ackEntry(s: CoreState, m: EntryChunk, offset: number): void {
  const ack: Omit<EntryChunkAck, 'from' | 'term'> = {
    type: 'entryChunkAck',
    to: m.from,
    index: m.prevIndex + 1,
    entryTerm: m.entryTerm,
    offset,
  };
  s.send(ack);
}

export function handleEntryChunkAck(s: CoreState, m: EntryChunkAck): void {
  const pr = s.progress.get(m.from);
  const tx = pr?.entryTx;
  if (pr === undefined || tx === null || tx === undefined) return;
  if (tx.index !== m.index || tx.term !== m.entryTerm) return;
  if (ackChunks(s, tx.sender, m.offset)) sendEntryChunks(s, m.from, pr);
}
