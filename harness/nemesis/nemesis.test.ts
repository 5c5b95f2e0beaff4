import { describe, expect, it } from 'vitest';
import { Prng } from '../../node/util/prng.js';
import { FakeClock } from '../experiment/test-support/fake-clock.js';
import type { NemesisInput } from '../history/types.js';
import { Nemesis } from './nemesis.js';
import { faultTemplates, planSchedule, type NemesisConfig } from './schedule.js';
import { bridge, cutBetween, halves, isolate, oneWay, ring } from './test-support/resolve.js';
import { FakeBackend } from './test-support/fake-backend.js';

const nodes = ['n1', 'n2', 'n3', 'n4', 'n5'];
const config: NemesisConfig = {
  kinds: ['partition', 'pause', 'kill', 'flaky', 'slow'],
  faultMs: 10_000,
  healMs: 10_000,
  firstMs: 5_000,
  order: 'random',
  partitionShapes: ['isolate', 'isolate-leader', 'halves', 'ring', 'bridge', 'one-way'],
  pauseTargets: ['one', 'minority'],
  killTargets: ['one', 'all'],
  flakyTargets: ['all'],
  slowTargets: ['all'],
  flakyLoss: 0.1,
  slowDelayMs: 35,
  slowJitterMs: 15,
};

/** Nodes reachable from `a` without crossing a dropped link in either direction. */
function sees(links: readonly (readonly [string, string])[], a: string): string[] {
  return nodes.filter(
    (b) => b === a || !links.some(([x, y]) => (x === a && y === b) || (x === b && y === a)),
  );
}

describe('partition shapes (as the in-memory backend resolves them)', () => {
  it('isolate cuts one node from all others, both ways', () => {
    const p = isolate('n3', nodes);
    expect(p.links).toHaveLength(8);
    expect(sees(p.links, 'n3')).toEqual(['n3']);
    expect(sees(p.links, 'n1')).toEqual(['n1', 'n2', 'n4', 'n5']);
    expect(p.description).toBe('n3 | n1,n2,n4,n5');
  });

  it('halves leaves a minority and a majority', () => {
    const p = halves(nodes, new Prng(1));
    const sizes = nodes.map((n) => sees(p.links, n).length).sort();
    expect(sizes).toEqual([2, 2, 3, 3, 3]);
  });

  it('ring gives every node a majority, and no two nodes the same one', () => {
    const p = ring(nodes, new Prng(2));
    const views = nodes.map((n) => sees(p.links, n).join(','));
    for (const v of views) expect(v.split(',').length).toBe(3);
    expect(new Set(views).size).toBe(5);
  });

  it('bridge: two sides that cannot talk and one node that talks to both', () => {
    const p = bridge(nodes, new Prng(3));
    const sizes = nodes.map((n) => sees(p.links, n).length).sort();
    expect(sizes).toEqual([3, 3, 3, 3, 5]);
  });

  it('one-way drops one direction only', () => {
    const p = oneWay(['n2'], ['n1', 'n3', 'n4', 'n5']);
    expect(p.links).toHaveLength(4);
    for (const [a, b] of p.links) {
      expect(a === 'n2' || b === 'n2').toBe(true);
      expect(p.links.some(([x, y]) => x === b && y === a)).toBe(false);
    }
  });

  it('cutBetween has no link inside a group', () => {
    expect(cutBetween([['a'], ['b', 'c']])).toEqual([
      ['a', 'b'],
      ['a', 'c'],
      ['b', 'a'],
      ['c', 'a'],
    ]);
  });
});

