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
    // What the follower acknowledged, unless compacted away here (too far behind to check).
    const known = pr?.match ?? 0;
    const knownTerm = s.log.term(known);
    const match = knownTerm === undefined ? 0 : known;
    if (pr !== undefined) {
      pr.hbRound = s.round;
      pr.hbMatch = match;
    }
    // A follower may only learn a commit index its log is known to reach.
    const commit = Math.min(match, s.log.committed);
    s.send({
      type: 'heartbeat',
      to: peer,
      commit,
      match,
      matchTerm: knownTerm ?? 0,
      round: s.round,
    });
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
  const clash = committedClash(s, [{ index: prevIndex, term: prevTerm }, ...entries]);
  if (clash !== null) {
    refuseCommittedConflict(s, m.from, clash);
    return;
  }
  if (prevIndex < committed) {
    // Entries up to our commit index match the leader's (checked above): skip them.
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
  const lastNew = appendMatching(s, m.from, entries, prevIndex);
  if (lastNew === null) return;
  s.log.commitTo(Math.min(m.commit, lastNew));
  reply(s, m.from, true, lastNew);
}

/** Where the leader's log contradicts a committed entry of ours. */
export interface CommittedClash {
  readonly index: number;
  /** The leader's entry's term there. */
  readonly entryTerm: number;
  /** Our committed entry's term there. */
  readonly committedTerm: number;
}

/**
 * The first of the leader's (index, term) pairs at or below our commit index
 * that names another term than our entry there, or null. A correct cluster
 * never has one: every leader holds every committed entry (Leader
 * Completeness), and by Log Matching with the same terms. A disk that lost
 * acknowledged writes can elect a leader without entries this node
 * committed; then taking its entries would undo applied ones, and answering
 * as if our log matched would let it count us for entries we do not hold.
 * Compacted indices cannot be compared and are skipped.
 */
export function committedClash(
  s: CoreState,
  leaderLog: readonly { readonly index: number; readonly term: number }[],
): CommittedClash | null {
  const committed = s.log.committed;
  for (const { index, term } of leaderLog) {
    if (index > committed) break;
    const ours = s.log.term(index);
    if (ours !== undefined && ours !== term) return { index, entryTerm: term, committedTerm: ours };
  }
  return null;
}

/**
 * Refuses a leader message that contradicts committed entries: nothing is
 * stored and nothing answered (a rejection would only make the leader probe
 * further back, to the same clash), so the leader keeps retrying at its
 * heartbeat pace and this node stays as it is. Counted and reported each time.
 */
export function refuseCommittedConflict(s: CoreState, leader: string, c: CommittedClash): void {
  s.committedConflicts++;
  s.events.push({
    type: 'committed-conflict',
    leader,
    term: s.term,
    index: c.index,
    entryTerm: c.entryTerm,
    committedTerm: c.committedTerm,
    commit: s.log.committed,
  });
}

/**
 * Appends entries that follow a matching prevIndex, overwriting a conflicting
 * suffix. Returns the last index now known to match, or null when the leader
 * would overwrite a committed entry (refused: see refuseCommittedConflict).
 */
export function appendMatching(
  s: CoreState,
  from: string,
  entries: readonly Entry[],
  prevIndex: number,
): number | null {
  const lastNew = prevIndex + entries.length;
  const conflict = s.log.findConflict(entries);
  if (conflict === 0) return lastNew;
  if (conflict <= s.log.committed) {
    const ours = s.log.term(conflict);
    const theirs = entries[conflict - (prevIndex + 1)]?.term;
    if (ours === undefined || theirs === undefined) {
      // Entries under our snapshot, which the caller should have skipped.
      s.drop('outOfRange');
      return null;
    }
    refuseCommittedConflict(s, from, { index: conflict, entryTerm: theirs, committedTerm: ours });
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
  // The leader counts on us holding its entry at `match` (we acknowledged it).
  // A disk that lost acknowledged entries may have left a shorter log or an
  // older suffix there: then commit nothing (`commit` <= `match`) and say so.
  const holds = m.match <= s.log.committed || s.log.matchTerm(m.match, m.matchTerm);
  if (holds) s.log.commitTo(m.commit);
  s.send({
    type: 'heartbeatResponse',
    to: m.from,
    round: m.round,
    lastIndex: s.log.lastIndex(),
    holds,
  });
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
  } else if (m.index <= pr.match && (pr.hbMatch < pr.match || pr.round >= pr.hbRound)) {
    // A stale rejection, or a follower that lost entries it acknowledged: the
    // answer to a heartbeat sent at this match tells which (unless one such
    // is already on its way).
    bcastHeartbeat(s);
  }
}

/**
 * `peer` lacks an entry it had acknowledged (its log ends at `lastIndex`): its
 * disk lost acknowledged entries. Raft assumes disks keep what they
 * acknowledged; a testbed must keep going so that the loss shows, so catch it
 * up from where its log may still agree with ours.
 */
function followerRegressed(s: CoreState, peer: string, pr: Progress, lastIndex: number): void {
  const match = pr.match;
  pr.regress(Math.min(lastIndex, match), s.round);
  s.followerRegressions++;
  s.events.push({ type: 'follower-regressed', peer, term: s.term, lastIndex, match });
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
  // Any round asked about an index the follower had acknowledged; only rounds
  // sent after the last reset say something about its log as now known.
  if (!m.holds && m.round > pr.resetRound) followerRegressed(s, m.from, pr, m.lastIndex);
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
