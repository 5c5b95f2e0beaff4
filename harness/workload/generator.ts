import type { Prng } from '../../node/util/prng.js';
import type { Op } from './adapter.js';

export type WorkloadKind = 'kv' | 'register';

export interface OpMix {
  readonly read: number;
  readonly write: number;
  readonly cas: number;
}

export interface GeneratorOptions {
  readonly workload: WorkloadKind;
  /** kv: how many keys are live at once. */
  readonly keys: number;
  /** kv: operations issued on a key before it is retired for a fresh one. */
  readonly opsPerKey: number;
  readonly mix: OpMix;
  readonly prng: Prng;
}

export const DEFAULT_MIX: OpMix = { read: 0.5, write: 0.3, cas: 0.2 };
export const REGISTER_KEY = 'register';

interface Slot {
  key: string;
  issued: number;
  /** Values written to this key so far: cas draws its expected value from them. */
  written: number[];
}

/**
 * Draws the next operation: the op mix, a unique integer for every value written,
 * and, for `kv`, keys retired after `opsPerKey` operations and replaced by fresh
 * ones (jepsen.independent's way of keeping each key's history small enough that
 * `info` operations cannot make the linearizability search explode).
 */
export class OpGenerator {
  private readonly slots: Slot[] = [];
  private nextValue = 1;
  private nextKey = 0;
  private readonly everUsed: string[] = [];

  constructor(private readonly options: GeneratorOptions) {
    const live = options.workload === 'register' ? 1 : Math.max(1, options.keys);
    for (let i = 0; i < live; i++) this.slots.push(this.freshSlot());
  }

  /** Whether history lines carry the key (kv) or describe one register (register). */
  get keyed(): boolean {
    return this.options.workload === 'kv';
  }

  /** Every key that has been handed out, in order: the final reads read them all. */
  keysUsed(): readonly string[] {
    return this.everUsed;
  }

  next(): Op {
    const { prng, mix } = this.options;
    const slotIndex = prng.int(0, this.slots.length - 1);
    const slot = this.slots[slotIndex] as Slot;
    const total = mix.read + mix.write + mix.cas;
    const draw = prng.next() * total;
    let op: Op;
    if (draw < mix.read) {
      op = { f: 'read', key: slot.key, value: null };
    } else if (draw < mix.read + mix.write || slot.written.length === 0) {
      const value = this.nextValue++;
      slot.written.push(value);
      op = { f: 'write', key: slot.key, value };
    } else {
      // Mostly the latest value, so a fair share of cas operations can succeed.
      const recent = slot.written.slice(-3);
      const expected = prng.pick(recent);
      const value = this.nextValue++;
      slot.written.push(value);
      op = { f: 'cas', key: slot.key, value: [expected, value] };
    }
    slot.issued++;
    if (this.options.workload === 'kv' && slot.issued >= this.options.opsPerKey) {
      this.slots[slotIndex] = this.freshSlot();
    }
    return op;
  }

  private freshSlot(): Slot {
    const key = this.options.workload === 'register' ? REGISTER_KEY : `k${this.nextKey++}`;
    this.everUsed.push(key);
    return { key, issued: 0, written: [] };
  }
}
