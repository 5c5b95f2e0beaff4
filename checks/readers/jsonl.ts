import { HistoryError } from '../history.js';
import type { History, Value } from '../history.js';
import { EVENT_TYPES, Pairing, clip } from './pairing.js';
import type { EventType, RawEvent } from './pairing.js';

/**
 * history.md's JSON Lines: one event object per line, blank lines allowed. This is
 * the format the workload writes and the reader every experiment uses.
 */
export function parseJsonl(text: string, source: string): History {
  const pairing = new Pairing(source);
  let anyKey = false;
  let lineNo = 0;
  let start = 0;
  while (start <= text.length) {
    let end = text.indexOf('\n', start);
    if (end === -1) end = text.length;
    lineNo++;
    const line = text.slice(start, end).trim();
    start = end + 1;
    if (line === '') continue;
    const ev = readEvent(line, lineNo, source);
    if (ev.key !== undefined && ev.process !== 'nemesis') anyKey = true;
    pairing.add(ev);
  }
  return pairing.finish(
    'jsonl',
    { registerInitial: null, nilReadObservesNothing: false },
    anyKey ? 'kv' : 'cas-register',
  );
}

function readEvent(line: string, lineNo: number, source: string): RawEvent {
  const bad = (problem: string): never => {
    throw new HistoryError(source, lineNo, problem);
  };
  let parsed: unknown;
  try {
    parsed = JSON.parse(line);
  } catch {
    return bad(`not a JSON object (truncated line?): ${clip(line)}`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    return bad(`expected one JSON object per line, got ${clip(line)}`);
  }
  const o = parsed as Record<string, unknown>;

  const type = o['type'];
  if (typeof type !== 'string' || !(EVENT_TYPES as readonly string[]).includes(type)) {
    return bad(
      `field "type" must be one of ${EVENT_TYPES.join(', ')}, got ${o['type'] === undefined ? 'nothing' : JSON.stringify(o['type'])}`,
    );
  }
  const process = o['process'];
  if (process !== 'nemesis' && !(typeof process === 'number' && Number.isSafeInteger(process))) {
    return bad(
      `field "process" must be an integer or "nemesis", got ${process === undefined ? 'nothing' : JSON.stringify(process)}`,
    );
  }
  const f = o['f'];
  if (typeof f !== 'string' || f === '') {
    return bad(`field "f" must be a non-empty string, got ${JSON.stringify(f) ?? 'nothing'}`);
  }
  if (!('value' in o) && process !== 'nemesis') bad('missing field "value" (null for a read)');
  const value = (o['value'] ?? null) as Value;

  const ev: { -readonly [K in keyof RawEvent]: RawEvent[K] } = {
    type: type as EventType,
    process,
    f,
    value,
    line: lineNo,
  };
  const key = o['key'];
  if (key !== undefined && key !== null) {
    if (typeof key === 'string') ev.key = key;
    else if (typeof key === 'number' && Number.isSafeInteger(key)) ev.key = String(key);
    else bad(`field "key" must be a string or an integer, got ${JSON.stringify(key)}`);
  }
  const time = o['time'];
  if (time !== undefined && time !== null) {
    if (typeof time !== 'number' || !Number.isFinite(time)) {
      bad(`field "time" must be a number, got ${JSON.stringify(time)}`);
    }
    ev.time = time as number;
  }
  const error = o['error'];
  if (error !== undefined && error !== null) {
    ev.error = typeof error === 'string' ? error : JSON.stringify(error);
  }
  const node = o['node'];
  if (typeof node === 'string' || typeof node === 'number') ev.node = String(node);
  return ev;
}
