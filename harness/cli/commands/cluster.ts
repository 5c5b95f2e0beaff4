import type { Command } from '../command.js';
import { choiceFlag, intFlag, noPositionals, parseFlags } from '../args.js';
import { UsageError } from '../errors.js';
import {
  CLUSTER_FLAGS,
  CLUSTER_FLAGS_HELP,
  asUserError,
  clusterName,
  configFile,
  runOnCluster,
} from '../../cluster/cli-support.js';
import { MAX_NODES } from '../../cluster/spec.js';
import type { ClusterSpec } from '../../cluster/spec.js';

// Only light modules are imported here: the node container loads this file too.

const UP_HELP = `usage: raftbed up [--nodes N] [--name C] [--image REF] [--config FILE] [flags]

Starts a cluster of N raftbed nodes on Docker: a bridge network with a static
address per node, containers C-n1 ... C-nN, one named volume per node (a
killed node restarts with its data), every object labelled with the cluster.
Settings come from ./raftbed.yml (or --config), then from these flags.

Nothing is published on the host: the host reaches each node at its bridge
address, clients on port 6379 (Raft runs on UDP 7000 inside).

flags:
  --nodes N                    number of nodes (default 3)
  --image REF                  image to run (default: build this checkout's, see raftbed build)
  --subnet CIDR                network for the nodes (default: a free /24 in 10.77.0.0/16)
  --heartbeat-ms MS            node heartbeat (default 100)
  --election-timeout-ms LO-HI  node election timeout range (default 600-1200)
  --fsync POLICY               the nodes' --fsync: always, batch or never
  --unsafe BUG                 start the nodes with a planted bug (test only)
  --replace                    remove a cluster of the same name first
${CLUSTER_FLAGS_HELP}`;

const DOWN_HELP = `usage: raftbed down [--name C] [--json]

Removes the cluster: its containers, network and volumes (found by their
label, so also what a crashed earlier run left), and the helper processes
its faults started. Nothing without the cluster's label is touched.

${CLUSTER_FLAGS_HELP}`;

const STATUS_HELP = `usage: raftbed status [--name C] [--json]

Each node's container state, address, Raft role, term and applied index (from
RAFT.STATUS), and the faults in force.

${CLUSTER_FLAGS_HELP}`;

const LOGS_HELP = `usage: raftbed logs NODE [--follow] [--tail N] [--name C]

The node's output (one JSON object per line), across its restarts.

flags:
  --follow    keep printing until Ctrl-C
  --tail N    only the last N lines
${CLUSTER_FLAGS_HELP}`;

const upSpecs = {
  ...CLUSTER_FLAGS,
  nodes: { type: 'string' },
  image: { type: 'string' },
  subnet: { type: 'string' },
  'heartbeat-ms': { type: 'string' },
  'election-timeout-ms': { type: 'string' },
  unsafe: { type: 'string' },
  fsync: { type: 'string' },
  replace: { type: 'boolean' },
} as const;

