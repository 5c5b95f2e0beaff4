import type { Cut, PartitionShape } from '../faults/shapes.js';
import type { ClusterSpec, NodeName } from './spec.js';

/**
 * What the experiment runner, the nemesis and the CLI need from a cluster
 * backend. A backend knows how to start, stop, pause and kill nodes, where
 * they listen, and how to cut links between them; it does not know what Raft
 * or a workload is (leader discovery asks each node's RAFT.STATUS and nothing
 * more). Docker is the first backend; local processes can follow behind the
 * same interface.
 */

export interface Address {
  readonly host: string;
  readonly port: number;
}

export type NodeState = 'running' | 'paused' | 'stopped' | 'missing';

/** A node's own view, from `RAFT.STATUS`; absent when it did not answer. */
export interface RaftView {
  readonly role: string;
  readonly term: number;
  readonly leader: string;
  readonly commit: number;
  readonly applied: number;
}

export interface NodeStatus {
  readonly node: NodeName;
  readonly container: string;
  readonly state: NodeState;
  readonly address: Address;
  readonly raft?: RaftView;
}

export interface SlowOptions {
  readonly delayMs: number;
  readonly jitterMs?: number;
  readonly rateKbit?: number;
}

export interface FaultsInForce {
  readonly partition?: { readonly description: string; readonly cuts: readonly Cut[] };
  readonly flaky: Readonly<Record<NodeName, { readonly loss: number }>>;
  readonly slow: Readonly<Record<NodeName, SlowOptions>>;
  readonly paused: readonly NodeName[];
  readonly stopped: readonly NodeName[];
}

export interface ClusterStatus {
  readonly name: string;
  readonly image: string;
  readonly nodes: readonly NodeStatus[];
  readonly faults: FaultsInForce;
}

export type ClusterAction =
  | 'up'
  | 'down'
  | 'kill'
  | 'start'
  | 'restart'
  | 'pause'
  | 'unpause'
  | 'partition'
  | 'heal'
  | 'flaky'
  | 'slow'
  | 'fast';

/** Emitted at the start and end of every action, for the nemesis's log. */
export interface ClusterEvent {
  readonly cluster: string;
  readonly action: ClusterAction;
  readonly phase: 'begin' | 'end';
  /** ISO time. */
  readonly time: string;
  readonly nodes: readonly NodeName[];
  /** One line saying what was (or is being) done. */
  readonly detail: string;
  /** On `end` when the action failed. */
  readonly error?: string;
}

export type Targets = readonly NodeName[] | 'all';

export interface Cluster {
  readonly name: string;
  readonly nodes: readonly NodeName[];
  /** Where a client on this host reaches the node (the address does not change on restart). */
  address(node: NodeName): Address;
  status(): Promise<ClusterStatus>;
  faults(): Promise<FaultsInForce>;
  /** The node that says it leads in the highest term, if any answers so. */
  leader(): Promise<NodeName | undefined>;
  /** Polls leader() until one answers or the time is up. */
  waitForLeader(timeoutMs: number): Promise<NodeName | undefined>;

  kill(nodes: Targets): Promise<void>;
  start(nodes: Targets): Promise<void>;
  restart(nodes: Targets): Promise<void>;
  pause(nodes: Targets): Promise<void>;
  unpause(nodes: Targets): Promise<void>;

  /** Replaces the partition in force; returns the cuts applied. */
  partition(
    shape: PartitionShape,
  ): Promise<{ readonly description: string; readonly cuts: readonly Cut[] }>;
  /** Heals every network fault: partitions, loss, delay, rate (`raftbed join`). */
  heal(): Promise<void>;
  flaky(nodes: Targets, loss: number): Promise<void>;
  slow(nodes: Targets, opts: SlowOptions): Promise<void>;
  /** Ends loss, delay and rate limits (`raftbed fast`); partitions stay. */
  fast(): Promise<void>;

  /** The node's log so far (its stdout and stderr). */
  logs(node: NodeName, opts?: { readonly tail?: number }): Promise<string>;

  /** Subscribes to action events; returns the unsubscribe function. */
  onEvent(listener: (event: ClusterEvent) => void): () => void;
  down(): Promise<DownReport>;
}

export interface DownReport {
  readonly containers: number;
  readonly networks: number;
  readonly volumes: number;
  readonly helpers: number;
}

export interface UpOptions {
  /** Remove what a cluster of the same name left before starting. */
  readonly replace?: boolean;
  readonly signal?: AbortSignal;
  readonly log?: (line: string) => void;
}

export interface Backend {
  readonly kind: string;
  up(spec: ClusterSpec, opts?: UpOptions): Promise<Cluster>;
  /** A cluster that is already up (made by another process, e.g. the CLI). */
  attach(name: string): Promise<Cluster>;
  /** Removes everything of the named cluster, also what a crashed harness left. */
  down(name: string): Promise<DownReport>;
}
