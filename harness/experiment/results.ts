import type { AvailabilityResult } from '../../checks/availability.js';
import type { LatencyResult } from '../../checks/latency.js';
import type { NodeLogResult } from '../../checks/node-logs.js';
import type { FaultRecord } from '../nemesis/nemesis.js';
import type { Experiment } from './experiment.js';

export type Validity = true | false | 'unknown';

/** What the linearizability checker said, kept as it said it, plus its verdict. */
export interface LinearizabilityResult {
  readonly valid: Validity;
  readonly model: string;
  readonly summary: string;
  /** The checker's own fields (counterexample, ops, keys, ms, ...). */
  readonly detail?: Readonly<Record<string, unknown>>;
  /** The checker's HTML fragment showing the counterexample, when not linearizable. */
  readonly counterexampleHtml?: string;
}

/** Each check's entry under `checks` in results.json. */
export interface CheckResults {
  readonly linearizability?: LinearizabilityResult;
  readonly availability?: AvailabilityResult;
  readonly latency?: LatencyResult;
  readonly 'node-logs'?: NodeLogResult;
}

export interface WorkloadCounts {
  readonly invoked: number;
  readonly ok: number;
  readonly fail: number;
  readonly info: number;
}

/** results.json: the run's verdict, every check, and enough to compare two runs. */
export interface RunResults {
  readonly name: string;
  readonly valid: Validity;
  readonly exitCode: number;
  readonly startedAt: string;
  readonly finishedAt: string;
  /** Workload seconds actually run (short of the limit when interrupted). */
  readonly workloadS: number;
  readonly interrupted: boolean;
  readonly experiment: Experiment;
  readonly image: string | null;
  readonly nodes: readonly string[];
  readonly workload: WorkloadCounts;
  readonly finalReads: WorkloadCounts;
  readonly faults: readonly FaultRecord[];
  readonly checks: CheckResults;
  /** Problems that did not stop the run (a fault verb that failed, a log not read). */
  readonly warnings: readonly string[];
}

/**
 * The run's verdict from its checks: correctness checks always decide it;
 * availability only when the experiment requires it. As cli.md says: false if
 * any says not valid, else unknown if any gave up, else true.
 */
export function verdict(checks: CheckResults): Validity {
  const deciding: Validity[] = [];
  if (checks.linearizability !== undefined) deciding.push(checks.linearizability.valid);
  if (checks['node-logs'] !== undefined) deciding.push(checks['node-logs'].valid);
  if (checks.availability?.required === true) deciding.push(checks.availability.valid);
  if (deciding.includes(false)) return false;
  if (deciding.includes('unknown')) return 'unknown';
  return true;
}

export function exitCodeOf(valid: Validity): number {
  return valid === true ? 0 : valid === false ? 1 : 2;
}
