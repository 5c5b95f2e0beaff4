/**
 * Wing-Gong-Lowe linearizability search over one partition (one key), with Lowe's
 * cache of explored (linearized set, state) configurations, as Porcupine does it.
 *
 * The history is a doubly-linked list of call and return entries in real-time order.
 * The search walks from the head: at a call it tries to apply the operation to the
 * model; if that is legal and the resulting configuration is new, it lifts the
 * op's call and return out of the list and starts again from the head; at a return
 * (an op that had to be placed by now and was not) it backtracks. Operations that
 * may never have completed have no return entry: they may take effect at any point
 * after their call, or never. The list empties of returns exactly when every
 * completed op is placed: the history is linearizable.
 *
 * Speed: the list, the bitset, the stacks and the Zobrist hashes of the linearized
 * set are typed arrays; model states are interned to integers, so a configuration
 * is (bitset window, state id) and one step is a memoised model call.
 */
import { ConfigCache } from './config-cache.js';
import { GrowthPruning } from './growth.js';
import type { Stepper } from './growth.js';
import type { MemoryBudget } from './config-cache.js';
import { ILLEGAL } from '../models/model.js';
import type { Model, ModelOp } from '../models/model.js';
import type { Value } from '../history.js';

export interface SearchInput {
  readonly modelOps: readonly ModelOp[];
  /** Event positions; `ret` -1: no return (may take effect later, or never). */
  readonly call: readonly number[];
  readonly ret: readonly number[];
  /**
   * Ops that never change the state where they are legal (reads, cas mismatches).
   * Placing one as soon as it is legal loses nothing, so the search never tries
   * alternatives to it: it commits.
   */
  readonly observer?: readonly boolean[];
}

export interface SearchOptions {
  /** Date.now() after which the search gives up. */
  readonly deadline: number;
  /** Lowe's configuration cache; off only to measure what it buys. */
  readonly cache: boolean;
  /** Memory the configuration caches may use before the search gives up. */
  readonly memory: MemoryBudget;
  /**
   * The search's reductions (committing to observers, symmetric and wasted maybe
   * ops, completed ops before maybe ops); off only to test them against plain WGL.
   */
  readonly reductions?: boolean;
}

export type SearchOutcome = 'valid' | 'invalid' | 'timeout' | 'memory';

export interface SearchResult {
  readonly outcome: SearchOutcome;
  /**
   * valid: a linearization (partition-local op indices; `maybe` ops that never took
   * effect are absent); otherwise the longest linearizable prefix found.
   */
  readonly order: number[];
  /** invalid: the op that could not be placed after that prefix; otherwise -1. */
  readonly stuck: number;
  /** Model steps computed (memo misses) and configurations cached. */
  readonly steps: number;
  readonly configs: number;
}

const HEAD = 0;
/** Up to this many states, transitions are memoised in a table indexed by (state, op). */
const DENSE_STATES = 64;
/** States the dense table first has rows for (it doubles up to DENSE_STATES). */
const DENSE_FIRST_ROWS = 4;
const DENSE_MAX_OPS = 1 << 16;
/** What an interned model state is charged to the memory budget, unless the model says. */
const STATE_BYTES = 64;
const RECENT_BITS = 12;
const RECENT_MASK = (1 << RECENT_BITS) - 1;
const EMPTY = new Int32Array(0);
/**
 * Words computed once per process and shared by every search: a search of a small
 * history takes microseconds, and a loop per op to make its own would be a good
 * part of them (before the compiler has optimised anything, most of it).
 */
class SharedWords {
  private words = new Int32Array(0);
  constructor(private readonly fill: (words: Int32Array, from: number) => void) {}
  /** At least `count` words; the first ones never change. */
  atLeast(count: number): Int32Array {
    if (this.words.length < count) {
      const grown = new Int32Array(Math.max(1024, 2 ** Math.ceil(Math.log2(count))));
      grown.set(this.words);
      this.fill(grown, this.words.length);
      this.words = grown;
    }
    return this.words;
  }
}

/** Random words for Zobrist hashes (xorshift32 from `seed`). */
function randomWords(seed: number): SharedWords {
  let s = seed;
  return new SharedWords((words, from) => {
    for (let i = from; i < words.length; i++) {
      s ^= s << 13;
      s ^= s >>> 17;
      s ^= s << 5;
      words[i] = s;
    }
  });
}

