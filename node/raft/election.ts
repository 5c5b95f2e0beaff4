/**
 * Roles and elections: randomized timeouts, pre-vote, votes with the log
 * up-to-date check, a no-op on election, and stepping down.
 */
import { encodeConfig } from './config.js';
import type { VoteRequest, VoteResponse } from './messages.js';
import { Progress } from './progress.js';
import { failForwardedReads, failLeaderReads } from './reads.js';
import { bcastAppend } from './replication.js';
import type { CoreState } from './state.js';
import type { NodeId } from './types.js';

export function becomeFollower(s: CoreState, term: number, leader: NodeId | null): void {
  const wasLeader = s.role === 'leader';
  if (term !== s.term || leader !== s.leader || s.role !== 'follower') failForwardedReads(s);
  if (term > s.term) {
    s.term = term;
    s.vote = null;
  }
  s.role = 'follower';
  s.leader = leader;
  s.votes.clear();
  s.resetElectionTimer();
  if (wasLeader) stopLeading(s);
}

function stopLeading(s: CoreState): void {
  failLeaderReads(s);
  s.progress.clear();
  s.broadcastPending = false;
  s.roundUnsent = false;
}

/** Ask for pre-votes at term + 1 without changing our term or vote. */
function becomePreCandidate(s: CoreState): void {
  failForwardedReads(s);
  s.role = 'precandidate';
  s.leader = null;
  s.votes.clear();
  s.votes.set(s.id, true);
  s.resetElectionTimer();
  requestVotes(s, true, s.term + 1);
}

function becomeCandidate(s: CoreState): void {
  failForwardedReads(s);
  s.term += 1;
  s.vote = s.id;
  s.role = 'candidate';
  s.leader = null;
  s.votes.clear();
  s.votes.set(s.id, true);
  s.resetElectionTimer();
  requestVotes(s, false, s.term);
}

function requestVotes(s: CoreState, pre: boolean, term: number): void {
  askUnanswered(s, pre, term);
  if (s.quorum() === 1) {
    if (pre) becomeCandidate(s);
    else becomeLeader(s);
  }
}

export function becomeLeader(s: CoreState): void {
  const votes = [s.id];
  for (const [id, granted] of s.votes) if (granted && id !== s.id) votes.push(id);
  s.events.push({ type: 'elected', term: s.term, votes });
  s.role = 'leader';
  s.leader = s.id;
  s.votes.clear();
  s.electionElapsed = 0;
  s.heartbeatElapsed = 0;
  s.round = 0;
  s.roundUnsent = false;
  s.progress.clear();
  const next = s.log.lastIndex() + 1;
  for (const peer of s.others) s.progress.set(peer, new Progress(next, s.cfg.maxInflight));
  // Entries of earlier terms commit only through an entry of this term.
  s.log.append({ index: next, term: s.term, kind: 'noop', data: new Uint8Array(0) });
  // A fresh cluster's first leader writes the membership into the log, so it
  // lives in the log and in snapshots from then on (see config.ts).
  if (s.log.snapIndex === 0 && !s.log.entries.some((e) => e.kind === 'config'))
    s.log.append({ index: next + 1, term: s.term, kind: 'config', data: encodeConfig(s.peers) });
  bcastAppend(s);
}

/** Election timeout: campaign (through pre-vote when enabled). */
export function campaign(s: CoreState): void {
  if (s.cfg.preVote) becomePreCandidate(s);
  else becomeCandidate(s);
}

export function tickElection(s: CoreState, ms: number): void {
  s.electionElapsed += ms;
  if (s.electionElapsed >= s.randomizedTimeout) {
    campaign(s);
    return;
  }
  if (s.role === 'candidate' || s.role === 'precandidate') {
    // Datagrams get lost: ask again those who have not answered, rather than
    // losing a whole election timeout to one lost request or reply.
    s.heartbeatElapsed += ms;
    if (s.heartbeatElapsed >= s.cfg.heartbeatMs) {
      const pre = s.role === 'precandidate';
      askUnanswered(s, pre, pre ? s.term + 1 : s.term);
    }
  }
}

/** Sends a (pre-)vote request for `term` to each member that has not answered in this round. */
function askUnanswered(s: CoreState, pre: boolean, term: number): void {
  s.heartbeatElapsed = 0;
  const lastIndex = s.log.lastIndex();
  const lastTerm = s.log.lastTerm();
  for (const to of s.others)
    if (!s.votes.has(to)) s.send({ type: 'vote', to, pre, lastIndex, lastTerm }, term);
}

export function handleVote(s: CoreState, m: VoteRequest): void {
  // A pre-vote for a later term is granted without a vote of ours in it.
  const canVote =
    s.vote === m.from || (s.vote === null && s.leader === null) || (m.pre && m.term > s.term);
  const upToDate =
    s.cfg.unsafe.grantVoteWithoutLogCheck || s.log.isUpToDate(m.lastIndex, m.lastTerm);
  if (canVote && upToDate) {
    s.send({ type: 'voteResponse', to: m.from, pre: m.pre, granted: true }, m.term);
    if (!m.pre) {
      if (s.vote === null) s.events.push({ type: 'vote-granted', term: s.term, candidate: m.from });
      s.vote = m.from;
      s.resetElectionTimer();
    }
  } else {
    s.send({ type: 'voteResponse', to: m.from, pre: m.pre, granted: false });
  }
}

export function handleVoteResponse(s: CoreState, m: VoteResponse): void {
  const asked = (s.role === 'precandidate' && m.pre) || (s.role === 'candidate' && !m.pre);
  if (!asked) return;
  s.votes.set(m.from, m.granted);
  let granted = 0;
  let rejected = 0;
  for (const v of s.votes.values()) {
    if (v) granted++;
    else rejected++;
  }
  if (granted >= s.quorum()) {
    if (m.pre) becomeCandidate(s);
    else becomeLeader(s);
  } else if (rejected >= s.quorum()) {
    becomeFollower(s, s.term, null);
  }
}
