/**
 * What the Raft driver needs from the network: datagrams, like UDP. The node
 * sends them over UDP with a small header (cluster id, sender id, kind: at most
 * 64 bytes); the simulator through a network that loses, delays, duplicates
 * and reorders them. Incoming datagrams go to `Raft.handleMessage(from, bytes)`.
 */
import type { NodeId } from './types.js';

export interface RaftTransport {
  /**
   * Best effort: the datagram may be lost, duplicated, delayed or reordered;
   * Raft copes with all of it. `bytes.length` is at most maxMessageLength.
   * Must not throw (an unreachable peer is a lost datagram).
   */
  send(to: NodeId, bytes: Uint8Array): void;
}
