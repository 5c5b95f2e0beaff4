/**
 * The set of configurations (linearized set, model state) the search has already
 * explored, as in Lowe's and Porcupine's WGL. A configuration is keyed by two
 * 32-bit Zobrist hashes maintained incrementally by the search, so adding one costs
 * O(1) hashing; only a hash match compares the bitsets.
 *
 * The linearized set is stored as a window of its bitset: every op before the first
 * unlinearized one is linearized, so words below `lo` are all ones and need not be
 * stored, and words above `hi` are zero. That keeps an entry a few words long even
 * when a partition has a million operations.
 */

export const PRESENT = 0;
export const ADDED = 1;
export const FULL = 2;
export type AddResult = typeof PRESENT | typeof ADDED | typeof FULL;

/**
 * A slot is [h1, h2, state + 1 (0: empty), lo, word count, w0, w1, w2]: windows of
 * up to three words (the common case) are compared without leaving the slot; a
 * longer one lives in the arena and w0 holds its offset.
 */
const SLOT_INTS = 8;
const INLINE_WORDS = 3;

/** Memory shared by the caches of searches that run side by side in one thread. */
export class MemoryBudget {
  used = 0;
  constructor(readonly max: number) {}
}

export class ConfigCache {
  private mask: number;
  private slots: Int32Array;
  private arena: Int32Array;
  private used = 0;
  size = 0;

  constructor(
    private readonly budget: MemoryBudget,
    capacity = 1 << 10,
  ) {
    const cap = 1 << Math.ceil(Math.log2(Math.max(16, capacity)));
    this.mask = cap - 1;
    this.slots = new Int32Array(cap * SLOT_INTS);
    this.arena = new Int32Array(0);
    budget.used += this.bytes();
  }

  /** Gives the memory back to the budget; the cache is not used afterwards. */
  release(): void {
    this.budget.used -= this.bytes();
    this.slots = new Int32Array(0);
    this.arena = new Int32Array(0);
    this.mask = 0;
  }

  /** Accounts for growing from `from` to `to` bytes, unless that passes the budget. */
  private charge(from: number, to: number): boolean {
    if (this.budget.used - from + to > this.budget.max) return false;
    this.budget.used += to - from;
    return true;
  }

  /** Bytes held by the table and the stored bitset windows. */
  bytes(): number {
    return this.slots.length * 4 + this.arena.length * 4;
  }

  /**
   * Adds (h1, h2, state, bits[lo..hi]) unless present. FULL when storing it would
   * pass the memory budget: the caller gives up with an unknown verdict.
   */
  add(h1: number, h2: number, state: number, bits: Int32Array, lo: number, hi: number): AddResult {
    const n = hi >= lo ? hi - lo + 1 : 0;
    const tag = state + 1;
    const slots = this.slots;
    const mask = this.mask;
    let i = (h1 ^ Math.imul(h2, 0x9e3779b1)) & mask;
    for (;;) {
      const at = i * SLOT_INTS;
      const s = slots[at + 2] as number;
      if (s === 0) break;
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
        if (k === n) return PRESENT;
      }
      i = (i + 1) & mask;
    }
    if ((this.size + 1) * 2 > mask + 1) {
      if (!this.growTable()) return FULL;
      return this.add(h1, h2, state, bits, lo, hi);
    }
    const at = i * SLOT_INTS;
    if (n <= INLINE_WORDS) {
      for (let k = 0; k < n; k++) slots[at + 5 + k] = bits[lo + k] as number;
    } else {
      if (this.used + n > this.arena.length && !this.growArena(this.used + n)) return FULL;
      const off = this.used;
      const arena = this.arena;
      for (let k = 0; k < n; k++) arena[off + k] = bits[lo + k] as number;
      this.used += n;
      slots[at + 5] = off;
    }
    slots[at] = h1;
    slots[at + 1] = h2;
    slots[at + 2] = tag;
    slots[at + 3] = lo;
    slots[at + 4] = n;
    this.size++;
    return ADDED;
  }

  private growArena(needed: number): boolean {
    let size = Math.max(4096, this.arena.length * 2);
    while (size < needed) size *= 2;
    if (!this.charge(this.arena.length * 4, size * 4)) return false;
    const next = new Int32Array(size);
    next.set(this.arena.subarray(0, this.used));
    this.arena = next;
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
