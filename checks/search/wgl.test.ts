import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { entriesInOrder } from './wgl.js';

/** The entries (op for a call, ~op for a return) sorted by position, ties in op order, call first. */
function reference(call: readonly number[], ret: readonly number[]): number[] {
  const entries: { code: number; at: number; order: number }[] = [];
  call.forEach((c, i) => {
    entries.push({ code: i, at: c, order: 2 * i });
    const r = ret[i] as number;
    if (r >= 0) entries.push({ code: ~i, at: r, order: 2 * i + 1 });
  });
  return entries.sort((a, b) => a.at - b.at || a.order - b.order).map((x) => x.code);
}

describe('entriesInOrder', () => {
  const check = (call: number[], ret: number[]): void => {
    const e = call.length + ret.filter((r) => r >= 0).length;
    const input = { modelOps: [], call, ret };
    expect(Array.from(entriesInOrder(input, e))).toEqual(reference(call, ret));
  };

  it('orders the calls and returns of distinct event positions, dense or sparse', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat(30), fc.boolean()), { maxLength: 40 }),
        fc.constantFrom(1, 7, 1000, 2 ** 31 + 5),
        fc.nat(),
        (ops, spread, offset) => {
          // Distinct positions: a shuffled range, stretched by `spread`.
          const positions = Array.from({ length: 2 * ops.length }, (_, i) => i);
          let s = offset | 1;
          for (let i = positions.length - 1; i > 0; i--) {
            s = (s * 1103515245 + 12345) >>> 0;
            const j = s % (i + 1);
            [positions[i], positions[j]] = [positions[j] as number, positions[i] as number];
          }
          const call: number[] = [];
          const ret: number[] = [];
          ops.forEach(([, completes], i) => {
            const a = (positions[2 * i] as number) * spread;
            const b = (positions[2 * i + 1] as number) * spread;
            call.push(Math.min(a, b));
            ret.push(completes ? Math.max(a, b) : -1);
          });
          // Calls in invocation order, as partitions have them.
          const order = call
            .map((_, i) => i)
            .sort((x, y) => (call[x] as number) - (call[y] as number));
          check(
            order.map((i) => call[i] as number),
            order.map((i) => ret[i] as number),
          );
        },
      ),
      { numRuns: 300 },
    );
  });

  it('keeps op order among returns at one position (unknown outcomes placed at the end)', () => {
    check([0, 1, 2, 3], [9, 4, 9, 9]);
    check([5, 6, 7], [100, 100, 8]);
  });
});
