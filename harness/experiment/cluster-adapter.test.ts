import { describe, expect, it } from 'vitest';
import { adaptBackend, type HarnessCluster, type HarnessSpec } from './cluster-adapter.js';

interface Spec extends HarnessSpec {
  readonly heartbeatMs: number;
}

function fakeHarness() {
  const calls: string[] = [];
  const specs: Spec[] = [];
  const cluster: HarnessCluster = {
    nodes: ['n1', 'n2', 'n3'],
    address: (n) => ({ host: '10.0.0.1', port: 6379 + Number(n.slice(1)) }),
    leader: () => Promise.resolve(undefined),
    kill: (n) => (calls.push(`kill ${n.join(',')}`), Promise.resolve()),
    start: (n) => (calls.push(`start ${n.join(',')}`), Promise.resolve()),
    pause: (n) => (calls.push(`pause ${n.join(',')}`), Promise.resolve()),
    unpause: (n) => (calls.push(`unpause ${n.join(',')}`), Promise.resolve()),
    partition: (s) => {
      calls.push(`partition ${JSON.stringify(s)}`);
      return Promise.resolve({ description: 'n1 | n2,n3' });
    },
    heal: () => (calls.push('heal'), Promise.resolve()),
    flaky: (n, loss) => (calls.push(`flaky ${n.join(',')} ${loss}`), Promise.resolve()),
    slow: (n, o) => (
      calls.push(`slow ${n.join(',')} ${o.delayMs}/${o.jitterMs}`),
      Promise.resolve()
    ),
    fast: () => (calls.push('fast'), Promise.resolve()),
    logs: (n) => Promise.resolve(`log of ${n}`),
    status: () => Promise.resolve({ image: 'raftbed-node:abc123' }),
    down: () => (calls.push('down'), Promise.resolve({ containers: 3 })),
  };
  const backend = {
    up: (spec: Spec, opts?: { replace?: boolean }) => {
      specs.push(spec);
      calls.push(`up replace=${opts?.replace}`);
      return Promise.resolve(cluster);
    },
  };
  return { backend, calls, specs };
}

describe('adaptBackend', () => {
  it('passes image and planted bug on top of the backend defaults, and maps every verb', async () => {
    const h = fakeHarness();
    const adapted = adaptBackend(h.backend, (name, nodes) => ({ name, nodes, heartbeatMs: 100 }));
    const c = await adapted.up({ name: 'exp', nodes: 3, image: null, unsafe: 'lazy-wal' });
    expect(h.specs).toEqual([{ name: 'exp', nodes: 3, heartbeatMs: 100, unsafe: 'lazy-wal' }]);
    expect(c.image).toBe('raftbed-node:abc123');
    expect(c.clientAddress('n2')).toEqual({ host: '10.0.0.1', port: 6381 });
    expect(await c.faults.partition({ kind: 'isolate', node: 'n1' })).toEqual({
      description: 'n1 | n2,n3',
    });
    await c.faults.slow(['n3'], 35, 15);
    await c.faults.flaky(['n1'], 0.1);
    await c.faults.kill(['n1', 'n2']);
    await c.faults.start(['n1', 'n2']);
    await c.faults.heal();
    await c.faults.fast();
    expect(await c.faults.leader()).toBeNull();
    expect(await c.readLog('n1')).toBe('log of n1');
    await c.down();
    expect(h.calls).toEqual([
      'up replace=true',
      'partition {"kind":"isolate","node":"n1"}',
      'slow n3 35/15',
      'flaky n1 0.1',
      'kill n1,n2',
      'start n1,n2',
      'heal',
      'fast',
      'down',
    ]);
    const withImage = await adaptBackend(h.backend, (name, nodes) => ({
      name,
      nodes,
      heartbeatMs: 1,
    })).up({
      name: 'x',
      nodes: 3,
      image: 'raftbed-node:old',
      unsafe: null,
    });
    expect(withImage.nodes).toHaveLength(3);
    expect(h.specs[1]).toEqual({ name: 'x', nodes: 3, heartbeatMs: 1, image: 'raftbed-node:old' });
  });
});
