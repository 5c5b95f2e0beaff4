/**
 * An independent, naive linearizability decision for small histories: tries every
 * order of the operations that respects real time, with history.md's semantics
 * re-implemented here (not shared with the checker), over a map of registers.
 */
import type { SimEvent } from '../simulate.js';
import { pairCalls } from './calls.js';

type V = null | number | string | readonly V[];

interface BOp {
  readonly f: 'read' | 'write' | 'cas';
  readonly key: string;
  readonly value: V;
  readonly result: V;
  /** ok: must be placed with its result; mismatch: must be placed, saw value != expected; maybe: may be placed. */
  readonly kind: 'ok' | 'mismatch' | 'maybe';
  readonly call: number;
  readonly ret: number;
}

const same = (a: V, b: V): boolean => JSON.stringify(a) === JSON.stringify(b);

/** history.md's reading of a list of events, written from the spec, independently. */
function semanticOps(events: readonly SimEvent[]): BOp[] {
  const out: BOp[] = [];
  for (const { invoke, call, completion: e, ret } of pairCalls(events)) {
    const base = { f: invoke.f, key: invoke.key ?? '', value: invoke.value as V, call };
    if (e?.type === 'ok') out.push({ ...base, result: e.value as V, kind: 'ok', ret });
    else if (e?.type === 'fail' && e.f === 'cas' && e.error === 'cas-mismatch') {
      out.push({ ...base, result: null, kind: 'mismatch', ret });
    } else if ((e === undefined || e.type === 'info') && invoke.f !== 'read') {
      out.push({ ...base, result: null, kind: 'maybe', ret: Infinity });
    }
  }
  return out;
}

/** Is there a legal sequential order, respecting real time, of every non-maybe op (and any maybe ops)? */
export function bruteForce(events: readonly SimEvent[], initial: V): boolean {
  const ops = semanticOps(events);
  const placed = new Array<boolean>(ops.length).fill(false);
  const state = new Map<string, V>();
  const get = (k: string): V => (state.has(k) ? (state.get(k) as V) : initial);
  const mustPlace = ops.filter((o) => o.kind !== 'maybe').length;

  const search = (count: number): boolean => {
    if (count === mustPlace) return true;
    for (let i = 0; i < ops.length; i++) {
      if (placed[i]) continue;
      const op = ops[i] as BOp;
      // Every op that returned before this one was called must come first.
      if (ops.some((o, j) => !placed[j] && o.ret < op.call)) continue;
      const before = get(op.key);
      let after: V;
      if (op.f === 'read') {
        if (!same(before, op.result)) continue;
        after = before;
      } else if (op.f === 'write') {
        after = op.value;
      } else {
        const [expected, next] = op.value as readonly [V, V];
        const matches = same(before, expected);
        if (op.kind === 'ok' && !matches) continue;
        if (op.kind === 'mismatch' && matches) continue;
        after = matches && op.kind !== 'mismatch' ? next : before;
      }
      placed[i] = true;
      const had = state.has(op.key);
      state.set(op.key, after);
      if (search(op.kind === 'maybe' ? count : count + 1)) return true;
      placed[i] = false;
      if (had) state.set(op.key, before);
      else state.delete(op.key);
    }
    return false;
  };
  return search(0);
}

/**
 * Arbitrary small histories (linearizable or not): concurrent processes with random
 * results, outcomes (ok, cas-mismatch, fail, info) and invocations left open.
 */
export function randomEvents(
  rand: () => number,
  options: { ops: number; processes: number; keys: number; values: number },
): SimEvent[] {
  const int = (n: number): number => Math.floor(rand() * n);
  const value = (): V => (int(5) === 0 ? null : int(options.values));
  const events: SimEvent[] = [];
  const inflight = new Map<number, SimEvent>();
  const slots = Array.from({ length: options.processes }, (_, i) => i);
  let nextProcess = options.processes;
  let invoked = 0;
  while (invoked < options.ops || inflight.size > 0) {
    const slot = int(slots.length);
    const process = slots[slot] as number;
    const op = inflight.get(process);
    const push = (e: Omit<SimEvent, 'index'>): void => {
      events.push({ index: events.length, ...e });
    };
    if (op === undefined) {
      if (invoked >= options.ops) {
        // Leave what is still in flight open, now and then.
        if (int(3) === 0) break;
        continue;
      }
      invoked++;
      const f = (['read', 'write', 'cas'] as const)[int(3)] as 'read' | 'write' | 'cas';
      const key = options.keys > 1 ? { key: `k${int(options.keys)}` } : {};
      const v: V =
        f === 'read' ? null : f === 'write' ? int(options.values) : [value(), int(options.values)];
      const e = { index: events.length, process, type: 'invoke', f, ...key, value: v } as SimEvent;
      events.push(e);
      inflight.set(process, e);
      continue;
    }
    inflight.delete(process);
    const key = op.key !== undefined ? { key: op.key } : {};
    const roll = int(20);
    if (roll < 13) {
      push({ process, type: 'ok', f: op.f, ...key, value: op.f === 'read' ? value() : op.value });
    } else if (roll < 15 && op.f === 'cas') {
      push({ process, type: 'fail', f: 'cas', ...key, value: op.value, error: 'cas-mismatch' });
    } else if (roll < 17) {
      push({ process, type: 'fail', f: op.f, ...key, value: op.value, error: 'unavailable' });
    } else {
      push({ process, type: 'info', f: op.f, ...key, value: op.value, error: 'timeout' });
      slots[slot] = nextProcess++;
    }
  }
  return events;
}
