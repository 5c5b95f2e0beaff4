import { Prng } from '../../../node/util/prng.js';
import type { PartitionRequest } from '../backend.js';

/** Packets from the first node to the second are dropped. */
export type Link = readonly [from: string, to: string];

/**
 * Partition shapes resolved to links, as a backend does it: the in-memory
 * backend uses this so that unit tests see real cuts.
 */

/** A partition as links to drop, with a line a person can read in the history. */
export interface Partition {
  readonly links: readonly Link[];
  readonly description: string;
}

/** Every link between two different groups, both ways. */
export function cutBetween(groups: readonly (readonly string[])[]): Link[] {
  const links: Link[] = [];
  for (let i = 0; i < groups.length; i++) {
    for (let j = 0; j < groups.length; j++) {
      if (i === j) continue;
      for (const a of groups[i] ?? []) for (const b of groups[j] ?? []) links.push([a, b]);
    }
  }
  return links;
}

function groupsText(groups: readonly (readonly string[])[]): string {
  return groups.map((g) => [...g].sort().join(',')).join(' | ');
}

export function isolate(node: string, nodes: readonly string[]): Partition {
  const groups = [[node], nodes.filter((n) => n !== node)];
  return { links: cutBetween(groups), description: groupsText(groups) };
}

/** A minority and a majority, drawn at random. */
export function halves(nodes: readonly string[], prng: Prng): Partition {
  const shuffled = prng.shuffle(nodes);
  const cut = Math.floor(nodes.length / 2);
  const groups = [shuffled.slice(0, cut), shuffled.slice(cut)];
  return { links: cutBetween(groups), description: groupsText(groups) };
}

/**
 * Jepsen's majorities ring: nodes on a ring each see their nearest neighbours,
 * enough for a majority, yet no two see the same majority. Below five nodes no
 * such ring exists, so it falls back to halves.
 */
export function ring(nodes: readonly string[], prng: Prng): Partition {
  if (nodes.length < 5) return halves(nodes, prng);
  const order = prng.shuffle(nodes);
  const n = order.length;
  const majority = Math.floor(n / 2) + 1;
  const radius = Math.ceil((majority - 1) / 2);
  const links: Link[] = [];
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      const d = Math.min(Math.abs(i - j), n - Math.abs(i - j));
      if (d > radius) links.push([order[i] as string, order[j] as string]);
    }
  }
  return { links, description: `ring ${order.join('-')}` };
}

/** Two sides that cannot talk, and one bridge node that talks to both. */
export function bridge(nodes: readonly string[], prng: Prng): Partition {
  const order = prng.shuffle(nodes);
  const mid = Math.floor(order.length / 2);
  const left = order.slice(0, mid);
  const bridgeNode = order[mid] as string;
  const right = order.slice(mid + 1);
  return {
    links: cutBetween([left, right]),
    description: `${[...left].sort().join(',')} <-${bridgeNode}-> ${[...right].sort().join(',')}`,
  };
}

/** Packets from every `from` node to every `to` node are dropped; the reverse flows. */
export function oneWay(from: readonly string[], to: readonly string[]): Partition {
  return {
    links: from.flatMap((f) => to.map((t): Link => [f, t])),
    description: `${from.join(',')} -> ${to.join(',')} cut one way`,
  };
}

export function resolve(shape: PartitionRequest, nodes: readonly string[]): Partition {
  switch (shape.kind) {
    case 'isolate':
      return isolate(shape.node, nodes);
    case 'random':
      return halves(nodes, new Prng(shape.seed));
    case 'ring':
      return ring(nodes, new Prng(shape.seed));
    case 'bridge':
      return bridge(nodes, new Prng(shape.seed));
    case 'oneway':
      return oneWay(shape.from, shape.to);
  }
}
