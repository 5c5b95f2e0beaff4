import { mkdirSync, readFileSync, writeFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { UsageError } from '../cli/errors.js';
import type { RunResults } from './results.js';

/** The files of a run folder (cli.md: "Results of a run"). */
export const RUN_FILES = {
  history: 'history.jsonl',
  results: 'results.json',
  report: 'report.html',
  experiment: 'experiment.yml',
  /** Each node's log: logs/n1.log, ... */
  logs: 'logs',
} as const;

/** `runs/20261126T073501Z-NAME`, created; a second run in the same second gets a suffix. */
export function createRunDir(outDir: string, name: string, at: Date): string {
  const stamp = at
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
  mkdirSync(outDir, { recursive: true });
  for (let i = 0; ; i++) {
    const dir = join(outDir, `${stamp}-${name}${i === 0 ? '' : `-${i}`}`);
    try {
      mkdirSync(dir);
      mkdirSync(join(dir, RUN_FILES.logs));
      return dir;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  }
}

/** Writes atomically, so a reader never sees half a results.json. */
export function writeFileAtomic(path: string, text: string): void {
  const tmp = `${path}.tmp`;
  writeFileSync(tmp, text);
  renameSync(tmp, path);
}

export function writeResults(dir: string, results: RunResults): void {
  writeFileAtomic(join(dir, RUN_FILES.results), JSON.stringify(results, null, 2) + '\n');
}

export function readResults(dir: string): RunResults {
  const file = join(dir, RUN_FILES.results);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new UsageError(
      code === 'ENOENT'
        ? `${dir}: not a run folder (no ${RUN_FILES.results})`
        : `${file}: ${code ?? String(err)}`,
    );
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new UsageError(`${file}: not valid JSON`);
  }
  if (
    typeof parsed !== 'object' ||
    parsed === null ||
    !('checks' in parsed) ||
    !('experiment' in parsed)
  ) {
    throw new UsageError(`${file}: not a raftbed results file (no checks or experiment)`);
  }
  return parsed as RunResults;
}
