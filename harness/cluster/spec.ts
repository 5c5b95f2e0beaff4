/**
 * What a cluster is made of, independent of the backend that runs it: how many
 * nodes, which image, the node flags. Names and defaults live here so the CLI,
 * raftbed.yml and the experiment runner agree.
 */
export type NodeName = string;

export interface ClusterSpec {
  /** Cluster name: containers are NAME-n1, NAME-n2, ... */
  readonly name: string;
  readonly nodes: number;
  /** Image reference; absent: the image of this checkout's dist/, built when missing. */
  readonly image?: string;
  /** IPv4 /24 or larger for the cluster network; absent: a free one is chosen. */
  readonly subnet?: string;
  readonly heartbeatMs: number;
  readonly electionTimeoutMs: readonly [number, number];
  /** The node's `--fsync` policy (always, batch, never); absent: the node's default. */
  readonly fsync?: string;
  /** A planted bug (`--unsafe BUG`), test only. */
  readonly unsafe?: string;
  /** More flags passed to every node as they are. */
  readonly nodeFlags: readonly string[];
  /**
   * The process each container runs instead of `raftbed node` (tests and
   * probes); `{id}`, `{peers}`, `{data}`, `{client_port}` are replaced.
   */
  readonly command?: readonly string[];
}

export const DEFAULT_CLUSTER = 'raftbed';
export const RAFT_PORT = 7000;
export const CLIENT_PORT = 6379;
export const DATA_DIR = '/data';
export const MAX_NODES = 50;

/** Containers share two cores with everything else: longer than loopback timings. */
export const DEFAULT_TIMINGS = {
  heartbeatMs: 100,
  electionTimeoutMs: [600, 1200] as const,
};

export function defaultSpec(name: string = DEFAULT_CLUSTER, nodes = 3): ClusterSpec {
  return {
    name,
    nodes,
    heartbeatMs: DEFAULT_TIMINGS.heartbeatMs,
    electionTimeoutMs: DEFAULT_TIMINGS.electionTimeoutMs,
    nodeFlags: [],
  };
}

export function nodeNames(count: number): NodeName[] {
  return Array.from({ length: count }, (_, i) => `n${i + 1}`);
}

/** Docker names allow more, but these also make safe iptables comments and file names. */
const NAME_RE = /^[a-z0-9][a-z0-9_.-]{0,39}$/;

/** A reason the name cannot be used, or undefined when it can. */
export function clusterNameProblem(name: string): string | undefined {
  if (NAME_RE.test(name)) return undefined;
  return `cluster name '${name}' must be 1-40 of a-z 0-9 _ . - starting with a letter or digit`;
}

/** A reason the spec cannot run, or undefined when it can. */
export function specProblem(spec: ClusterSpec): string | undefined {
  const nameProblem = clusterNameProblem(spec.name);
  if (nameProblem) return nameProblem;
  if (!Number.isInteger(spec.nodes) || spec.nodes < 1 || spec.nodes > MAX_NODES) {
    return `nodes must be a whole number from 1 to ${MAX_NODES}, got ${spec.nodes}`;
  }
  if (!Number.isInteger(spec.heartbeatMs) || spec.heartbeatMs < 1) {
    return `heartbeat must be a positive whole number of ms, got ${spec.heartbeatMs}`;
  }
  const [lo, hi] = spec.electionTimeoutMs;
  if (!Number.isInteger(lo) || !Number.isInteger(hi) || lo < 1 || hi < lo) {
    return `election timeout must be MIN-MAX ms with 0 < MIN <= MAX, got ${lo}-${hi}`;
  }
  if (lo <= spec.heartbeatMs) {
    return `election timeout ${lo}-${hi} ms must be longer than the heartbeat (${spec.heartbeatMs} ms)`;
  }
  return undefined;
}

/**
 * The node's --cluster-id (1-16 of A-Z a-z 0-9 . _ -): the cluster name, or
 * for a longer name its start and a hash of the whole, so it stays unique.
 */
export function clusterId(name: string): string {
  if (name.length <= 16) return name;
  let h = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193);
  return `${name.slice(0, 7)}-${(h >>> 0).toString(16).padStart(8, '0')}`;
}

export function peersArg(ips: Readonly<Record<NodeName, string>>): string {
  return Object.entries(ips)
    .map(([id, ip]) => `${id}=${ip}:${RAFT_PORT}`)
    .join(',');
}

/** The argv a node's container runs. */
export function nodeCommand(
  spec: ClusterSpec,
  node: NodeName,
  ips: Readonly<Record<NodeName, string>>,
): string[] {
  const peers = peersArg(ips);
  if (spec.command !== undefined) {
    const vars: Record<string, string> = {
      id: node,
      peers,
      data: DATA_DIR,
      client_port: String(CLIENT_PORT),
      cluster: spec.name,
    };
    return spec.command.map((a) => a.replace(/\{(\w+)\}/g, (m, k: string) => vars[k] ?? m));
  }
  const cmd = [
    'node',
    '/app/dist/harness/cli/main.js',
    'node',
    '--id',
    node,
    '--peers',
    peers,
    '--data',
    DATA_DIR,
    '--client-port',
    String(CLIENT_PORT),
    '--cluster-id',
    clusterId(spec.name),
    '--heartbeat-ms',
    String(spec.heartbeatMs),
    '--election-timeout-ms',
    `${spec.electionTimeoutMs[0]}-${spec.electionTimeoutMs[1]}`,
  ];
  if (spec.fsync !== undefined) cmd.push('--fsync', spec.fsync);
  if (spec.unsafe !== undefined) cmd.push('--unsafe', spec.unsafe);
  cmd.push(...spec.nodeFlags);
  return cmd;
}
