import type { Command } from '../command.js';
import { parseFlags } from '../args.js';
import { UsageError } from '../errors.js';

export const commands: Command[] = [
  {
    name: 'report',
    summary: '(re)build the HTML report of a run',
    help: `usage: raftbed report RUN_DIR

Rebuilds RUN_DIR/report.html from RUN_DIR/results.json and RUN_DIR/history.jsonl:
one offline file with the latency of every op over time (fault intervals shaded),
throughput, the availability table, each check's verdict and, when the history
is not linearizable, the counterexample. Prints the report's path.`,
    async run(argv: readonly string[]): Promise<number> {
      const { positionals } = parseFlags('report', {}, argv);
      if (positionals.length !== 1) {
        throw new UsageError('raftbed report: give one run folder (see --help)');
      }
      const { buildReport } = await import('../../report/build.js');
      const path = await buildReport(positionals[0] as string);
      process.stdout.write(`${path}\n`);
      return 0;
    },
  },
];
