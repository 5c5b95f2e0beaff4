import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Prng } from '../../node/util/prng.js';
import { FakeClock } from '../experiment/test-support/fake-clock.js';
import { readHistoryFile } from '../history/reader.js';
import type { HistoryEvent, OpEvent } from '../history/types.js';
import { HistoryWriter } from '../history/writer.js';
import { DEFAULT_MIX, OpGenerator } from './generator.js';
import { FakeAdapter } from './test-support/fake-adapter.js';
import { runFinalReads, runWorkload, type WorkloadOptions } from './workload.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function setup(over: Partial<WorkloadOptions> = {}, latencyMs = 2) {
  const dir = mkdtempSync(join(tmpdir(), 'raftbed-workload-'));
  dirs.push(dir);
  const clock = new FakeClock();
  const file = join(dir, 'history.jsonl');
  const history = new HistoryWriter(file, { nowMs: () => clock.nowMs() });
  const adapter = new FakeAdapter(clock, latencyMs);
  const generator = new OpGenerator({
    workload: 'kv',
    keys: 3,
    opsPerKey: 100,
    mix: DEFAULT_MIX,
    prng: new Prng(7),
  });
  const options: WorkloadOptions = {
    adapter,
    generator,
    history,
    clock,
    prng: new Prng(8),
    nodes: ['n1', 'n2', 'n3'],
    concurrency: 4,
    rate: 100,
    timeoutMs: 500,
    untilMs: 10_000,
    failover: false,
    ...over,
  };
  const read = (): OpEvent[] => {
    history.close();
    return readHistoryFile(file).events.filter(
      (e: HistoryEvent): e is OpEvent => e.process !== 'nemesis',
    );
  };
  return { clock, adapter, options, read };
}

/** Each process alternates invoke, completion; returns the completions. */
function assertWellFormed(events: OpEvent[]): OpEvent[] {
  const open = new Map<number, OpEvent>();
  const done: OpEvent[] = [];
  const retired = new Set<number>();
  for (const e of events) {
    if (e.type === 'invoke') {
      expect(open.has(e.process), `process ${e.process} has two ops in flight`).toBe(false);
      expect(retired.has(e.process), `process ${e.process} invoked after an info`).toBe(false);
      open.set(e.process, e);
    } else {
      const inv = open.get(e.process);
      expect(inv, `completion without invoke at ${e.index}`).toBeDefined();
      expect(inv?.f).toBe(e.f);
      open.delete(e.process);
      if (e.type === 'info') retired.add(e.process);
      done.push(e);
    }
  }
  expect(open.size).toBe(0);
  return done;
}

