/**
 * The configurations the search has explored and found to fail, as in Lowe's and
 * Porcupine's WGL, with one strengthening for operations that may never have taken
 * effect (`info` and never-completed ones, "maybe" ops).
 *
 * A configuration is (C, M, s): the completed ops linearized, the maybe ops applied,
 * the model state. If (C, M', s) failed and M' is a subset of M, then (C, M, s) fails
 * too: it has the same ops left to place and fewer maybe ops to use. So entries are
 * keyed by (C, s) and keep the maybe-sets that failed with it; a configuration is
 * pruned when one of them is a subset of its own. Without maybe ops this is exactly
 * Lowe's cache.
 *
 * (C, s) is found by two 32-bit Zobrist hashes that the search maintains as it goes,
 * so adding costs O(1) hashing; only a hash match compares the bitsets. C is stored
 * as a window of its bitset over the completed ops: every one before the first
 * unlinearized one is linearized (words below `lo` are all ones) and words above
 * `hi` are zero, so an entry stays a few words long however long the history.
 */

/** Memory shared by the caches of searches that run side by side in one thread. */
export class MemoryBudget {
  used = 0;
  constructor(public max: number) {}
}

/**
 * A slot is [h1, h2, state + 1 (0: empty), lo, word count, w0, w1, head]: windows of
 * up to two words are compared without leaving the slot; a longer one lives in the
 * arena and w0 holds its offset. `head` is the first maybe-set record (-1: none).
 */
const SLOT_INTS = 8;
const INLINE_WORDS = 2;

export class ConfigCache {
  private mask: number;
  private slots: Int32Array;
  private arena = new Int32Array(0);
  private arenaUsed = 0;
  /** Maybe-set records: [next record, last node of the set (-1: empty)]. */
  private sets = new Int32Array(0);
  private setsUsed = 0;
  /**
   * Maybe-sets as shared linked lists: a node is [maybe op, parent node]. Records
   * made along one search path share their prefixes, so a record costs two ints
   * however many maybe ops a long history has applied.
   */
  private nodes = new Int32Array(0);
  private nodesUsed = 0;
  /** Entries (C, s) and maybe-sets stored. */
  size = 0;
  records = 0;

  constructor(
    private readonly budget: MemoryBudget,
    capacity = 1 << 5,
  ) {
    const cap = 1 << Math.ceil(Math.log2(Math.max(16, capacity)));
    this.mask = cap - 1;
    this.slots = new Int32Array(cap * SLOT_INTS);
    budget.used += this.bytes();
  }

  /** Bytes held. */
  bytes(): number {
    return (this.slots.length + this.arena.length + this.sets.length + this.nodes.length) * 4;
  }

  /** Gives the memory back to the budget; the cache is not used afterwards. */
  release(): void {
    this.budget.used -= this.bytes();
    this.slots = new Int32Array(0);
    this.arena = new Int32Array(0);
    this.sets = new Int32Array(0);
    this.nodes = new Int32Array(0);
    this.mask = 0;
  }

  /** A node extending the maybe-set ending at `parent` with `maybe`; -2 when over budget. */
  node(maybe: number, parent: number): number {
    if (this.nodesUsed + 2 > this.nodes.length) {
      const grown = this.grow(this.nodes, this.nodesUsed + 2);
      if (grown === undefined) return -2;
      this.nodes = grown;
    }
    const id = this.nodesUsed >>> 1;
    this.nodes[this.nodesUsed] = maybe;
    this.nodes[this.nodesUsed + 1] = parent;
    this.nodesUsed += 2;
    return id;
  }

  /** The slot holding (h1, h2, state, bits[lo..hi]), or the empty slot where it would go (~slot). */
  private find(
    h1: number,
    h2: number,
    state: number,
    bits: Int32Array,
    lo: number,
    hi: number,
  ): number {
    const n = hi >= lo ? hi - lo + 1 : 0;
    const tag = state + 1;
    const slots = this.slots;
    const mask = this.mask;
    let i = (h1 ^ Math.imul(h2, 0x9e3779b1)) & mask;
    for (;;) {
      const at = i * SLOT_INTS;
      const s = slots[at + 2] as number;
      if (s === 0) return ~i;
      if (
        slots[at] === h1 &&
        slots[at + 1] === h2 &&
        s === tag &&
        slots[at + 3] === lo &&
        slots[at + 4] === n
      ) {
        let k = 0;
        if (n <= INLINE_WORDS) {
          while (k < n && slots[at + 5 + k] === bits[lo + k]) k++;
        } else {
          const arena = this.arena;
          const off = slots[at + 5] as number;
          while (k < n && arena[off + k] === bits[lo + k]) k++;
        }
        if (k === n) return i;
      }
      i = (i + 1) & mask;
    }
  }

