/**
 * Porcupine-style get/put/append histories for tests: a simulated atomic store
 * (linearizable by construction), ways to break one get, and an independent, naive
 * decision (every real-time-respecting order) for small ones. The values come from a
 * tiny alphabet so that different appends can build equal strings ("a" + "b" = "ab").
 */
import { pairCalls } from './calls.js';

export interface KvEvent {
  readonly process: number;
  readonly type: 'invoke' | 'ok' | 'fail' | 'info';
  readonly f: 'get' | 'put' | 'append';
  readonly key: string;
  /** invoke: the argument (null for get); ok get: what it read. */
  readonly value: string | null;
}

export interface AppendKvOptions {
  readonly ops: number;
  readonly processes: number;
  readonly keys: number;
  /** Chance that an op on the store is a put (else get or append, evenly). */
  readonly putRate: number;
  /** Chance that a completion is lost: info (or the invocation stays open at the end). */
  readonly infoRate: number;
}

const PIECES = ['a', 'b', 'ab', 'c', 'x 1 y', 'x 2 y'];

/**
 * A history of an atomic store: each op takes effect at one random moment between
 * its invocation and completion (an op whose completion is lost may take effect or
 * not).
 */
export function appendKvHistory(rand: () => number, options: AppendKvOptions): KvEvent[] {
  const int = (n: number): number => Math.floor(rand() * n);
  const store = new Map<string, string>();
  const events: KvEvent[] = [];
  interface Pending {
    readonly f: KvEvent['f'];
    readonly key: string;
    readonly value: string | null;
    applied: boolean;
    read: string | null;
  }
  const pending = new Map<number, Pending>();
  let next = options.processes;
  const processes = Array.from({ length: options.processes }, (_, i) => i);
  let invoked = 0;
  while (invoked < options.ops || pending.size > 0) {
    const slot = int(processes.length);
    const process = processes[slot] as number;
    const op = pending.get(process);
    if (op === undefined) {
      if (invoked >= options.ops) {
        if (int(4) === 0) break; // leave the rest open
        continue;
      }
      invoked++;
      const roll = rand();
      const f =
        roll < options.putRate ? 'put' : roll < (1 + options.putRate) / 2 ? 'get' : 'append';
      const key = String(int(options.keys));
      const value = f === 'get' ? null : (PIECES[int(PIECES.length)] as string);
      events.push({ process, type: 'invoke', f, key, value });
      pending.set(process, { f, key, value, applied: false, read: null });
      continue;
    }
    if (!op.applied && rand() < options.infoRate / 2) {
      // Lost before it took effect.
      pending.delete(process);
      events.push({ process, type: 'info', f: op.f, key: op.key, value: op.value });
      processes[slot] = next++;
      continue;
    }
    if (!op.applied) {
      op.applied = true;
      const now = store.get(op.key) ?? '';
      if (op.f === 'get') op.read = now;
      else store.set(op.key, op.f === 'put' ? (op.value as string) : now + (op.value as string));
      continue;
    }
    pending.delete(process);
    if (rand() < options.infoRate / 2) {
      events.push({ process, type: 'info', f: op.f, key: op.key, value: op.value });
      processes[slot] = next++;
    } else {
      events.push({
        process,
        type: 'ok',
        f: op.f,
        key: op.key,
        value: op.f === 'get' ? op.read : op.value,
      });
    }
  }
  return events;
}

/** The same history with the `which`-th ok get's result replaced by `change(result)`. */
export function changeGet(
  events: readonly KvEvent[],
  which: number,
  change: (seen: string) => string,
): KvEvent[] | undefined {
  const gets = events.filter((e) => e.type === 'ok' && e.f === 'get');
  if (gets.length === 0) return undefined;
  const target = gets[which % gets.length] as KvEvent;
  return events.map((e) => (e === target ? { ...e, value: change(e.value ?? '') } : e));
}

/** Porcupine's kv log format: one EDN map per line. */
export function toKvEdn(events: readonly KvEvent[]): string {
  return events
    .map(
      (e) =>
        `{:process ${e.process}, :type :${e.type}, :f :${e.f}, :key ${JSON.stringify(e.key)}, :value ${e.value === null ? 'nil' : JSON.stringify(e.value)}}\n`,
    )
    .join('');
}

interface Op {
  readonly f: KvEvent['f'];
  readonly key: string;
  readonly value: string | null;
  /** ok get: what it read. */
  readonly read: string | null;
  readonly must: boolean;
  readonly call: number;
  readonly ret: number;
}

/**
 * Is there an order of the ops that respects real time, where each get reads what
 * the puts and appends before it left (values start at "")? Ops whose completion was
 * lost may be placed or not; gets among them are ignored. Written from Porcupine's
 * model, independently of the checker.
 */
export function bruteForceAppendKv(events: readonly KvEvent[]): boolean {
  const ops: Op[] = [];
  for (const { invoke, call, completion: e, ret } of pairCalls(events)) {
    const base = { f: invoke.f, key: invoke.key, value: invoke.value, call };
    if (e?.type === 'ok') ops.push({ ...base, read: e.value, must: true, ret });
    else if ((e === undefined || e.type === 'info') && invoke.f !== 'get') {
      ops.push({ ...base, read: null, must: false, ret: Infinity });
    }
  }
  const placed = new Array<boolean>(ops.length).fill(false);
  const store = new Map<string, string>();
  const mustPlace = ops.filter((o) => o.must).length;
  const search = (count: number): boolean => {
    if (count === mustPlace) return true;
    for (let i = 0; i < ops.length; i++) {
      if (placed[i]) continue;
      const op = ops[i] as Op;
      if (ops.some((o, j) => !placed[j] && o.ret < op.call)) continue;
      const before = store.get(op.key) ?? '';
      let after = before;
      if (op.f === 'get') {
        if (op.read !== before) continue;
      } else if (op.f === 'put') {
        after = op.value ?? '';
      } else {
        after = before + (op.value ?? '');
      }
      placed[i] = true;
      store.set(op.key, after);
      if (search(op.must ? count + 1 : count)) return true;
      placed[i] = false;
      store.set(op.key, before);
    }
    return false;
  };
  return search(0);
}
