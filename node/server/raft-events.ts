/**
 * The Raft driver's events as the node's log lines and counters. The
 * invariant checker relies on two things written here: `role` with
 * `role: "leader"` once per leadership, with `term` set to the term led before
 * the line is written; and `commit`/`applied` progress (see NodeLogger).
 *
 * A pre-candidate (asking for pre-votes, term unchanged) is shown as a
 * candidate: the log says `election` with `prevote: true`, then `prevote: false`
 * when it campaigns for real. Votes this node gives (`vote`) and the votes it
 * won an election with (`elected`) explain a `role` line that breaks the rule.
 */
import type { NodeLogger, Role as LogRole } from '../log.js';
import type { RaftEvent } from '../raft/raft.js';
import type { NodeId, Role } from '../raft/types.js';
import { DROP_REASONS, type DropReason } from '../raft/validate.js';

export interface RaftEventCounters {
  /** Pre-vote rounds started. */
  prevotes: number;
  /** Elections started (as candidate, in a new term). */
  elections: number;
  /** Elections this node won. */
  leaderships: number;
  snapshotsTaken: number;
  snapshotsInstalled: number;
  /** Messages the core dropped after the transport let them through, by reason. */
  readonly dropped: Record<DropReason, number>;
}

export interface RaftEventHooks {
  /** This node stopped leading: its waiting proposals cannot be confirmed here. */
  leadershipLost(): void;
  /** This node stopped following `previous` (another leader, or none): it will not answer here. */
  leaderChanged(previous: NodeId): void;
  /** A snapshot from the leader replaced the state up to `index`. */
  snapshotInstalled(index: number): void;
  /** The driver stopped on an error (storage failed, applier threw): the node must exit. */
  stopped(error: unknown): void;
}

export function logRole(role: Role): LogRole {
  return role === 'precandidate' ? 'candidate' : role;
}

export class RaftEventLog {
  readonly counters: RaftEventCounters = {
    prevotes: 0,
    elections: 0,
    leaderships: 0,
    snapshotsTaken: 0,
    snapshotsInstalled: 0,
    dropped: Object.fromEntries(DROP_REASONS.map((r) => [r, 0])) as Record<DropReason, number>,
  };
  private role: Role = 'follower';
  private leaderSeen: NodeId | null = null;
  private logged: { role: LogRole; leader: NodeId | null } | null = null;
  /** The last term a committed conflict was logged in: the core reports every refusal. */
  private conflictLoggedTerm = -1;

  constructor(
    private readonly logger: NodeLogger,
    private readonly voters: () => number,
    private readonly leader: () => NodeId | null,
    private readonly hooks: RaftEventHooks,
  ) {}

  onEvent(e: RaftEvent): void {
    switch (e.type) {
      case 'role':
        this.onRole(e.role, e.term, e.leader);
        return;
      case 'snapshot-taken':
        this.counters.snapshotsTaken++;
        this.logger.log({
          event: 'snapshot-taken',
          index: e.index,
          snapshotTerm: e.term,
          bytes: e.bytes,
        });
        return;
      case 'snapshot-installed':
        this.counters.snapshotsInstalled++;
        this.hooks.snapshotInstalled(e.index);
        this.logger.log({
          event: 'snapshot-installed',
          index: e.index,
          snapshotTerm: e.term,
          bytes: e.bytes,
          from: this.leader() ?? '',
        });
        return;
      case 'dropped':
        this.counters.dropped[e.reason]++;
        return;
      case 'vote-granted':
        this.logger.log({ event: 'vote', candidate: e.candidate, granted: true }, 'info', e.term);
        return;
      case 'elected':
        this.logger.log(
          { event: 'elected', votes: e.votes.length, voters: this.voters(), votesFrom: e.votes },
          'info',
          e.term,
        );
        return;
      case 'follower-regressed':
        this.logger.log({
          event: 'follower-regressed',
          peer: e.peer,
          lastIndex: e.lastIndex,
          match: e.match,
        });
        return;
      case 'committed-conflict':
        // The leader retries at its heartbeat pace; one line per leader term says it all.
        if (e.term === this.conflictLoggedTerm) return;
        this.conflictLoggedTerm = e.term;
        this.logger.log(
          {
            event: 'committed-conflict',
            leader: e.leader,
            index: e.index,
            entryTerm: e.entryTerm,
            committedTerm: e.committedTerm,
            commit: e.commit,
          },
          'warn',
          e.term,
        );
        return;
      case 'stopped':
        this.hooks.stopped(e.error);
        return;
    }
  }

  private onRole(role: Role, term: number, leader: NodeId | null): void {
    const was = this.role;
    this.role = role;
    // Every line from here on carries the new term; the role line first of all.
    this.logger.term = term;
    if (was === 'leader' && role !== 'leader') this.hooks.leadershipLost();
    const before = this.leaderSeen;
    this.leaderSeen = leader;
    if (before !== null && before !== leader) this.hooks.leaderChanged(before);
    const shown = logRole(role);
    if (this.logged === null || this.logged.role !== shown || this.logged.leader !== leader) {
      this.logged = { role: shown, leader };
      this.logger.log({ event: 'role', role: shown, leader });
    }
    if (role === was) return;
    if (role === 'precandidate') {
      this.counters.prevotes++;
      this.logger.log({ event: 'election', prevote: true });
    } else if (role === 'candidate') {
      this.counters.elections++;
      this.logger.log({ event: 'election', prevote: false });
    } else if (role === 'leader') {
      // The `elected` line, with the votes, follows from the driver's `elected` event.
      this.counters.leaderships++;
    }
  }
}
