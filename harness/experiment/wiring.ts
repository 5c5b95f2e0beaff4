import { pathToFileURL } from 'node:url';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SetupError } from '../cli/errors.js';
import type { ClientAdapter } from '../workload/adapter.js';
import { RespClient } from '../../node/kv/client.js';
import { RespAdapter } from '../workload/resp-adapter.js';
import type { ClusterBackend, Cluster } from './backend.js';
import { adaptBackend, type HarnessBackend, type HarnessSpec } from './cluster-adapter.js';
import { checkHistoryFile } from './linearizability.js';
import type { LinearizabilityCheck } from './runner.js';

/**
 * Connects the runner to the real parts: the Docker backend (harness/cluster),
 * the node's RESP client (node/kv/client.ts) and the linearizability checker
 * (checks/index.ts). The backend is loaded when a run starts, by the names its
 * modules export, and checked before use, so a build without it says so.
 */
export interface RealParts {
  readonly backend: ClusterBackend;
  readonly adapter: (cluster: Cluster, opTimeoutMs: number) => ClientAdapter;
  readonly checkLinearizability: LinearizabilityCheck;
}

/** Where the modules are: the checkout (running from source) or its dist/ (built). */
const codeRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
/** The checkout itself, whose dist/ the Docker backend images when no image is named. */
const repoRoot = basename(codeRoot) === 'dist' ? dirname(codeRoot) : codeRoot;

async function load(relative: string, what: string): Promise<Record<string, unknown>> {
  const path = join(codeRoot, relative);
  try {
    return (await import(pathToFileURL(path).href)) as Record<string, unknown>;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ERR_MODULE_NOT_FOUND') {
      throw new SetupError(`raftbed run: ${what} is not in this build (${relative} is missing)`);
    }
    throw err;
  }
}

function member<T>(mod: Record<string, unknown>, name: string, file: string): T {
  const v = mod[name];
  if (typeof v !== 'function') throw new SetupError(`raftbed run: ${file} does not export ${name}`);
  return v as T;
}

/** The Docker backend as harness/cluster builds it, and its default spec for a cluster. */
export async function loadDockerBackend(): Promise<{
  readonly backend: HarnessBackend<HarnessSpec>;
  readonly defaultSpec: (name: string, nodes: number) => HarnessSpec;
}> {
  const ext = import.meta.url.endsWith('.ts') ? 'ts' : 'js';
  const dockerFile = `harness/cluster/docker-backend.${ext}`;
  const specFile = `harness/cluster/spec.${ext}`;
  const [docker, spec] = await Promise.all([
    load(dockerFile, 'the Docker backend'),
    load(specFile, 'the cluster spec'),
  ]);
  const DockerBackend = docker['DockerBackend'] as { connect?: unknown } | undefined;
  if (typeof DockerBackend?.connect !== 'function') {
    throw new SetupError(`raftbed run: ${dockerFile} does not export DockerBackend.connect`);
  }
  const connectDocker = DockerBackend.connect as (opts: {
    root: string;
  }) => Promise<HarnessBackend<HarnessSpec>>;
  const defaultSpec = member<(name: string, nodes: number) => HarnessSpec>(
    spec,
    'defaultSpec',
    specFile,
  );
  return { backend: await connectDocker({ root: repoRoot }), defaultSpec };
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