// Per op (in a partition) and per interned state: two words each.
const OP_WORDS1 = randomWords(0x2545f491);
const OP_WORDS2 = randomWords(0x6c8e9cf5);
const STATE_WORDS1 = randomWords(0x3c6ef372);
const STATE_WORDS2 = randomWords(0x1b873593);
/** 0, 1, 2, ... */
const IOTA = new SharedWords((words, from) => {
  for (let i = from; i < words.length; i++) words[i] = i;
});

/** Iterations per call of the search loop (see run). */
const SPIN = 1024;

/** Searches one partition to the end (or the deadline). */
export function searchPartition(
  input: SearchInput,
  model: Model,
  initial: Value,
  options: SearchOptions,
): SearchResult {
  const search = new PartitionSearch(input, model, initial, options);
  while (search.run(1 << 30) === 'paused');
  return search.result();
}

/** Walk modes at a node: the order in which candidates are tried. */
const OBSERVERS = 0;
const COMPLETED = 1;
const MAYBE = 2;
/**
 * Completed ops in the order of their returns (earliest deadline first), from the
 * node's candidate list: the walk mode for completed ops when reducing.
 */
const SORTED = 3;

/**
 * A WGL search that can stop after a number of iterations and resume, so that many
 * keys can share a thread fairly: a key whose search is hard must not delay the
 * discovery that another key is not linearizable.
 *
 * At each node the candidates (calls before the first remaining return) are tried
 * in three passes: a legal observer (read) is committed to at once, since placing it
 * now loses nothing; then completed ops; then maybe ops, so that a configuration is
 * first reached with as few maybe ops used as possible and its supersets are pruned
 * by the cache (see config-cache.ts).
 */
export class PartitionSearch implements Stepper {
  readonly size: number;
  private readonly ops: readonly ModelOp[];
  private readonly tail: number;
  private readonly next: Int32Array;
  private readonly prev: Int32Array;
  private readonly entryOp: Int32Array;
  private readonly isCall: Uint8Array;
  private readonly callEntry: Int32Array;
  private readonly retEntry: Int32Array;
  /** Per op: 0 observer, 1 completed, 2 maybe (its walk pass). */
  private readonly pass: Uint8Array;
  /** Index among completed ops (-1 for maybe ops), and among maybe ops (-1 otherwise). */
  private readonly cIndex: Int32Array;
  private readonly mIndex: Int32Array;
  /** For a maybe op: the previous identical one (-1: none). */
  private readonly twin: Int32Array;
  private readonly hasObservers: boolean;
  /** Pruning for models whose states grow (see growth.ts); null when the model has none. */
  private readonly growth: GrowthPruning | null;
  private readonly hasMaybe: boolean;
  private readonly completed: number;
  private readonly z1: Int32Array;
  private readonly z2: Int32Array;
  /** Linearized completed ops (by cIndex) and applied maybe ops (by mIndex). */
  private readonly cBits: Int32Array;
  private readonly mBits: Int32Array;
  private readonly mStack: Int32Array;
  /** mNode[k]: the cache's list node for mStack[0..k]; valid for k < mValid. */
  private readonly mNode: Int32Array;
  private mValid = 0;
  /** Made at the first failed configuration: many searches never backtrack. */
  private cache: ConfigCache | undefined;
  private readonly stackOp: Int32Array;
  private readonly stackState: Int32Array;
  /** The pass the frame's op was placed in (OBSERVERS: committed, no alternatives). */
  private readonly stackPass: Uint8Array;
  /**
   * Per node (depth), for SORTED: where its candidates start in `cand` (the top of
   * `cand` when the node was made), where they end, the one being tried, and the op
   * whose return is the node's first (the one reported if the node fails).
   */
  private readonly cBase: Int32Array;
  private readonly cEnd: Int32Array;
  private readonly cAt: Int32Array;
  private readonly firstRet: Int32Array;
  /** Candidate lists of the nodes on the current path, one after another. */
  private cand = new Int32Array(64);
  private cPos = 0;
  private readonly best: Int32Array;

  // Model states interned to ids (by the model's hash and equality), each with two
  // random words for the configuration hash.
  private readonly states: unknown[] = [];
  /** Open addressing: [hash, id + 1] pairs (id + 1 = 0: empty). */
  private stateSlots = new Int32Array(2 * 16);
  private stateMask = 15;
  private sz1 = STATE_WORDS1.atLeast(16);
  private sz2 = STATE_WORDS2.atLeast(16);

