import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DockerBackend } from '../cluster/docker-backend.js';
import { defaultSpec, type ClusterSpec } from '../cluster/spec.js';
import type { ClientAdapter } from '../workload/adapter.js';
import { RespClient } from '../../node/kv/client.js';
import { RespAdapter } from '../workload/resp-adapter.js';
import type { ClusterBackend, Cluster } from './backend.js';
import { adaptBackend, type HarnessBackend } from './cluster-adapter.js';
import { checkHistoryFile } from './linearizability.js';
import type { LinearizabilityCheck } from './runner.js';

/**
 * Connects the runner to the real parts: the Docker backend (harness/cluster),
 * the node's RESP client (node/kv/client.ts) and the linearizability checker
 * (checks/index.ts). Loaded by the commands inside run(), so that `raftbed node`
 * in a container never loads them.
 */
export interface RealParts {
  readonly backend: ClusterBackend;
  readonly adapter: (cluster: Cluster, opTimeoutMs: number) => ClientAdapter;
  readonly checkLinearizability: LinearizabilityCheck;
}

/** Where the code runs from: the checkout (from source) or its dist/ (built). */
const codeRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
/** The checkout itself, whose dist/ the Docker backend images when no image is named. */
const repoRoot = basename(codeRoot) === 'dist' ? dirname(codeRoot) : codeRoot;

/** The Docker backend (harness/cluster), and its default spec for a cluster. */
export async function loadDockerBackend(): Promise<{
  readonly backend: HarnessBackend<ClusterSpec>;
  readonly defaultSpec: (name: string, nodes: number) => ClusterSpec;
}> {
  return { backend: await DockerBackend.connect({ root: repoRoot }), defaultSpec };
}

export async function loadRealParts(log?: (line: string) => void): Promise<RealParts> {
  const docker = await loadDockerBackend();
  return {
    backend: adaptBackend(docker.backend, docker.defaultSpec, log),
    adapter: (cluster, opTimeoutMs) =>
      new RespAdapter({
        // The workload's own timer decides an op's fate; the client's only frees the socket.
        timeoutMs: opTimeoutMs + 1000,
        connect: (node) => {
          const { host, port } = cluster.clientAddress(node);
          return RespClient.connect({
            host,
            port,
            connectTimeoutMs: Math.min(1000, opTimeoutMs),
            commandTimeoutMs: opTimeoutMs + 1000,
          });
        },
      }),
    checkLinearizability: checkHistoryFile,
  };
}