  /**
   * Is (C, M, s) known to fail: some failed (C, M', s) has M' within M? `maybeBits`
   * is M as a bitset over the maybe ops.
   */
  dominated(
    h1: number,
    h2: number,
    state: number,
    bits: Int32Array,
    lo: number,
    hi: number,
    maybeBits: Int32Array,
  ): boolean {
    const i = this.find(h1, h2, state, bits, lo, hi);
    if (i < 0) return false;
    const sets = this.sets;
    const nodes = this.nodes;
    let rec = this.slots[i * SLOT_INTS + 7] as number;
    while (rec >= 0) {
      let n = sets[rec + 1] as number;
      while (n >= 0) {
        const m = nodes[2 * n] as number;
        if (((maybeBits[m >>> 5] as number) & (1 << (m & 31))) === 0) break;
        n = nodes[2 * n + 1] as number;
      }
      if (n < 0) return true;
      rec = sets[rec] as number;
    }
    return false;
  }

  /**
   * Records that (C, M, s) failed; M is the node list ending at `last` (-1: empty).
   * False when that would pass the memory budget: the caller gives up with an
   * unknown verdict.
   */
  addFailed(
    h1: number,
    h2: number,
    state: number,
    bits: Int32Array,
    lo: number,
    hi: number,
    last: number,
  ): boolean {
    let i = this.find(h1, h2, state, bits, lo, hi);
    if (i < 0) {
      if ((this.size + 1) * 2 > this.mask + 1) {
        if (!this.growTable()) return false;
        i = this.find(h1, h2, state, bits, lo, hi);
      }
      i = ~i;
      const n = hi >= lo ? hi - lo + 1 : 0;
      const at = i * SLOT_INTS;
      const slots = this.slots;
      if (n <= INLINE_WORDS) {
        for (let k = 0; k < n; k++) slots[at + 5 + k] = bits[lo + k] as number;
      } else {
        if (this.arenaUsed + n > this.arena.length) {
          const grown = this.grow(this.arena, this.arenaUsed + n);
          if (grown === undefined) return false;
          this.arena = grown;
        }
        const off = this.arenaUsed;
        for (let k = 0; k < n; k++) this.arena[off + k] = bits[lo + k] as number;
        this.arenaUsed += n;
        slots[at + 5] = off;
      }
      slots[at] = h1;
      slots[at + 1] = h2;
      slots[at + 2] = state + 1;
      slots[at + 3] = lo;
      slots[at + 4] = n;
      slots[at + 7] = -1;
      this.size++;
    }
    if (this.setsUsed + 2 > this.sets.length) {
      const grown = this.grow(this.sets, this.setsUsed + 2);
      if (grown === undefined) return false;
      this.sets = grown;
    }
    const rec = this.setsUsed;
    const at = i * SLOT_INTS;
    this.sets[rec] = this.slots[at + 7] as number;
    this.sets[rec + 1] = last;
    this.setsUsed += 2;
    this.slots[at + 7] = rec;
    this.records++;
    return true;
  }

  /** A copy of `from` with room for `needed` ints, charged to the budget. */
  private grow(from: Int32Array, needed: number): Int32Array<ArrayBuffer> | undefined {
    let size = Math.max(4096, from.length * 2);
    while (size < needed) size *= 2;
    if (!this.charge(from.length * 4, size * 4)) return undefined;
    const next = new Int32Array(size);
    next.set(from);
    return next;
  }

  /** Accounts for growing from `from` to `to` bytes, unless that passes the budget. */
  private charge(from: number, to: number): boolean {
    if (this.budget.used - from + to > this.budget.max) return false;
    this.budget.used += to - from;
    return true;
  }

  private growTable(): boolean {
    const cap = (this.mask + 1) * 2;
    if (!this.charge(this.slots.length * 4, cap * SLOT_INTS * 4)) return false;
    const old = this.slots;
    const slots = new Int32Array(cap * SLOT_INTS);
    const mask = cap - 1;
    for (let at = 0; at < old.length; at += SLOT_INTS) {
      if (old[at + 2] === 0) continue;
      let i = ((old[at] as number) ^ Math.imul(old[at + 1] as number, 0x9e3779b1)) & mask;
      while (slots[i * SLOT_INTS + 2] !== 0) i = (i + 1) & mask;
      const to = i * SLOT_INTS;
      for (let k = 0; k < SLOT_INTS; k++) slots[to + k] = old[at + k] as number;
    }
    this.slots = slots;
    this.mask = mask;
    return true;
  }
}