  // Transition memo: dense[state * size + op] = next state + 2 (1: illegal, 0: not
  // known yet) while states are few (with a row per state so far); then, per op, the
  // last state it was tried in, and a small direct-mapped table (a big one would cost
  // a cache miss per lookup, more than recomputing): [op + 1, state, next state + 2]
  // slots, op + 1 so that an empty slot (all zeros) matches no (op, state) pair.
  private dense: Int32Array | undefined;
  private denseRows = 0;
  private readonly lastFrom: Int32Array;
  private readonly lastTo: Int32Array;
  /** Allocated when the dense table retires (most small histories never need it). */
  private recent = EMPTY;
  private steps = 0;
  /** Set when interning states passed the memory budget. */
  private overBudget = false;
  private stateBytes = 0;

  // Search position, saved between runs.
  private state: number;
  private entry: number;
  private mode: number;
  private h1 = 0;
  private h2 = 0;
  /** First unlinearized completed op (cIndex), highest non-zero word of cBits. */
  private cLow = 0;
  private hi = -1;
  private mCount = 0;
  private depth = 0;
  private bestDepth = -1;
  private bestStuck = -1;
  private low = 0;
  private outcome: SearchOutcome | undefined;

  constructor(
    input: SearchInput,
    private readonly model: Model,
    initial: Value,
    private readonly options: SearchOptions,
  ) {
    const ops = input.modelOps;
    const n = ops.length;
    this.ops = ops;
    this.size = n;

    // Entries in event order: a call per op, a return per op that has one.
    const ret = input.ret;
    const observer = input.observer;
    let completed = 0;
    for (let i = 0; i < n; i++) if ((ret[i] as number) >= 0) completed++;
    const e = n + completed;
    const maybe = n - completed;
    const cWords = (completed + 31) >>> 5;
    const mWords = (maybe + 31) >>> 5;
    // One allocation for the per-entry and per-op arrays: a small history is checked
    // in microseconds, and a typed array's own buffer costs about as much.
    const denseFirst = n <= DENSE_MAX_OPS ? n * DENSE_FIRST_ROWS : 0;
    const ints = new Int32Array(
      3 * (e + 2) + 17 * n + 4 + cWords + mWords + 2 * maybe + denseFirst,
    );
    let at = 0;
    const take = (length: number): Int32Array => {
      const view = ints.subarray(at, at + length);
      at += length;
      return view;
    };
    const bytes = new Uint8Array(e + 2 + 2 * n);
    this.isCall = bytes.subarray(0, e + 2);
    this.pass = bytes.subarray(e + 2, e + 2 + n);
    this.stackPass = bytes.subarray(e + 2 + n);

    const order = entriesInOrder(input, e);
    this.tail = e + 1;
    const next = (this.next = take(e + 2));
    const prev = (this.prev = take(e + 2));
    const entryOp = (this.entryOp = take(e + 2));
    const isCall = this.isCall;
    const callEntry = (this.callEntry = take(n));
    const retEntry = (this.retEntry = take(n));
    for (let j = 0; j < e; j++) {
      const id = j + 1;
      const owner = order[j] as number;
      if (owner >= 0) {
        entryOp[id] = owner;
        isCall[id] = 1;
        callEntry[owner] = id;
      } else {
        entryOp[id] = ~owner;
        retEntry[~owner] = id;
      }
    }
    // next[j] = j + 1 and prev[j + 1] = j, copied rather than looped.
    const iota = IOTA.atLeast(e + 2);
    next.set(iota.subarray(1, e + 2));
    prev.set(iota.subarray(0, e + 1), 1);

    // Classify ops. Maybe ops that do the same thing are interchangeable: the search
    // only ever applies the earliest unapplied one of them (symmetry reduction).
    const pass = this.pass;
    const cIndex = (this.cIndex = take(n).fill(-1));
    const mIndex = (this.mIndex = take(n).fill(-1));
    const twin = (this.twin = take(n).fill(-1));
    const lastTwin = maybe > 0 ? new Map<string, number>() : undefined;
    let c = 0;
    let m = 0;
    let observers = 0;
    const reduce = options.reductions !== false;
    for (let i = 0; i < n; i++) {
      if ((ret[i] as number) < 0) {
        const op = ops[i] as ModelOp;
        pass[i] = reduce ? MAYBE : COMPLETED;
        mIndex[i] = m++;
        const sig = signature(op);
        twin[i] = lastTwin?.get(sig) ?? -1;
        lastTwin?.set(sig, i);
      } else {
        cIndex[i] = c++;
        if (reduce && observer?.[i] === true) {
          pass[i] = OBSERVERS;
          observers++;
        } else {
          pass[i] = COMPLETED;
        }
      }
    }
    this.completed = completed;
    this.hasObservers = observers > 0;
    this.hasMaybe = reduce && maybe > 0;
    this.cBits = take(cWords);
    this.mBits = take(mWords);
    this.mStack = take(maybe);
    this.mNode = take(maybe);

    this.z1 = OP_WORDS1.atLeast(n);
    this.z2 = OP_WORDS2.atLeast(n);
    // (Not for huge partitions: the table would cost 256 bytes per op.)
    if (denseFirst > 0) {
      this.dense = take(denseFirst);
      this.denseRows = DENSE_FIRST_ROWS;
    } else {
      this.recent = new Int32Array(3 << RECENT_BITS);
    }
    this.lastFrom = take(n).fill(-1);
    this.lastTo = take(n);
    this.cBase = take(n + 1);
    this.cEnd = take(n + 1);
    this.cAt = take(n + 1);
    this.firstRet = take(n + 1);
    this.stackOp = take(n);
    this.stackState = take(n);
    this.best = take(n);
    this.growth = reduce && observers > 0 ? GrowthPruning.for(input, model, this) : null;
    this.state = this.intern(model.init(initial));
    this.entry = this.next[HEAD] as number;
    this.mode = reduce ? OBSERVERS : COMPLETED;
    if (completed === 0) this.outcome = 'valid';
  }

