/**
 * Log replication: the leader's appends (batched up to maxMessageLength bytes,
 * pipelined up to maxInflight per follower), heartbeats, the follower's side
 * of both, and the commit rule.
 */
import { uvarintSize } from '../util/bytes.js';
import { encodedLength, entryWireSize } from './codec.js';
import type {
  AppendRequest,
  AppendResponse,
  HeartbeatRequest,
  HeartbeatResponse,
} from './messages.js';
import type { Progress } from './progress.js';
import { confirmReads, onCommitAdvanced } from './reads.js';
import type { CoreState } from './state.js';
import {
  sendEntryChunks,
  sendSnapshotChunks,
  startEntryTransfer,
  startSnapshot,
} from './transfer.js';
import type { Entry } from './types.js';

/** Sends each follower what it is missing (and is allowed to receive now). */
export function bcastAppend(s: CoreState): void {
  s.broadcastPending = false;
  for (const peer of s.others) sendAppends(s, peer);
}

/** Sends appends to `peer` while its mode and window allow and there is something to send. */
export function sendAppends(s: CoreState, peer: string, allowEmpty = false): void {
  const pr = s.progress.get(peer);
  if (pr === undefined || pr.paused) return;
  if (pr.state === 'snapshot') {
    sendSnapshotChunks(s, peer, pr);
    return;
  }
  if (pr.entryTx !== null) {
    sendEntryChunks(s, peer, pr);
    return;
  }
  let empty = allowEmpty;
  while (pr.canSendAppend()) {
    const hasMore = pr.next <= s.log.lastIndex();
    if (!hasMore && pr.state === 'replicate' && !empty) return;
    if (!sendOneAppend(s, peer, pr)) return;
    empty = false;
    if (pr.state !== 'replicate') return;
  }
}

/** Builds and sends one append from pr.next; false when nothing was sent. */
function sendOneAppend(s: CoreState, peer: string, pr: Progress): boolean {
  const prevIndex = pr.next - 1;
  const prevTerm = s.log.term(prevIndex);
  if (prevTerm === undefined) {
    // The follower needs entries we compacted away.
    startSnapshot(s, peer, pr);
    return false;
  }
  const entries = batch(s, peer, prevIndex, prevTerm, pr.next);
  if (entries.length === 0 && pr.next <= s.log.lastIndex()) {
    // The next entry alone does not fit a message: it travels in chunks, after
    // the appends in flight, so that the follower's log is ready for it.
    if (pr.inflights.count === 0) startEntryTransfer(s, peer, pr, pr.next);
    return false;
  }
  const m: Omit<AppendRequest, 'from' | 'term'> = {
    type: 'append',
    to: peer,
    prevIndex,
    prevTerm,
    commit: s.log.committed,
    entries,
  };
  s.send(m);
  const last = prevIndex + entries.length;
  if (pr.state === 'replicate') {
    if (entries.length > 0) {
      if (pr.inflights.count === 0) pr.idleMs = 0;
      pr.inflights.add(last);
      pr.next = last + 1;
    }
  } else {
    pr.probeSent = true;
  }
  return true;
}

/** As many entries from `from` as fit in one message (and maxEntriesPerAppend). */
function batch(
  s: CoreState,
  peer: string,
  prevIndex: number,
  prevTerm: number,
  from: number,
): Entry[] {
  const last = s.log.lastIndex();
  if (from > last) return [];
  const header =
    encodedLength({
      type: 'append',
      from: s.id,
      to: peer,
      term: s.term,
      prevIndex,
      prevTerm,
      commit: s.log.committed,
      entries: [],
    }) - 1; // the empty entry count's byte
  const budget = s.cfg.maxMessageLength - header;
  const out: Entry[] = [];
  let used = 0;
  for (let i = from; i <= last && out.length < s.cfg.maxEntriesPerAppend; i++) {
    const e = s.log.entry(i);
    if (e === undefined) break;
    const size = entryWireSize(e);
    if (used + size + uvarintSize(out.length + 1) > budget) break;
    out.push(e);
    used += size;
  }
  return out;
}

export function bcastHeartbeat(s: CoreState): void {
  s.round += 1;
  s.roundUnsent = true;
  for (const peer of s.others) {
    const pr = s.progress.get(peer);
    // A follower may only learn a commit index its log is known to reach.
    const commit = Math.min(pr?.match ?? 0, s.log.committed);
    s.send({ type: 'heartbeat', to: peer, commit, round: s.round });
  }
}

/** Leader: commit the highest index a quorum holds, if it is of this term. */
export function maybeCommit(s: CoreState): boolean {
  const matches = [s.log.stable];
  for (const pr of s.progress.values()) matches.push(pr.match);
  matches.sort((a, b) => b - a);
  const q = matches[s.quorum() - 1] ?? 0;
  if (q <= s.log.committed) return false;
  // Raft's Figure 8: counting replicas of an earlier term's entry is not enough.
  if (s.log.term(q) !== s.term && !s.cfg.unsafe.commitPreviousTermByCount) return false;
  return s.log.commitTo(q);
}

/** Leader: after commit moved, tell caught-up followers (others learn it with their next append). */
export function afterCommit(s: CoreState): void {
  onCommitAdvanced(s);
  for (const [peer, pr] of s.progress) {
    if (pr.state === 'replicate' && pr.inflights.count === 0 && pr.match === s.log.lastIndex())
      sendAppends(s, peer, true);
  }
}

