import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { checkHistoryFile } from './linearizability.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function history(lines: object[]): string {
  const d = mkdtempSync(join(tmpdir(), 'raftbed-lin-'));
  dirs.push(d);
  const f = join(d, 'history.jsonl');
  writeFileSync(f, lines.map((l) => JSON.stringify(l)).join('\n') + '\n');
  return f;
}

const ev = (
  process: number,
  type: string,
  f: string,
  value: unknown,
  time: number,
  extra = {},
) => ({
  process,
  type,
  f,
  key: 'k0',
  value,
  time,
  ...extra,
});

const options = { model: 'kv' as const, timeoutMs: 10_000, initial: null };

describe('checkHistoryFile', () => {
  it('passes a linearizable history with its figures', async () => {
    const f = history([
      ev(0, 'invoke', 'write', 1, 1),
      ev(0, 'ok', 'write', 1, 2),
      { process: 'nemesis', type: 'info', f: 'start-kill', value: 'kill n1', time: 3 },
      ev(1, 'invoke', 'read', null, 4),
      ev(1, 'ok', 'read', 1, 5),
    ]);
    const r = await checkHistoryFile(f, options);
    expect([r.valid, r.model]).toEqual([true, 'kv']);
    expect(r.summary).toMatch(/^linearizable: 2 ops over 1 keys/);
    expect(r.counterexampleHtml).toBeUndefined();
    expect(r.detail).not.toHaveProperty('linearizations');
  });

  it('names the key and the op that cannot be placed, and carries the view for the report', async () => {
    // A write of 2 completes, then a read sees the older 1: a stale read.
    const f = history([
      ev(0, 'invoke', 'write', 1, 1),
      ev(0, 'ok', 'write', 1, 2),
      ev(0, 'invoke', 'write', 2, 3),
      ev(0, 'ok', 'write', 2, 4),
      ev(1, 'invoke', 'read', null, 5),
      ev(1, 'ok', 'read', 1, 6),
    ]);
    const r = await checkHistoryFile(f, options);
    expect(r.valid).toBe(false);
    expect(r.summary).toMatch(/^NOT linearizable: key k0: read .*1.* cannot be placed/);
    expect(r.counterexampleHtml).toContain('id="raftbed-counterexample"');
    expect(r.detail).toHaveProperty('counterexample');
  });
});
