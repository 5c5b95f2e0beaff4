import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fakeRun } from '../experiment/test-support/fake-run.js';
import { buildReport } from './build.js';

const CHROMIUM_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--no-first-run',
  '--disable-sync',
];

let browser: Browser;
let out: string;

beforeAll(async () => {
  out = mkdtempSync(join(tmpdir(), 'raftbed-report-'));
  browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_FLAGS });
});
afterAll(async () => {
  await browser?.close();
  rmSync(out, { recursive: true, force: true });
});

async function open(file: string) {
  const page = await browser.newPage();
  const problems: string[] = [];
  const requests: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') problems.push(`${m.type()}: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  page.on('request', (r) => {
    if (!r.url().startsWith('file:')) requests.push(r.url());
  });
  await page.goto(pathToFileURL(file).href, { waitUntil: 'load' });
  return { page, problems, requests };
}

describe('report.html in headless Chromium', () => {
  it('renders a non-linearizable run with charts, tables and the counterexample, offline and without errors', async () => {
    const { dir } = await fakeRun(
      out,
      { name: 'report-bad' },
      {
        valid: false,
        summary: 'key k3: read 7 could not be placed',
        counterexampleHtml:
          '<div class="cx"><h3>Counterexample on k3</h3><p>read -> 7</p>' +
          '<script>document.querySelector(".cx p").textContent = "drawn by script";</script></div>',
      },
    );
    // `raftbed report` rebuilds it from results.json and history.jsonl alone.
    rmSync(join(dir, 'report.html'));
    const file = await buildReport(dir);
    expect(statSync(file).size).toBeGreaterThan(10_000);
    const html = readFileSync(file, 'utf8');
    // The charts need no script: only the checker's interactive view may carry one.
    const outsideCounterexample = html.replace(
      /<section id="counterexample">[\s\S]*?<\/section>/,
      '',
    );
    expect(outsideCounterexample).not.toMatch(/<script/i);
    expect(html).not.toMatch(/https?:\/\/(?!vega\.github\.io|www\.w3\.org)/);

    const { page, problems, requests } = await open(file);
    expect(problems).toEqual([]);
    expect(requests).toEqual([]);
    expect(await page.locator('h1 .badge').textContent()).toBe('NOT VALID');
    // Both charts are real SVG with marks in them: a point per op, a band per fault.
    const latencyMarks = await page.locator('#latency-chart svg path').count();
    expect(latencyMarks).toBeGreaterThan(500);
    const bands = await page.locator('#latency-chart svg .mark-rect path').count();
    expect(bands).toBe(3);
    expect(await page.locator('#throughput-chart svg .mark-line path').count()).toBeGreaterThan(0);
    const box = await page.locator('#latency-chart svg').boundingBox();
    expect(box?.width).toBeGreaterThan(400);
    expect(await page.locator('#counterexample h3').textContent()).toBe('Counterexample on k3');
    // The embedded view's own script runs in the report.
    expect(await page.locator('#counterexample p').textContent()).toBe('drawn by script');
    const text = await page.locator('body').innerText();
    expect(text).toContain('longest fail streak');
    expect(text).toContain('ok rate inside faults');
    expect(text).toMatch(/p99/);
    await page.close();
  });

  it('shows its charts with JavaScript turned off', async () => {
    const { dir } = await fakeRun(out, { name: 'report-noscript' });
    const context = await browser.newContext({ javaScriptEnabled: false });
    const page = await context.newPage();
    await page.goto(pathToFileURL(join(dir, 'report.html')).href);
    expect(await page.locator('#latency-chart svg path').count()).toBeGreaterThan(500);
    expect(await page.locator('#throughput-chart svg .mark-line path').count()).toBeGreaterThan(0);
    await context.close();
  });

  it('renders a valid run without a counterexample section', async () => {
    const { dir } = await fakeRun(out, {
      name: 'report-good',
      nemesis: { ...(await import('../experiment/experiment.js')).DEFAULT_NEMESIS, kinds: [] },
    });
    const { page, problems } = await open(join(dir, 'report.html'));
    expect(problems).toEqual([]);
    expect(await page.locator('h1 .badge').textContent()).toBe('valid');
    expect(await page.locator('#counterexample').count()).toBe(0);
    expect(await page.locator('#latency-chart svg .mark-rect path').count()).toBe(0);
    await page.close();
  });
});
