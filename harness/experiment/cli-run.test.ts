import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { parse } from 'yaml';
import { main } from '../cli/dispatch.js';
import { prepareExperiment, runFromCli } from './cli-run.js';
import type { LinearizabilityResult } from './results.js';
import { FakeClock } from './test-support/fake-clock.js';
import { FakeClusterBackend } from './test-support/fake-cluster.js';
import { fakeRun } from './test-support/fake-run.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  vi.restoreAllMocks();
});
function tmp(): string {
  const d = mkdtempSync(join(tmpdir(), 'raftbed-cli-'));
  dirs.push(d);
  return d;
}

function fakeParts(clock: FakeClock, valid: LinearizabilityResult['valid'] = true) {
  const backend = new FakeClusterBackend(clock);
  return () =>
    Promise.resolve({
      backend,
      adapter: () => backend.last!.adapter,
      checkLinearizability: (_f: string, o: { model: 'kv' | 'cas-register' }) =>
        Promise.resolve<LinearizabilityResult>({ valid, model: o.model, summary: String(valid) }),
    });
}

function small(out: string) {
  const file = join(out, 'quick.yml');
  writeFileSync(
    file,
    'nodes: 3\ntime-limit: 10\nrate: 40\nconcurrency: 4\nrecover: 1\nnemesis: {kinds: [partition], interval: 3, first: 1}\n',
  );
  return file;
}

describe('raftbed run (in-process, fake cluster)', () => {
  it('names the run after its file, prints each check and the report path, exits by the verdict', async () => {
    const out = tmp();
    const e = prepareExperiment(small(out), { seed: '77' }, 1);
    expect(e).toMatchObject({ name: 'quick', seed: 77, nodes: 3 });
    const clock = new FakeClock();
    let text = '';
    const code = await clock.runUntilSettled(
      runFromCli(
        { experiment: e, keep: false, outDir: join(out, 'runs'), compareImage: null, repeat: 1 },
        { stdout: { write: (s: string) => (text += s) }, parts: fakeParts(clock, false), clock },
      ),
    );
    expect(code).toBe(1);
    expect(text).toMatch(/quick: NOT VALID \(exit 1\)/);
    expect(text).toMatch(/linearizability\s+NOT VALID/);
    expect(text).toMatch(/availability\s+/);
    const [run] = readdirSync(join(out, 'runs'));
    expect(text).toContain(join(out, 'runs', run!, 'report.html'));
    expect(text).toContain('phase: final reads');
  });

  it('--compare-image runs the same seeds on both images and compares medians', async () => {
    const out = tmp();
    const e = prepareExperiment(small(out), { seed: '5' }, 1);
    const clock = new FakeClock();
    let text = '';
    const code = await clock.runUntilSettled(
      runFromCli(
        {
          experiment: e,
          keep: false,
          outDir: join(out, 'runs'),
          compareImage: 'raftbed-node:old',
          repeat: 2,
        },
        { stdout: { write: (s: string) => (text += s) }, parts: fakeParts(clock), clock },
      ),
    );
    const runs = readdirSync(join(out, 'runs')).sort();
    expect(runs.map((r) => r.replace(/^\d{8}T\d{6}Z-/, '')).sort()).toEqual([
      'quick-a1',
      'quick-a2',
      'quick-b1',
      'quick-b2',
    ]);
    const seeds = runs.map((r) => {
      const doc = parse(readFileSync(join(out, 'runs', r, 'experiment.yml'), 'utf8')) as {
        seed: number;
        image?: string;
        name: string;
      };
      return [doc.name, doc.seed, doc.image ?? null];
    });
    expect(seeds.sort()).toEqual([
      ['quick-a1', 5, null],
      ['quick-a2', 6, null],
      ['quick-b1', 5, 'raftbed-node:old'],
      ['quick-b2', 6, 'raftbed-node:old'],
    ]);
    expect(text).toContain('(median of 2)');
    // Same seeds on the same fake: identical figures, so no regression.
    expect(text).toContain('B does not regress past the thresholds');
    expect(code).toBe(0);
  });
});

describe('raftbed report / compare / run through the CLI', () => {
  async function cli(argv: string[]) {
    let out = '';
    let err = '';
    vi.spyOn(process.stdout, 'write').mockImplementation((s) => ((out += String(s)), true));
    vi.spyOn(process.stderr, 'write').mockImplementation((s) => ((err += String(s)), true));
    const code = await main(argv);
    vi.restoreAllMocks();
    return { code, out, err };
  }

  it('report rebuilds a run folder; a folder that is not a run is exit 3 with one line', async () => {
    const out = tmp();
    const { dir } = await fakeRun(out, { name: 'r' });
    rmSync(join(dir, 'report.html'));
    const ok = await cli(['report', dir]);
    expect(ok).toMatchObject({ code: 0, out: `${join(dir, 'report.html')}\n` });
    expect(readFileSync(join(dir, 'report.html'), 'utf8')).toContain('<svg');
    const bad = await cli(['report', out]);
    expect(bad.code).toBe(3);
    expect(bad.err).toBe(`${out}: not a run folder (no results.json)\n`);
  });

  it('compare marks a regression and exits 1, and exits 0 when B is no worse', async () => {
    const out = tmp();
    const a = (await fakeRun(out, { name: 'a', seed: 3 })).dir;
    const same = (await fakeRun(out, { name: 'same', seed: 3 })).dir;
    // B: the same run but every client pinned on killed nodes for longer.
    const worse = (
      await fakeRun(out, {
        name: 'worse',
        seed: 3,
        nemesis: {
          ...(await import('./experiment.js')).DEFAULT_NEMESIS,
          kinds: ['kill'],
          kill: ['all'],
          faultS: 8,
          healS: 2,
          firstS: 1,
        },
      })
    ).dir;
    const r1 = await cli(['compare', a, same]);
    expect(r1.code).toBe(0);
    expect(r1.out).toContain('B does not regress');
    const r2 = await cli(['compare', a, worse]);
    expect(r2.code).toBe(1);
    expect(r2.out).toMatch(/ok rate\s.*<< regression/);
    const j = await cli(['compare', a, worse, '--json']);
    expect(JSON.parse(j.out)).toMatchObject({ regressed: true });
    expect((await cli(['compare', a])).code).toBe(3);
    expect((await cli(['compare', a, worse, '--latency', 'x'])).err).toMatch(
      /--latency must be a number/,
    );
  });

  it('run rejects bad flags and files with one line and exit 3', async () => {
    const out = tmp();
    const r1 = await cli(['run', '--nodez', '3']);
    expect(r1.code).toBe(3);
    expect(r1.err).toMatch(/^raftbed run: unknown option '--nodez'/);
    const r2 = await cli(['run', join(out, 'missing.yml')]);
    expect([r2.code, r2.err]).toEqual([
      3,
      `raftbed run: cannot read ${join(out, 'missing.yml')}: ENOENT\n`,
    ]);
    const r3 = await cli(['run', '--rate', 'lots']);
    expect(r3.err).toMatch(/rate: must be a number from 0.1 to 100000, got "lots"/);
    const r4 = await cli(['run', '--repeat', '3']);
    expect(r4.err).toBe('raftbed run: --repeat goes with --compare-image\n');
    const help = await cli(['run', '--help']);
    expect(help.out).toContain('--client-failover');
  });
});
