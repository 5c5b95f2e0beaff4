import { afterEach, describe, expect, it, vi } from 'vitest';
import { TerminalProgress } from './progress.js';

afterEach(() => {
  vi.useRealTimers();
});

function stream(isTTY: boolean) {
  const writes: string[] = [];
  return { isTTY, writes, write: (s: string) => writes.push(s) };
}

describe('TerminalProgress', () => {
  it('counts completions and shows the faults in force', () => {
    vi.useFakeTimers();
    const out = stream(true);
    const p = new TerminalProgress(out, 60);
    p.phase('workload');
    vi.advanceTimersByTime(12_000);
    for (const type of ['ok', 'ok', 'fail', 'info'] as const) {
      p.event({ index: 0, time: 0, process: 1, type: 'invoke', f: 'read', value: null });
      p.event({ index: 0, time: 0, process: 1, type, f: 'read', value: null });
    }
    p.faults(['pause n2']);
    expect(p.line()).toBe('[workload] 12/60 s  ok 2  fail 1  info 1  faults: pause n2');
    p.event({ index: 0, time: 0, process: 2, type: 'invoke', f: 'cas', value: [1, 2] });
    p.event({
      index: 0,
      time: 0,
      process: 2,
      type: 'fail',
      f: 'cas',
      value: [1, 2],
      error: 'cas-mismatch',
    });
    expect(p.line()).toBe(
      '[workload] 12/60 s  ok 2  fail 2 (cas-mismatch 1)  info 1  faults: pause n2',
    );
    p.stop();
  });

  it('redraws one line in place on a terminal', () => {
    vi.useFakeTimers();
    const out = stream(true);
    const p = new TerminalProgress(out, 30);
    vi.advanceTimersByTime(1000);
    expect(out.writes.filter((w) => w.startsWith('\r\x1b[2K[setup]'))).toHaveLength(2);
    expect(out.writes.some((w) => w.includes('\n') && w.includes('[setup]'))).toBe(false);
    p.note('cluster up');
    expect(out.writes.slice(-2)).toEqual(['\r\x1b[2K', 'cluster up\n']);
    p.stop();
  });

  it('writes plain lines, never control codes, when stdout is not a terminal', () => {
    vi.useFakeTimers();
    const out = stream(false);
    const p = new TerminalProgress(out, 30);
    p.phase('workload');
    p.faults(['kill n1']);
    vi.advanceTimersByTime(10_000);
    p.stop();
    expect(
      out.writes.every((w) => w.endsWith('\n') && !w.includes('\x1b') && !w.includes('\r')),
    ).toBe(true);
    expect(out.writes).toContain('faults: kill n1\n');
    expect(out.writes.filter((w) => w.startsWith('[workload]'))).toHaveLength(2);
  });
});
