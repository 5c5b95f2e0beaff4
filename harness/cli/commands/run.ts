import { randomInt } from 'node:crypto';
import type { Command } from '../command.js';
import { intFlag, parseFlags } from '../args.js';
import { UsageError } from '../errors.js';

const FLAGS = {
  nodes: { type: 'string' },
  'time-limit': { type: 'string' },
  rate: { type: 'string' },
  concurrency: { type: 'string' },
  workload: { type: 'string' },
  keys: { type: 'string' },
  nemesis: { type: 'string' },
  'nemesis-interval': { type: 'string' },
  seed: { type: 'string' },
  image: { type: 'string' },
  unsafe: { type: 'string' },
  keep: { type: 'boolean' },
  'client-failover': { type: 'boolean' },
  'compare-image': { type: 'string' },
  repeat: { type: 'string' },
  name: { type: 'string' },
  out: { type: 'string' },
  'op-timeout': { type: 'string' },
} as const;

const HELP = `usage: raftbed run [EXPERIMENT.yml] [flags]

Runs one experiment: brings a cluster up, drives a client workload while a
nemesis injects faults, heals, reads every key, tears the cluster down, then
checks the history (linearizability, availability, latency, Raft invariants
from the node logs) and writes runs/<time>-<name>/ with history.jsonl,
results.json, report.html, each node's log and the experiment as run.
Flags override the file.

  --nodes N               cluster size (default 5)
  --time-limit S          seconds of workload (default 60)
  --rate R                operations per second over all clients (default 200)
  --concurrency C         logical clients, one op in flight each (default 10)
  --workload kv|register  independent keys, retired as they fill, or one register (default kv)
  --keys K                kv: live keys at once (default 10)
  --nemesis LIST|none     fault kinds from partition,pause,kill,flaky,slow (default all)
  --nemesis-interval S    seconds each fault lasts and seconds healed between (default 10)
  --seed S                replays a run: schedule, op mix and values (default random, recorded)
  --image REF             node image (default: the image of this checkout, built when missing)
  --unsafe BUG            start the nodes with a planted bug: stale-reads, lazy-wal, early-ack
  --client-failover       a client moves to the next node after a failure
  --op-timeout S          seconds before an op completes as info (default 2)
  --keep                  leave the cluster up afterwards
  --name NAME             names the run folder (default: the file's name, or default)
  --out DIR               parent of run folders (default runs)
  --compare-image REF     also run every seed on REF and compare the medians
  --repeat N              with --compare-image: seeds per image (default 3)

Ctrl-C heals every fault, tears the cluster down (unless --keep) and writes
results for what ran. Exit: 0 valid, 1 not valid (or, with --compare-image,
the second image regresses), 2 unknown, 3 usage or setup error.`;

export const commands: Command[] = [
  {
    name: 'run',
    summary: 'run an experiment: cluster, workload, faults, checks, report',
    help: HELP,
    async run(argv: readonly string[]): Promise<number> {
      const { flags, positionals } = parseFlags('run', FLAGS, argv);
      if (positionals.length > 1) {
        throw new UsageError(
          `raftbed run: one experiment file at most, got ${positionals.join(' ')}`,
        );
      }
      const repeat = intFlag('run', 'repeat', flags.repeat, 3, 1, 100);
      if (flags.repeat !== undefined && flags['compare-image'] === undefined) {
        throw new UsageError('raftbed run: --repeat goes with --compare-image');
      }
      const { prepareExperiment, runFromCli } = await import('../../experiment/cli-run.js');
      const experiment = prepareExperiment(positionals[0], flags, randomInt(0, 0xffffffff));
      return runFromCli({
        experiment,
        keep: flags.keep === true,
        outDir: flags.out ?? 'runs',
        compareImage: flags['compare-image'] ?? null,
        repeat,
      });
    },
  },
];
