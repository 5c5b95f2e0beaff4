/**
 * ReadIndex, as read-index.ts explains: the leader's side (commit index at
 * arrival, a heartbeat round started after it, a quorum of acks for that
 * round) and the follower's (ask the leader, then wait to apply).
 */
import type { ReadIndexRequest, ReadIndexResponse } from './messages.js';
import type { ReadOrigin } from './read-index.js';
import { bcastHeartbeat } from './replication.js';
import type { CoreState } from './state.js';
import type { ReadFailure } from './types.js';

export function readIndex(s: CoreState, requestId: number): void {
  if (s.role === 'leader') {
    leaderRead(s, { kind: 'local', requestId });
    return;
  }
  if (s.role !== 'follower' || s.leader === null) {
    s.readStates.push({ requestId, ok: false, reason: 'no-leader' });
    return;
  }
  const id = s.reads.newWireId();
  s.reads.forwarded.set(id, { requestId, leader: s.leader, term: s.term, elapsedMs: 0 });
  s.send({ type: 'readIndex', to: s.leader, id });
}

function leaderRead(s: CoreState, origin: ReadOrigin, elapsedMs = 0): void {
  // Until an entry of this term commits, our commit index may lag what an
  // earlier leader committed.
  if (!s.committedInTerm()) {
    s.reads.waitingForTerm.push({ origin, elapsedMs });
    return;
  }
  const index = s.log.committed;
  if (s.quorum() === 1) {
    confirm(s, origin, index);
    return;
  }
  // A round whose heartbeats were not handed out yet still starts after this
  // read arrived, so reads arriving together share it.
  if (!s.roundUnsent) bcastHeartbeat(s);
  s.reads.pending.push({ origin, index, round: s.round, elapsedMs });
}

function confirm(s: CoreState, origin: ReadOrigin, index: number): void {
  if (origin.kind === 'local') s.reads.confirmed.push({ requestId: origin.requestId, index });
  else s.send({ type: 'readIndexResponse', to: origin.from, id: origin.id, ok: true, index });
}

/** Leader: a heartbeat ack arrived; confirm every read whose round a quorum acknowledged. */
export function confirmReads(s: CoreState): void {
  const pending = s.reads.pending;
  let done = 0;
  for (const p of pending) {
    let acks = 1;
    for (const pr of s.progress.values()) if (pr.round >= p.round) acks++;
    if (acks < s.quorum()) break; // later reads wait for the same or later rounds
    confirm(s, p.origin, p.index);
    done++;
  }
  if (done > 0) s.reads.pending = pending.slice(done);
}

/** Leader: commit moved; reads that waited for an entry of this term may start. */
export function onCommitAdvanced(s: CoreState): void {
  if (s.reads.waitingForTerm.length === 0 || !s.committedInTerm()) return;
  const waiting = s.reads.waitingForTerm;
  s.reads.waitingForTerm = [];
  for (const w of waiting) leaderRead(s, w.origin, w.elapsedMs);
}

/** The leader steps down: its unconfirmed reads fail (confirmed ones stay valid). */
export function failLeaderReads(s: CoreState): void {
  for (const origin of s.reads.takeLeaderReads()) giveUp(s, origin, 'leader-changed');
}

/** A leader gives up a read: its caller here, or the follower that forwarded it, is told. */
function giveUp(s: CoreState, origin: ReadOrigin, reason: ReadFailure): void {
  if (origin.kind === 'local') fail(s, origin.requestId, reason);
  else s.send({ type: 'readIndexResponse', to: origin.from, id: origin.id, ok: false, index: 0 });
}

/** A follower's leader changed: requests it forwarded will not be answered. */
export function failForwardedReads(s: CoreState): void {
  for (const f of s.reads.takeForwarded()) fail(s, f.requestId, 'leader-changed');
}

function fail(s: CoreState, requestId: number, reason: ReadFailure): void {
  s.readStates.push({ requestId, ok: false, reason });
}

export function handleReadIndexRequest(s: CoreState, m: ReadIndexRequest): void {
  if (s.role !== 'leader') {
    s.send({ type: 'readIndexResponse', to: m.from, id: m.id, ok: false, index: 0 });
    return;
  }
  leaderRead(s, { kind: 'remote', from: m.from, id: m.id });
}

export function handleReadIndexResponse(s: CoreState, m: ReadIndexResponse): void {
  const f = s.reads.forwarded.get(m.id);
  if (f === undefined || f.leader !== m.from || f.term !== s.term) return;
  s.reads.forwarded.delete(m.id);
  if (m.ok) s.reads.confirmed.push({ requestId: f.requestId, index: m.index });
  else fail(s, f.requestId, 'leader-changed');
}

/**
 * A read not confirmed within the maximum election timeout fails: on a
 * follower the leader did not answer; on a leader no quorum acknowledged (it
 * may be cut off without check-quorum to depose it), so reads must not pile up.
 */
export function tickReads(s: CoreState, ms: number): void {
  const limit = s.cfg.electionTimeoutMaxMs;
  for (const [id, f] of s.reads.forwarded) {
    f.elapsedMs += ms;
    if (f.elapsedMs >= limit) {
      s.reads.forwarded.delete(id);
      fail(s, f.requestId, 'timeout');
    }
  }
  const r = s.reads;
  if (r.pending.length === 0 && r.waitingForTerm.length === 0) return;
  const expired: ReadOrigin[] = [];
  for (const p of r.pending) if ((p.elapsedMs += ms) >= limit) expired.push(p.origin);
  for (const w of r.waitingForTerm) if ((w.elapsedMs += ms) >= limit) expired.push(w.origin);
  if (expired.length === 0) return;
  r.pending = r.pending.filter((p) => p.elapsedMs < limit);
  r.waitingForTerm = r.waitingForTerm.filter((w) => w.elapsedMs < limit);
  // A follower's own timer answers its caller; tell it anyway so it need not wait.
  for (const origin of expired) giveUp(s, origin, 'timeout');
}

/** Confirmed reads whose index the state machine applied become answers. */
export function collectReadStates(s: CoreState): void {
  for (const r of s.reads.takeServable(s.applied))
    s.readStates.push({ requestId: r.requestId, ok: true, index: r.index });
}
