import { FakeBackend } from '../../nemesis/test-support/fake-backend.js';
import { FakeAdapter } from '../../workload/test-support/fake-adapter.js';
import type { Cluster, ClusterBackend, ClusterSpec, NodeAddress } from '../backend.js';
import type { Clock } from '../clock.js';

/**
 * A cluster in memory: one atomic store behind every node, and nodes that refuse
 * when killed, hang when paused, and answer -TRYAGAIN when cut off from a majority, so a run
 * through it exercises every phase and every outcome without Docker.
 */
export class FakeCluster implements Cluster {
  readonly nodes: readonly string[];
  readonly image = 'fake:latest';
  readonly faults: FakeBackend;
  readonly adapter: FakeAdapter;
  downCalls = 0;
  logs = new Map<string, string>();

  constructor(
    readonly spec: ClusterSpec,
    clock: Clock,
  ) {
    this.nodes = Array.from({ length: spec.nodes }, (_, i) => `n${i + 1}`);
    this.faults = new FakeBackend(this.nodes);
    this.adapter = new FakeAdapter(clock, 2);
    this.adapter.behave = (node) => {
      if (this.faults.killed.has(node)) return { type: 'fail', error: 'connection refused' };
      if (this.faults.paused.has(node)) return 'hang';
      if (!this.inMajority(node)) return { type: 'fail', error: 'TRYAGAIN no leader' };
      return 'perform';
    };
    for (const [i, n] of this.nodes.entries()) {
      this.logs.set(
        n,
        [
          {
            node: n,
            boot: `${n}-b1`,
            term: 1,
            event: 'role',
            role: i === 0 ? 'leader' : 'follower',
            leader: 'n1',
          },
          { node: n, boot: `${n}-b1`, term: 1, event: 'commit', commit: 3 },
        ]
          .map((o) => JSON.stringify({ time: 0, level: 'info', ...o }))
          .join('\n') + '\n',
      );
    }
  }

  /** Whether the node talks both ways with a majority of the cluster (itself included). */
  inMajority(node: string): boolean {
    const cut = (a: string, b: string): boolean =>
      this.faults.links.some(([x, y]) => (x === a && y === b) || (x === b && y === a));
    const peers = this.nodes.filter((n) => n === node || !cut(node, n));
    return peers.length > this.nodes.length / 2;
  }

  clientAddress(node: string): NodeAddress {
    return { host: '127.0.0.1', port: 6379 + this.nodes.indexOf(node) };
  }

  readLog(node: string): Promise<string> {
    return Promise.resolve(this.logs.get(node) ?? '');
  }

  down(): Promise<void> {
    this.downCalls++;
    return Promise.resolve();
  }
}

export class FakeClusterBackend implements ClusterBackend {
  last: FakeCluster | null = null;
  failUp: string | null = null;
  /** The leader new clusters report (null: no election ever completes). */
  leader: string | null = 'n1';

  constructor(private readonly clock: Clock) {}

  up(spec: ClusterSpec): Promise<FakeCluster> {
    if (this.failUp !== null) return Promise.reject(new Error(this.failUp));
    this.last = new FakeCluster(spec, this.clock);
    this.last.faults.currentLeader = this.leader;
    return Promise.resolve(this.last);
  }
}
