import type { Command } from '../command.js';
import { intFlag, noPositionals, numberFlag, parseFlags, type ParsedFlags } from '../args.js';
import { UsageError } from '../errors.js';
import {
  CLUSTER_FLAGS,
  CLUSTER_FLAGS_HELP,
  nodeArgs,
  runOnCluster,
} from '../../cluster/cli-support.js';
import type { PartitionShape } from '../../faults/shapes.js';

// Only light modules are imported here: the node container loads this file too.

const PARTITION_HELP = `usage: raftbed partition GROUP GROUP...      (a GROUP is a comma list: n1,n2)
       raftbed partition --isolate NODE | --isolate-leader
       raftbed partition --random | --ring | --bridge [--seed S]
       raftbed partition --from NODES --to NODES    (one way: NODES' packets to NODES are lost)

Cuts the network between nodes; replaces the partition in force. Nodes in no
GROUP form one more group. Pauses, kills, loss and delay stay as they are; a
node killed and started again gets its partition back.

  --random          random minority | majority
  --ring            majorities ring: every node sees a majority, no two the same
  --bridge          two halves and one node that sees both
  --seed S          the shuffle of --random/--ring/--bridge (default: random, printed)
${CLUSTER_FLAGS_HELP}`;

const partitionSpecs = {
  ...CLUSTER_FLAGS,
  random: { type: 'boolean' },
  isolate: { type: 'string' },
  'isolate-leader': { type: 'boolean' },
  ring: { type: 'boolean' },
  bridge: { type: 'boolean' },
  from: { type: 'string' },
  to: { type: 'string' },
  seed: { type: 'string' },
} as const;

const nodesSpecs = { ...CLUSTER_FLAGS, all: { type: 'boolean' } } as const;

const list = (s: string): string[] => s.split(',').filter((x) => x !== '');

function partitionShape(
  flags: ParsedFlags<typeof partitionSpecs>,
  groups: readonly string[],
): PartitionShape {
  const seed =
    flags.seed === undefined ? undefined : intFlag('partition', 'seed', flags.seed, 0, 0);
  const seeded = seed === undefined ? {} : { seed };
  const chosen: PartitionShape[] = [];
  if (groups.length > 0) chosen.push({ kind: 'groups', groups: groups.map(list) });
  if (flags.random) chosen.push({ kind: 'random', ...seeded });
  if (flags.ring) chosen.push({ kind: 'ring', ...seeded });
  if (flags.bridge) chosen.push({ kind: 'bridge', ...seeded });
  if (flags.isolate !== undefined) chosen.push({ kind: 'isolate', node: flags.isolate });
  if (flags['isolate-leader']) chosen.push({ kind: 'isolate-leader' });
  if (flags.from !== undefined || flags.to !== undefined) {
    if (flags.from === undefined || flags.to === undefined) {
      throw new UsageError('raftbed partition: a one-way cut needs both --from and --to');
    }
    chosen.push({ kind: 'oneway', from: list(flags.from), to: list(flags.to) });
  }
  if (chosen.length !== 1) {
    throw new UsageError(
      'raftbed partition: give exactly one shape: GROUPs, --random, --ring, --bridge, --isolate, --isolate-leader or --from/--to',
    );
  }
  return chosen[0] as PartitionShape;
}

function nodesCommand(
  name: 'pause' | 'unpause' | 'kill' | 'start' | 'restart',
  summary: string,
  what: string,
): Command {
  return {
    name,
    summary,
    help: `usage: raftbed ${name} NODE... | --all [--name C] [--json]\n\n${what}\n\n  --all          every node of the cluster\n${CLUSTER_FLAGS_HELP}`,
    async run(argv: readonly string[]): Promise<number> {
      const { flags, positionals } = parseFlags(name, nodesSpecs, argv);
      const targets = nodeArgs(name, positionals, flags.all);
      return runOnCluster(name, flags, (cluster) => cluster[name](targets));
    },
  };
}

