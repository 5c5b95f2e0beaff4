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
/** Up to this many states, transitions are memoised in a table indexed by (op, state). */
const DENSE_STATES = 64;
const DENSE_MAX_OPS = 1 << 16;
/** What an interned model state is charged to the memory budget, unless the model says. */
const STATE_BYTES = 64;
const RECENT_BITS = 12;
const RECENT_MASK = (1 << RECENT_BITS) - 1;
const EMPTY = new Int32Array(0);

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
export class PartitionSearch {
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
  private readonly cache: ConfigCache | undefined;
  private readonly stackOp: Int32Array;
  private readonly stackState: Int32Array;
  /** The pass the frame's op was placed in (OBSERVERS: committed, no alternatives). */
  private readonly stackPass: Uint8Array;
  private readonly best: Int32Array;

  // Model states interned to ids (by the model's hash and equality), each with two
  // random words for the configuration hash.
  private readonly states: unknown[] = [];
  /** Open addressing: [hash, id + 1] pairs (id + 1 = 0: empty). */
  private stateSlots = new Int32Array(2 * 256);
  private stateMask = 255;
  private sz1 = new Int32Array(64);
  private sz2 = new Int32Array(64);
  private seed = 0x2545f491;

  // Transition memo: dense[op * DENSE_STATES + state] = next state + 2 (1: illegal,
  // 0: not known yet) while states are few; then, per op, the last state it was
  // tried in, and a small direct-mapped table (a big one would cost a cache miss
  // per lookup, more than recomputing).
  private dense: Int32Array | undefined;
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
    let e = 0;
    for (let i = 0; i < n; i++) e += (input.ret[i] as number) >= 0 ? 2 : 1;
    const owners = new Int32Array(e);
    let k = 0;
    for (let i = 0; i < n; i++) {
      owners[k++] = i;
      if ((input.ret[i] as number) >= 0) owners[k++] = ~i;
    }
    const sorted = sortByPosition(input, owners);
    this.tail = e + 1;
    this.next = new Int32Array(e + 2);
    this.prev = new Int32Array(e + 2);
    this.entryOp = new Int32Array(e + 2);
    this.isCall = new Uint8Array(e + 2);
    this.callEntry = new Int32Array(n);
    this.retEntry = new Int32Array(n);
    for (let j = 0; j < e; j++) {
      const id = j + 1;
      const owner = owners[sorted[j] as number] as number;
      if (owner >= 0) {
        this.entryOp[id] = owner;
        this.isCall[id] = 1;
        this.callEntry[owner] = id;
      } else {
        this.entryOp[id] = ~owner;
        this.retEntry[~owner] = id;
      }
    }
    for (let j = 0; j <= e; j++) {
      this.next[j] = j + 1;
      this.prev[j + 1] = j;
    }

    // Classify ops. Maybe ops that do the same thing are interchangeable: the search
    // only ever applies the earliest unapplied one of them (symmetry reduction).
    this.pass = new Uint8Array(n);
    this.cIndex = new Int32Array(n).fill(-1);
    this.mIndex = new Int32Array(n).fill(-1);
    this.twin = new Int32Array(n).fill(-1);
    const lastTwin = new Map<string, number>();
    let completed = 0;
    let maybe = 0;
    let observers = 0;
    const reduce = options.reductions !== false;
    for (let i = 0; i < n; i++) {
      const op = ops[i] as ModelOp;
      if ((input.ret[i] as number) < 0) {
        this.pass[i] = reduce ? MAYBE : COMPLETED;
        this.mIndex[i] = maybe++;
        const sig = `${op.f}\u0000${op.kind}\u0000${JSON.stringify(op.value)}`;
        this.twin[i] = lastTwin.get(sig) ?? -1;
        lastTwin.set(sig, i);
      } else {
        this.cIndex[i] = completed++;
        if (reduce && input.observer?.[i] === true) {
          this.pass[i] = OBSERVERS;
          observers++;
        } else {
          this.pass[i] = COMPLETED;
        }
      }
    }
    this.completed = completed;
    this.hasObservers = observers > 0;
    this.hasMaybe = reduce && maybe > 0;
    this.cBits = new Int32Array((completed + 31) >>> 5);
    this.mBits = new Int32Array((maybe + 31) >>> 5);
    this.mStack = new Int32Array(maybe);
    this.mNode = new Int32Array(maybe);

