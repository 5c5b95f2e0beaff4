import type { Command } from '../command.js';
import { numberFlag, parseFlags } from '../args.js';
import { EXIT, UsageError } from '../errors.js';

const FLAGS = {
  json: { type: 'boolean' },
  'ok-rate': { type: 'string' },
  latency: { type: 'string' },
  throughput: { type: 'string' },
} as const;

export const commands: Command[] = [
  {
    name: 'compare',
    summary: "two runs' figures side by side, regressions marked",
    help: `usage: raftbed compare RUN_A RUN_B [--json] [--ok-rate PT] [--latency F] [--throughput F]

Shows verdicts, ok rates (whole run, inside and outside faults), the longest
fail streak, the slowest recovery, latency p50 and p99 and throughput of two
runs side by side, and marks where B regresses past a threshold:
  --ok-rate PT     percentage points of ok rate B may lose (default 5)
  --latency F      relative latency increase allowed (default 0.25)
  --throughput F   relative throughput drop allowed (default 0.1)
A verdict going from valid to not valid always regresses.
Exit: 0 no regression, 1 B regresses, 3 a folder is not a run.`,
    async run(argv: readonly string[]): Promise<number> {
      const { flags, positionals } = parseFlags('compare', FLAGS, argv);
      if (positionals.length !== 2) {
        throw new UsageError('raftbed compare: give two run folders, RUN_A RUN_B (see --help)');
      }
      const { readResults } = await import('../../experiment/run-dir.js');
      const { compareFigures, DEFAULT_THRESHOLDS, figuresOf, formatComparison } =
        await import('../../report/compare.js');
      const [dirA, dirB] = positionals as [string, string];
      const thresholds = {
        ...DEFAULT_THRESHOLDS,
        okRatePoints: numberFlag(
          'compare',
          'ok-rate',
          flags['ok-rate'],
          DEFAULT_THRESHOLDS.okRatePoints,
          0,
          100,
        ),
        latency: numberFlag(
          'compare',
          'latency',
          flags.latency,
          DEFAULT_THRESHOLDS.latency,
          0,
          1000,
        ),
        throughput: numberFlag(
          'compare',
          'throughput',
          flags.throughput,
          DEFAULT_THRESHOLDS.throughput,
          0,
          1,
        ),
      };
      const c = compareFigures(
        figuresOf(readResults(dirA), dirA),
        figuresOf(readResults(dirB), dirB),
        thresholds,
      );
      process.stdout.write(
        flags.json === true ? JSON.stringify(c, null, 2) + '\n' : formatComparison(c),
      );
      return c.regressed ? EXIT.invalid : EXIT.valid;
    },
  },
];
