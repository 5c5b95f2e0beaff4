/**
 * The verbs the nemesis needs from a cluster backend, and nothing else. The Docker
 * backend implements them with iptables, docker pause/kill/start and a delayer.
 */

/**
 * A partition in the backend's own vocabulary (harness/faults/shapes.ts), which
 * resolves it to directed cuts: one node against the rest, random halves, a
 * majorities ring, a bridge, or a one-way cut (packets from `from` to `to` lost).
 */
export type PartitionRequest =
  | { readonly kind: 'isolate'; readonly node: string }
  | { readonly kind: 'random'; readonly seed: number }
  | { readonly kind: 'ring'; readonly seed: number }
  | { readonly kind: 'bridge'; readonly seed: number }
  | { readonly kind: 'oneway'; readonly from: readonly string[]; readonly to: readonly string[] };

export interface FaultBackend {
  readonly nodes: readonly string[];
  /** Replaces whatever partition was in force; says what it cut. */
  partition(shape: PartitionRequest): Promise<{ readonly description: string }>;
  /** Removes every cut. */
  heal(): Promise<void>;
  pause(nodes: readonly string[]): Promise<void>;
  unpause(nodes: readonly string[]): Promise<void>;
  /** SIGKILL; `start` brings the node back with its data. */
  kill(nodes: readonly string[]): Promise<void>;
  start(nodes: readonly string[]): Promise<void>;
  /** Random loss of a fraction (0.1 = 10%) of packets to and from the nodes. */
  flaky(nodes: readonly string[], loss: number): Promise<void>;
  slow(nodes: readonly string[], delayMs: number, jitterMs: number): Promise<void>;
  /** Clears flaky and slow. */
  fast(): Promise<void>;
  /** The node currently leading, as the nodes report it, or null when none is known. */
  leader(): Promise<string | null>;
}
