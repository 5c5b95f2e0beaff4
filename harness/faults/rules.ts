import type { NodeName } from '../cluster/spec.js';
import type { Cut } from './shapes.js';

/**
 * The iptables rules of one node's network namespace, as iptables-restore
 * text. Everything raftbed adds lives in two chains of its own, jumped to from
 * INPUT and OUTPUT for every interface but loopback, and every rule carries a
 * comment `raftbed:<cluster>[:<fault>]`. Docker's own rules in the namespace
 * (the nat table of its embedded DNS) are never named, so never touched.
 *
 *   RAFTBED-IN   -s PEER -j DROP                (partition: what this node may not hear)
 *   RAFTBED-OUT  -d PEER -j DROP                (partition: what this node may not reach)
 *                -m statistic ... -j DROP       (flaky: loss on everything it sends)
 *                -j NFQUEUE --queue-bypass      (slow without netem: the delayer)
 *
 * A cut is applied at both ends (sender's OUT and receiver's IN), so a node
 * that restarts, and whose own rules are briefly missing, is still cut off by
 * its peers' rules.
 */
export const CHAIN_IN = 'RAFTBED-IN';
export const CHAIN_OUT = 'RAFTBED-OUT';
/** NFQUEUE queues are per network namespace, so one number serves every node. */
export const DELAY_QUEUE = 7007;

export function clusterTag(cluster: string): string {
  return `raftbed:${cluster}`;
}

export interface NodeNetFaults {
  /** Peers whose packets this node must not receive. */
  readonly dropFrom: readonly string[];
  /** Peers this node's packets must not reach. */
  readonly dropTo: readonly string[];
  /** Loss on everything the node sends, 0..1; 0 or absent: none. */
  readonly loss?: number;
  /** Send everything the node sends through the delayer's queue. */
  readonly queue?: boolean;
}

export function nodeNetFaults(
  node: NodeName,
  ips: Readonly<Record<NodeName, string>>,
  cuts: readonly Cut[],
  loss: number | undefined,
  queue: boolean,
): NodeNetFaults {
  const ip = (n: NodeName): string => {
    const found = ips[n];
    if (found === undefined) throw new Error(`no address for node ${n}`);
    return found;
  };
  return {
    dropFrom: cuts.filter((c) => c.to === node).map((c) => ip(c.from)),
    dropTo: cuts.filter((c) => c.from === node).map((c) => ip(c.to)),
    ...(loss !== undefined && loss > 0 ? { loss } : {}),
    ...(queue ? { queue } : {}),
  };
}

/** The rules in our chains; '' when nothing is in force. */
export function chainBody(cluster: string, f: NodeNetFaults): string {
  const tag = clusterTag(cluster);
  const lines: string[] = [];
  for (const src of f.dropFrom) {
    lines.push(`-A ${CHAIN_IN} -s ${src}/32 -m comment --comment ${tag}:partition -j DROP`);
  }
  for (const dst of f.dropTo) {
    lines.push(`-A ${CHAIN_OUT} -d ${dst}/32 -m comment --comment ${tag}:partition -j DROP`);
  }
  if (f.loss !== undefined && f.loss > 0) {
    const p = Math.min(1, f.loss);
    lines.push(
      `-A ${CHAIN_OUT} -m statistic --mode random --probability ${formatProbability(p)} ` +
        `-m comment --comment ${tag}:flaky -j DROP`,
    );
  }
  if (f.queue) {
    lines.push(
      `-A ${CHAIN_OUT} -m comment --comment ${tag}:slow -j NFQUEUE --queue-num ${DELAY_QUEUE} --queue-bypass`,
    );
  }
  return lines.join('\n');
}

export function formatProbability(p: number): string {
  if (!(p >= 0 && p <= 1)) throw new RangeError(`loss must be within 0..1, got ${p}`);
  return p.toFixed(6).replace(/0+$/, '').replace(/\.$/, '.0');
}

function jump(cluster: string, dir: 'in' | 'out'): string {
  return dir === 'in'
    ? `INPUT ! -i lo -m comment --comment ${clusterTag(cluster)} -j ${CHAIN_IN}`
    : `OUTPUT ! -o lo -m comment --comment ${clusterTag(cluster)} -j ${CHAIN_OUT}`;
}

/**
 * Text for `iptables-restore --noflush`: declaring our chains flushes them
 * (and only them), then the new body; the jumps are added when missing.
 * Applied in one transaction, so a node never sees half of a change.
 */
export function applyScript(cluster: string, body: string, jumpsPresent: boolean): string {
  const lines = ['*filter', `:${CHAIN_IN} - [0:0]`, `:${CHAIN_OUT} - [0:0]`];
  if (body !== '') lines.push(body);
  if (!jumpsPresent) lines.push(`-I ${jump(cluster, 'in')}`, `-I ${jump(cluster, 'out')}`);
  lines.push('COMMIT', '');
  return lines.join('\n');
}

/** Text that removes our jumps and chains, leaving every other rule as it was. */
export function removeScript(cluster: string, jumpsPresent: { in: boolean; out: boolean }): string {
  const lines = ['*filter', `:${CHAIN_IN} - [0:0]`, `:${CHAIN_OUT} - [0:0]`];
  if (jumpsPresent.in) lines.push(`-D ${jump(cluster, 'in')}`);
  if (jumpsPresent.out) lines.push(`-D ${jump(cluster, 'out')}`);
  lines.push(`-X ${CHAIN_IN}`, `-X ${CHAIN_OUT}`, 'COMMIT', '');
  return lines.join('\n');
}

export interface ScannedRules {
  readonly chains: boolean;
  readonly jumps: { readonly in: boolean; readonly out: boolean };
  /** Rules in our chains carrying this cluster's tag. */
  readonly tagged: number;
  /** Jumps to our chains carrying another tag (left by another cluster): never expected. */
  readonly foreign: number;
}

/** Reads `iptables -S` (filter table) output for what raftbed left in a namespace. */
export function scanRules(text: string, cluster: string): ScannedRules {
  const tag = clusterTag(cluster);
  const tagged = (line: string): boolean =>
    line.includes(`--comment "${tag}"`) ||
    line.includes(`--comment ${tag} `) ||
    line.includes(`--comment "${tag}:`) ||
    line.includes(`--comment ${tag}:`);
  let chains = false;
  let jin = false;
  let jout = false;
  let count = 0;
  let foreign = 0;
  for (const line of text.split('\n')) {
    if (line === `-N ${CHAIN_IN}` || line === `-N ${CHAIN_OUT}`) chains = true;
    if (line.startsWith('-A INPUT ') && line.endsWith(`-j ${CHAIN_IN}`)) {
      if (tagged(line)) jin = true;
      else foreign++;
    }
    if (line.startsWith('-A OUTPUT ') && line.endsWith(`-j ${CHAIN_OUT}`)) {
      if (tagged(line)) jout = true;
      else foreign++;
    }
    if (
      (line.startsWith(`-A ${CHAIN_IN} `) || line.startsWith(`-A ${CHAIN_OUT} `)) &&
      tagged(line)
    ) {
      count++;
    }
  }
  return { chains, jumps: { in: jin, out: jout }, tagged: count, foreign };
}