describe('planSchedule', () => {
  it('replays: the same seed gives the same schedule, another seed another', () => {
    const a = planSchedule(config, nodes, 120_000, new Prng(42));
    expect(planSchedule(config, nodes, 120_000, new Prng(42))).toEqual(a);
    expect(planSchedule(config, nodes, 120_000, new Prng(43))).not.toEqual(a);
  });

  it('alternates fault and healed time and never runs past the limit', () => {
    const plan = planSchedule(config, nodes, 62_000, new Prng(5));
    expect(plan.map((f) => [f.startMs, f.endMs])).toEqual([
      [5_000, 15_000],
      [25_000, 35_000],
      [45_000, 55_000],
    ]);
    const short = planSchedule(config, nodes, 50_000, new Prng(5));
    expect(short.at(-1)?.endMs).toBe(50_000);
  });

  it('mixes the kinds in random order: each kind once before any repeats', () => {
    for (let seed = 1; seed <= 50; seed++) {
      const plan = planSchedule(config, nodes, 1_000_000, new Prng(seed));
      const kinds = plan.map((f) => f.kind);
      for (let i = 0; i + 5 <= kinds.length; i += 5) {
        expect(new Set(kinds.slice(i, i + 5))).toEqual(new Set(config.kinds));
      }
    }
  });

  it('draws every kind asked, and only those', () => {
    const plan = planSchedule(config, nodes, 3_000_000, new Prng(6));
    expect(new Set(plan.map((f) => f.kind))).toEqual(new Set(config.kinds));
    const onlyKill = planSchedule({ ...config, kinds: ['kill'] }, nodes, 500_000, new Prng(6));
    expect(new Set(onlyKill.map((f) => f.kind))).toEqual(new Set(['kill']));
    // Both kill targets show up: one node, and every node at once.
    const sizes = new Set(onlyKill.map((f) => (f.nodes as string[]).length));
    expect(sizes).toEqual(new Set([1, 5]));
  });

  it('cycle walks through each node in turn (partition each server in turn)', () => {
    const cycle = {
      ...config,
      kinds: ['partition'] as const,
      partitionShapes: ['isolate'] as const,
    };
    const plan = planSchedule({ ...cycle, order: 'cycle' }, nodes, 300_000, new Prng(7));
    expect(plan.slice(0, 7).map((f) => (f.nodes as string[])[0])).toEqual([
      'n1',
      'n2',
      'n3',
      'n4',
      'n5',
      'n1',
      'n2',
    ]);
    expect(faultTemplates(cycle, nodes)).toHaveLength(5);
  });

  it('has nothing to do without kinds', () => {
    expect(planSchedule({ ...config, kinds: [] }, nodes, 60_000, new Prng(1))).toEqual([]);
  });
});

function harness(schedule = planSchedule(config, nodes, 200_000, new Prng(11))) {
  const clock = new FakeClock();
  const backend = new FakeBackend(nodes);
  const lines: (NemesisInput & { at: number })[] = [];
  const changes: string[][] = [];
  const ctrl = new AbortController();
  const nemesis = new Nemesis({
    backend,
    clock,
    schedule,
    signal: ctrl.signal,
    record: (e) => lines.push({ ...e, at: clock.nowMs() }),
    onChange: (inForce) => changes.push([...inForce]),
  });
  return { clock, backend, lines, changes, ctrl, nemesis, schedule };
}

