/**
 * The linearizability checker's public API (stable: the experiment runner and the
 * run report call it).
 *
 *   readHistory(path, { format?, initial? }): Promise<History>
 *     Reads a history file: history.md's JSONL, Jepsen/Knossos EDN, or Porcupine's
 *     logs (detected when `format` is absent). Bad input rejects with a HistoryError
 *     whose message is `FILE:LINE: what is wrong`.
 *   parseHistory(text, { format?, initial?, source? }): History
 *     The same from a string (tests, histories held in memory).
 *   checkLinearizability(history, { model?, timeoutMs?, initial? }): Promise<CheckResult>
 *     { valid: true | false | 'unknown', model, ops, keys, ms, threads, reason?,
 *       counterexample?: { key, op, prefix, initial, states }, linearizations }. `model` is a name (register, cas-register, kv, porcupine-kv,
 *     mutex, multi-register) or a Model; absent, the history's suggested one. A timeout
 *     or the memory budget yields 'unknown', never a wrong answer.
 *   renderCheckHtml(history, result, { id?, maxOps? }): string
 *     A complete, self-contained offline HTML page: a timeline per process, the
 *     longest linearization found, the operation that cannot be placed highlighted.
 *   renderCheckFragment(history, result, { id?, maxOps? }): string
 *     The same view as one root element (styles and script scoped under its id) to
 *     embed in another page.
 *
 * The experiments' history writer writes history.md's JSONL; parseJsonl is its reader.
 */
export { HistoryError, describeOperation, valueEquals } from './history.js';
export type {
  Conventions,
  Format,
  History,
  NemesisEvent,
  Operation,
  Outcome,
  Value,
} from './history.js';
export { FORMATS } from './history.js';
export { detectFormat, parseHistory, parseInitial, readHistory } from './readers/index.js';
export type { ReadOptions } from './readers/index.js';
export { parseJsonl } from './readers/jsonl.js';
export { checkLinearizability } from './linearizability.js';
export type {
  CheckOptions,
  CheckResult,
  Counterexample,
  KeyLinearization,
  OpSummary,
} from './linearizability.js';
export { renderCheckFragment, renderCheckHtml } from './html.js';
export type { HtmlOptions } from './html.js';
export { getModel, loadModels } from './models/registry.js';
export type { Model, ModelOp } from './models/model.js';
