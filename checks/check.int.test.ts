import { execFile, execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type * as Checker from './index.js';
import { simulate, toJsonl } from './simulate.js';

// The built CLI and checker (dist/), as users and the experiment runner get them:
// a real process for exit codes and stderr, real worker threads, a real browser.
const root = new URL('..', import.meta.url).pathname;
const cli = join(root, 'dist/harness/cli/main.js');
const run = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), 'raftbed-check-int-'));
let checker: typeof Checker;

beforeAll(async () => {
  if (!existsSync(cli) || !existsSync(join(root, 'dist/checks/search/worker.js'))) {
    execFileSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: root, stdio: 'inherit' });
  }
  checker = (await import(join(root, 'dist/checks/index.js'))) as typeof Checker;
}, 120_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function raftbed(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  try {
    const r = await run(process.execPath, [cli, ...args], { cwd: root });
    return { code: 0, out: r.stdout, err: r.stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, out: e.stdout, err: e.stderr };
  }
}

describe('raftbed check as a process', () => {
  it('exits 3 with one FILE:LINE line and no stack trace on a truncated history', async () => {
    const path = join(dir, 'cut.jsonl');
    writeFileSync(path, '{"process":0,"type":"invoke","f":"read","value":null}\n{"process":0,"ty');
    const r = await raftbed('check', path);
    expect(r.code).toBe(3);
    expect(r.out).toBe('');
    expect(r.err).toBe(`${path}:2: not a JSON object (truncated line?): {"process":0,"ty\n`);
  });

  it('exits 1 with --json on a corpus history that is not linearizable', async () => {
    const r = await raftbed(
      'check',
      'checks/corpus/knossos/data/cas-register/bad/cas-failure.edn',
      '--json',
    );
    expect(r.code).toBe(1);
    const json = JSON.parse(r.out) as { valid: unknown; model: string; op: { line: number } };
    expect(json.valid).toBe(false);
    expect(json.model).toBe('cas-register');
    expect(json.op.line).toBeGreaterThan(0);
  });
});

describe('checking keys in worker threads', () => {
  const events = simulate({
    seed: 11,
    ops: 30_000,
    concurrency: 16,
    model: 'kv',
    keys: 40,
    values: 8,
    infoRate: 0.02,
  });

  it('gives the verdicts of one thread, valid and not', async () => {
    const history = checker.parseJsonl(toJsonl(events), 'kv.jsonl');
    const parallel = await checker.checkLinearizability(history, { workers: 2 });
    const single = await checker.checkLinearizability(history, { workers: 1 });
    expect(parallel).toMatchObject({ valid: true, keys: 40, ops: single.ops, threads: 2 });
    expect(single).toMatchObject({ valid: true, threads: 1 });
    expect(parallel.linearizations.map((l) => l.order.length)).toEqual(
      single.linearizations.map((l) => l.order.length),
    );

    const reads = events.filter((e) => e.type === 'ok' && e.f === 'read');
    const target = reads[reads.length >> 1];
    const broken = events.map((e) => (e === target ? { ...e, value: 'never-written' } : e));
    const bad = checker.parseJsonl(toJsonl(broken), 'bad.jsonl');
    const one = await checker.checkLinearizability(bad, { workers: 1 });
    const two = await checker.checkLinearizability(bad, { workers: 2 });
    expect(one.valid).toBe(false);
    expect(two.valid).toBe(false);
    expect(two.counterexample?.key).toBe(target?.key);
    expect(two.counterexample?.op.result).toBe('never-written');
  });
});

describe('the HTML view in a browser', () => {
  it('draws the timeline, the prefix and the breaking op without script errors', async () => {
    const history = await checker.readHistory(
      join(root, 'checks/corpus/knossos/data/mutex/bad/etcd.edn'),
    );
    const result = await checker.checkLinearizability(history);
    const page = join(dir, 'view.html');
    writeFileSync(page, checker.renderCheckHtml(history, result));
    const browser = await chromium.launch({
      executablePath: process.env['RAFTBED_CHROMIUM'] ?? '/usr/bin/chromium',
      args: ['--no-sandbox'],
    });
    try {
      const tab = await browser.newPage();
      const errors: string[] = [];
      const requests: string[] = [];
      tab.on('pageerror', (e) => errors.push(String(e)));
      tab.on('request', (r) => {
        if (!r.url().startsWith('file:')) requests.push(r.url());
      });
      await tab.goto(`file://${page}`);
      await tab.waitForSelector('.rbc-op');
      expect(await tab.locator('.rbc-op').count()).toBe(history.ops.length);
      const stuck = tab.locator('.rbc-op.rbc-isstuck');
      expect(await stuck.count()).toBe(1);
      expect(await stuck.getAttribute('title')).toContain(`line ${result.counterexample?.op.line}`);
      expect(await tab.locator('.rbc-list li').count()).toBe(
        (result.counterexample?.prefix.length ?? 0) + 1,
      );
      await tab.locator('.rbc-zoom').fill('90');
      await tab.locator('.rbc-list li').first().click();
      expect(await tab.locator('.rbc-focus').count()).toBe(1);
      expect(errors).toEqual([]);
      expect(requests).toEqual([]);
    } finally {
      await browser.close();
    }
  });
});