  private intern(s: unknown): number {
    const model = this.model;
    const h = model.hash(s);
    const slots = this.stateSlots;
    const mask = this.stateMask;
    let i = Math.imul(h, 0x9e3779b1) & mask;
    for (;;) {
      const tag = slots[2 * i + 1] as number;
      if (tag === 0) break;
      if (slots[2 * i] === h && model.equals(this.states[tag - 1], s)) return tag - 1;
      i = (i + 1) & mask;
    }
    const id = this.states.length;
    this.states.push(s);
    const memory = this.options.memory;
    const bytes = model.sizeOf?.(s) ?? STATE_BYTES;
    this.stateBytes += bytes;
    memory.used += bytes;
    if (memory.used > memory.max) this.overBudget = true;
    slots[2 * i] = h;
    slots[2 * i + 1] = id + 1;
    if ((id + 1) * 2 > mask) this.growStates();
    if (id >= this.sz1.length) {
      this.sz1 = STATE_WORDS1.atLeast(id + 1);
      this.sz2 = STATE_WORDS2.atLeast(id + 1);
    }
    if (id >= this.denseRows && this.dense !== undefined) {
      if (id >= DENSE_STATES) {
        this.dense = undefined;
        this.recent = new Int32Array(3 << RECENT_BITS);
      } else {
        // Rows are states: a bigger table keeps the known ones where they are.
        const rows = Math.min(DENSE_STATES, this.denseRows * 2);
        const grown = new Int32Array(rows * this.size);
        grown.set(this.dense);
        this.dense = grown;
        this.denseRows = rows;
      }
    }
    return id;
  }

  private growStates(): void {
    const old = this.stateSlots;
    const mask = this.stateMask * 2 + 1;
    const slots = new Int32Array(2 * (mask + 1));
    for (let j = 0; j < old.length; j += 2) {
      if (old[j + 1] === 0) continue;
      let i = Math.imul(old[j] as number, 0x9e3779b1) & mask;
      while (slots[2 * i + 1] !== 0) i = (i + 1) & mask;
      slots[2 * i] = old[j] as number;
      slots[2 * i + 1] = old[j + 1] as number;
    }
    this.stateSlots = slots;
    this.stateMask = mask;
  }

  /** An interned state (Stepper). */
  stateOf(id: number): unknown {
    return this.states[id];
  }