export function tickLeader(s: CoreState, ms: number): boolean {
  s.heartbeatElapsed += ms;
  s.electionElapsed += ms;
  if (s.electionElapsed >= s.cfg.electionTimeoutMinMs) {
    s.electionElapsed = 0;
    if (s.cfg.checkQuorum) {
      let active = 1;
      for (const pr of s.progress.values()) {
        if (pr.recentActive) active++;
        pr.recentActive = false;
      }
      if (active < s.quorum()) return false; // the caller steps down
    }
  }
  const retransmitMs = 2 * s.cfg.heartbeatMs;
  for (const [peer, pr] of s.progress) {
    if (pr.inflights.count > 0) pr.idleMs += ms;
    if (pr.snapshotTx?.sender.tick(ms, retransmitMs) === true) sendSnapshotChunks(s, peer, pr);
    if (pr.entryTx?.sender.tick(ms, retransmitMs) === true) sendEntryChunks(s, peer, pr);
  }
  if (s.heartbeatElapsed >= s.cfg.heartbeatMs) {
    s.heartbeatElapsed = 0;
    bcastHeartbeat(s);
  }
  return true;
}

export function handleAppend(s: CoreState, m: AppendRequest): void {
  let { prevIndex, prevTerm, entries } = m;
  const committed = s.log.committed;
  if (prevIndex < committed) {
    // Entries up to our commit index are known to match the leader's: skip them.
    const skip = committed - prevIndex;
    if (skip >= entries.length) {
      reply(s, m.from, true, committed);
      return;
    }
    entries = entries.slice(skip);
    prevIndex = committed;
    prevTerm = s.log.term(committed) ?? 0;
  }
  if (!s.log.matchTerm(prevIndex, prevTerm)) {
    rejectAppend(s, m.from, prevIndex, prevTerm);
    return;
  }
  const lastNew = appendMatching(s, entries, prevIndex);
  if (lastNew === null) return;
  s.log.commitTo(Math.min(m.commit, lastNew));
  reply(s, m.from, true, lastNew);
}

/**
 * Appends entries that follow a matching prevIndex, overwriting a conflicting
 * suffix. Returns the last index now known to match, or null when the leader
 * would overwrite a committed entry (impossible in a correct cluster).
 */
export function appendMatching(
  s: CoreState,
  entries: readonly Entry[],
  prevIndex: number,
): number | null {
  const lastNew = prevIndex + entries.length;
  const conflict = s.log.findConflict(entries);
  if (conflict === 0) return lastNew;
  if (conflict <= s.log.committed) {
    s.drop('outOfRange');
    return null;
  }
  s.log.truncateAndAppend(entries.slice(conflict - (prevIndex + 1)));
  return lastNew;
}

export function rejectAppend(s: CoreState, to: string, prevIndex: number, prevTerm: number): void {
  const hint = s.log.findConflictByTerm(Math.min(prevIndex, s.log.lastIndex()), prevTerm);
  const m: Omit<AppendResponse, 'from' | 'term'> = {
    type: 'appendResponse',
    to,
    success: false,
    index: prevIndex,
    hintIndex: hint.index,
    hintTerm: hint.term,
  };
  s.send(m);
}

export function reply(s: CoreState, to: string, success: boolean, index: number): void {
  s.send({ type: 'appendResponse', to, success, index, hintIndex: 0, hintTerm: 0 });
}

export function handleHeartbeat(s: CoreState, m: HeartbeatRequest): void {
  s.log.commitTo(m.commit);
  s.send({ type: 'heartbeatResponse', to: m.from, round: m.round });
}

export function handleAppendResponse(s: CoreState, m: AppendResponse): void {
  const pr = s.progress.get(m.from);
  if (pr === undefined) return;
  if (m.index > s.log.lastIndex()) {
    s.drop('outOfRange');
    return;
  }
  if (!m.success) {
    handleReject(s, m, pr);
    return;
  }
  const updated = pr.maybeUpdate(m.index);
  if (updated || (pr.state === 'probe' && pr.match === m.index)) {
    if (pr.state === 'probe') pr.becomeReplicate();
    else if (pr.state === 'snapshot') {
      if (pr.snapshotTx === null || pr.match >= pr.snapshotTx.snapshot.meta.index) {
        pr.becomeProbe();
        pr.becomeReplicate();
      }
    } else pr.inflights.freeTo(m.index);
    if (pr.entryTx !== null && pr.match >= pr.entryTx.index) pr.entryTx = null;
    if (maybeCommit(s)) afterCommit(s);
  }
  sendAppends(s, m.from);
}

function handleReject(s: CoreState, m: AppendResponse, pr: Progress): void {
  // While a snapshot is on its way, rejections of older appends say nothing new.
  if (pr.state === 'snapshot') return;
  if (pr.entryTx !== null) {
    if (m.index !== pr.entryTx.index - 1) return;
    pr.entryTx = null;
  }
  let hint = m.hintIndex;
  if (m.hintTerm > 0) hint = s.log.findConflictByTerm(m.hintIndex, m.hintTerm).index;
  if (pr.maybeDecrTo(m.index, hint)) {
    if (pr.state === 'replicate') pr.becomeProbe();
    sendAppends(s, m.from);
  }
}

export function handleHeartbeatResponse(s: CoreState, m: HeartbeatResponse): void {
  const pr = s.progress.get(m.from);
  if (pr === undefined) return;
  if (m.round > s.round) {
    s.drop('outOfRange');
    return;
  }
  if (m.round > pr.round) pr.round = m.round;
  confirmReads(s);
  if (pr.match >= s.log.lastIndex()) return;
  if (pr.state === 'probe') {
    pr.probeSent = false;
  } else if (
    pr.state === 'replicate' &&
    pr.inflights.count > 0 &&
    pr.idleMs >= 2 * s.cfg.heartbeatMs
  ) {
    // Appends in flight but no progress for a while: some were lost. Probe again.
    pr.becomeProbe();
  }
  sendAppends(s, m.from);
}
