/**
 * ReadIndex bookkeeping. A read is linearizable when it observes every write
 * committed before it was requested. The leader takes its commit index when
 * the read arrives (only once an entry of its own term committed, so that
 * index covers everything earlier leaders committed), proves it is still the
 * leader by a heartbeat round *started after the read arrived* (acks of
 * earlier rounds do not count: another leader may have been elected since),
 * and lets the read proceed once the state machine applied that index. A
 * follower asks the leader for the index the same way and waits for its own
 * state machine to apply it.
 */
import type { NodeId } from './types.js';

/** Who asked: this node's caller, or a follower (by its request id). */
export type ReadOrigin =
  | { readonly kind: 'local'; readonly requestId: number }
  | { readonly kind: 'remote'; readonly from: NodeId; readonly id: number };

/** A read on the leader waiting for a quorum to acknowledge `round`. */
export interface PendingRead {
  readonly origin: ReadOrigin;
  readonly index: number;
  readonly round: number;
  elapsedMs: number;
}

/** A read on the leader waiting for an entry of its term to commit. */
export interface WaitingRead {
  readonly origin: ReadOrigin;
  elapsedMs: number;
}

/** A follower's read waiting for the leader's answer. */
export interface ForwardedRead {
  readonly requestId: number;
  readonly leader: NodeId;
  readonly term: number;
  elapsedMs: number;
}

/** A read whose index is known; it is answered once applied >= index. */
export interface ConfirmedRead {
  readonly requestId: number;
  readonly index: number;
}

export class ReadTracker {
  /** Leader: reads that arrived before an entry of this term committed. */
  waitingForTerm: WaitingRead[] = [];
  /** Leader: reads waiting for their heartbeat round, in round order. */
  pending: PendingRead[] = [];
  /** Follower: requests sent to the leader, by wire id. */
  readonly forwarded = new Map<number, ForwardedRead>();
  /** Reads with a confirmed index, waiting for the state machine. */
  confirmed: ConfirmedRead[] = [];
  private nextWireId = 1;

  /**
   * Starts wire ids at a random point: after a restart, a late answer to the
   * previous incarnation's request must not match a new request's id.
   */
  seedWireIds(random: number): void {
    this.nextWireId = 1 + Math.floor(Math.min(Math.max(random, 0), 1) * 2 ** 40);
  }

  newWireId(): number {
    return this.nextWireId++;
  }

  /** Reads the leader must give up when it steps down: waiting and pending ones. */
  takeLeaderReads(): ReadOrigin[] {
    const out = [...this.waitingForTerm.map((w) => w.origin), ...this.pending.map((p) => p.origin)];
    this.waitingForTerm = [];
    this.pending = [];
    return out;
  }

  /** Follower reads to fail (leader changed), with their reason. */
  takeForwarded(): ForwardedRead[] {
    const out = [...this.forwarded.values()];
    this.forwarded.clear();
    return out;
  }

  /** Confirmed reads whose index the state machine reached. */
  takeServable(applied: number): ConfirmedRead[] {
    if (this.confirmed.length === 0) return [];
    const ready = this.confirmed.filter((r) => r.index <= applied);
    if (ready.length > 0) this.confirmed = this.confirmed.filter((r) => r.index > applied);
    return ready;
  }
}
