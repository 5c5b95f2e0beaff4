/**
 * Running many seeds: the library behind `raftbed sim`. Each seed is an
 * independent Simulation; a failing one is reported with the exact command
 * that replays it.
 */
import type { UnsafeBug, UnsafeOptions } from '../raft/options.js';
import type { SimOutcome } from './simulation.js';
import { Simulation } from './simulation.js';

export interface SimRunOptions {
  /** First seed. */
  readonly from: number;
  /** How many consecutive seeds. */
  readonly seeds: number;
  readonly nodes: number;
  readonly steps: number;
  readonly unsafe?: readonly UnsafeBug[];
  /** Stop at the first failing seed. */
  readonly stopOnFailure?: boolean;
  /** Called after each seed. */
  readonly onSeed?: (outcome: SimOutcome) => void;
}

export interface SimSummary {
  readonly passed: number;
  readonly failed: number;
  readonly failures: readonly SimOutcome[];
  readonly cpuMs: number;
}

export function unsafeOptions(bugs: readonly UnsafeBug[] = []): UnsafeOptions {
  const out: { -readonly [K in UnsafeBug]?: boolean } = {};
  for (const b of bugs) out[b] = true;
  return out;
}

export function runSeed(
  seed: number,
  nodes: number,
  steps: number,
  unsafe: readonly UnsafeBug[] = [],
  trace?: (line: string) => void,
): SimOutcome {
  return new Simulation({
    seed,
    nodes,
    steps,
    unsafe: unsafeOptions(unsafe),
    ...(trace !== undefined ? { trace } : {}),
  }).run();
}

export function runSeeds(o: SimRunOptions): SimSummary {
  const started = process.cpuUsage();
  let passed = 0;
  const failures: SimOutcome[] = [];
  for (let i = 0; i < o.seeds; i++) {
    const outcome = runSeed(o.from + i, o.nodes, o.steps, o.unsafe);
    if (outcome.ok) passed++;
    else failures.push(outcome);
    o.onSeed?.(outcome);
    if (!outcome.ok && o.stopOnFailure === true) break;
  }
  const used = process.cpuUsage(started);
  return { passed, failed: failures.length, failures, cpuMs: (used.user + used.system) / 1000 };
}

/** Kebab-case names for the CLI. */
export const BUG_NAMES: Readonly<Record<string, UnsafeBug>> = {
  'grant-vote-without-log-check': 'grantVoteWithoutLogCheck',
  'commit-previous-term-by-count': 'commitPreviousTermByCount',
  'forget-to-persist-vote': 'forgetToPersistVote',
};

export function bugName(bug: UnsafeBug): string {
  return Object.entries(BUG_NAMES).find(([, b]) => b === bug)?.[0] ?? bug;
}

/** The command that replays one seed exactly. */
export function replayCommand(
  seed: number,
  nodes: number,
  steps: number,
  unsafe: readonly UnsafeBug[] = [],
): string {
  const bugs = unsafe.length > 0 ? ` --unsafe ${unsafe.map(bugName).join(',')}` : '';
  return `raftbed sim --seed ${seed} --nodes ${nodes} --steps ${steps}${bugs} --trace`;
}
