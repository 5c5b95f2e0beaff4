import { HistoryError } from '../history.js';
import type { Format, History, Value } from '../history.js';
import { EdnChar, EdnSymbol, Keyword, ednGet, parseEdnLines, showEdn } from './edn.js';
import type { Edn, EdnMap, EdnSeq } from './edn.js';
import { EVENT_TYPES, Pairing, clip } from './pairing.js';
import type { EventType, RawEvent } from './pairing.js';

/**
 * Jepsen/Knossos histories in EDN: either one vector (or list) of op maps, or op
 * maps one after another (Porcupine's kv logs). Conventions are Knossos's: registers
 * start at 0 and a read that returned nil observed nothing.
 */
export function parseJepsenEdn(text: string, source: string, format: Format = 'edn'): History {
  const flat = readFlatOps(text);
  if (flat !== undefined) return pairUp(flat, source, format);
  const top = parseEdnLines(text, source);
  const first = top.items[0];
  // One vector (or list) of ops, or ops one after another.
  const { items: maps, itemLines } = top.items.length === 1 && isSeq(first) ? first : top;
  const events: RawEvent[] = [];
  for (let i = 0; i < maps.length; i++) {
    events.push(readOp(maps[i] ?? null, itemLines[i] ?? 0, source));
  }
  return pairUp(events, source, format);
}

function pairUp(events: readonly RawEvent[], source: string, format: Format): History {
  const pairing = new Pairing(source);
  const fs = new Set<string>();
  let anyKey = false;
  for (let i = 0; i < events.length; i++) {
    const ev = events[i] as RawEvent;
    if (ev.process !== 'nemesis') {
      fs.add(ev.f);
      if (ev.key !== undefined) anyKey = true;
    }
    pairing.add(ev);
  }
  return pairing.finish(
    format,
    { registerInitial: 0, nilReadObservesNothing: true },
    suggestModel(fs, anyKey),
  );
}

/**
 * One op map per line in Porcupine's kv shape, `{:process 6, :type :invoke, :f
 * :append, :key "0", :value "x 6 0 y"}` (values nil, integers or strings without
 * escapes). A regular expression reads such a line straight into an event, several
 * times faster than the general reader and with far less garbage: a check of a
 * file this shape spends more time reading it than searching. Undefined as soon as
 * one line has another shape: the EDN reader then reads the whole text (and gives
 * the same events, or names the line that is wrong).
 */
function readFlatOps(text: string): RawEvent[] | undefined {
  if (!text.startsWith(FLAT_START)) return undefined;
  const events: RawEvent[] = [];
  const at = new RegExp(FLAT_LINE.source, 'y');
  let line = 1;
  while (at.lastIndex < text.length) {
    const m = at.exec(text);
    if (m === null) return undefined;
    const [, process, type, f, key, value, ending] = m as unknown as string[];
    if (value === undefined || ending === undefined) return undefined;
    events.push({
      type: type as EventType,
      process: Number(process),
      f: f as string,
      value:
        value === 'nil'
          ? null
          : value.charCodeAt(0) === 34 // '"'
            ? value.slice(1, -1)
            : Number(value),
      line,
      key: key as string,
    });
    line += ending.length;
  }
  return events;
}

const FLAT_START = '{:process ';
const FLAT_LINE =
  /\{:process (\d{1,9}), :type :(invoke|ok|fail|info), :f :([a-z][a-z-]*), :key "([^"\\\n]*)", :value (nil|"[^"\\\n]*"|-?\d{1,15})\}(\n+|$)/;

function suggestModel(fs: Set<string>, anyKey: boolean): string {
  if (fs.has('acquire') || fs.has('release')) return 'mutex';
  if (fs.has('txn')) return 'multi-register';
  if (fs.has('get') || fs.has('put') || fs.has('append')) return 'porcupine-kv';
  return anyKey ? 'kv' : 'cas-register';
}

function isSeq(v: Edn | undefined): v is EdnSeq {
  return (
    typeof v === 'object' && v !== null && 'kind' in v && (v.kind === 'vector' || v.kind === 'list')
  );
}

