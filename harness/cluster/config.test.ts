import { describe, expect, it } from 'vitest';
import { parseClusterConfig, parseRange } from './config.js';
import { clusterId, nodeCommand, specProblem } from './spec.js';

describe('raftbed.yml', () => {
  it('reads every setting', () => {
    const spec = parseClusterConfig(
      [
        'name: demo',
        'nodes: 5',
        'image: raftbed:0123456789ab',
        'subnet: 10.77.9.0/24',
        'heartbeat_ms: 50',
        'election_timeout_ms: 300-600',
        'fsync: batch',
        'unsafe: stale-reads',
        'node_flags: [--x, "1"]',
      ].join('\n'),
    );
    expect(spec).toMatchObject({
      name: 'demo',
      nodes: 5,
      image: 'raftbed:0123456789ab',
      subnet: '10.77.9.0/24',
      heartbeatMs: 50,
      electionTimeoutMs: [300, 600],
      fsync: 'batch',
      unsafe: 'stale-reads',
      nodeFlags: ['--x', '1'],
    });
  });

  it('uses the defaults for an empty file', () => {
    expect(parseClusterConfig('')).toMatchObject({ name: 'raftbed', nodes: 3, heartbeatMs: 100 });
  });

  it('names the file and line of a bad or unknown setting', () => {
    expect(() => parseClusterConfig('name: a\nnodes: three\n', 'c.yml')).toThrow(
      /^c\.yml:2: nodes must be a whole number/,
    );
    expect(() => parseClusterConfig('name: a\n\nnodez: 3\n', 'c.yml')).toThrow(
      /^c\.yml:3: unknown setting 'nodez'/,
    );
    expect(() => parseClusterConfig('nodes: [1,\n', 'c.yml')).toThrow(/^c\.yml:\d+:/);
    expect(() =>
      parseClusterConfig('heartbeat_ms: 700\nelection_timeout_ms: 600-1200\n', 'c.yml'),
    ).toThrow(/longer than the heartbeat/);
    expect(() => parseClusterConfig('name: Bad Name\n', 'c.yml')).toThrow(/cluster name/);
  });

  it('reads ranges as MIN-MAX or [MIN, MAX]', () => {
    expect(parseRange('600-1200')).toEqual([600, 1200]);
    expect(parseRange([5, 9])).toEqual([5, 9]);
    expect(parseRange('9-5')).toBeUndefined();
    expect(parseRange('x')).toBeUndefined();
  });
});

describe('node command', () => {
  const ips = { n1: '10.77.1.11', n2: '10.77.1.12', n3: '10.77.1.13' };

  it('runs raftbed node with the peers, data, ports and timings', () => {
    const spec = parseClusterConfig('name: demo\nunsafe: lazy-wal\nnode_flags: [--extra]\n');
    const cmd = nodeCommand(spec, 'n2', ips);
    expect(cmd.slice(0, 3)).toEqual(['node', '/app/dist/harness/cli/main.js', 'node']);
    const arg = (f: string): string | undefined => cmd[cmd.indexOf(f) + 1];
    expect(arg('--id')).toBe('n2');
    expect(arg('--peers')).toBe('n1=10.77.1.11:7000,n2=10.77.1.12:7000,n3=10.77.1.13:7000');
    expect(arg('--data')).toBe('/data');
    expect(arg('--client-port')).toBe('6379');
    expect(arg('--cluster-id')).toBe('demo');
    expect(cmd).not.toContain('--fsync');
    expect(arg('--heartbeat-ms')).toBe('100');
    expect(arg('--election-timeout-ms')).toBe('600-1200');
    expect(arg('--unsafe')).toBe('lazy-wal');
    expect(cmd[cmd.length - 1]).toBe('--extra');
  });

  it("keeps cluster ids within the node's 16 characters, distinct for long names", () => {
    expect(clusterId('short-name')).toBe('short-name');
    const a = clusterId('a-very-long-cluster-name-1');
    const b = clusterId('a-very-long-cluster-name-2');
    expect(a).toMatch(/^[A-Za-z0-9._-]{1,16}$/);
    expect(a).not.toBe(b);
  });

  it('fills the placeholders of a replacement command', () => {
    const spec = parseClusterConfig('command: [probe, "{id}", "{data}", "{peers}"]\n');
    expect(nodeCommand(spec, 'n1', ips)).toEqual([
      'probe',
      'n1',
      '/data',
      'n1=10.77.1.11:7000,n2=10.77.1.12:7000,n3=10.77.1.13:7000',
    ]);
  });

  it('refuses specs that cannot run', () => {
    const ok = parseClusterConfig('');
    expect(specProblem(ok)).toBeUndefined();
    expect(specProblem({ ...ok, nodes: 0 })).toMatch(/nodes/);
    expect(specProblem({ ...ok, electionTimeoutMs: [900, 800] })).toMatch(/election/);
  });
});