export const commands: Command[] = [
  {
    name: 'partition',
    summary:
      'cut the network: groups, --random, --isolate, --isolate-leader, --ring, --bridge, --from/--to',
    help: PARTITION_HELP,
    async run(argv: readonly string[]): Promise<number> {
      const { flags, positionals } = parseFlags('partition', partitionSpecs, argv);
      const shape = partitionShape(flags, positionals);
      return runOnCluster('partition', flags, async (cluster) => {
        const p = await cluster.partition(shape);
        return { description: p.description, cuts: p.cuts };
      });
    },
  },
  {
    name: 'join',
    summary: 'heal every network fault (partitions, loss, delay)',
    help: `usage: raftbed join [--name C] [--json]\n\nHeals every network fault: the partition, loss and delay; ends the helpers\nthey started. Paused and killed nodes stay so (unpause, start).\n\n${CLUSTER_FLAGS_HELP}`,
    async run(argv: readonly string[]): Promise<number> {
      const { flags, positionals } = parseFlags('join', CLUSTER_FLAGS, argv);
      noPositionals('join', positionals);
      return runOnCluster('join', flags, (cluster) => cluster.heal());
    },
  },
  nodesCommand(
    'pause',
    'freeze nodes (SIGSTOP-like, cgroup freezer)',
    'Freezes every process of the nodes; their network faults stay.',
  ),
  nodesCommand('unpause', 'thaw paused nodes', 'Thaws paused nodes.'),
  nodesCommand(
    'kill',
    'SIGKILL nodes (their data stays)',
    'Kills the nodes with SIGKILL; their volumes keep their data.',
  ),
  nodesCommand(
    'start',
    'start killed nodes with their data',
    'Starts stopped nodes with the same address and data; the faults in force\nare put back into their new network namespaces at once.',
  ),
  nodesCommand(
    'restart',
    'SIGKILL and start again',
    'Kills with SIGKILL and starts again with the same data and faults.',
  ),
  {
    name: 'flaky',
    summary: 'drop a share of the packets nodes send',
    help: `usage: raftbed flaky [--loss P] NODE... | --all [--name C] [--json]\n\nDrops each packet the nodes send with probability P (iptables statistic);\nreplaces their loss in force. fast or join ends it.\n\n  --loss P       a fraction, 0.1 = 10% (default 0.1)\n  --all          every node\n${CLUSTER_FLAGS_HELP}`,
    async run(argv: readonly string[]): Promise<number> {
      const { flags, positionals } = parseFlags(
        'flaky',
        { ...nodesSpecs, loss: { type: 'string' } },
        argv,
      );
      const loss = numberFlag('flaky', 'loss', flags.loss, 0.1, 0, 1);
      const targets = nodeArgs('flaky', positionals, flags.all);
      return runOnCluster('flaky', flags, (cluster) => cluster.flaky(targets, loss));
    },
  },
  {
    name: 'slow',
    summary: 'delay (and rate-limit) what nodes send',
    help: `usage: raftbed slow [--delay MS] [--jitter MS] [--rate KBITS] NODE... | --all [--name C] [--json]\n\nDelays every packet the nodes send by MS ± jitter (uniform), with netem where\nthe kernel has it, else with the NFQUEUE delayer; --rate limits their egress\n(tbf). Replaces their delay in force. fast or join ends it.\n\n  --delay MS     default 50\n  --jitter MS    default 0\n  --rate KBITS   kbit/s, default none\n  --all          every node\n${CLUSTER_FLAGS_HELP}`,
    async run(argv: readonly string[]): Promise<number> {
      const { flags, positionals } = parseFlags(
        'slow',
        {
          ...nodesSpecs,
          delay: { type: 'string' },
          jitter: { type: 'string' },
          rate: { type: 'string' },
        },
        argv,
      );
      const delayMs = intFlag('slow', 'delay', flags.delay, 50, 0, 60_000);
      const jitterMs = intFlag('slow', 'jitter', flags.jitter, 0, 0, 60_000);
      const rateKbit =
        flags.rate === undefined ? undefined : intFlag('slow', 'rate', flags.rate, 0, 1);
      const targets = nodeArgs('slow', positionals, flags.all);
      return runOnCluster('slow', flags, (cluster) =>
        cluster.slow(targets, {
          delayMs,
          jitterMs,
          ...(rateKbit !== undefined ? { rateKbit } : {}),
        }),
      );
    },
  },
  {
    name: 'fast',
    summary: 'end loss, delay and rate limits',
    help: `usage: raftbed fast [--name C] [--json]\n\nEnds loss, delay and rate limits on every node and the helpers they started;\npartitions stay (join heals them).\n\n${CLUSTER_FLAGS_HELP}`,
    async run(argv: readonly string[]): Promise<number> {
      const { flags, positionals } = parseFlags('fast', CLUSTER_FLAGS, argv);
      noPositionals('fast', positionals);
      return runOnCluster('fast', flags, (cluster) => cluster.fast());
    },
  },
];