    this.z1 = new Int32Array(n);
    this.z2 = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      this.z1[i] = this.rand();
      this.z2[i] = this.rand();
    }
    // (Not for huge partitions: the table would cost 256 bytes per op.)
    this.dense = n <= DENSE_MAX_OPS ? new Int32Array(n * DENSE_STATES) : undefined;
    if (this.dense === undefined) this.recent = new Int32Array(3 << RECENT_BITS);
    this.lastFrom = new Int32Array(n).fill(-1);
    this.lastTo = new Int32Array(n);
    this.cache = options.cache ? new ConfigCache(options.memory) : undefined;
    this.stackOp = new Int32Array(n);
    this.stackState = new Int32Array(n);
    this.stackPass = new Uint8Array(n);
    this.best = new Int32Array(n);
    this.growth =
      reduce && observers > 0
        ? GrowthPruning.for(input, model, {
            step: (s, op) => this.step(s, op),
            stateOf: (id) => this.states[id],
          })
        : null;
    this.state = this.intern(model.init(initial));
    this.entry = this.next[HEAD] as number;
    this.mode = this.hasObservers ? OBSERVERS : COMPLETED;
    if (completed === 0) this.outcome = 'valid';
  }

  private rand(): number {
    let s = this.seed;
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    this.seed = s;
    return s | 0;
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
      const a = new Int32Array(this.sz1.length * 2);
      a.set(this.sz1);
      this.sz1 = a;
      const b = new Int32Array(this.sz2.length * 2);
      b.set(this.sz2);
      this.sz2 = b;
    }
    this.sz1[id] = this.rand();
    this.sz2[id] = this.rand();
    if (id >= DENSE_STATES && this.dense !== undefined) {
      this.dense = undefined;
      this.recent = new Int32Array(3 << RECENT_BITS);
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

  /** The state `op` leads to from state `s`, or -1 when it cannot take effect there. */
  private step(s: number, op: number): number {
    const dense = this.dense;
    if (dense !== undefined) {
      const known = dense[op * DENSE_STATES + s] as number;
      if (known !== 0) return known - 2;
    } else if (this.lastFrom[op] === s) {
      return this.lastTo[op] as number;
    } else {
      const at = (slotOf(op, s) & RECENT_MASK) * 3;
      const recent = this.recent;
      if (recent[at] === op && recent[at + 1] === s) {
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
    if (this.dense !== undefined) this.dense[op * DENSE_STATES + s] = to + 2;
    else {
      const at = (slotOf(op, s) & RECENT_MASK) * 3;
      this.recent[at] = op;
      this.recent[at + 1] = s;
      this.recent[at + 2] = to + 2;
    }
    this.lastFrom[op] = s;
    this.lastTo[op] = to;
    return to;
  }

  /** Searches for up to `budget` iterations; 'paused' when it has not finished. */
  run(budget: number): SearchOutcome | 'paused' {
    if (this.outcome !== undefined) return this.outcome;
    const { next, prev, entryOp, isCall, callEntry, retEntry, z1, z2, cache } = this;
    const { pass, cIndex, mIndex, twin, cBits, mBits, mStack, mNode } = this;
    const { stackOp, stackState, stackPass, best } = this;
    const growth = this.growth;
    const TAIL = this.tail;
    const completed = this.completed;
    const deadline = this.options.deadline;
    const firstMode = this.hasObservers ? OBSERVERS : COMPLETED;
    const lastMode = this.hasMaybe ? MAYBE : COMPLETED;
    let { state, entry, mode, h1, h2, cLow, hi, mCount, mValid, depth, bestDepth, bestStuck, low } =
      this;
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
      if ((++iterations & 0xfff) === 0 && Date.now() > deadline) {
        outcome = 'timeout';
        break;
      }
      if (entry === TAIL) {
        // No return entry is left: every completed op is placed.
        outcome = 'valid';
        break;
      }
      let deadEnd = false;
      if (isCall[entry] === 1) {
        const op = entryOp[entry] as number;
        if (pass[op] !== mode) {
          entry = next[entry] as number;
          continue;
        }
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
            depth++;
            state = to;
            entry = next[HEAD] as number;
            mode = firstMode;
            const doomed = growth === null ? -1 : growth.doomed(state);
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
          entry = next[entry] as number;
          continue;
        }
      } else if (mode < lastMode) {
        // Nothing more of this kind to try here: the next pass.
        mode = mode === OBSERVERS ? COMPLETED : MAYBE;
        entry = next[HEAD] as number;
        continue;
      } else if (depth > bestDepth) {
        // An op that had to be placed by now was not: record the prefix.
        for (let j = low; j < depth; j++) best[j] = stackOp[j] as number;
        low = depth;
        bestDepth = depth;
        bestStuck = entryOp[entry] as number;
      }
      // This configuration fails: remember it, and backtrack past committed observers
      // (their node had no other choice).
      for (;;) {
        if (depth === 0) {
          outcome = 'invalid';
          break;
        }
        if (cache !== undefined) {
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
        const op = stackOp[depth] as number;
        state = stackState[depth] as number;
        unplace(op);
        const p = stackPass[depth] as number;
        if (p !== OBSERVERS) {
          entry = next[callEntry[op] as number] as number;
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

/** Entry numbers (indices into `owners`) in event order. */
function sortByPosition(input: SearchInput, owners: Int32Array): Int32Array {
  const e = owners.length;
  const position = (j: number): number => {
    const o = owners[j] as number;
    return o >= 0 ? (input.call[o] as number) : (input.ret[~o] as number);
  };
  if (e < 1 << 22) {
    // position * 2^22 + entry stays below 2^53 for positions below 2^31.
    const keys = new Float64Array(e);
    let fits = true;
    for (let j = 0; j < e; j++) {
      const p = position(j);
      if (p >= 2 ** 31) fits = false;
      keys[j] = p * 4194304 + j;
    }
    if (fits) {
      keys.sort();
      const out = new Int32Array(e);
      for (let j = 0; j < e; j++) out[j] = (keys[j] as number) % 4194304;
      return out;
    }
  }
  return Int32Array.from(
    Array.from({ length: e }, (_, j) => j).sort((a, b) => position(a) - position(b)),
  );
}
