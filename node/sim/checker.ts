/**
 * The safety properties the simulation checks after every step, each as cheap
 * as it can be (incremental, never a full scan per step):
 *
 *   election safety       at most one leader per term;
 *   log matching          two logs with an entry of the same index and term
 *                         agree on it and on the term before it (checked on
 *                         every durable append, which by induction covers
 *                         whole prefixes);
 *   leader completeness   a new leader holds every entry known committed;
 *   state machine safety  no two nodes apply different histories up to an
 *                         index (a digest chain compared per index);
 *   no committed loss     the latest known committed entry is durable on a
 *                         quorum (durable logs only lose it by violating the
 *                         above, so this covers every committed entry);
 *   linearizable reads    a read's index covers every entry committed before
 *                         the read was requested, and the state machine has
 *                         applied it when the read is answered.
 */
import type { RaftCore } from '../raft/core.js';
import type { PersistBatch } from '../raft/storage.js';
import type { Entry, NodeId } from '../raft/types.js';
import type { DurableState, FakeDisk } from './disk.js';
import { entryHash } from './state-machine.js';

export interface Violation {
  readonly invariant: string;
  readonly detail: string;
}

interface Appended {
  readonly term: number;
  readonly hash: number;
  readonly prevTerm: number;
  readonly node: NodeId;
}

/** What the checker needs to see of a node after each step. */
export interface Observed {
  readonly id: NodeId;
  readonly core: RaftCore | null;
  readonly disk: FakeDisk;
}

export class SafetyChecker {
  violation: Violation | null = null;
  private readonly leaderOfTerm = new Map<number, NodeId>();
  private readonly appended = new Map<number, Appended[]>();
  private readonly committedTerm: number[] = [];
  private readonly committedHash: number[] = [];
  /** Highest commit index any node reported. */
  committedMax = 0;
  /** Highest committed index whose entry is known (registered). */
  private committedKnown = 0;
  private readonly lastCommit = new Map<NodeId, number>();
  /** The earliest term in which each index was seen committed. */
  private readonly committedIn: number[] = [];
  /** Highest index seen committed in a term before `term`, computed on demand at elections. */
  private committedBefore(term: number): number {
    for (let i = this.committedMax; i > 0; i--)
      if ((this.committedIn[i] ?? Infinity) < term) return i;
    return 0;
  }
  private readonly appliedDigest: number[] = [];

  constructor(private readonly quorum: number) {}

  private fail(invariant: string, detail: string): void {
    this.violation ??= { invariant, detail };
  }

  /**
   * A node became leader of `term`; `core` is its state right then. Leader
   * completeness binds leaders of later terms only: a leader of an older term
   * may finish its election late (its votes were delayed) after a newer term
   * committed entries it does not have.
   */
  onLeader(node: NodeId, term: number, core: RaftCore): void {
    const other = this.leaderOfTerm.get(term);
    if (other !== undefined && other !== node) {
      this.fail('election safety', `${other} and ${node} both led term ${term}`);
      return;
    }
    this.leaderOfTerm.set(term, node);
    const required = this.committedBefore(term);
    if (core.lastIndex < required) {
      this.fail(
        'leader completeness',
        `${node} leads term ${term} with a log ending at ${core.lastIndex}, but ${required} was committed in an earlier term`,
      );
      return;
    }
    const snap = core.snapshotIndex;
    const snapTerm = this.committedTerm[snap];
    if (snap > 0 && snapTerm !== undefined && core.termAt(snap) !== snapTerm) {
      this.fail(
        'leader completeness',
        `${node}'s snapshot at ${snap} has a term other than the committed ${snapTerm}`,
      );
      return;
    }
    for (let i = snap + 1; i <= required; i++) {
      const t = this.committedTerm[i];
      if (t === undefined || (this.committedIn[i] ?? 0) >= term) continue;
      const e = core.entryAt(i);
      if (e === undefined || e.term !== t || entryHash(e) !== this.committedHash[i]) {
        this.fail(
          'leader completeness',
          `${node} leads term ${term} without committed entry ${i} (term ${t}); it has ${e === undefined ? 'nothing' : `term ${e.term}`} there`,
        );
        return;
      }
    }
  }

