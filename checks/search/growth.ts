/**
 * Pruning for models whose states only grow between resets (Model.resets and
 * Model.canStillObserve: Porcupine's get/put/append, where a value grows by appends
 * until a put replaces it).
 *
 * An unplaced read (a completed observer) must still be placed, after ops whose
 * calls come before its return (real-time order). Between resets those ops only grow
 * the state, and a reset leaves a state that does not depend on where it is applied.
 * So the read will see the current state grown, or what one of the unplaced resets
 * called before its return leaves, grown. When the model rules out every one of
 * these, no linearization extends the current configuration: the search abandons it
 * at once instead of trying every order of the ops before the read's completion
 * (which, for appends, all lead to different states that Lowe's cache cannot merge).
 */
import type { Model, ModelOp } from '../models/model.js';
import type { SearchInput } from './wgl.js';

/** What the pruning needs from the search: its memoised step and its interned states. */
export interface Stepper {
  /** The state id `op` leads to from state id `s`, or -1 when it is illegal there. */
  step(s: number, op: number): number;
  stateOf(id: number): unknown;
}

/** Some ops in order of a position, with which are placed and the first that is not. */
class OpOrder {
  readonly ops: Int32Array;
  /** Their positions, in order. */
  readonly call: Float64Array;
  /** Per op: its rank here, or -1 when it is not one of these ops. */
  readonly rank: Int32Array;
  readonly placed: Uint8Array;
  first = 0;

  constructor(members: number[], position: readonly number[], n: number) {
    members.sort((a, b) => (position[a] as number) - (position[b] as number));
    this.ops = Int32Array.from(members);
    this.call = Float64Array.from(members, (op) => position[op] as number);
    this.rank = new Int32Array(n).fill(-1);
    members.forEach((op, k) => (this.rank[op] = k));
    this.placed = new Uint8Array(members.length);
  }

  place(op: number): void {
    const k = this.rank[op] as number;
    if (k < 0) return;
    this.placed[k] = 1;
    const placed = this.placed;
    let first = this.first;
    while (first < placed.length && placed[first] === 1) first++;
    this.first = first;
  }

  unplace(op: number): void {
    const k = this.rank[op] as number;
    if (k < 0) return;
    this.placed[k] = 0;
    if (k < this.first) this.first = k;
  }
}

export class GrowthPruning {
  private readonly resets: OpOrder;
  private readonly observers: OpOrder;
  /** Return position per op (Infinity: none). */
  private readonly retAt: Float64Array;
  private readonly ops: readonly ModelOp[];

  private constructor(
    input: SearchInput,
    private readonly model: Model,
    private readonly stepper: Stepper,
    /** How many of the first unplaced reads (by return) `doomed` looks at. */
    private readonly lookahead: number,
  ) {
    const n = input.modelOps.length;
    this.ops = input.modelOps;
    const resets: number[] = [];
    const observers: number[] = [];
    for (let i = 0; i < n; i++) {
      const op = input.modelOps[i] as ModelOp;
      if (model.resets?.(op) === true) resets.push(i);
      else if (input.observer?.[i] === true && (input.ret[i] as number) >= 0) observers.push(i);
    }
    // Resets by call (those that may come before a read's return); reads by return:
    // the ones that must be placed soonest constrain the state most.
    this.resets = new OpOrder(resets, input.call, n);
    this.observers = new OpOrder(observers, input.ret, n);
    this.retAt = Float64Array.from(input.ret, (r) => (r >= 0 ? r : Infinity));
  }

  /** The pruning for this model and partition, or null when the model offers none. */
  static for(
    input: SearchInput,
    model: Model,
    stepper: Stepper,
    lookahead = 4,
  ): GrowthPruning | null {
    if (model.resets === undefined || model.canStillObserve === undefined) return null;
    if (input.observer?.some((o) => o) !== true) return null;
    return new GrowthPruning(input, model, stepper, lookahead);
  }

  placed(op: number): void {
    this.resets.place(op);
    this.observers.place(op);
  }

  unplaced(op: number): void {
    this.resets.unplace(op);
    this.observers.unplace(op);
  }

  /**
   * Can read `op` (unplaced, completed) never be placed from state `s`? (A read legal
   * in `s` never is: the model's canStillObserve says true for it.)
   */
  unreachable(s: number, op: number): boolean {
    const { model, stepper } = this;
    const observer = this.ops[op] as ModelOp;
    if (model.canStillObserve?.(stepper.stateOf(s), observer) !== false) return false;
    const resets = this.resets;
    const ret = this.retAt[op] as number;
    for (let k = resets.first; k < resets.ops.length && (resets.call[k] as number) < ret; k++) {
      if (resets.placed[k] === 1) continue;
      const after = stepper.step(s, resets.ops[k] as number);
      if (after < 0 || model.canStillObserve?.(stepper.stateOf(after), observer) !== false) {
        return false;
      }
    }
    return true;
  }

  /** One of the first unplaced reads (by return) that can never be placed from `s`, or -1. */
  doomed(s: number): number {
    const observers = this.observers;
    let seen = 0;
    for (let k = observers.first; k < observers.ops.length && seen < this.lookahead; k++) {
      if (observers.placed[k] === 1) continue;
      seen++;
      const op = observers.ops[k] as number;
      if (this.unreachable(s, op)) return op;
    }
    return -1;
  }
}
