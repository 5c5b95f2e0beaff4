import { afterEach, describe, expect, it, vi } from 'vitest';
import { UsageError } from '../errors.js';
import { commands } from './sim.js';

const sim = commands[0];

async function run(argv: string[]): Promise<{ code: number; out: string }> {
  let out = '';
  const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
    out += String(chunk);
    return true;
  });
  const err = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
  try {
    const code = (await sim?.run(argv)) ?? -1;
    return { code, out };
  } finally {
    spy.mockRestore();
    err.mockRestore();
  }
}

afterEach(() => {
  process.stdout.removeAllListeners('error');
});

describe('raftbed sim', () => {
  it('runs seeds and ends with the summary line, exit 0 when all pass', async () => {
    const { code, out } = await run([
      '--seeds',
      '3',
      '--seed',
      '10',
      '--nodes',
      '5',
      '--steps',
      '500',
    ]);
    expect(code).toBe(0);
    const lines = out.trimEnd().split('\n');
    expect(lines.at(-1)).toBe('3 passed, 0 failed');
    expect(lines.at(-2)).toMatch(/^5 nodes, seeds 10\.\.12, 500 steps each/);
  });

  it('prints each failing seed with the command that replays it, and exits 1', async () => {
    const { code, out } = await run(['--seed', '1', '--unsafe', 'grant-vote-without-log-check']);
    expect(code).toBe(1);
    expect(out).toMatch(/^FAIL seed 1: leader completeness: /m);
    expect(out).toMatch(
      /^ {2}replay: raftbed sim --seed 1 --nodes 3 --steps 2000 --unsafe grant-vote-without-log-check --trace$/m,
    );
    expect(out.trimEnd().split('\n').at(-1)).toBe('0 passed, 1 failed');
  });

  it('prints the same trace for one seed every time', async () => {
    const a = await run(['--seed', '7', '--trace']);
    const b = await run(['--seed', '7', '--trace']);
    const strip = (s: string): string => s.replace(/^.*seeds per cpu second\n/m, '');
    expect(a.out.split('\n').length).toBeGreaterThan(100);
    expect(strip(b.out)).toBe(strip(a.out));
  });

  it('rejects wrong flags with a usage error naming the flag', async () => {
    await expect(run(['--nodes', '4'])).rejects.toThrow(/--nodes must be one of 3, 5, 7/);
    await expect(run(['--seeds', '0'])).rejects.toThrow(UsageError);
    await expect(run(['--sedes', '1'])).rejects.toThrow(/raftbed sim: .*--sedes/);
    await expect(run(['--seeds', '2', '--trace'])).rejects.toThrow(/--trace prints one seed/);
    await expect(run(['--unsafe', 'typo'])).rejects.toThrow(/--unsafe must name bugs among/);
  });

  it('explains every flag in its help', () => {
    for (const flag of [
      '--seeds',
      '--seed',
      '--nodes',
      '--steps',
      '--trace',
      '--fail-fast',
      '--unsafe',
    ])
      expect(sim?.help).toContain(flag);
    expect(sim?.help).toMatch(/100,000 seeds/);
  });
});
