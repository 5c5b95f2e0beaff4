import { Prng } from '../../node/util/prng.js';
import type { NodeName } from '../cluster/spec.js';

/**
 * Partition shapes (blockade's and Jepsen's) reduced to one thing a backend
 * can apply: a set of directed cuts. A cut {from, to} means packets sent by
 * `from` never reach `to`; a two-way cut is two cuts.
 */
export interface Cut {
  readonly from: NodeName;
  readonly to: NodeName;
}

export type PartitionShape =
  /** Nodes in different groups cannot talk; nodes in no group form one more group. */
  | { readonly kind: 'groups'; readonly groups: readonly (readonly NodeName[])[] }
  /** One node against the rest. */
  | { readonly kind: 'isolate'; readonly node: NodeName }
  /** The current leader against the rest (the cluster finds the leader). */
  | { readonly kind: 'isolate-leader' }
  /** Shuffled, then cut into a minority and a majority (Jepsen's random halves). */
  | { readonly kind: 'random'; readonly seed?: number }
  /** Every node sees a majority, no two nodes the same one (Jepsen's majorities ring). */
  | { readonly kind: 'ring'; readonly seed?: number }
  /** Two halves joined by one node that sees both (Jepsen's bridge). */
  | { readonly kind: 'bridge'; readonly seed?: number }
  /** Packets from every `from` node to every `to` node are lost; the reverse still flows. */
  | {
      readonly kind: 'oneway';
      readonly from: readonly NodeName[];
      readonly to: readonly NodeName[];
    }
  /** Any set of directed cuts, for shapes of the caller's own. */
  | { readonly kind: 'cuts'; readonly cuts: readonly Cut[] };

export interface Partition {
  /** One line for people: the groups, or the cuts. */
  readonly description: string;
  /** Sorted and without repeats. */
  readonly cuts: readonly Cut[];
}

export class ShapeError extends Error {
  override readonly name = 'ShapeError';
}

export function majority(n: number): number {
  return Math.floor(n / 2) + 1;
}

function seeded(seed: number | undefined): { prng: Prng; seed: number } {
  const s = seed ?? Math.floor(Math.random() * 0x7fffffff);
  return { prng: new Prng(s), seed: s };
}

function checkNodes(all: readonly NodeName[], named: readonly NodeName[]): void {
  for (const n of named) {
    if (!all.includes(n)) {
      throw new ShapeError(`unknown node '${n}' (the cluster has ${all.join(', ')})`);
    }
  }
}

/** Every cut between two sets of nodes, both ways. */
function between(a: readonly NodeName[], b: readonly NodeName[]): Cut[] {
  const cuts: Cut[] = [];
  for (const x of a) {
    for (const y of b) {
      cuts.push({ from: x, to: y }, { from: y, to: x });
    }
  }
  return cuts;
}

function groupCuts(groups: readonly (readonly NodeName[])[]): Cut[] {
  const cuts: Cut[] = [];
  for (let i = 0; i < groups.length; i++) {
    for (let j = i + 1; j < groups.length; j++) {
      cuts.push(...between(groups[i] ?? [], groups[j] ?? []));
    }
  }
  return cuts;
}

export function normalizeCuts(cuts: readonly Cut[], order: readonly NodeName[]): Cut[] {
  const rank = (n: NodeName): number => order.indexOf(n);
  const seen = new Set<string>();
  const out: Cut[] = [];
  for (const c of cuts) {
    if (c.from === c.to) continue;
    const key = `${c.from}>${c.to}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push({ from: c.from, to: c.to });
  }
  return out.sort((a, b) => rank(a.from) - rank(b.from) || rank(a.to) - rank(b.to));
}

const show = (g: readonly NodeName[]): string => g.join(',');

export function resolvePartition(shape: PartitionShape, nodes: readonly NodeName[]): Partition {
  const done = (description: string, cuts: readonly Cut[]): Partition => ({
    description,
    cuts: normalizeCuts(cuts, nodes),
  });
  switch (shape.kind) {
    case 'groups': {
      const listed = shape.groups.flat();
      checkNodes(nodes, listed);
      const dup = listed.find((n, i) => listed.indexOf(n) !== i);
      if (dup !== undefined) throw new ShapeError(`node '${dup}' is in more than one group`);
      if (shape.groups.some((g) => g.length === 0)) throw new ShapeError('a group is empty');
      const rest = nodes.filter((n) => !listed.includes(n));
      const groups = rest.length > 0 ? [...shape.groups, rest] : [...shape.groups];
      return done(groups.map(show).join(' | '), groupCuts(groups));
    }
    case 'isolate': {
      checkNodes(nodes, [shape.node]);
      const rest = nodes.filter((n) => n !== shape.node);
      return done(`${shape.node} | ${show(rest)}`, between([shape.node], rest));
    }
    case 'isolate-leader':
      throw new ShapeError('isolate-leader needs the leader: the cluster resolves it first');
    case 'random': {
      const { prng, seed } = seeded(shape.seed);
      const order = prng.shuffle(nodes);
      const minority = order.slice(0, Math.floor(nodes.length / 2));
      const rest = order.slice(minority.length);
      return done(
        `${show(minority)} | ${show(rest)} (random, seed ${seed})`,
        between(minority, rest),
      );
    }
    case 'bridge': {
      const { prng, seed } = seeded(shape.seed);
      const order = prng.shuffle(nodes);
      const a = order.slice(0, Math.floor(nodes.length / 2));
      const [bridge, ...b] = order.slice(a.length);
      return done(
        `${show(a)} | ${bridge ?? '-'} | ${show(b)} (bridge ${bridge ?? '-'}, seed ${seed})`,
        between(a, b),
      );
    }
    case 'ring': {
      const { prng, seed } = seeded(shape.seed);
      const order = prng.shuffle(nodes);
      const n = order.length;
      const m = majority(n);
      const cuts: Cut[] = [];
      // Each window of m neighbours is one node's view: its centre hears only them.
      for (let i = 0; i < n; i++) {
        const window = Array.from({ length: m }, (_, k) => order[(i + k) % n] as NodeName);
        const centre = window[Math.floor(m / 2)] as NodeName;
        for (const other of order) {
          if (!window.includes(other)) cuts.push({ from: other, to: centre });
        }
      }
      return done(`majorities ring ${order.join('>')} (seed ${seed})`, cuts);
    }
    case 'oneway': {
      checkNodes(nodes, [...shape.from, ...shape.to]);
      const both = shape.from.find((n) => shape.to.includes(n));
      if (both !== undefined)
        throw new ShapeError(`node '${both}' is on both sides of --from/--to`);
      if (shape.from.length === 0 || shape.to.length === 0) {
        throw new ShapeError('a one-way cut needs nodes on both sides');
      }
      const cuts = shape.from.flatMap((f) => shape.to.map((t) => ({ from: f, to: t })));
      return done(`${show(shape.from)} -> ${show(shape.to)} cut one way`, cuts);
    }
    case 'cuts': {
      checkNodes(
        nodes,
        shape.cuts.flatMap((c) => [c.from, c.to]),
      );
      const cuts = normalizeCuts(shape.cuts, nodes);
      return done(cuts.map((c) => `${c.from}-x>${c.to}`).join(' '), cuts);
    }
  }
}

/** Which nodes each node still hears from, for tests and for status. */
export function reachability(
  nodes: readonly NodeName[],
  cuts: readonly Cut[],
): Map<NodeName, Set<NodeName>> {
  const hears = new Map<NodeName, Set<NodeName>>(nodes.map((n) => [n, new Set(nodes)]));
  for (const c of cuts) hears.get(c.to)?.delete(c.from);
  return hears;
}
