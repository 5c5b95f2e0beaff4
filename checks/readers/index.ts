import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import { HistoryError } from '../history.js';
import type { Format, History, Value } from '../history.js';
import { parseJepsenEdn } from './jepsen-edn.js';
import { parseJsonl } from './jsonl.js';
import { looksLikeJepsenLog, parsePorcupineLog } from './porcupine-log.js';

export interface ReadOptions {
  /** Absent: detected from the content (and the file extension when it is empty). */
  readonly format?: Format;
  /** The registers' initial value, overriding the format's convention. */
  readonly initial?: Value;
}

/**
 * Which format a history is in, from its first meaningful characters: a JSON object
 * (`{"`) is JSONL, a Jepsen log line (`INFO  jepsen.util - ...`) is Porcupine's etcd
 * log, anything else that opens an EDN form is EDN (Porcupine's kv logs are EDN).
 */
export function detectFormat(text: string, fileName = ''): Format {
  const start = /\S/.exec(text);
  if (start === null) {
    const ext = extname(fileName).toLowerCase();
    if (ext === '.edn' || ext === '.txt') return 'edn';
    if (ext === '.log') return 'porcupine';
    return 'jsonl';
  }
  const rest = text.slice(start.index, start.index + 200);
  if (/^\{\s*"/.test(rest)) return 'jsonl';
  if (looksLikeJepsenLog(rest)) return 'porcupine';
  return 'edn';
}

/** Parses a history held in a string; `source` names it in error messages. */
export function parseHistory(
  text: string,
  options: ReadOptions & { source?: string } = {},
): History {
  const source = options.source ?? '<history>';
  const format = options.format ?? detectFormat(text, source);
  let history: History;
  switch (format) {
    case 'jsonl':
      history = parseJsonl(text, source);
      break;
    case 'edn':
      history = parseJepsenEdn(text, source);
      break;
    case 'porcupine':
      history =
        text.trim() === '' || looksLikeJepsenLog(text)
          ? parsePorcupineLog(text, source)
          : parseJepsenEdn(text, source, 'porcupine');
      break;
  }
  return options.initial === undefined ? history : { ...history, initial: options.initial };
}

/** Reads a history file. Bad input throws a HistoryError naming the file and line. */
export async function readHistory(path: string, options: ReadOptions = {}): Promise<History> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why =
      code === 'ENOENT'
        ? 'no such file'
        : code === 'EISDIR'
          ? 'is a directory, not a history file'
          : code === 'EACCES'
            ? 'permission denied'
            : (err as Error).message;
    throw new HistoryError(path, 0, why);
  }
  return parseHistory(text, { ...options, source: path });
}

/**
 * `--initial VALUE`: JSON when it parses as a JSON scalar (`0`, `null`, `"a"`),
 * otherwise the text itself as a string.
 */
export function parseInitial(raw: string): Value {
  try {
    const v = JSON.parse(raw) as unknown;
    if (v === null || typeof v === 'number' || typeof v === 'string' || typeof v === 'boolean') {
      return v;
    }
  } catch {
    // not JSON: a bare string
  }
  return raw;
}
