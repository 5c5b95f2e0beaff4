import { appendFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { HistoryFormatError, parseHistory, readHistoryFile } from './reader.js';
import { HistoryWriter } from './writer.js';

const dirs: string[] = [];
function tmp(): string {
  const d = mkdtempSync(join(tmpdir(), 'raftbed-history-'));
  dirs.push(d);
  return d;
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('HistoryWriter', () => {
  it('writes each event to disk before returning, with index and nanosecond time', () => {
    const file = join(tmp(), 'history.jsonl');
    let now = 1.5;
    const seen: string[] = [];
    const w = new HistoryWriter(file, { nowMs: () => now, onEvent: (e) => seen.push(e.f) });
    w.op({ process: 0, type: 'invoke', f: 'write', key: 'k1', value: 7, node: 'n1' });
    // Read back while the writer is still open: nothing is held in a buffer.
    const first = readFileSync(file, 'utf8');
    expect(JSON.parse(first.trim())).toEqual({
      index: 0,
      time: 1_500_000,
      process: 0,
      type: 'invoke',
      f: 'write',
      key: 'k1',
      value: 7,
      node: 'n1',
    });
    now = 3;
    w.op({ process: 0, type: 'ok', f: 'write', key: 'k1', value: 7 });
    w.nemesis({ f: 'start-partition', value: 'n1 | n2,n3' });
    w.close();
    const { events, truncatedTail } = readHistoryFile(file);
    expect(truncatedTail).toBe(false);
    expect(events.map((e) => [e.index, e.time, e.process, e.type, e.f])).toEqual([
      [0, 1_500_000, 0, 'invoke', 'write'],
      [1, 3_000_000, 0, 'ok', 'write'],
      [2, 3_000_000, 'nemesis', 'info', 'start-partition'],
    ]);
    expect(seen).toEqual(['write', 'write', 'start-partition']);
    expect(() => w.op({ process: 0, type: 'invoke', f: 'read', value: null })).toThrow(/closed/);
  });
});

describe('reader', () => {
  it('drops a final line cut short by a crash and says so', () => {
    const file = join(tmp(), 'h.jsonl');
    const w = new HistoryWriter(file, { nowMs: () => 0 });
    w.op({ process: 2, type: 'invoke', f: 'cas', key: 'k', value: [1, 2] });
    w.close();
    appendFileSync(file, '{"index":1,"time":5,"process":2,"ty');
    const { events, truncatedTail } = readHistoryFile(file);
    expect(truncatedTail).toBe(true);
    expect(events).toHaveLength(1);
    expect(events[0]?.value).toEqual([1, 2]);
  });

  it('names the file and line of a malformed event in the middle', () => {
    const text = [
      '{"process":1,"type":"invoke","f":"read","value":null}',
      '{"process":1,"type":"done","f":"read","value":null}',
      '',
    ].join('\n');
    expect(() => parseHistory(text, 'x.jsonl')).toThrow(HistoryFormatError);
    expect(() => parseHistory(text, 'x.jsonl')).toThrow('x.jsonl:2: bad type "done"');
    expect(() => parseHistory('nope\n{}\n', 'y.jsonl')).toThrow('y.jsonl:1: not a JSON object');
    expect(() =>
      parseHistory('{"process":1,"type":"ok","f":"incr","value":1}\n', 'z.jsonl'),
    ).toThrow("z.jsonl:1: unknown f 'incr'");
  });

  it('renumbers events that have no index and keeps nemesis descriptions as strings', () => {
    const text =
      '{"process":"nemesis","type":"info","f":"start-kill","value":["n1","n2"]}\n' +
      '{"process":3,"type":"invoke","f":"read","value":null}\n';
    const { events } = parseHistory(text);
    expect(events[0]).toMatchObject({ index: 0, process: 'nemesis', value: '["n1","n2"]' });
    expect(events[1]).toMatchObject({ index: 1, process: 3, time: 0 });
  });
});