export const commands: Command[] = [
  {
    name: 'up',
    summary: 'start a cluster of nodes on Docker (flags or raftbed.yml)',
    help: UP_HELP,
    async run(argv: readonly string[]): Promise<number> {
      const { flags, positionals } = parseFlags('up', upSpecs, argv);
      noPositionals('up', positionals);
      const { defaultSpec, specProblem } = await import('../../cluster/spec.js');
      const { loadClusterConfig, parseRange } = await import('../../cluster/config.js');
      const file = configFile(flags);
      let base: ClusterSpec = defaultSpec();
      try {
        if (file !== undefined) base = await loadClusterConfig(file);
      } catch (err) {
        throw await asUserError('up', err);
      }
      const name = await clusterName('up', flags);
      let range = base.electionTimeoutMs;
      if (flags['election-timeout-ms'] !== undefined) {
        const parsed = parseRange(flags['election-timeout-ms']);
        if (parsed === undefined) {
          throw new UsageError(
            `raftbed up: --election-timeout-ms must be MIN-MAX, got '${flags['election-timeout-ms']}'`,
          );
        }
        range = parsed;
      }
      const spec: ClusterSpec = {
        ...base,
        name,
        nodes: intFlag('up', 'nodes', flags.nodes, base.nodes, 1, MAX_NODES),
        heartbeatMs: intFlag('up', 'heartbeat-ms', flags['heartbeat-ms'], base.heartbeatMs, 1),
        electionTimeoutMs: range,
        ...(flags.image !== undefined ? { image: flags.image } : {}),
        ...(flags.subnet !== undefined ? { subnet: flags.subnet } : {}),
        ...(flags.unsafe !== undefined ? { unsafe: flags.unsafe } : {}),
        ...(flags.fsync !== undefined
          ? {
              fsync: choiceFlag(
                'up',
                'fsync',
                flags.fsync,
                ['always', 'batch', 'never'] as const,
                'always',
              ),
            }
          : {}),
      };
      const problem = specProblem(spec);
      if (problem) throw new UsageError(`raftbed up: ${problem}`);
      const { DockerBackend } = await import('../../cluster/docker-backend.js');
      const { guarded, Interrupted } = await import('../../cluster/interrupt.js');
      try {
        return await guarded(async (guard) => {
          const backend = await DockerBackend.connect();
          const cluster = await backend.up(spec, {
            signal: guard.signal,
            replace: flags.replace === true,
            log: (line) => void process.stderr.write(`raftbed up: ${line}\n`),
          });
          const status = await cluster.status();
          const addrs = cluster.nodes.map((n) => {
            const a = cluster.address(n);
            return { node: n, container: `${name}-${n}`, address: `${a.host}:${a.port}` };
          });
          if (flags.json) {
            process.stdout.write(
              JSON.stringify({
                ok: true,
                action: 'up',
                cluster: name,
                image: status.image,
                nodes: addrs,
              }) + '\n',
            );
          } else {
            process.stdout.write(
              `up: cluster ${name}, ${addrs.length} nodes (${addrs.map((a) => `${a.node} ${a.address}`).join(', ')}), image ${status.image}\n`,
            );
          }
          return 0;
        });
      } catch (err) {
        if (err instanceof Interrupted) {
          process.stderr.write(`raftbed up: interrupted; what was made of ${name} was removed\n`);
          return 130;
        }
        throw await asUserError('up', err);
      }
    },
  },
  {
    name: 'down',
    summary: 'remove a cluster and everything labelled with it',
    help: DOWN_HELP,
    async run(argv: readonly string[]): Promise<number> {
      const { flags, positionals } = parseFlags('down', CLUSTER_FLAGS, argv);
      noPositionals('down', positionals);
      const name = await clusterName('down', flags);
      const { DockerBackend, describeDown } = await import('../../cluster/docker-backend.js');
      const { guarded } = await import('../../cluster/interrupt.js');
      try {
        // down always runs to its end: a half-removed cluster is what it exists to prevent.
        const report = await guarded(async () => (await DockerBackend.connect()).down(name));
        if (flags.json) {
          process.stdout.write(
            JSON.stringify({ ok: true, action: 'down', cluster: name, ...report }) + '\n',
          );
        } else {
          process.stdout.write(`${describeDown(name, report)}\n`);
        }
        return 0;
      } catch (err) {
        throw await asUserError('down', err);
      }
    },
  },
  {
    name: 'status',
    summary: 'nodes, their Raft role, term and applied index, and the faults in force',
    help: STATUS_HELP,
    async run(argv: readonly string[]): Promise<number> {
      const { flags, positionals } = parseFlags('status', CLUSTER_FLAGS, argv);
      noPositionals('status', positionals);
      const { formatStatus } = await import('../../cluster/status-format.js');
      let printed = '';
      const code = await runOnCluster('status', { ...flags, json: false }, async (cluster) => {
        const status = await cluster.status();
        printed = flags.json ? JSON.stringify(status) + '\n' : formatStatus(status);
      });
      process.stdout.write(printed);
      return code;
    },
  },
  {
    name: 'logs',
    summary: "print a node's log",
    help: LOGS_HELP,
    async run(argv: readonly string[]): Promise<number> {
      const { flags, positionals } = parseFlags(
        'logs',
        { ...CLUSTER_FLAGS, follow: { type: 'boolean' }, tail: { type: 'string' } },
        argv,
      );
      if (positionals.length !== 1)
        throw new UsageError('raftbed logs: name one node, e.g. raftbed logs n1');
      const node = positionals[0] ?? '';
      const tail = flags.tail === undefined ? undefined : intFlag('logs', 'tail', flags.tail, 0, 0);
      const name = await clusterName('logs', flags);
      const { DockerBackend } = await import('../../cluster/docker-backend.js');
      try {
        const backend = await DockerBackend.connect();
        const cluster = await backend.attach(name);
        cluster.address(node); // names an unknown node clearly
        const id = await cluster.containerId(node);
        if (flags.follow) {
          const controller = new AbortController();
          const stop = (): void => controller.abort();
          process.once('SIGINT', stop);
          await backend.engine.followLogs(
            id,
            (kind, data) => void (kind === 'stderr' ? process.stderr : process.stdout).write(data),
            { signal: controller.signal, ...(tail !== undefined ? { tail } : {}) },
          );
          process.off('SIGINT', stop);
          return 0;
        }
        const out = await backend.engine.logs(id, tail !== undefined ? { tail } : {});
        process.stdout.write(out.stdout);
        process.stderr.write(out.stderr);
        return 0;
      } catch (err) {
        throw await asUserError('logs', err);
      }
    },
  },
];
