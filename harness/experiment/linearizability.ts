import { checkLinearizability, readHistory, renderCheckFragment } from '../../checks/index.js';
import type { CheckResult } from '../../checks/index.js';
import type { LinearizabilityResult } from './results.js';
import type { LinearizabilityCheck } from './runner.js';

function summarize(r: CheckResult): string {
  if (r.valid === true) {
    return `linearizable: ${r.ops} ops over ${r.keys} keys checked in ${Math.round(r.ms)} ms`;
  }
  if (r.valid === 'unknown') return `unknown: ${r.reason ?? 'the checker gave up'}`;
  const cx = r.counterexample;
  if (cx === undefined) return 'NOT linearizable';
  const key = cx.key === null ? '' : `key ${cx.key}: `;
  return `NOT linearizable: ${key}${cx.op.description} cannot be placed in any linearization`;
}

/**
 * The run's linearizability check: the checker of checks/ on the history file,
 * its verdict and figures kept in results.json, and its counterexample view
 * embedded in the report when the history is not linearizable.
 */
export const checkHistoryFile: LinearizabilityCheck = async (file, options) => {
  const history = await readHistory(file, { format: 'jsonl' });
  const r = await checkLinearizability(history, {
    model: options.model,
    timeoutMs: options.timeoutMs,
    initial: options.initial,
  });
  // The per-key linearizations are for the view, and large: results.json keeps the rest.
  const { linearizations: _forTheView, ...detail } = r;
  const result: LinearizabilityResult = {
    valid: r.valid,
    model: options.model,
    summary: summarize(r),
    detail,
  };
  return r.valid === false
    ? {
        ...result,
        counterexampleHtml: renderCheckFragment(history, r, { id: 'raftbed-counterexample' }),
      }
    : result;
};