describe('Nemesis', () => {
  it('starts and stops each planned fault on time, recording both', async () => {
    const h = harness();
    const log = await h.clock.runUntilSettled(h.nemesis.run());
    expect(log).toHaveLength(h.schedule.length);
    expect(h.lines).toHaveLength(2 * h.schedule.length);
    h.schedule.forEach((f, i) => {
      expect(h.lines[2 * i]).toMatchObject({ f: `start-${f.kind}`, at: f.startMs });
      expect(h.lines[2 * i + 1]).toMatchObject({ f: `stop-${f.kind}`, at: f.endMs });
      expect(log[i]).toMatchObject({ kind: f.kind, startMs: f.startMs, endMs: f.endMs });
    });
    expect(h.backend.healthy).toBe(true);
    expect(h.changes.filter((c) => c.length > 0)).toHaveLength(h.schedule.length);
  });

  it('isolates the node that leads when the fault starts', async () => {
    const schedule = [
      { kind: 'partition', shape: 'isolate-leader', nodes: 'leader', startMs: 100, endMs: 200 },
    ] as const;
    const h = harness([...schedule]);
    h.backend.currentLeader = 'n4';
    await h.clock.runUntilSettled(h.nemesis.run());
    expect(h.lines[0]?.value).toBe('isolate-leader: n4 | n1,n2,n3,n5');
    expect(h.backend.calls.slice(0, 2)).toEqual([
      'leader?',
      expect.stringMatching(/^partition isolate n4>n1/),
    ]);
  });

  it('asks the backend for each shape in its own vocabulary, drawn the same for a seed', async () => {
    const shapes = ['isolate', 'isolate-leader', 'halves', 'ring', 'bridge', 'one-way'] as const;
    const plan = () =>
      planSchedule(
        {
          ...config,
          kinds: ['partition'],
          order: 'cycle',
          partitionShapes: shapes.filter((s) => s !== 'isolate'),
        },
        nodes,
        100_000,
        new Prng(21),
      );
    const a = harness(plan());
    await a.clock.runUntilSettled(a.nemesis.run());
    const kinds = a.backend.calls
      .filter((c) => c.startsWith('partition'))
      .map((c) => c.split(' ')[1]);
    expect(kinds.slice(0, 5)).toEqual(['isolate', 'random', 'ring', 'bridge', 'oneway']);
    // One-way: every dropped link touches one node, in one direction.
    const oneway = a.backend.calls.find((c) => c.startsWith('partition oneway'))!;
    const links = oneway
      .split(' ')
      .slice(2)
      .map((l) => l.split('>'));
    expect(links).toHaveLength(4);
    const node = links.every((l) => l[0] === links[0]![0]) ? links[0]![0] : links[0]![1];
    expect(links.every((l) => l.includes(node!))).toBe(true);
    const b = harness(plan());
    await b.clock.runUntilSettled(b.nemesis.run());
    expect(b.backend.calls).toEqual(a.backend.calls);
    expect(a.lines[2]?.value).toMatch(/^halves: /);
  });

  it('kills every node at once and starts them all again', async () => {
    const h = harness([{ kind: 'kill', nodes, startMs: 10, endMs: 20 }]);
    await h.clock.runUntilSettled(h.nemesis.run());
    expect(h.backend.calls).toEqual(['kill n1,n2,n3,n4,n5', 'start n1,n2,n3,n4,n5']);
  });

  it('heals everything when aborted in the middle of a fault', async () => {
    const h = harness([
      { kind: 'pause', nodes: ['n2', 'n3'], startMs: 1000, endMs: 60_000 },
      { kind: 'kill', nodes: ['n1'], startMs: 70_000, endMs: 80_000 },
    ]);
    const run = h.nemesis.run();
    await h.clock.runUntil(5000);
    expect([...h.backend.paused]).toEqual(['n2', 'n3']);
    h.ctrl.abort();
    await h.clock.runUntilSettled(run);
    await h.nemesis.healAll();
    expect(h.backend.healthy).toBe(true);
    expect(h.backend.calls).not.toContain('kill n1');
    expect(h.lines.map((l) => l.f)).toEqual(['start-pause', 'stop-pause']);
    expect(h.nemesis.log[0]?.endMs).toBeLessThan(60_000);
  });

  it('healAll tries every step when one fails, then says what failed', async () => {
    const h = harness([{ kind: 'kill', nodes: ['n1'], startMs: 0, endMs: 100_000 }]);
    const run = h.nemesis.run();
    await h.clock.runUntil(10);
    h.backend.failing.add('heal');
    h.ctrl.abort();
    await h.clock.runUntilSettled(run);
    await expect(h.nemesis.healAll()).rejects.toThrow(
      'could not heal everything: heal: heal failed',
    );
    expect(h.backend.killed.size).toBe(0);
  });

  it('records a verb that fails with its error and carries on', async () => {
    const h = harness([
      { kind: 'pause', nodes: ['n1'], startMs: 0, endMs: 10 },
      { kind: 'flaky', nodes, loss: 0.2, startMs: 20, endMs: 30 },
    ]);
    h.backend.failing.add('pause');
    await h.clock.runUntilSettled(h.nemesis.run());
    expect(h.lines[0]).toMatchObject({ f: 'start-pause', error: 'pause failed' });
    expect(h.lines[2]).toMatchObject({ f: 'start-flaky', value: 'flaky 20% n1,n2,n3,n4,n5' });
    expect(h.backend.calls).toContain('fast');
  });
});
