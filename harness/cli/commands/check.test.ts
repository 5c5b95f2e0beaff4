import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { main } from '../dispatch.js';

const dir = mkdtempSync(join(tmpdir(), 'raftbed-check-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const corpus = new URL('../../../checks/corpus/', import.meta.url).pathname;

function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

/** Runs `raftbed ARGS` in this process; its exit code, stdout and stderr. */
async function raftbed(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const o = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    out += String(chunk);
    return true;
  });
  const e = vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
    err += String(chunk);
    return true;
  });
  try {
    const code = await main(args);
    return { code, out, err };
  } finally {
    o.mockRestore();
    e.mockRestore();
  }
}

const line = (o: Record<string, unknown>) => JSON.stringify(o);
const stale = [
  line({ process: 0, type: 'invoke', f: 'write', value: 1 }),
  line({ process: 0, type: 'ok', f: 'write', value: 1 }),
  line({ process: 1, type: 'invoke', f: 'write', value: 2 }),
  line({ process: 1, type: 'ok', f: 'write', value: 2 }),
  line({ process: 2, type: 'invoke', f: 'read', value: null }),
  line({ process: 2, type: 'ok', f: 'read', value: 1 }),
].join('\n');

describe('raftbed check: exit codes and output', () => {
  it('exits 0 and prints one summary line for a linearizable history', async () => {
    const r = await raftbed('check', join(corpus, 'porcupine/test_data/jepsen/etcd_002.log'));
    expect(r.code).toBe(0);
    expect(r.out).toMatch(
      /etcd_002\.log: linearizable \(cas-register, 77 ops, 1 key, [\d.]+ ms\)\n$/,
    );
  });

  it('exits 1 and names the op that cannot be placed and the prefix', async () => {
    const r = await raftbed('check', file('stale.jsonl', stale));
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/stale\.jsonl: NOT linearizable \(cas-register, 3 ops, 1 key/);
    expect(r.out).toMatch(/cannot place: process 2 read -> 1 \(line 5\)/);
    expect(r.out).toMatch(/line 3 {2}process 1 {2}write 2 -> ok {2}-> state 2/);
  });

  it('prints one JSON object with --json: verdict, model, counts and the counterexample', async () => {
    const r = await raftbed('check', file('stale2.jsonl', stale), '--json', '--model', 'register');
    expect(r.code).toBe(1);
    const json = JSON.parse(r.out) as Record<string, unknown>;
    expect(Object.keys(json)).toEqual([
      'valid',
      'model',
      'ops',
      'keys',
      'ms',
      'key',
      'op',
      'prefix',
    ]);
    expect(json).toMatchObject({ valid: false, model: 'register', ops: 3, keys: 1, key: null });
    expect(typeof json['ms']).toBe('number');
    expect(json['op']).toEqual({
      index: 2,
      process: 2,
      f: 'read',
      value: null,
      result: 1,
      type: 'ok',
      line: 5,
    });
    expect((json['prefix'] as { line: number }[]).map((o) => o.line)).toEqual([1, 3]);
    const ok = await raftbed('check', join(corpus, 'porcupine/test_data/kv/c01-ok.txt'), '--json');
    expect(JSON.parse(ok.out)).toEqual({
      valid: true,
      model: 'porcupine-kv',
      ops: 58,
      keys: 10,
      ms: expect.any(Number) as number,
    });
  });

  it('exits 2 with "unknown" when the time is up', async () => {
    const lines: string[] = [];
    for (let i = 0; i < 4000; i++) {
      const p = i % 7;
      lines.push(line({ process: p, type: 'invoke', f: 'write', value: i % 5 }));
      lines.push(line({ process: p, type: 'ok', f: 'write', value: i % 5 }));
    }
    lines.push(line({ process: 9, type: 'invoke', f: 'read', value: null }));
    for (let i = 0; i < 6000; i++)
      lines.push(line({ process: 20 + i, type: 'invoke', f: 'cas', value: [i % 5, (i + 1) % 5] }));
    lines.push(line({ process: 9, type: 'ok', f: 'read', value: 'never' }));
    const r = await raftbed(
      'check',
      file('slow.jsonl', lines.join('\n')),
      '--timeout',
      '0.001',
      '--json',
    );
    expect(r.code).toBe(2);
    expect(JSON.parse(r.out)).toMatchObject({ valid: 'unknown', reason: 'timed out after 1 ms' });
  });

  it('uses --initial, and 0 for Knossos EDN unless given', async () => {
    const edn = file(
      'k.edn',
      '[{:process 0 :type :invoke :f :read :value nil} {:process 0 :type :ok :f :read :value 0}]',
    );
    expect((await raftbed('check', edn)).code).toBe(0);
    expect((await raftbed('check', edn, '--initial', '3')).code).toBe(1);
    const jsonl = file(
      'i.jsonl',
      [
        line({ process: 0, type: 'invoke', f: 'read', value: null }),
        line({ process: 0, type: 'ok', f: 'read', value: 'x' }),
      ].join('\n'),
    );
    expect((await raftbed('check', jsonl)).code).toBe(1);
    expect((await raftbed('check', jsonl, '--initial', 'x')).code).toBe(0);
  });

  it('writes a self-contained HTML page with --html', async () => {
    const out = join(dir, 'sub', 'report.html');
    const r = await raftbed(
      'check',
      join(corpus, 'knossos/data/cas-register/bad/rethink-fail-minimal.edn'),
      '--html',
      out,
    );
    expect(r.code).toBe(1);
    const html = readFileSync(out, 'utf8');
    expect(html).toMatch(/^<!doctype html>/);
    expect(html).not.toMatch(/https?:\/\//);
    expect(html).toContain('process 1&#39;s read -&#62; 3 (line 4) cannot be placed');
  });

  it('documents formats, models, defaults and exit codes in --help', async () => {
    const r = await raftbed('check', '--help');
    expect(r.code).toBe(0);
    for (const word of [
      'jsonl',
      'edn',
      'porcupine',
      'cas-register',
      'porcupine-kv',
      'mutex',
      'multi-register',
      'exit codes',
      '--initial',
    ]) {
      expect(r.out).toContain(word);
    }
  });
});

describe('raftbed check: bad input exits 3 with FILE:LINE, never a stack trace', () => {
  const cases: [string, string, string, RegExp][] = [
    [
      'a truncated JSONL file',
      't.jsonl',
      `${stale.slice(0, 150)}`,
      /t\.jsonl:3: not a JSON object \(truncated line\?\)/,
    ],
    [
      'a completion without an invoke',
      'c.jsonl',
      line({ process: 3, type: 'ok', f: 'read', value: 1 }),
      /c\.jsonl:1: ok read of process 3 completes nothing/,
    ],
    [
      'an unknown f',
      'f.jsonl',
      [line({ process: 0, type: 'invoke', f: 'incr', value: 1 })].join('\n'),
      /f\.jsonl:1: unknown operation f "incr" for model cas-register/,
    ],
    [
      'a malformed EDN form',
      'm.edn',
      '[{:process 0 :type :invoke :f :read}\n {:process 0 :type :ok :f :read :value 1]',
      /m\.edn:2: malformed EDN: '\]' closes the map opened at line 2/,
    ],
    [
      'a truncated EDN file',
      'tr.edn',
      '[{:process 0 :type :invoke :f :read}\n {:process 0 :type',
      /tr\.edn:2: malformed EDN: map opened at line 2 is not closed \(truncated file\?\)/,
    ],
    [
      'a truncated Jepsen log',
      'e.log',
      'INFO  jepsen.util - 0\t:invoke\t:cas\t[1 2]\nINFO  jepsen.util - 0\t:ok\t:cas\t[1',
      /e\.log:2: bad value '\[1'/,
    ],
  ];
  for (const [name, fileName, text, message] of cases) {
    it(`rejects ${name}`, async () => {
      const r = await raftbed('check', file(fileName, text));
      expect(r.code).toBe(3);
      expect(r.out).toBe('');
      expect(r.err).toMatch(message);
      expect(r.err.trim().split('\n')).toHaveLength(1);
      expect(r.err).not.toMatch(/\n\s+at /);
    });
  }

  it('rejects a missing file, a directory, a bad flag value and a missing FILE', async () => {
    expect(await raftbed('check', join(dir, 'nope.jsonl'))).toMatchObject({
      code: 3,
      err: expect.stringMatching(/nope\.jsonl: no such file\n$/) as string,
    });
    expect(await raftbed('check', dir)).toMatchObject({
      code: 3,
      err: expect.stringMatching(/is a directory/) as string,
    });
    expect(await raftbed('check', 'x', '--model', 'queue')).toMatchObject({
      code: 3,
      err: expect.stringMatching(/--model must be one of .*register.*got 'queue'/) as string,
    });
    expect(await raftbed('check', 'x', '--format', 'csv')).toMatchObject({
      code: 3,
      err: expect.stringMatching(/--format must be one of jsonl, edn, porcupine/) as string,
    });
    expect(await raftbed('check', 'x', '--timeout', '0')).toMatchObject({
      code: 3,
      err: expect.stringMatching(/--timeout must be a number/) as string,
    });
    expect(await raftbed('check')).toMatchObject({
      code: 3,
      err: expect.stringMatching(/expected one history FILE, got none/) as string,
    });
    expect(await raftbed('check', 'a', 'b')).toMatchObject({ code: 3 });
    expect(await raftbed('check', 'x', '--colour')).toMatchObject({
      code: 3,
      err: expect.stringMatching(/raftbed check: .*--colour/) as string,
    });
  });

  it('rejects keyed ops on a single-register model', async () => {
    const keyed = file(
      'keyed.jsonl',
      line({ process: 0, type: 'invoke', f: 'read', key: 'k1', value: null }),
    );
    const r = await raftbed('check', keyed, '--model', 'register');
    expect(r.code).toBe(3);
    expect(r.err).toMatch(
      /keyed\.jsonl:1: operation has key "k1" but model register checks a single object/,
    );
  });
});
