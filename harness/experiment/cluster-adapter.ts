import type { FaultBackend, PartitionRequest } from '../nemesis/backend.js';
import type { Cluster, ClusterBackend, ClusterSpec, NodeAddress } from './backend.js';

/**
 * The part of harness/cluster/backend.ts (the Docker backend's Cluster) the
 * experiment uses. Kept structural, so this folder depends on the verbs and not
 * on how they are built.
 */
export interface HarnessCluster {
  readonly nodes: readonly string[];
  address(node: string): NodeAddress;
  leader(): Promise<string | undefined>;
  kill(nodes: readonly string[]): Promise<void>;
  start(nodes: readonly string[]): Promise<void>;
  pause(nodes: readonly string[]): Promise<void>;
  unpause(nodes: readonly string[]): Promise<void>;
  partition(shape: PartitionRequest): Promise<{ readonly description: string }>;
  heal(): Promise<void>;
  flaky(nodes: readonly string[], loss: number): Promise<void>;
  slow(
    nodes: readonly string[],
    opts: { readonly delayMs: number; readonly jitterMs?: number },
  ): Promise<void>;
  fast(): Promise<void>;
  logs(node: string): Promise<string>;
  status(): Promise<{ readonly image: string }>;
  down(): Promise<unknown>;
}

export interface HarnessSpec {
  readonly name: string;
  readonly nodes: number;
  readonly image?: string;
  readonly unsafe?: string;
  /** What each container runs instead of the node (`{id}` and the like replaced). */
  readonly command?: readonly string[];
}

export interface HarnessBackend<S extends HarnessSpec> {
  up(
    spec: S,
    opts?: {
      readonly replace?: boolean;
      readonly signal?: AbortSignal;
      readonly log?: (line: string) => void;
    },
  ): Promise<HarnessCluster>;
}

function faultsOf(c: HarnessCluster): FaultBackend {
  return {
    nodes: c.nodes,
    partition: (shape) => c.partition(shape),
    heal: () => c.heal(),
    pause: (nodes) => c.pause(nodes),
    unpause: (nodes) => c.unpause(nodes),
    kill: (nodes) => c.kill(nodes),
    start: (nodes) => c.start(nodes),
    flaky: (nodes, loss) => c.flaky(nodes, loss),
    slow: (nodes, delayMs, jitterMs) => c.slow(nodes, { delayMs, jitterMs }),
    fast: () => c.fast(),
    leader: async () => (await c.leader()) ?? null,
  };
}

/**
 * The Docker backend seen as the runner's ClusterBackend. `baseSpec` gives the
 * backend's defaults (timings, node flags) for a name and a node count; the
 * experiment adds image and planted bug. A cluster of the same name left by an
 * earlier, crashed run is replaced.
 */
export function adaptBackend<S extends HarnessSpec>(
  backend: HarnessBackend<S>,
  baseSpec: (name: string, nodes: number) => S,
  log?: (line: string) => void,
): ClusterBackend {
  return {
    async up(spec: ClusterSpec, signal?: AbortSignal): Promise<Cluster> {
      const full: S = {
        ...baseSpec(spec.name, spec.nodes),
        ...(spec.image === null ? {} : { image: spec.image }),
        ...(spec.unsafe === null ? {} : { unsafe: spec.unsafe }),
      };
      const c = await backend.up(full, {
        replace: true,
        ...(signal === undefined ? {} : { signal }),
        ...(log === undefined ? {} : { log }),
      });
      const { image } = await c.status();
      return {
        nodes: c.nodes,
        image,
        faults: faultsOf(c),
        clientAddress: (node) => c.address(node),
        readLog: (node) => c.logs(node),
        down: async () => {
          await c.down();
        },
      };
    },
  };
}
