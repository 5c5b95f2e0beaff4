import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { majority, reachability, resolvePartition, ShapeError } from './shapes.js';

const five = ['n1', 'n2', 'n3', 'n4', 'n5'];

describe('resolvePartition', () => {
  it('cuts every link between groups, both ways, and none inside a group', () => {
    const p = resolvePartition(
      {
        kind: 'groups',
        groups: [
          ['n1', 'n2'],
          ['n3', 'n4', 'n5'],
        ],
      },
      five,
    );
    expect(p.cuts).toHaveLength(12);
    const hears = reachability(five, p.cuts);
    expect([...(hears.get('n1') ?? [])]).toEqual(['n1', 'n2']);
    expect([...(hears.get('n4') ?? [])]).toEqual(['n3', 'n4', 'n5']);
    expect(p.description).toBe('n1,n2 | n3,n4,n5');
  });

  it('puts nodes named in no group into one more group', () => {
    const p = resolvePartition({ kind: 'groups', groups: [['n1'], ['n2']] }, five);
    expect(p.description).toBe('n1 | n2 | n3,n4,n5');
    const hears = reachability(five, p.cuts);
    expect([...(hears.get('n3') ?? [])]).toEqual(['n3', 'n4', 'n5']);
  });

  it('names an unknown node, a node in two groups and an empty group', () => {
    expect(() => resolvePartition({ kind: 'groups', groups: [['n1'], ['n9']] }, five)).toThrow(
      /unknown node 'n9'/,
    );
    expect(() =>
      resolvePartition({ kind: 'groups', groups: [['n1'], ['n1', 'n2']] }, five),
    ).toThrow(ShapeError);
    expect(() => resolvePartition({ kind: 'isolate', node: 'x' }, five)).toThrow(
      /unknown node 'x'/,
    );
  });

  it('isolates one node from every other', () => {
    const p = resolvePartition({ kind: 'isolate', node: 'n3' }, five);
    const hears = reachability(five, p.cuts);
    expect([...(hears.get('n3') ?? [])]).toEqual(['n3']);
    expect(hears.get('n1')?.has('n3')).toBe(false);
    expect(hears.get('n1')?.size).toBe(4);
  });

  it('cuts one way only', () => {
    const p = resolvePartition({ kind: 'oneway', from: ['n1'], to: ['n2', 'n3'] }, five);
    expect(p.cuts).toEqual([
      { from: 'n1', to: 'n2' },
      { from: 'n1', to: 'n3' },
    ]);
    const hears = reachability(five, p.cuts);
    expect(hears.get('n2')?.has('n1')).toBe(false);
    expect(hears.get('n1')?.has('n2')).toBe(true);
    expect(() => resolvePartition({ kind: 'oneway', from: ['n1'], to: ['n1'] }, five)).toThrow(
      /both sides/,
    );
  });

  it('random halves: a minority and a majority, replayed by the seed', () => {
    fc.assert(
      fc.property(fc.integer({ min: 2, max: 9 }), fc.nat(), (n, seed) => {
        const nodes = Array.from({ length: n }, (_, i) => `n${i + 1}`);
        const a = resolvePartition({ kind: 'random', seed }, nodes);
        const b = resolvePartition({ kind: 'random', seed }, nodes);
        expect(a).toEqual(b);
        const sizes = [...reachability(nodes, a.cuts).values()].map((s) => s.size).sort();
        expect(sizes[0]).toBe(Math.floor(n / 2));
        expect(sizes[sizes.length - 1]).toBe(n - Math.floor(n / 2));
      }),
    );
  });

  it('majorities ring: every node hears a majority, no two the same one', () => {
    fc.assert(
      fc.property(fc.integer({ min: 3, max: 9 }), fc.nat(), (n, seed) => {
        const nodes = Array.from({ length: n }, (_, i) => `n${i + 1}`);
        const p = resolvePartition({ kind: 'ring', seed }, nodes);
        const views = [...reachability(nodes, p.cuts).values()].map((s) => [...s].sort().join(','));
        for (const v of views) expect(v.split(',').length).toBe(majority(n));
        expect(new Set(views).size).toBe(n);
      }),
    );
  });

  it('bridge: one node hears both halves, the halves do not hear each other', () => {
    const p = resolvePartition({ kind: 'bridge', seed: 7 }, five);
    const hears = reachability(five, p.cuts);
    const full = five.filter((n) => hears.get(n)?.size === 5);
    expect(full).toHaveLength(1);
    const others = five.filter((n) => !full.includes(n));
    for (const n of others) expect(hears.get(n)?.size).toBe(3);
  });

  it('takes any set of cuts, dropping repeats and self-cuts', () => {
    const p = resolvePartition(
      {
        kind: 'cuts',
        cuts: [
          { from: 'n2', to: 'n1' },
          { from: 'n2', to: 'n1' },
          { from: 'n3', to: 'n3' },
        ],
      },
      five,
    );
    expect(p.cuts).toEqual([{ from: 'n2', to: 'n1' }]);
  });
});