  /** The state `op` leads to from state `s`, or -1 when it cannot take effect there. */
  step(s: number, op: number): number {
    const dense = this.dense;
    if (dense !== undefined) {
      const known = dense[s * this.size + op] as number;
      if (known !== 0) return known - 2;
    } else if (this.lastFrom[op] === s) {
      return this.lastTo[op] as number;
    }
    return this.stepUnknown(s, op);
  }

  /**
   * step() past its first memo: kept out of it so that the hot path, which the
   * compiler copies into every caller, stays small.
   */
  private stepUnknown(s: number, op: number): number {
    if (this.dense === undefined) {
      const at = (slotOf(op, s) & RECENT_MASK) * 3;
      const recent = this.recent;
      if (recent[at] === op + 1 && recent[at + 1] === s) {
        const to = (recent[at + 2] as number) - 2;
        this.lastFrom[op] = s;
        this.lastTo[op] = to;
        return to;
      }
    }
    this.steps++;
    const from = this.states[s];
    const r = this.model.step(from, this.ops[op] as ModelOp);
    const to = r === ILLEGAL ? -1 : r === from ? s : this.intern(r);
    // intern may have retired the dense table.
    if (this.dense !== undefined) this.dense[s * this.size + op] = to + 2;
    else {
      const at = (slotOf(op, s) & RECENT_MASK) * 3;
      this.recent[at] = op + 1;
      this.recent[at + 1] = s;
      this.recent[at + 2] = to + 2;
    }
    this.lastFrom[op] = s;
    this.lastTo[op] = to;
    return to;
  }

  /** Searches for up to `budget` iterations; 'paused' when it has not finished. */
  run(budget: number): SearchOutcome | 'paused' {
    // In short calls of spin(): a long one would have the compiler optimise spin()
    // twice, once to enter the running loop and once for the next call.
    for (let left = budget; left > 0; left -= SPIN) {
      const outcome = this.spin(Math.min(left, SPIN));
      if (outcome !== 'paused') return outcome;
    }
    return this.outcome ?? 'paused';
  }

