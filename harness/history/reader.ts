import { readFileSync } from 'node:fs';
import type { DataF, HistoryEvent, OpType } from './types.js';

export class HistoryFormatError extends Error {
  override readonly name = 'HistoryFormatError';
  constructor(
    readonly file: string,
    readonly line: number,
    reason: string,
  ) {
    super(`${file}:${line}: ${reason}`);
  }
}

export interface ReadHistory {
  readonly events: HistoryEvent[];
  /** True when the last line was cut short (the harness died mid-write) and was dropped. */
  readonly truncatedTail: boolean;
}

const OP_TYPES: readonly string[] = ['invoke', 'ok', 'fail', 'info'];
const DATA_F: readonly string[] = ['read', 'write', 'cas'];

/**
 * Reads a history this harness wrote (history.md's JSONL). Only the final line
 * may be incomplete; anything malformed before it is an error naming file and line.
 */
export function readHistoryFile(file: string): ReadHistory {
  return parseHistory(readFileSync(file, 'utf8'), file);
}

export function parseHistory(text: string, file = '<history>'): ReadHistory {
  const lines = text.split('\n');
  const events: HistoryEvent[] = [];
  let truncatedTail = false;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]?.trim() ?? '';
    if (line === '') continue;
    const isLast = i === lines.length - 1;
    let raw: unknown;
    try {
      raw = JSON.parse(line);
    } catch {
      // A missing final newline plus bad JSON means the writer died mid-line.
      if (isLast) {
        truncatedTail = true;
        continue;
      }
      throw new HistoryFormatError(file, i + 1, 'not a JSON object');
    }
    events.push(toEvent(raw, file, i + 1, events.length));
  }
  return { events, truncatedTail };
}

function toEvent(raw: unknown, file: string, line: number, position: number): HistoryEvent {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new HistoryFormatError(file, line, 'not a JSON object');
  }
  const o = raw as Record<string, unknown>;
  const type = o['type'];
  const f = o['f'];
  const process = o['process'];
  const time = typeof o['time'] === 'number' ? o['time'] : 0;
  const index = typeof o['index'] === 'number' ? o['index'] : position;
  if (typeof type !== 'string' || !OP_TYPES.includes(type)) {
    throw new HistoryFormatError(file, line, `bad type ${JSON.stringify(type)}`);
  }
  if (typeof f !== 'string') throw new HistoryFormatError(file, line, 'missing f');
  const error = typeof o['error'] === 'string' ? { error: o['error'] } : {};
  if (process === 'nemesis') {
    const value = o['value'];
    return {
      index,
      time,
      process: 'nemesis',
      type: 'info',
      f,
      value: typeof value === 'string' ? value : value == null ? null : JSON.stringify(value),
      ...error,
    };
  }
  if (typeof process !== 'number' || !Number.isSafeInteger(process)) {
    throw new HistoryFormatError(file, line, `bad process ${JSON.stringify(process)}`);
  }
  if (!DATA_F.includes(f)) throw new HistoryFormatError(file, line, `unknown f '${f}'`);
  const value = o['value'];
  if (!isValue(value)) throw new HistoryFormatError(file, line, 'bad value');
  const key = typeof o['key'] === 'string' ? { key: o['key'] } : {};
  const node = typeof o['node'] === 'string' ? { node: o['node'] } : {};
  return {
    index,
    time,
    process,
    type: type as OpType,
    f: f as DataF,
    value,
    ...key,
    ...node,
    ...error,
  };
}

function isScalar(v: unknown): v is number | string | null {
  return v === null || typeof v === 'number' || typeof v === 'string';
}

function isValue(v: unknown): v is HistoryEvent['value'] {
  if (isScalar(v)) return true;
  return (
    Array.isArray(v) &&
    v.length === 2 &&
    isScalar(v[0]) &&
    (typeof v[1] === 'number' || typeof v[1] === 'string')
  );
}
