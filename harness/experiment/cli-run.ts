import { basename, extname, join } from 'node:path';
import { EXIT } from '../cli/errors.js';
import {
  compareFigures,
  figuresOf,
  formatComparison,
  medianFigures,
  type RunFigures,
} from '../report/compare.js';
import { RealClock } from './clock.js';
import {
  applyFlags,
  defaultExperiment,
  readExperimentFile,
  type Experiment,
  type ExperimentFlags,
} from './experiment.js';
import { TerminalProgress } from './progress.js';
import type { RunResults, Validity } from './results.js';
import { runExperiment, type RunDeps } from './runner.js';
import { loadRealParts, type RealParts } from './wiring.js';

/** The experiment a command line asks for: file (if any), then flags; a fresh seed unless one is given. */
export function prepareExperiment(
  file: string | undefined,
  flags: ExperimentFlags,
  seed: number,
): Experiment {
  let e = file === undefined ? defaultExperiment(seed) : readExperimentFile(file, seed);
  if (file !== undefined && e.name === 'default') {
    const stem = basename(file, extname(file)).replace(/[^A-Za-z0-9._-]/g, '-');
    if (/^[A-Za-z0-9]/.test(stem)) e = { ...e, name: stem.slice(0, 64) };
  }
  return applyFlags(e, flags);
}

export interface CliRunOptions {
  readonly experiment: Experiment;
  readonly keep: boolean;
  readonly outDir: string;
  readonly compareImage: string | null;
  readonly repeat: number;
}

interface Io {
  readonly stdout: { readonly isTTY?: boolean; write(s: string): unknown };
  /** Parts to run with; the real ones by default. */
  readonly parts?: (
    log: (line: string) => void,
  ) => Promise<Pick<RunDeps, 'backend' | 'adapter' | 'checkLinearizability'>>;
  readonly clock?: RunDeps['clock'];
}

const word = (v: Validity): string =>
  v === true ? 'valid' : v === false ? 'NOT VALID' : 'unknown';

function printResults(out: Io['stdout'], dir: string, r: RunResults): void {
  const lines = [
    `${r.name}: ${word(r.valid)} (exit ${r.exitCode})${r.interrupted ? ' — interrupted' : ''}`,
    ...Object.entries(r.checks).map(([name, c]) => {
      const check = c as { valid: Validity; summary?: string };
      return `  ${name.padEnd(16)} ${word(check.valid).padEnd(9)} ${check.summary ?? ''}`;
    }),
    ...r.warnings.map((w) => `  warning: ${w}`),
    `  report: ${join(dir, 'report.html')}`,
  ];
  out.write(lines.join('\n') + '\n');
}

/**
 * `raftbed run`: one experiment, or with a second image the same seeds on both
 * and their medians compared. Ctrl-C aborts the run in progress, which heals,
 * tears down and still writes results; a second Ctrl-C exits at once.
 */
export async function runFromCli(
  options: CliRunOptions,
  io: Io = { stdout: process.stdout },
): Promise<number> {
  const controller = new AbortController();
  let interrupts = 0;
  const onSigint = (): void => {
    interrupts++;
    if (interrupts === 1) {
      io.stdout.write(
        '\ninterrupted: healing, tearing down and writing results (Ctrl-C again to quit now)\n',
      );
      controller.abort();
    } else {
      process.exit(130);
    }
  };
  process.on('SIGINT', onSigint);
  try {
    const log = (line: string): void => void io.stdout.write(`  ${line}\n`);
    const parts: RealParts | Pick<RunDeps, 'backend' | 'adapter' | 'checkLinearizability'> =
      io.parts === undefined ? await loadRealParts(log) : await io.parts(log);
    const runOnce = async (experiment: Experiment): Promise<RunResults> => {
      const progress = new TerminalProgress(io.stdout, experiment.timeLimitS);
      try {
        const { dir, results } = await runExperiment(
          { experiment, outDir: options.outDir, keep: options.keep, clusterName: 'raftbed-run' },
          {
            ...parts,
            clock: io.clock ?? new RealClock(),
            progress,
            signal: controller.signal,
          },
        );
        progress.stop();
        printResults(io.stdout, dir, results);
        return results;
      } finally {
        progress.stop();
      }
    };

    if (options.compareImage === null) {
      return (await runOnce(options.experiment)).exitCode;
    }
    const e = options.experiment;
    const a: RunFigures[] = [];
    const b: RunFigures[] = [];
    const verdicts: Validity[] = [];
    for (let i = 0; i < options.repeat && !controller.signal.aborted; i++) {
      const seed = (e.seed + i) >>> 0;
      const ra = await runOnce({ ...e, seed, name: `${e.name}-a${i + 1}` });
      a.push(figuresOf(ra, e.image ?? 'default image'));
      verdicts.push(ra.valid);
      if (controller.signal.aborted) break;
      const rb = await runOnce({
        ...e,
        seed,
        image: options.compareImage,
        name: `${e.name}-b${i + 1}`,
      });
      b.push(figuresOf(rb, options.compareImage));
      verdicts.push(rb.valid);
    }
    if (a.length === 0 || b.length === 0) return EXIT.unknown;
    const comparison = compareFigures(
      medianFigures(e.image ?? 'default image', a),
      medianFigures(options.compareImage, b),
    );
    io.stdout.write('\n' + formatComparison(comparison));
    if (verdicts.includes(false) || comparison.regressed) return EXIT.invalid;
    return verdicts.includes('unknown') ? EXIT.unknown : EXIT.valid;
  } finally {
    process.off('SIGINT', onSigint);
  }
}