  /** run()'s loop, for up to `budget` iterations. */
  private spin(budget: number): SearchOutcome | 'paused' {
    if (this.outcome !== undefined) return this.outcome;
    const { next, prev, entryOp, isCall, callEntry, retEntry, z1, z2 } = this;
    let cache = this.cache;
    const useCache = this.options.cache;
    const { pass, cIndex, mIndex, twin, cBits, mBits, mStack, mNode } = this;
    const { stackOp, stackState, stackPass, best, cBase, cEnd, cAt, firstRet } = this;
    let cand = this.cand;
    const growth = this.growth;
    const TAIL = this.tail;
    const completed = this.completed;
    const deadline = this.options.deadline;
    // The observer pass also collects each node's completed candidates: it always
    // runs, reducing (plain WGL walks completed ops in call order).
    const firstMode = this.options.reductions !== false ? OBSERVERS : COMPLETED;
    const lastMode = this.hasMaybe ? MAYBE : COMPLETED;
    let {
      state,
      entry,
      mode,
      h1,
      h2,
      cLow,
      hi,
      mCount,
      mValid,
      depth,
      bestDepth,
      bestStuck,
      low,
      cPos,
    } = this;
    let outcome: SearchOutcome | undefined;

    // Places or unplaces op: the list, the bitsets, the hashes.
    const place = (op: number): void => {
      if (growth !== null) growth.placed(op);
      const c = callEntry[op] as number;
      next[prev[c] as number] = next[c] as number;
      prev[next[c] as number] = prev[c] as number;
      const r = retEntry[op] as number;
      if (r !== 0) {
        next[prev[r] as number] = next[r] as number;
        prev[next[r] as number] = prev[r] as number;
        const ci = cIndex[op] as number;
        const w = ci >>> 5;
        cBits[w] = (cBits[w] as number) | (1 << (ci & 31));
        if (w > hi) hi = w;
        while (cLow < completed && ((cBits[cLow >>> 5] as number) & (1 << (cLow & 31))) !== 0)
          cLow++;
        h1 ^= z1[op] as number;
        h2 ^= z2[op] as number;
      } else {
        const mi = mIndex[op] as number;
        mBits[mi >>> 5] = (mBits[mi >>> 5] as number) | (1 << (mi & 31));
        if (mValid > mCount) mValid = mCount;
        mStack[mCount++] = mi;
      }
    };
    const unplace = (op: number): void => {
      const r = retEntry[op] as number;
      if (r !== 0) {
        next[prev[r] as number] = r;
        prev[next[r] as number] = r;
        const ci = cIndex[op] as number;
        const w = ci >>> 5;
        cBits[w] = (cBits[w] as number) & ~(1 << (ci & 31));
        if (ci < cLow) cLow = ci;
        while (hi >= 0 && cBits[hi] === 0) hi--;
        h1 ^= z1[op] as number;
        h2 ^= z2[op] as number;
      } else {
        const mi = mIndex[op] as number;
        mBits[mi >>> 5] = (mBits[mi >>> 5] as number) & ~(1 << (mi & 31));
        mCount--;
        if (mValid > mCount) mValid = mCount;
      }
      const c = callEntry[op] as number;
      next[prev[c] as number] = c;
      prev[next[c] as number] = c;
      if (growth !== null) growth.unplaced(op);
    };

    let iterations = 0;
    while (iterations < budget) {
      if ((++iterations & 0x3ff) === 0 && Date.now() > deadline) {
        outcome = 'timeout';
        break;
      }
      let deadEnd = false;
      let op = -1;
      if (mode === SORTED) {
        if (cPos < (cEnd[depth] as number)) {
          op = cand[cPos] as number;
        } else if (lastMode === MAYBE) {
          mode = MAYBE;
          entry = next[HEAD] as number;
          continue;
        } else if (depth > bestDepth) {
          // The op whose return is first had to be placed by now: record the prefix.
          for (let j = low; j < depth; j++) best[j] = stackOp[j] as number;
          low = depth;
          bestDepth = depth;
          bestStuck = firstRet[depth] as number;
        }
      } else if (entry === TAIL) {
        // No return entry is left: every completed op is placed.
        outcome = 'valid';
        break;
      } else if (isCall[entry] === 1) {
        op = entryOp[entry] as number;
        if (pass[op] !== mode) {
          entry = next[entry] as number;
          continue;
        }
      } else if (mode === OBSERVERS) {
        // Observers done. The completed ops called before this first return, in the
        // order of their returns: the one that must be placed soonest first.
        firstRet[depth] = entryOp[entry] as number;
        const from = cBase[depth] as number;
        let end = from;
        for (let e = next[HEAD] as number; e !== entry; e = next[e] as number) {
          const x = entryOp[e] as number;
          if (pass[x] !== COMPLETED) continue;
          if (end === cand.length) {
            const grown = new Int32Array(cand.length * 2);
            grown.set(cand);
            cand = this.cand = grown;
          }
          const r = retEntry[x] as number;
          let k = end++;
          while (k > from && (retEntry[cand[k - 1] as number] as number) > r) {
            cand[k] = cand[k - 1] as number;
            k--;
          }
          cand[k] = x;
        }
        cEnd[depth] = end;
        cPos = from;
        mode = SORTED;
        continue;
      } else if (depth > bestDepth) {
        // An op that had to be placed by now was not: record the prefix.
        for (let j = low; j < depth; j++) best[j] = stackOp[j] as number;
        low = depth;
        bestDepth = depth;
        bestStuck = entryOp[entry] as number;
      }
      if (op >= 0) {
        let to = this.step(state, op);
        if (this.overBudget) {
          outcome = 'memory';
          break;
        }
        if (to < 0 && mode === OBSERVERS && growth !== null && growth.unreachable(state, op)) {
          // This read must still be placed, and no state from here can satisfy it.
          if (depth > bestDepth) {
            for (let j = low; j < depth; j++) best[j] = stackOp[j] as number;
            low = depth;
            bestDepth = depth;
            bestStuck = op;
          }
          deadEnd = true;
        }
        if (to >= 0 && depth > 0 && stackPass[depth - 1] === MAYBE) {
          // The maybe op just applied would be wasted if this op ends in the same state
          // without it: that order is explored (first) from the node before it.
          if (this.step(stackState[depth - 1] as number, op) === to) to = -1;
        }
        if (mode === MAYBE && to >= 0) {
          // An op that may never have happened and would change nothing here is
          // better left unapplied; and of identical ones only the first is applied.
          const t = twin[op] as number;
          if (to === state) to = -1;
          else if (t >= 0) {
            const mt = mIndex[t] as number;
            if (((mBits[mt >>> 5] as number) & (1 << (mt & 31))) === 0) to = -1;
          }
        }
        if (to >= 0 && !deadEnd) {
          place(op);
          if (
            cache !== undefined &&
            cache.dominated(
              h1 ^ (this.sz1[to] as number),
              h2 ^ (this.sz2[to] as number),
              to,
              cBits,
              cLow >>> 5,
              hi,
              mBits,
            )
          ) {
            unplace(op);
            // Committing to this observer leads to a known failure: so does this node.
            if (mode === OBSERVERS) deadEnd = true;
          } else {
            stackOp[depth] = op;
            stackState[depth] = state;
            stackPass[depth] = mode;
            cAt[depth] = cPos;
            const top = mode === SORTED ? (cEnd[depth] as number) : (cBase[depth] as number);
            depth++;
            cBase[depth] = top;
            // (Reads already checked from the same state are checked again only when
            // the state changed.)
            const moved = to !== state;
            state = to;
            entry = next[HEAD] as number;
            mode = firstMode;
            const doomed = growth === null || !moved ? -1 : growth.doomed(state);
            if (doomed < 0) continue;
            // A read still to place can never be: this configuration fails.
            if (depth > bestDepth) {
              for (let j = low; j < depth; j++) best[j] = stackOp[j] as number;
              low = depth;
              bestDepth = depth;
              bestStuck = doomed;
            }
            deadEnd = true;
          }
        }
        if (!deadEnd) {
          if (mode === SORTED) cPos++;
          else entry = next[entry] as number;
          continue;
        }
      }
      // This configuration fails: remember it, and backtrack past committed observers
      // (their node had no other choice).
      for (;;) {
        if (depth === 0) {
          outcome = 'invalid';
          break;
        }
        if (useCache) {
          cache ??= this.cache = new ConfigCache(this.options.memory);
          // The maybe-set as shared list nodes, made only for prefixes not made yet.
          let ok = true;
          while (mValid < mCount && ok) {
            const parent = mValid > 0 ? (mNode[mValid - 1] as number) : -1;
            const node = cache.node(mStack[mValid] as number, parent);
            ok = node >= 0;
            mNode[mValid] = node;
            if (ok) mValid++;
          }
          if (
            !ok ||
            !cache.addFailed(
              h1 ^ (this.sz1[state] as number),
              h2 ^ (this.sz2[state] as number),
              state,
              cBits,
              cLow >>> 5,
              hi,
              mCount > 0 ? (mNode[mCount - 1] as number) : -1,
            )
          ) {
            outcome = 'memory';
            break;
          }
        }
        depth--;
        if (depth < low) low = depth;
        const placed = stackOp[depth] as number;
        state = stackState[depth] as number;
        unplace(placed);
        const p = stackPass[depth] as number;
        if (p === SORTED) {
          cPos = (cAt[depth] as number) + 1;
          mode = SORTED;
          break;
        }
        if (p !== OBSERVERS) {
          entry = next[callEntry[placed] as number] as number;
          mode = p;
          break;
        }
      }
      if (outcome !== undefined) break;
    }
    Object.assign(this, {
      state,
      entry,
      mode,
      h1,
      h2,
      cLow,
      hi,
      mCount,
      mValid,
      depth,
      bestDepth,
      bestStuck,
      low,
      cPos,
    });
    this.outcome = outcome;
    if (outcome !== undefined) this.release();
    return outcome ?? 'paused';
  }