  /** A batch of `node` becomes durable; `before` is the disk just before it. */
  onDurable(node: NodeId, batch: PersistBatch, before: DurableState): void {
    const first = batch.entries[0];
    if (first === undefined) return;
    let prevTerm = termBefore(before, batch, first.index);
    for (const e of batch.entries) {
      const h = entryHash(e);
      const seen = this.appended.get(e.index);
      const same = seen?.find((a) => a.term === e.term);
      if (same === undefined) {
        const rec = { term: e.term, hash: h, prevTerm, node };
        if (seen === undefined) this.appended.set(e.index, [rec]);
        else seen.push(rec);
      } else if (same.hash !== h || same.prevTerm !== prevTerm) {
        this.fail(
          'log matching',
          `${same.node} and ${node} hold different entries at index ${e.index} term ${e.term}` +
            (same.prevTerm !== prevTerm ? ` (terms before: ${same.prevTerm} vs ${prevTerm})` : ''),
        );
        return;
      }
      prevTerm = e.term;
    }
  }

  /** After every step: commit progress, and durability of the latest committed entry. */
  afterStep(nodes: readonly Observed[]): void {
    for (const n of nodes) {
      if (n.core === null) continue;
      const c = n.core.commitIndex;
      const prev = this.lastCommit.get(n.id) ?? 0;
      if (c <= prev) {
        if (c < prev) this.lastCommit.set(n.id, c); // restarted with an older commit hint
        continue;
      }
      this.lastCommit.set(n.id, c);
      for (let i = Math.max(prev, n.core.snapshotIndex) + 1; i <= c; i++) {
        const e = n.core.entryAt(i);
        if (e !== undefined) this.registerCommitted(n.id, e);
      }
      // Committed no later than this node's term (it learned it in this term or earlier).
      for (let i = prev + 1; i <= c; i++) {
        const known = this.committedIn[i];
        if (known === undefined || n.core.term < known) this.committedIn[i] = n.core.term;
      }
      if (c > this.committedMax) this.committedMax = c;
    }
    this.checkDurable(nodes);
  }

  private registerCommitted(node: NodeId, e: Entry): void {
    const t = this.committedTerm[e.index];
    const h = entryHash(e);
    if (t === undefined) {
      this.committedTerm[e.index] = e.term;
      this.committedHash[e.index] = h;
      if (e.index > this.committedKnown) this.committedKnown = e.index;
    } else if (t !== e.term || this.committedHash[e.index] !== h) {
      this.fail(
        'state machine safety',
        `${node} committed a different entry at index ${e.index} (term ${e.term}, committed term ${t})`,
      );
    }
  }

  private checkDurable(nodes: readonly Observed[]): void {
    const c = this.committedKnown;
    if (c === 0) return;
    const term = this.committedTerm[c];
    let holders = 0;
    for (const n of nodes) {
      const snap = n.disk.durable.snapshot;
      if ((snap !== null && snap.meta.index >= c) || n.disk.termAt(c) === term) holders++;
    }
    if (holders < this.quorum)
      this.fail(
        'no committed entry lost',
        `committed entry ${c} (term ${term}) is durable on ${holders} node(s), fewer than a quorum of ${this.quorum}`,
      );
  }

  /** `node`'s state machine reached (index, digest) by applying or restoring. */
  onState(node: NodeId, index: number, digest: number, how: string): void {
    const known = this.appliedDigest[index];
    if (known === undefined) this.appliedDigest[index] = digest;
    else if (known !== digest)
      this.fail('state machine safety', `${node} ${how} a different history up to index ${index}`);
  }

  onApplyGap(node: NodeId, expected: number, got: number): void {
    this.fail('state machine safety', `${node} applied index ${got} after ${expected - 1}`);
  }

  /** A read at `node` answered ok with `index`; `committedBefore` was committed when it was asked. */
  onRead(node: NodeId, committedBefore: number, index: number, applied: number): void {
    if (index < committedBefore)
      this.fail(
        'linearizable read',
        `${node} answered a read at index ${index}, but ${committedBefore} was committed before it was asked`,
      );
    else if (applied < index)
      this.fail(
        'linearizable read',
        `${node} answered a read at ${index} having applied only ${applied}`,
      );
  }

  other(invariant: string, detail: string): void {
    this.fail(invariant, detail);
  }
}

/** The term of the entry just before `index` once `batch`'s snapshot step is applied. */
function termBefore(d: DurableState, batch: PersistBatch, index: number): number {
  const prev = index - 1;
  const snap = batch.snapshot ?? d.snapshot;
  const base = snap?.meta.index ?? 0;
  if (prev === base) return snap?.meta.term ?? 0;
  if (batch.snapshot !== null && batch.discardLog) return -1; // a gap: applyBatch reports it
  const oldBase = d.snapshot?.meta.index ?? 0;
  return d.entries[prev - oldBase - 1]?.term ?? -1;
}
