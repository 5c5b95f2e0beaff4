import { describe, expect, it } from 'vitest';
import { checkAvailability, faultIntervals, type TimedEvent } from './availability.js';

type E = TimedEvent & { value?: unknown };
/** op(process, invokeMs, completeMs, type[, error]) -> two events. */
function op(process: number, at: number, done: number, type: string, error?: string): E[] {
  return [
    { process, type: 'invoke', f: 'write', time: at * 1e6 },
    { process, type, f: 'write', time: done * 1e6, ...(error === undefined ? {} : { error }) },
  ];
}
function nem(f: string, at: number, value = 'x'): E {
  return { process: 'nemesis', type: 'info', f, time: at * 1e6, value };
}
function sorted(events: E[]): E[] {
  return [...events].sort((a, b) => (a.time ?? 0) - (b.time ?? 0));
}
const options = { concurrency: 2, failStreakLimit: 10, required: true };

describe('faultIntervals', () => {
  it('pairs starts with stops by kind and closes an unfinished one at the end', () => {
    const f = faultIntervals([
      nem('start-partition', 10, 'n1 | n2,n3'),
      nem('start-slow', 15),
      nem('stop-partition', 20),
      ...op(0, 30, 40, 'ok'),
    ]);
    expect(f).toEqual([
      { kind: 'partition', description: 'n1 | n2,n3', startMs: 10, endMs: 20 },
      { kind: 'slow', description: 'x', startMs: 15, endMs: 40 },
    ]);
  });
});

describe('checkAvailability', () => {
  it('separates ok rates inside and outside faults', () => {
    const events = sorted([
      ...op(0, 0, 1, 'ok'),
      ...op(1, 2, 3, 'ok'),
      nem('start-partition', 10),
      ...op(0, 11, 12, 'fail', 'TRYAGAIN'),
      ...op(1, 13, 14, 'ok'),
      ...op(0, 15, 16, 'fail', 'cas-mismatch'),
      nem('stop-partition', 20),
      ...op(1, 21, 22, 'ok'),
    ]);
    const r = checkAvailability(events, options);
    expect(r.inFaults).toEqual({ ops: 3, ok: 2, rate: 2 / 3 });
    expect(r.outsideFaults).toEqual({ ops: 3, ok: 3, rate: 1 });
    expect(r.byFaultKind).toEqual({ partition: { ops: 3, ok: 2, rate: 2 / 3 } });
    expect(r.all.ops).toBe(6);
  });

  it('counts the longest fail streak per logical client across its process ids', () => {
    // Client 0 is processes 0, 2, 4 (concurrency 2): info moves it on, the streak goes on.
    const events: E[] = [];
    let t = 0;
    for (let i = 0; i < 6; i++) events.push(...op(0, t++, t++, 'fail', 'TRYAGAIN'));
    for (let i = 0; i < 4; i++) events.push(...op(2 + 2 * i, t++, t++, 'info', 'timeout'));
    events.push(...op(1, t++, t++, 'fail', 'refused'));
    events.push(...op(10, t++, t++, 'ok'));
    const r = checkAvailability(sorted(events), options);
    expect(r.failStreakPerClient).toEqual([10, 1]);
    expect(r.longestFailStreak).toMatchObject({ client: 0, length: 10, startMs: 0, endMs: 19 });
    expect(r.valid).toBe(false);
    expect(r.summary).toContain('longest fail streak 10 (limit: fewer than 10)');
  });

  it('passes with nine failures in a row, and a cas mismatch or ok breaks a streak', () => {
    const events: E[] = [];
    let t = 0;
    for (let i = 0; i < 9; i++) events.push(...op(0, t++, t++, 'fail', 'TRYAGAIN'));
    events.push(...op(0, t++, t++, 'fail', 'cas-mismatch'));
    for (let i = 0; i < 9; i++) events.push(...op(0, t++, t++, 'fail', 'TRYAGAIN'));
    const r = checkAvailability(sorted(events), options);
    expect(r.longestFailStreak?.length).toBe(9);
    expect(r.valid).toBe(true);
  });

  it('measures the time from each heal to the first ok op invoked after it', () => {
    const events = sorted([
      nem('start-kill', 100),
      nem('stop-kill', 200),
      ...op(0, 150, 210, 'ok'), // invoked before the heal: does not count
      ...op(1, 205, 230, 'fail', 'TRYAGAIN'),
      ...op(1, 240, 450, 'ok'),
      nem('start-pause', 500),
      nem('stop-pause', 600),
    ]);
    const r = checkAvailability(events, options);
    expect(r.recoveries).toEqual([
      { healMs: 200, firstOkMs: 450, recoveryMs: 250 },
      { healMs: 600, firstOkMs: null, recoveryMs: null },
    ]);
    expect(r.maxRecoveryMs).toBe(250);
  });

  it('does not measure the heal that ends the run, nor count the final reads as recovery', () => {
    const events = sorted([
      nem('start-kill', 100),
      nem('stop-kill', 200),
      ...op(0, 210, 230, 'ok'),
      nem('start-pause', 500),
      nem('stop-pause', 1000),
      ...op(1, 6000, 6010, 'ok'), // a final read, after the workload ended at 1000
    ]);
    const r = checkAvailability(events, { ...options, workloadEndMs: 1000 });
    expect(r.recoveries).toEqual([{ healMs: 200, firstOkMs: 230, recoveryMs: 30 }]);
    const unbounded = checkAvailability(events, options);
    expect(unbounded.recoveries.at(-1)).toEqual({
      healMs: 1000,
      firstOkMs: 6010,
      recoveryMs: 5010,
    });
  });

  it('does not count a heal while another fault is still in force', () => {
    const events = sorted([
      nem('start-slow', 0),
      nem('start-partition', 10),
      nem('stop-partition', 20),
      nem('stop-slow', 30),
      ...op(0, 31, 35, 'ok'),
    ]);
    expect(checkAvailability(events, options).recoveries.map((r) => r.healMs)).toEqual([30]);
  });
});