  /** Gives up (the deadline passed elsewhere): frees the cache; the outcome is a timeout. */
  abandon(): void {
    if (this.outcome !== undefined) return;
    this.outcome = 'timeout';
    this.release();
  }

  /** Gives the cache's and the states' memory back to the budget. */
  private release(): void {
    this.cache?.release();
    this.options.memory.used -= this.stateBytes;
    this.stateBytes = 0;
  }

  /** The result; meaningful once `run` has returned an outcome (or after `abandon`). */
  result(): SearchResult {
    const outcome = this.outcome ?? 'timeout';
    const configs = this.cache?.records ?? 0;
    if (outcome === 'valid') {
      return {
        outcome,
        order: Array.from(this.stackOp.subarray(0, this.depth)),
        stuck: -1,
        steps: this.steps,
        configs,
      };
    }
    return {
      outcome,
      order: Array.from(this.best.subarray(0, Math.max(0, this.bestDepth))),
      stuck: outcome === 'invalid' ? this.bestStuck : -1,
      steps: this.steps,
      configs,
    };
  }
}

/** Mixes (op, state) into a slot number (murmur3's finalizer). */
function slotOf(op: number, state: number): number {
  let h = Math.imul(op, 0x9e3779b1) ^ state;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  return h ^ (h >>> 16);
}

