import type { FaultBackend } from '../nemesis/backend.js';

/**
 * What the runner needs from a cluster backend: bring a cluster up, reach its
 * nodes, break it (the nemesis's verbs), read its logs, take it down. Docker
 * is the backend today; local processes could be another.
 */
export interface ClusterSpec {
  /** Names the cluster's objects (containers CLUSTER-n1, ...). */
  readonly name: string;
  readonly nodes: number;
  /** Image reference; null: the backend's default (built from the tree when missing). */
  readonly image: string | null;
  /** A planted bug the nodes start with (cli.md: --unsafe BUG). */
  readonly unsafe: string | null;
}

export interface NodeAddress {
  readonly host: string;
  readonly port: number;
}

export interface Cluster {
  /** Node names, n1..nN. */
  readonly nodes: readonly string[];
  /** The image the nodes run. */
  readonly image: string;
  readonly faults: FaultBackend;
  /** Where a client reaches a node's RESP port from this process. */
  clientAddress(node: string): NodeAddress;
  /** The node's whole log (JSON lines), across its restarts. */
  readLog(node: string): Promise<string>;
  /** Removes every object of the cluster. */
  down(): Promise<void>;
}

export interface ClusterBackend {
  up(spec: ClusterSpec, signal?: AbortSignal): Promise<Cluster>;
}