describe('runWorkload', () => {
  it('drives the asked rate with one op in flight per process', async () => {
    const { clock, options, read } = setup();
    const stats = await clock.runUntilSettled(runWorkload(options));
    const done = assertWellFormed(read());
    // 100 ops/s for 10 s, jittered: within 10%.
    expect(stats.invoked).toBeGreaterThan(900);
    expect(stats.invoked).toBeLessThan(1100);
    expect(done.length).toBe(stats.invoked);
    expect(stats.info).toBe(0);
    // Without faults everything succeeds except cas whose expected value was stale.
    for (const e of done.filter((d) => d.type === 'fail')) expect(e.error).toBe('cas-mismatch');
    expect(done.filter((d) => d.f === 'cas' && d.type === 'ok').length).toBeGreaterThan(10);
    // Clients are bound: client i talks to nodes[i % 3] only.
    for (const e of done) expect(e.node).toBe(['n1', 'n2', 'n3'][(e.process % 4) % 3]);
  });

  it('records a timeout as info and continues under a fresh process id', async () => {
    const { clock, adapter, options, read } = setup({ concurrency: 2, rate: 20, untilMs: 3000 });
    let hung = 0;
    adapter.behave = (node, op) =>
      node === 'n1' && op.f !== 'read' && hung++ < 2 ? 'hang' : 'perform';
    await clock.runUntilSettled(runWorkload(options));
    const done = assertWellFormed(read());
    const infos = done.filter((d) => d.type === 'info');
    expect(infos.map((i) => [i.process, i.error])).toEqual([
      [0, 'timeout'],
      [2, 'timeout'],
    ]);
    const processes = new Set(done.filter((d) => d.process % 2 === 0).map((d) => d.process));
    expect([...processes].sort()).toEqual([0, 2, 4]);
    // The timed-out op's interval is the timeout.
    const events = readHistoryFile(options.history.path).events as OpEvent[];
    const inv = events.find((e) => e.process === 0 && e.type === 'invoke' && e.f !== 'read');
    const info = events.find((e) => e.process === 0 && e.type === 'info');
    expect(((info?.time ?? 0) - (inv?.time ?? 0)) / 1e6).toBeCloseTo(500, 0);
  });

  it('maps outcomes as history.md says: reads never info, refused is fail, lost is info', async () => {
    const { clock, adapter, options, read } = setup({ concurrency: 3, rate: 60, untilMs: 2000 });
    adapter.behave = (node, op) => {
      if (node === 'n2') return { type: 'fail', error: 'TRYAGAIN no leader' };
      if (node === 'n3' && op.f === 'read') return { type: 'info', error: 'TIMEOUT' };
      if (node === 'n3') return 'lost-after-apply';
      return 'perform';
    };
    await clock.runUntilSettled(runWorkload(options));
    const done = assertWellFormed(read());
    const on = (n: string) => done.filter((d) => d.node === n);
    expect(on('n2').every((d) => d.type === 'fail' && d.error === 'TRYAGAIN no leader')).toBe(true);
    expect(on('n2').every((d) => d.process === 1)).toBe(true);
    const n3reads = on('n3').filter((d) => d.f === 'read');
    expect(n3reads.length).toBeGreaterThan(0);
    expect(n3reads.every((d) => d.type === 'fail')).toBe(true);
    const n3writes = on('n3').filter((d) => d.f !== 'read');
    expect(n3writes.every((d) => d.type === 'info')).toBe(true);
    // Every info moved client 2 to a fresh process: process ids 2, 5, 8, ...
    expect(new Set(n3writes.map((d) => d.process)).size).toBe(n3writes.length);
    expect(n3writes.every((d) => d.process % 3 === 2)).toBe(true);
  });

  it('with failover, moves to the next node after a failure but not after a cas mismatch', async () => {
    const { clock, adapter, options, read } = setup({
      concurrency: 1,
      rate: 20,
      untilMs: 3000,
      failover: true,
    });
    adapter.behave = (node, op) =>
      node === 'n1'
        ? { type: 'fail', error: 'refused' }
        : op.f === 'cas'
          ? { type: 'fail', error: 'cas-mismatch' }
          : 'perform';
    await clock.runUntilSettled(runWorkload(options));
    const done = assertWellFormed(read());
    const nodes = done.map((d) => d.node);
    // Each visit to n1 fails once and moves on; n2 keeps the client until the ring comes round.
    for (let i = 1; i < done.length; i++) {
      const prev = done[i - 1] as OpEvent;
      if (prev.node === 'n1') expect(nodes[i]).toBe('n2');
      if (prev.node === 'n2' && prev.error === 'cas-mismatch') expect(nodes[i]).toBe('n2');
    }
    expect(done.filter((d) => d.node === 'n1').length).toBe(1);
    expect(nodes.every((n) => n === 'n1' || n === 'n2')).toBe(true);
  });

  it('stops issuing when aborted; what was in flight still completes', async () => {
    const ctrl = new AbortController();
    const { clock, options, read } = setup({ signal: ctrl.signal });
    const run = runWorkload(options);
    await clock.runUntil(1000);
    ctrl.abort();
    const stats = await clock.runUntilSettled(run);
    const done = assertWellFormed(read());
    expect(stats.invoked).toBeLessThan(150);
    expect(done.length).toBe(stats.invoked);
    expect(clock.nowMs()).toBeLessThan(1100);
  });

  it('is deterministic for a seed under the fake clock', async () => {
    const a = setup();
    await a.clock.runUntilSettled(runWorkload(a.options));
    const b = setup();
    await b.clock.runUntilSettled(runWorkload(b.options));
    expect(b.read()).toEqual(a.read());
  });
});

describe('runFinalReads', () => {
  it('reads every key through every node under fresh process ids', async () => {
    const { clock, adapter, options, read } = setup();
    adapter.store.set('k0', 5);
    const stats = await clock.runUntilSettled(
      runFinalReads({ ...options, keys: ['k0', 'k1'], firstProcess: 40 }),
    );
    const done = assertWellFormed(read());
    expect(stats.ok).toBe(6);
    expect(done.map((d) => [d.process, d.node, d.key, d.value]).sort()).toEqual(
      [
        [40, 'n1', 'k0', 5],
        [40, 'n1', 'k1', null],
        [41, 'n2', 'k0', 5],
        [41, 'n2', 'k1', null],
        [42, 'n3', 'k0', 5],
        [42, 'n3', 'k1', null],
      ].sort(),
    );
  });
});

describe('runWorkload on the real clock', () => {
  it('keeps issuing until the limit and then stops, with nothing left in flight', async () => {
    const { RealClock } = await import('../experiment/clock.js');
    const dir = mkdtempSync(join(tmpdir(), 'raftbed-workload-real-'));
    dirs.push(dir);
    const clock = new RealClock();
    const file = join(dir, 'h.jsonl');
    const history = new HistoryWriter(file, { nowMs: () => clock.nowMs() });
    const adapter = new FakeAdapter(clock, 1);
    const stats = await runWorkload({
      adapter,
      generator: new OpGenerator({
        workload: 'kv',
        keys: 2,
        opsPerKey: 50,
        mix: DEFAULT_MIX,
        prng: new Prng(1),
      }),
      history,
      clock,
      prng: new Prng(2),
      nodes: ['n1'],
      concurrency: 3,
      rate: 300,
      timeoutMs: 200,
      untilMs: 400,
      failover: false,
    });
    history.close();
    const ops = readHistoryFile(file).events as OpEvent[];
    assertWellFormed(ops);
    expect(stats.invoked).toBeGreaterThan(20);
    // Every client kept going to the end: each issued an op in the last quarter.
    const late = ops.filter((e) => e.type === 'invoke' && e.time / 1e6 > 300);
    expect(new Set(late.map((e) => e.process % 3)).size).toBe(3);
    expect(clock.nowMs()).toBeLessThan(400 + 200);
  });
});
