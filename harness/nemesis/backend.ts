/**
 * The verbs the nemesis needs from a cluster backend, and nothing else. The Docker
 * backend implements them with iptables, docker pause/kill/start and a delayer.
 */

/** Packets from `from` to `to` are dropped (one direction; a full cut is two links). */
export type Link = readonly [from: string, to: string];

export interface FaultBackend {
  readonly nodes: readonly string[];
  /** Drops every listed link, replacing whatever cut was in force. */
  cut(links: readonly Link[]): Promise<void>;
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
