import { mkdtempSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { defaultSpec } from './spec.js';
import { StateStore } from './state.js';
import type { ClusterState } from './state.js';

function sample(name: string): ClusterState {
  return {
    version: 1,
    name,
    backend: 'docker',
    networkId: 'net',
    network: `${name}-net`,
    subnet: '10.77.1.0/24',
    image: 'raftbed:x',
    spec: defaultSpec(name),
    nodes: { n1: { ip: '10.77.1.11', container: `${name}-n1`, id: 'abc' } },
    flaky: { n1: { loss: 0.1 } },
    slow: {},
    applied: {},
  };
}

describe('StateStore', () => {
  it('saves and loads a cluster, and forgets it on remove', async () => {
    const store = new StateStore(mkdtempSync(join(tmpdir(), 'raftbed-state-')));
    await store.save(sample('demo'));
    expect((await store.load('demo'))?.flaky).toEqual({ n1: { loss: 0.1 } });
    await store.remove('demo');
    expect(await store.load('demo')).toBeUndefined();
  });

  it('treats a torn or foreign file as no state', async () => {
    const store = new StateStore(mkdtempSync(join(tmpdir(), 'raftbed-state-')));
    writeFileSync(store.path('demo'), '{"version":1,');
    expect(await store.load('demo')).toBeUndefined();
    writeFileSync(store.path('demo'), JSON.stringify(sample('other')));
    expect(await store.load('demo')).toBeUndefined();
  });

  it('serializes holders of the lock', async () => {
    const store = new StateStore(mkdtempSync(join(tmpdir(), 'raftbed-state-')));
    const order: string[] = [];
    const hold = (tag: string): Promise<void> =>
      store.locked('demo', async () => {
        order.push(`${tag}+`);
        await new Promise((r) => setTimeout(r, 20));
        order.push(`${tag}-`);
      });
    await Promise.all([hold('a'), hold('b')]);
    expect(order.join(' ')).toMatch(/^(a\+ a- b\+ b-|b\+ b- a\+ a-)$/);
  });

  it('takes over a lock whose holder is dead', async () => {
    const store = new StateStore(mkdtempSync(join(tmpdir(), 'raftbed-state-')));
    writeFileSync(join(store.dir, 'demo.lock'), '999999999');
    expect(await store.locked('demo', () => Promise.resolve(7), 1000)).toBe(7);
    expect(existsSync(join(store.dir, 'demo.lock'))).toBe(false);
  });

  it('removes its helper logs and no other cluster files', async () => {
    const store = new StateStore(mkdtempSync(join(tmpdir(), 'raftbed-state-')));
    for (const f of ['demo.n1.delayer.log', 'demo.x.n1.delayer.log', 'demox.n1.delayer.log']) {
      writeFileSync(join(store.dir, f), '');
    }
    await store.removeFiles('demo');
    expect(existsSync(join(store.dir, 'demo.n1.delayer.log'))).toBe(false);
    expect(existsSync(join(store.dir, 'demo.x.n1.delayer.log'))).toBe(true);
    expect(existsSync(join(store.dir, 'demox.n1.delayer.log'))).toBe(true);
  });
});
