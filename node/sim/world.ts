/**
 * What one seed's world looks like: the Raft settings it runs with and how
 * hostile its network, disks and clocks are. Drawn from the seed, so seeds
 * cover small and large messages, batching on and off, tight and loose
 * windows, with and without pre-vote and check-quorum.
 *
 * Half the worlds are "churn" worlds: leaders are cut off or crashed right
 * after their election (often before their first append lands), voters crash
 * right after granting a vote, election timeouts are narrow (split votes) and
 * appends small. That is the rhythm in which Raft's subtle bugs surface (a
 * vote not persisted, an earlier term's entry committed by counting replicas,
 * Figure 8 of the paper); random faults alone reach it too rarely.
 */
import type { RaftSettings, UnsafeOptions } from '../raft/options.js';
import type { Prng } from '../util/prng.js';
import type { LinkConditions } from './network.js';

export interface World {
  readonly churn: boolean;
  readonly settings: Omit<RaftSettings, 'id' | 'peers'>;
  /** Network while faults are on. */
  readonly chaos: LinkConditions;
  /** Ms a disk write takes to become durable: [min, max]. */
  readonly diskMs: readonly [number, number];
  /** Ms between a node's ticks: [min, max]; a pause stalls a node for up to pauseMs. */
  readonly tickMs: readonly [number, number];
  readonly pauseMs: number;
  /** Mean ms between client operations, and between fault actions (0: no faults). */
  readonly clientEveryMs: number;
  readonly faultEveryMs: number;
  /** Share of client operations that are reads (the others are proposals). */
  readonly readShare: number;
  /** Client operations per client event (many clients at once). */
  readonly clientBurst: number;
  /** Snapshot filler bytes (so snapshots span several chunks). */
  readonly snapshotPadding: number;
  /** Share of proposals larger than one message. */
  readonly largeShare: number;
  /** Chance that a node crashes right after granting a vote (and restarts moments later). */
  readonly crashAfterVote: number;
  /** Chance that a newly elected leader is cut off (or crashed) soon after its election... */
  readonly newLeaderFault: number;
  /** ...within this many ms: [min, max]. */
  readonly newLeaderFaultMs: readonly [number, number];
  /** Chance that such a fault is a crash rather than a partition. */
  readonly newLeaderCrash: number;
  /**
   * Chance that a leader is cut off right after its first commit in its term
   * (a correct leader's first commit is its own no-op, already on a quorum).
   */
  readonly cutOnFirstCommit: number;
}

export function drawWorld(rng: Prng, unsafe: UnsafeOptions): World {
  const hasUnsafe = Object.values(unsafe).some(Boolean);
  const churn = rng.chance(0.6);
  const settings: Omit<RaftSettings, 'id' | 'peers'> = {
    heartbeatMs: 50,
    electionTimeoutMinMs: 150,
    // A narrow range makes split votes (two candidates in one term) common.
    electionTimeoutMaxMs: churn ? rng.pick([170, 300]) : rng.pick([300, 300, 170]),
    logLength: rng.pick([8, 16, 32, 1_000]),
    chunkLength: rng.pick([64, 256, 1_024]),
    maxMessageLength: rng.pick([400, 1_280]),
    maxInflight: churn ? rng.pick([1, 2]) : rng.pick([1, 2, 4, 8]),
    maxEntriesPerAppend: churn ? rng.pick([1, 1, 2]) : rng.pick([1, 2, 1_024]),
    preVote: rng.chance(churn ? 0.5 : 0.7),
    checkQuorum: rng.chance(0.7),
    ...(hasUnsafe ? { unsafe } : {}),
  };
  return {
    churn,
    settings,
    chaos: {
      loss: rng.pick([0, 0.01, 0.05, 0.1, 0.2]),
      duplicate: rng.pick([0, 0.02, 0.1]),
      minDelayMs: 1,
      maxDelayMs: rng.pick([3, 10, 30]),
      slowChance: rng.pick([0, 0.02, 0.05]),
      slowDelayMs: rng.pick([100, 400]),
    },
    diskMs: rng.pick([
      [0, 1],
      [1, 5],
      [2, 20],
    ] as const),
    tickMs: rng.pick([
      [5, 15],
      [1, 30],
    ] as const),
    pauseMs: rng.pick([0, 200, 600]),
    clientEveryMs: rng.pick([5, 20, 60]),
    faultEveryMs: rng.pick([100, 300, 800]),
    readShare: 0.25,
    clientBurst: 1,
    snapshotPadding: rng.pick([0, 300, 3_000]),
    largeShare: rng.pick([0, 0.02, 0.1]),
    crashAfterVote: churn ? rng.pick([0.2, 0.5]) : rng.pick([0, 0.2]),
    newLeaderFault: churn ? 0.7 : rng.pick([0, 0.3]),
    newLeaderFaultMs: churn && rng.chance(0.7) ? [0, 15] : [1, 80],
    newLeaderCrash: churn ? 0.1 : 0.6,
    cutOnFirstCommit: churn ? 0.5 : rng.pick([0, 0.2]),
  };
}
