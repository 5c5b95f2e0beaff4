import { choiceFlag, intFlag, parseFlags } from '../args.js';
import type { Command } from '../command.js';
import { EXIT, UsageError } from '../errors.js';

const FLAGS = {
  seeds: { type: 'string' },
  seed: { type: 'string' },
  nodes: { type: 'string' },
  steps: { type: 'string' },
  trace: { type: 'boolean' },
  unsafe: { type: 'string' },
  'fail-fast': { type: 'boolean' },
} as const;

const DEFAULT_SEEDS = 100;
const STEPS = 2_000;

const HELP = `usage: raftbed sim [--seeds N] [--seed S] [--nodes 3|5|7] [--steps K] [--trace] [--fail-fast]

Deterministic simulation of the Raft core: the same driver the node runs, a
whole cluster in one process, over a simulated network and disks driven by one
seeded PRNG (loss, delay, duplication, reordering, partitions of any shape,
crash and restart from what was persisted, uneven clocks), with clients
proposing and reading. After every step it checks election safety, log
matching, leader completeness, state machine safety, that no committed entry
is lost and that every read is linearizable; after K steps the faults heal and
a leader must commit a new proposal within ${5} s of simulated time, and every
node apply it within ${10} s.

flags:
  --seeds N      how many seeds to run (default ${DEFAULT_SEEDS}; 1 when --seed is given alone)
  --seed S       the first seed (default 1): --seed S alone replays exactly seed S,
                 --seed S --seeds N runs S..S+N-1 (how to split a long run in chunks)
  --nodes N      cluster size: 3, 5 or 7 (default 3)
  --steps K      simulation steps (events) of faults before healing (default ${STEPS})
  --trace        print every step of the seed (needs a single seed)
  --fail-fast    stop at the first failing seed
  --unsafe BUGS  TEST ONLY: plant bugs, comma-separated, to see the simulation
                 catch them: grant-vote-without-log-check,
                 commit-previous-term-by-count, forget-to-persist-vote

Every failing seed is printed with the command that replays it; the same seed
gives the same trace, byte for byte. Progress goes to stderr. The last line is
\`N passed, N failed\`; the exit code is 0 only when every seed passed.

100,000 seeds, e.g. in ten chunks (run them on several machines or one after
the other):
  for i in $(seq 0 9); do raftbed sim --nodes 5 --seed $((i*10000+1)) --seeds 10000; done`;

export const commands: Command[] = [
  {
    name: 'sim',
    summary: 'deterministic simulation of the Raft core; ends with "N passed, N failed"',
    help: HELP,
    async run(argv: readonly string[]): Promise<number> {
      const { flags, positionals } = parseFlags('sim', FLAGS, argv);
      if (positionals.length > 0)
        throw new UsageError(`raftbed sim: unexpected argument '${positionals[0]}' (see --help)`);
      const first = intFlag('sim', 'seed', flags.seed, 1, 0, 2 ** 32 - 1);
      const seeds = intFlag(
        'sim',
        'seeds',
        flags.seeds,
        flags.seed !== undefined ? 1 : DEFAULT_SEEDS,
        1,
        10_000_000,
      );
      const nodes = Number(choiceFlag('sim', 'nodes', flags.nodes, ['3', '5', '7'], '3'));
      const steps = intFlag('sim', 'steps', flags.steps, STEPS, 1, 10_000_000);
      const trace = flags.trace === true;
      if (trace && seeds !== 1)
        throw new UsageError('raftbed sim: --trace prints one seed: give --seed S without --seeds');
      const { BUG_NAMES, replayCommand, runSeed } = await import('../../../node/sim/run.js');
      const unsafe = (flags.unsafe ?? '')
        .split(',')
        .filter((b) => b !== '')
        .map((b) => {
          const bug = BUG_NAMES[b];
          if (bug === undefined)
            throw new UsageError(
              `raftbed sim: --unsafe must name bugs among ${Object.keys(BUG_NAMES).join(', ')}, got '${b}'`,
            );
          return bug;
        });

      let failedSoFar = 0;
      // `raftbed sim --trace | head` closes the pipe early: end quietly.
      process.stdout.on('error', (err: NodeJS.ErrnoException) => {
        if (err.code === 'EPIPE') process.exit(failedSoFar === 0 ? 0 : EXIT.invalid);
        throw err;
      });
      const out = (line: string): void => void process.stdout.write(line + '\n');
      const started = process.cpuUsage();
      const wallStart = Date.now();
      let lastProgress = wallStart;
      let passed = 0;
      let failed = 0;
      for (let i = 0; i < seeds; i++) {
        const seed = first + i;
        const outcome = runSeed(seed, nodes, steps, unsafe, trace ? out : undefined);
        if (outcome.ok) passed++;
        else {
          failed++;
          failedSoFar = failed;
          const v = outcome.violation;
          out(
            `FAIL seed ${seed}: ${v?.invariant ?? '?'}: ${v?.detail ?? ''} (step ${outcome.step}, ${outcome.timeMs} ms simulated)`,
          );
          out(`  replay: ${replayCommand(seed, nodes, steps, unsafe)}`);
          if (flags['fail-fast'] === true) break;
        }
        const now = Date.now();
        if (now - lastProgress >= 2_000 && i + 1 < seeds) {
          lastProgress = now;
          process.stderr.write(
            `sim: ${i + 1}/${seeds} seeds, ${failed} failing, ${(((i + 1) * 1000) / (now - wallStart)).toFixed(0)} seeds/s\n`,
          );
        }
      }
      const cpu = process.cpuUsage(started);
      const cpuS = (cpu.user + cpu.system) / 1e6;
      const ran = passed + failed;
      out(
        `${nodes} nodes, seeds ${first}..${first + ran - 1}, ${steps} steps each: ${cpuS.toFixed(1)} s cpu, ${(ran / Math.max(cpuS, 1e-3)).toFixed(0)} seeds per cpu second`,
      );
      out(`${passed} passed, ${failed} failed`);
      return failed === 0 ? 0 : EXIT.invalid;
    },
  },
];
