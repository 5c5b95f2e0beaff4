import { readdirSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from '../command.js';
import { choiceFlag, numberFlag, parseFlags } from '../args.js';
import { EXIT, SetupError, UsageError } from '../errors.js';
import type { CheckResult, OpSummary } from '../../../checks/index.js';

/** Model names are file names in checks/models (listed without importing them). */
function modelNames(): string[] {
  try {
    const dir = fileURLToPath(new URL('../../../checks/models/', import.meta.url));
    return readdirSync(dir)
      .filter((f) => /\.(js|ts)$/.test(f) && !/\.(d|test|bench)\.ts$|\.test\.js$/.test(f))
      .map((f) => f.replace(/\.(js|ts)$/, ''))
      .filter((n) => n !== 'model' && n !== 'registry')
      .sort();
  } catch {
    return ['register', 'cas-register', 'kv', 'porcupine-kv', 'mutex', 'multi-register'];
  }
}

const HELP = `usage: raftbed check FILE [--model MODEL] [--format jsonl|edn|porcupine] [--initial VALUE]
                     [--json] [--html OUT.html] [--timeout SECONDS]

Checks one history for linearizability (Wing-Gong-Lowe search with Lowe's cache,
keys checked independently and in parallel).

formats (detected from the content when --format is absent):
  jsonl      history.md's JSON Lines (what raftbed run writes)
  edn        Jepsen/Knossos EDN: a vector of op maps, or op maps one after another
             (Porcupine's kv logs); registers start at 0, a read of nil observes nothing
  porcupine  Porcupine's Jepsen etcd text logs (INFO jepsen.util - ...); a failed cas
             is a definite mismatch, :info writes and cas may take effect or not

models: ${modelNames().join(', ')}
  default: jsonl -> kv when ops carry "key", else cas-register;
           edn -> mutex for acquire/release, multi-register for txn,
                  porcupine-kv for get/put/append, kv when ops carry :key,
                  else cas-register; porcupine etcd logs -> cas-register

options:
  --initial VALUE    registers' initial value (JSON: 0, null, "a"; else a string);
                     default null, 0 for EDN, "" for porcupine-kv
  --json             one JSON object: {valid, model, ops, keys, ms} and, when not
                     linearizable, key, op (the operation that cannot be placed) and
                     prefix (the longest linearizable prefix found)
  --html OUT.html    a self-contained page: timeline per process, the linearization
                     found, the operation that breaks it highlighted
  --timeout SECONDS  give up with "unknown" after this long

exit codes: 0 linearizable, 1 not linearizable, 2 unknown (timeout or memory),
            3 usage error or bad input (FILE:LINE: what is wrong)`;

export const commands: Command[] = [
  {
    name: 'check',
    summary: 'check one history for linearizability',
    help: HELP,
    async run(argv: readonly string[]): Promise<number> {
      const { flags, positionals } = parseFlags(
        'check',
        {
          model: { type: 'string' },
          format: { type: 'string' },
          initial: { type: 'string' },
          json: { type: 'boolean' },
          html: { type: 'string' },
          timeout: { type: 'string' },
        },
        argv,
      );
      if (positionals.length !== 1) {
        throw new UsageError(
          `raftbed check: expected one history FILE, got ${positionals.length === 0 ? 'none' : positionals.join(' ')} (see --help)`,
        );
      }
      const file = positionals[0] as string;
      const checker = await import('../../../checks/index.js');
      const models = [...(await checker.loadModels()).keys()];
      const model =
        flags.model === undefined
          ? undefined
          : choiceFlag('check', 'model', flags.model, models, 'kv');
      const format =
        flags.format === undefined
          ? undefined
          : choiceFlag('check', 'format', flags.format, checker.FORMATS, 'jsonl');
      const timeout =
        flags.timeout === undefined
          ? undefined
          : numberFlag('check', 'timeout', flags.timeout, 0, 0.001, 1e9);
      const initial = flags.initial === undefined ? undefined : checker.parseInitial(flags.initial);

      let history;
      let result;
      try {
        history = await checker.readHistory(file, {
          ...(format !== undefined ? { format } : {}),
          ...(initial !== undefined ? { initial } : {}),
        });
        result = await checker.checkLinearizability(history, {
          ...(model !== undefined ? { model } : {}),
          ...(timeout !== undefined ? { timeoutMs: timeout * 1000 } : {}),
        });
      } catch (err) {
        if (err instanceof checker.HistoryError) throw new SetupError(err.message);
        throw err;
      }

      if (flags.html !== undefined) {
        try {
          await mkdir(dirname(flags.html), { recursive: true });
          await writeFile(flags.html, checker.renderCheckHtml(history, result));
        } catch (err) {
          throw new SetupError(
            `raftbed check: cannot write ${flags.html}: ${(err as Error).message}`,
          );
        }
      }

      process.stdout.write(
        flags.json === true ? `${JSON.stringify(jsonReport(result))}\n` : humanReport(file, result),
      );
      return result.valid === true
        ? EXIT.valid
        : result.valid === false
          ? EXIT.invalid
          : EXIT.unknown;
    },
  },
];

function jsonOp(op: OpSummary): Record<string, unknown> {
  return {
    index: op.index,
    process: op.process,
    f: op.f,
    ...(op.key !== undefined ? { key: op.key } : {}),
    value: op.value,
    ...(op.result !== undefined ? { result: op.result } : {}),
    type: op.outcome,
    ...(op.error !== undefined ? { error: op.error } : {}),
    line: op.line,
  };
}

function jsonReport(result: CheckResult): Record<string, unknown> {
  const out: Record<string, unknown> = {
    valid: result.valid,
    model: result.model,
    ops: result.ops,
    keys: result.keys,
    ms: result.ms,
  };
  if (result.reason !== undefined) out['reason'] = result.reason;
  const c = result.counterexample;
  if (c !== undefined) {
    out['key'] = c.key;
    out['op'] = jsonOp(c.op);
    out['prefix'] = c.prefix.map(jsonOp);
  }
  return out;
}

function humanReport(file: string, result: CheckResult): string {
  const stats = `${result.model}, ${result.ops} ops, ${result.keys} key${result.keys === 1 ? '' : 's'}, ${result.ms} ms`;
  if (result.valid === true) return `${file}: linearizable (${stats})\n`;
  if (result.valid === 'unknown')
    return `${file}: unknown: ${result.reason ?? 'gave up'} (${stats})\n`;
  const lines = [`${file}: NOT linearizable (${stats})`];
  const c = result.counterexample;
  if (c !== undefined) {
    const where = c.key === null ? '' : ` on key ${JSON.stringify(c.key)}`;
    lines.push(
      `  cannot place${where}: process ${String(c.op.process)} ${c.op.description} (line ${c.op.line})`,
    );
    const shown = 8;
    const from = Math.max(0, c.prefix.length - shown);
    lines.push(
      `  after the longest linearizable prefix found: ${c.prefix.length} ops${from > 0 ? `, the last ${shown}:` : c.prefix.length > 0 ? ':' : ''}`,
    );
    if (from === 0 && c.prefix.length > 0) lines.push(`    (start)  state ${c.initial}`);
    for (let i = from; i < c.prefix.length; i++) {
      const op = c.prefix[i] as OpSummary;
      lines.push(
        `    line ${op.line}  process ${String(op.process)}  ${op.description}  -> state ${c.states[i] ?? '?'}`,
      );
    }
  }
  return `${lines.join('\n')}\n`;
}