/** What makes two maybe ops interchangeable: the same f, kind and value. */
/**
 * What makes two maybe ops interchangeable: everything the model's step reads.
 * The key too, so that ops on different keys of one merged object (the kv model
 * checked without splitting by key) are never taken for twins.
 */
function signature(op: ModelOp): string {
  const key = (op as { readonly key?: string | null }).key;
  const v = op.value;
  const value =
    typeof v === 'number'
      ? `n${v}`
      : typeof v === 'string'
        ? `s${v}`
        : v === null
          ? 'z'
          : JSON.stringify(v);
  return `${op.f}\u0000${op.kind}\u0000${value}\u0000${key ?? ''}`;
}

/**
 * The entries in event order, each as its op's index for a call and `~index` for a
 * return; `e` entries in all (ops without a return have only a call).
 */
export function entriesInOrder(input: SearchInput, e: number): Int32Array {
  const { call, ret } = input;
  const n = call.length;
  const out = new Int32Array(e);
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < n; i++) {
    const c = call[i] as number;
    const r = ret[i] as number;
    if (c < min) min = c;
    if (c > max) max = c;
    if (r > max) max = r;
  }
  const range = max - min + 1;
  if (e > 0 && range <= 4 * e && Number.isSafeInteger(range)) {
    // Positions are distinct event numbers, and this history's are dense: placing
    // each entry at its position sorts them in linear time. Slot: call + 1, ~return.
    const at = new Int32Array(range);
    let unique = true;
    for (let i = 0; i < n && unique; i++) {
      const c = (call[i] as number) - min;
      if (at[c] !== 0) unique = false;
      at[c] = i + 1;
      const r = ret[i] as number;
      if (r >= 0) {
        if (at[r - min] !== 0) unique = false;
        at[r - min] = ~i;
      }
    }
    if (unique) {
      let k = 0;
      for (let p = 0; p < range; p++) {
        const v = at[p] as number;
        if (v > 0) out[k++] = v - 1;
        else if (v < 0) out[k++] = v;
      }
      return out;
    }
  }
  return sortedEntries(input, out);
}

/** entriesInOrder for any positions: a sort of (position, entry code) keys. */
function sortedEntries(input: SearchInput, out: Int32Array): Int32Array {
  const { call, ret } = input;
  const n = call.length;
  const e = out.length;
  // position * 2^22 + (2 op | 1 for a return) stays below 2^53 (exact in a double)
  // for positions below 2^31 and up to 2^21 ops; ties keep op order, call first.
  if (n < 1 << 21) {
    const keys = new Float64Array(e);
    let k = 0;
    let fits = true;
    for (let i = 0; i < n; i++) {
      const c = call[i] as number;
      const r = ret[i] as number;
      if (c >= 2 ** 31 || r >= 2 ** 31) fits = false;
      keys[k++] = c * 4194304 + 2 * i;
      if (r >= 0) keys[k++] = r * 4194304 + 2 * i + 1;
    }
    if (fits) {
      keys.sort();
      for (let j = 0; j < e; j++) {
        const key = keys[j] as number;
        // (Exact: the division is by a power of two. A % would be a slow fmod.)
        const code = key - Math.floor(key / 4194304) * 4194304;
        out[j] = (code & 1) === 0 ? code >>> 1 : ~(code >>> 1);
      }
      return out;
    }
  }
  const codes: number[] = [];
  for (let i = 0; i < n; i++) {
    codes.push(2 * i);
    if ((ret[i] as number) >= 0) codes.push(2 * i + 1);
  }
  const position = (code: number): number =>
    (code & 1) === 0 ? (call[code >>> 1] as number) : (ret[code >>> 1] as number);
  codes.sort((a, b) => position(a) - position(b) || a - b);
  for (let j = 0; j < e; j++) {
    const code = codes[j] as number;
    out[j] = (code & 1) === 0 ? code >>> 1 : ~(code >>> 1);
  }
  return out;
}
