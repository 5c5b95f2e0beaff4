import { existsSync } from 'node:fs';
import { SetupError, UsageError } from '../cli/errors.js';
import type { Cluster, ClusterEvent } from './backend.js';
import { clusterNameProblem, DEFAULT_CLUSTER } from './spec.js';

/**
 * What every cluster command shares: --name/--config/--json, finding the
 * cluster, printing the one line (or JSON object) saying what was done, Ctrl-C
 * handling, and turning failures into one line and exit code 3.
 * Heavy modules are imported inside these functions, so command files stay
 * cheap to load.
 */
export const CLUSTER_FLAGS = {
  name: { type: 'string' },
  config: { type: 'string' },
  json: { type: 'boolean' },
} as const;

export interface ClusterFlags {
  readonly name?: string | undefined;
  readonly config?: string | undefined;
  readonly json?: boolean | undefined;
}

export const CLUSTER_FLAGS_HELP = `  --name C       the cluster (default: name in ./raftbed.yml, else ${DEFAULT_CLUSTER})
  --config FILE  read the cluster from FILE instead of ./raftbed.yml
  --json         print one JSON object instead of a line`;

/** The config file in use: --config, else ./raftbed.yml when present. */
export function configFile(flags: ClusterFlags): string | undefined {
  if (flags.config !== undefined) return flags.config;
  return existsSync('raftbed.yml') ? 'raftbed.yml' : undefined;
}

export async function clusterName(command: string, flags: ClusterFlags): Promise<string> {
  let name = flags.name;
  if (name === undefined) {
    const file = configFile(flags);
    if (file !== undefined) {
      const { loadClusterConfig } = await import('./config.js');
      name = (await loadClusterConfig(file)).name;
    }
  }
  name ??= DEFAULT_CLUSTER;
  const problem = clusterNameProblem(name);
  if (problem) throw new UsageError(`raftbed ${command}: ${problem}`);
  return name;
}

/** Errors users can act on become SetupError (one line, exit 3); bugs keep their stack. */
export async function asUserError(command: string, err: unknown): Promise<unknown> {
  if (err instanceof UsageError || err instanceof SetupError) return err;
  const { EngineError } = await import('../docker/engine.js');
  const { NetnsError } = await import('../faults/netns.js');
  const { ShapeError } = await import('../faults/shapes.js');
  const { ConfigError } = await import('./config.js');
  if (err instanceof ShapeError) return new UsageError(`raftbed ${command}: ${err.message}`);
  if (err instanceof EngineError || err instanceof NetnsError || err instanceof ConfigError) {
    return new SetupError(`raftbed ${command}: ${err.message}`);
  }
  return err;
}

export function printEvent(event: ClusterEvent, json: boolean, extra: object = {}): void {
  if (json) {
    process.stdout.write(
      JSON.stringify({
        ok: event.error === undefined,
        cluster: event.cluster,
        action: event.action,
        nodes: event.nodes,
        detail: event.detail,
        time: event.time,
        ...extra,
      }) + '\n',
    );
  } else {
    process.stdout.write(`${event.detail}\n`);
  }
}

/**
 * Attaches to the cluster, runs one action on it under Ctrl-C protection, and
 * prints the line its end event carries.
 */
export async function runOnCluster(
  command: string,
  flags: ClusterFlags,
  fn: (cluster: Cluster) => Promise<object | void>,
): Promise<number> {
  const name = await clusterName(command, flags);
  const { DockerBackend } = await import('./docker-backend.js');
  const { guarded, Interrupted } = await import('./interrupt.js');
  try {
    return await guarded(async (guard) => {
      const backend = DockerBackend.open();
      const cluster = await backend.attach(name);
      let last: ClusterEvent | undefined;
      cluster.onEvent((e) => {
        if (e.phase === 'end') last = e;
      });
      // Once an action has started it runs to its end (a few ms to a second):
      // the state file then matches what is in force.
      const extra = (await fn(cluster)) ?? {};
      if (last) printEvent(last, flags.json === true, extra);
      return guard.interrupted ? 130 : 0;
    });
  } catch (err) {
    if (err instanceof Interrupted) {
      process.stderr.write(`raftbed ${command}: interrupted\n`);
      return 130;
    }
    throw await asUserError(command, err);
  }
}

export function nodeArgs(
  command: string,
  positionals: readonly string[],
  all: boolean | undefined,
): readonly string[] | 'all' {
  if (all === true) {
    if (positionals.length > 0) {
      throw new UsageError(`raftbed ${command}: give nodes or --all, not both`);
    }
    return 'all';
  }
  if (positionals.length === 0) {
    throw new UsageError(`raftbed ${command}: name the nodes (n1 n2 ...) or --all`);
  }
  return positionals.flatMap((p) => p.split(',')).filter((p) => p !== '');
}
