#!/usr/bin/env node
// Runs every test suite of `make check` in turn, each under its own time budget,
// and ends with the one plain line CI reads: `N passed, N failed`.
// Child output is prefixed with the suite name so no other line looks like that summary.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const outDir = join(root, '.raftbed', 'check');
mkdirSync(outDir, { recursive: true });

const vitest = (project) => ({
  name: project,
  cmd: [
    'npx',
    'vitest',
    'run',
    '--project',
    project,
    '--reporter=default',
    '--reporter=json',
    `--outputFile=${join(outDir, `${project}.json`)}`,
  ],
  count: () => vitestCounts(join(outDir, `${project}.json`)),
});
const single = (name, cmd) => ({ name, cmd, count: (code) => (code === 0 ? [1, 0] : [0, 1]) });
// Each simulated seed counts as one test, read from the sim's own last summary line.
const sim = (nodes, seeds) => ({
  name: `sim-${nodes}`,
  cmd: [
    'node',
    'dist/harness/cli/main.js',
    'sim',
    '--seeds',
    String(seeds),
    '--nodes',
    String(nodes),
  ],
  count: (_code, out) => simCounts(out),
});

/** Budgets in seconds; CI's whole make check must stay under 20 minutes on 2 cores. */
const suites = [
  { ...single('typecheck', ['npx', 'tsc', '-p', 'tsconfig.json', '--noEmit']), budget: 90 },
  { ...single('eslint', ['npx', 'eslint', '.']), budget: 120 },
  { ...single('prettier', ['npx', 'prettier', '--check', '.']), budget: 45 },
  { ...vitest('unit'), budget: 150 },
  { ...sim(3, 1000), budget: 75 },
  { ...sim(5, 1000), budget: 90 },
  { ...vitest('int'), budget: 150 },
  { ...vitest('docker'), budget: 240 },
  { ...vitest('chaos'), budget: 330 },
];

const only = process.argv.slice(2);
const chosen = only.length > 0 ? suites.filter((s) => only.includes(s.name)) : suites;

function vitestCounts(file) {
  if (!existsSync(file)) return [0, 1];
  const r = JSON.parse(readFileSync(file, 'utf8'));
  // A skipped or todo test counts as failed: a test that did not run proves nothing.
  const failed = r.numFailedTests + (r.numPendingTests ?? 0) + (r.numTodoTests ?? 0);
  // A file that failed to load has no tests in it but must not pass silently.
  const brokenFiles = (r.testResults ?? []).filter(
    (t) => t.status === 'failed' && (t.assertionResults ?? []).length === 0,
  ).length;
  const total = r.numPassedTests + failed + brokenFiles;
  return total === 0 ? [0, 1] : [r.numPassedTests, failed + brokenFiles];
}

/** [passed, failed] from the last `N passed, N failed` line `raftbed sim` printed. */
function simCounts(out) {
  const last = [...out.matchAll(/^(\d+) passed, (\d+) failed$/gm)].pop();
  return last === undefined ? [0, 1] : [Number(last[1]), Number(last[2])];
}

function run(suite) {
  return new Promise((resolve) => {
    const started = Date.now();
    const child = spawn(suite.cmd[0], suite.cmd.slice(1), {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
      env: { ...process.env, FORCE_COLOR: '0', RAFTBED_CHECK: '1' },
    });
    let out = '';
    let timedOut = false;
    const prefix = (chunk, stream) => {
      const text = chunk.toString();
      out += text;
      for (const line of text.split('\n'))
        if (line !== '') stream.write(`[${suite.name}] ${line}\n`);
    };
    child.stdout.on('data', (c) => prefix(c, process.stdout));
    child.stderr.on('data', (c) => prefix(c, process.stderr));
    const timer = setTimeout(() => {
      timedOut = true;
      process.stderr.write(`[${suite.name}] over its budget of ${suite.budget}s: stopped\n`);
      try {
        process.kill(-child.pid, 'SIGTERM');
        setTimeout(() => {
          try {
            process.kill(-child.pid, 'SIGKILL');
          } catch {
            // already gone
          }
        }, 10_000).unref();
      } catch {
        // already gone
      }
    }, suite.budget * 1000);
    child.on('close', (code) => {
      clearTimeout(timer);
      const secs = (Date.now() - started) / 1000;
      let [passed, failed] = suite.count(code ?? 1, out);
      if (timedOut) failed = Math.max(failed, 1);
      else if (code !== 0 && failed === 0) failed = 1;
      resolve({ name: suite.name, passed, failed, secs });
    });
  });
}

// The whole run has a budget too, so that CI's make check (installs and build
// included) stays under 20 minutes even if every suite ran long: a suite gets at
// most what is left, and one that gets nothing counts as failed.
const totalBudget = Number(process.env.RAFTBED_CHECK_BUDGET_S ?? 960);
const deadline = Date.now() + totalBudget * 1000;
const results = [];
for (const suite of chosen) {
  rmSync(join(outDir, `${suite.name}.json`), { force: true });
  const left = Math.floor((deadline - Date.now()) / 1000);
  if (left <= 0) {
    process.stderr.write(
      `[${suite.name}] not run: the whole run's budget of ${totalBudget}s is spent\n`,
    );
    results.push({ name: suite.name, passed: 0, failed: 1, secs: 0 });
    continue;
  }
  const budget = Math.min(suite.budget, left);
  process.stdout.write(`[${suite.name}] running (budget ${budget}s)\n`);
  results.push(await run({ ...suite, budget }));
}

process.stdout.write('\nsuite       passed  failed  seconds\n');
for (const r of results) {
  process.stdout.write(
    `${r.name.padEnd(10)} ${String(r.passed).padStart(7)} ${String(r.failed).padStart(7)} ${r.secs.toFixed(1).padStart(8)}\n`,
  );
}
const passed = results.reduce((a, r) => a + r.passed, 0);
const failed = results.reduce((a, r) => a + r.failed, 0);
process.stdout.write(`${passed} passed, ${failed} failed\n`);
process.exitCode = failed === 0 ? 0 : 1;