function readOp(form: Edn, formLine: number, source: string): RawEvent {
  let map = form;
  // A record literal (#jepsen.history.Op{...}) reads as its map.
  while (typeof map === 'object' && map !== null && 'kind' in map && map.kind === 'tagged') {
    map = map.value;
  }
  if (typeof map !== 'object' || map === null || !('kind' in map) || map.kind !== 'map') {
    throw new HistoryError(
      source,
      formLine,
      `expected an operation map like {:type :invoke, :f :read, :process 0, :value nil}, got ${clip(showEdn(form), 80)}`,
    );
  }
  const line = map.line;
  const bad = (problem: string): never => {
    throw new HistoryError(source, line, problem);
  };

  const type = nameOf(ednGet(map, 'type'));
  if (type === undefined || !(EVENT_TYPES as readonly string[]).includes(type)) {
    bad(`:type must be one of :${EVENT_TYPES.join(', :')}, got ${showEdn(ednGet(map, 'type'))}`);
  }
  const rawProcess = ednGet(map, 'process');
  let process: number | string;
  if (typeof rawProcess === 'number' && Number.isSafeInteger(rawProcess)) {
    process = rawProcess;
  } else if (
    rawProcess instanceof Keyword ||
    rawProcess instanceof EdnSymbol ||
    typeof rawProcess === 'string'
  ) {
    process = typeof rawProcess === 'string' ? rawProcess : rawProcess.name;
  } else {
    return bad(`:process must be an integer or :nemesis, got ${showEdn(rawProcess)}`);
  }
  const f = nameOf(ednGet(map, 'f'));
  if (f === undefined || f === '') {
    return bad(`:f must be a keyword like :read, got ${showEdn(ednGet(map, 'f'))}`);
  }
  const ev: { -readonly [K in keyof RawEvent]: RawEvent[K] } = {
    type: type as EventType,
    process,
    f,
    value: toValue(ednGet(map, 'value') ?? null),
    line,
  };
  const key = ednGet(map, 'key');
  if (key !== undefined && key !== null) {
    const k = toValue(key);
    if (typeof k === 'string') ev.key = k;
    else if (typeof k === 'number') ev.key = String(k);
    else bad(`:key must be a string, keyword or integer, got ${showEdn(key)}`);
  }
  const time = ednGet(map, 'time');
  if (typeof time === 'number') ev.time = time;
  const error = ednGet(map, 'error');
  if (error !== undefined && error !== null) {
    const e = toValue(error);
    ev.error = typeof e === 'string' ? e : showEdn(error);
  }
  const node = ednGet(map, 'node');
  if (node !== undefined && node !== null) {
    const n = toValue(node);
    if (typeof n === 'string' || typeof n === 'number') ev.node = String(n);
  }
  return ev;
}

function nameOf(v: Edn | undefined): string | undefined {
  if (v instanceof Keyword || v instanceof EdnSymbol) return v.name;
  if (typeof v === 'string') return v;
  return undefined;
}

/** EDN data as history values: keywords and symbols become their names. */
export function toValue(v: Edn): Value {
  if (v === null || typeof v === 'boolean' || typeof v === 'string') return v;
  if (typeof v === 'number') return Number.isFinite(v) ? v : String(v);
  if (v instanceof Keyword || v instanceof EdnSymbol) return v.name;
  if (v instanceof EdnChar) return v.char;
  switch (v.kind) {
    case 'list':
    case 'vector':
    case 'set':
      return v.items.map(toValue);
    case 'map':
      return mapToValue(v);
    case 'tagged':
      return toValue(v.value);
  }
}

function mapToValue(m: EdnMap): Value {
  const out: Record<string, Value> = {};
  for (let i = 0; i < m.keys.length; i++) {
    const k = toValue(m.keys[i] ?? null);
    out[typeof k === 'string' ? k : JSON.stringify(k)] = toValue(m.vals[i] ?? null);
  }
  return out;
}
