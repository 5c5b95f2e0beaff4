/**
 * The leader's writes waiting for their entries: log index -> the client (or
 * forwarding follower) to answer. Each is answered exactly once: with the
 * state machine's reply when the entry it proposed is applied, or with
 * -TIMEOUT when that can no longer be known here (leadership lost, the index
 * holds another term's entry, a snapshot jumped past it, the deadline passed,
 * the node stops). Nothing is ever proposed again from here.
 */
import { resp, type RespValue } from '../kv/resp.js';

export interface ProposalCounters {
  /** Entries proposed for clients (local and forwarded). */
  proposed: number;
  /** Answered with the applied reply. */
  applied: number;
  /** Answered -TIMEOUT (unknown outcome), by cause. */
  lostLeadership: number;
  overwritten: number;
  deadline: number;
  stopping: number;
  /** Answered before commit (`--unsafe early-ack` only). */
  earlyAcked: number;
}

interface Waiter {
  readonly index: number;
  readonly term: number;
  readonly answer: (reply: RespValue) => void;
  readonly timer: NodeJS.Timeout;
  /** early-ack: the client has its reply already; the entry is still watched. */
  answered: boolean;
}

export interface ProposalTrackerOptions {
  /** How long a proposal may wait for its entry to be applied. */
  readonly deadlineMs: number;
}

export class ProposalTracker {
  readonly counters: ProposalCounters = {
    proposed: 0,
    applied: 0,
    lostLeadership: 0,
    overwritten: 0,
    deadline: 0,
    stopping: 0,
    earlyAcked: 0,
  };
  private readonly waiting = new Map<number, Waiter>();

  constructor(private readonly options: ProposalTrackerOptions) {}

  get size(): number {
    return this.waiting.size;
  }

  /** The entry proposed for a client was given `index` in `term`; `answer` is called once. */
  track(index: number, term: number, answer: (reply: RespValue) => void): void {
    this.counters.proposed++;
    // A live waiter at this index belongs to an entry this leader no longer has.
    this.settle(index, 'overwritten');
    const timer = setTimeout(() => this.settle(index, 'deadline'), this.options.deadlineMs);
    timer.unref();
    this.waiting.set(index, { index, term, answer, timer, answered: false });
  }

  /**
   * `--unsafe early-ack` only: answers the proposal at `index` now with
   * `reply`, although its entry is not committed. Later outcomes are dropped.
   */
  answerEarly(index: number, reply: RespValue): void {
    const w = this.waiting.get(index);
    if (w === undefined || w.answered) return;
    w.answered = true;
    this.counters.earlyAcked++;
    w.answer(reply);
  }

  /** Indexes of proposals not yet answered (for early-ack). */
  unanswered(): number[] {
    const out: number[] = [];
    for (const w of this.waiting.values()) if (!w.answered) out.push(w.index);
    return out;
  }

  /**
   * The entry at `index` of `term` was applied with `reply` (null for an entry
   * that is not a command: a no-op or a configuration).
   */
  applied(index: number, term: number, reply: RespValue | null): void {
    const w = this.waiting.get(index);
    if (w === undefined) return;
    if (w.term !== term || reply === null) {
      this.settle(index, 'overwritten');
      return;
    }
    this.remove(w);
    this.counters.applied++;
    if (!w.answered) w.answer(reply);
  }

  /** A snapshot replaced the state up to `index`: proposals at or below it cannot be told apart. */
  snapshotInstalled(index: number): void {
    for (const w of [...this.waiting.values()])
      if (w.index <= index) this.settle(w.index, 'overwritten');
  }

  /** This node is no longer the leader of the term its proposals were made in. */
  leadershipLost(): void {
    for (const w of [...this.waiting.values()]) this.settle(w.index, 'lostLeadership');
  }

  /** The node stops: everything still waiting is answered -TIMEOUT. */
  close(): void {
    for (const w of [...this.waiting.values()]) this.settle(w.index, 'stopping');
  }

  private remove(w: Waiter): void {
    clearTimeout(w.timer);
    this.waiting.delete(w.index);
  }

  private settle(
    index: number,
    why: 'lostLeadership' | 'overwritten' | 'deadline' | 'stopping',
  ): void {
    const w = this.waiting.get(index);
    if (w === undefined) return;
    this.remove(w);
    this.counters[why]++;
    if (!w.answered)
      w.answer(resp.error(`TIMEOUT ${TIMEOUT_TEXT[why](w, this.options.deadlineMs)}`));
  }
}

const TIMEOUT_TEXT = {
  lostLeadership: (w: Waiter) =>
    `proposed at index ${w.index} in term ${w.term}, then this node lost leadership: outcome unknown`,
  overwritten: (w: Waiter) =>
    `proposed at index ${w.index} in term ${w.term}, replaced before it was seen applied: outcome unknown`,
  deadline: (w: Waiter, ms: number) =>
    `proposed at index ${w.index} in term ${w.term}, not applied within ${ms} ms: outcome unknown`,
  stopping: (w: Waiter) =>
    `proposed at index ${w.index} in term ${w.term}, node stopping before it was applied: outcome unknown`,
} as const;
