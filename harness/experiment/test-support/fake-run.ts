import { Prng } from '../../../node/util/prng.js';
import { defaultExperiment, type Experiment } from '../experiment.js';
import type { LinearizabilityResult } from '../results.js';
import { runExperiment, type RunOutcome } from '../runner.js';
import { FakeClock } from './fake-clock.js';
import { FakeClusterBackend } from './fake-cluster.js';

/** A short, small experiment that runs in a moment of virtual time. */
export function smallExperiment(seed: number, over: Partial<Experiment> = {}): Experiment {
  const base = defaultExperiment(seed);
  return {
    ...base,
    name: 'fake',
    nodes: 3,
    timeLimitS: 20,
    rate: 50,
    concurrency: 4,
    recoverS: 1,
    opTimeoutMs: 500,
    nemesis: { ...base.nemesis, faultS: 4, healS: 3, firstS: 2 },
    ...over,
  };
}

/**
 * A whole run against the in-memory cluster, in virtual time: a real run folder
 * (history, results, report, logs) for tests of the report, compare and the CLI.
 */
export async function fakeRun(
  outDir: string,
  over: Partial<Experiment> = {},
  linearizability?: Omit<LinearizabilityResult, 'model'>,
): Promise<RunOutcome> {
  const experiment = smallExperiment(new Prng(over.seed ?? 1).nextU32(), over);
  const clock = new FakeClock();
  const backend = new FakeClusterBackend(clock);
  return clock.runUntilSettled(
    runExperiment(
      { experiment, outDir, keep: false },
      {
        backend,
        clock,
        adapter: () => {
          if (backend.last === null) throw new Error('no cluster');
          return backend.last.adapter;
        },
        checkLinearizability: (_file, options) =>
          Promise.resolve({
            valid: true,
            summary: 'linearizable',
            ...linearizability,
            model: options.model,
          }),
      },
    ),
  );
}
