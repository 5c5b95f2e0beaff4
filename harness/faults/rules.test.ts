import { describe, expect, it } from 'vitest';
import {
  applyScript,
  chainBody,
  formatProbability,
  nodeNetFaults,
  removeScript,
  scanRules,
} from './rules.js';

const ips = { n1: '10.0.0.11', n2: '10.0.0.12', n3: '10.0.0.13' };

describe('node rules', () => {
  it('applies a cut at both ends: the receiver drops from, the sender drops to', () => {
    const cuts = [{ from: 'n1', to: 'n2' }];
    expect(nodeNetFaults('n2', ips, cuts, undefined, false)).toEqual({
      dropFrom: ['10.0.0.11'],
      dropTo: [],
    });
    expect(nodeNetFaults('n1', ips, cuts, undefined, false)).toEqual({
      dropFrom: [],
      dropTo: ['10.0.0.12'],
    });
    expect(nodeNetFaults('n3', ips, cuts, undefined, false)).toEqual({ dropFrom: [], dropTo: [] });
  });

  it('tags every rule with the cluster and the fault', () => {
    const body = chainBody('demo', {
      dropFrom: ['10.0.0.11'],
      dropTo: ['10.0.0.13'],
      loss: 0.25,
      queue: true,
    });
    const lines = body.split('\n');
    expect(lines).toHaveLength(4);
    for (const l of lines) expect(l).toMatch(/--comment raftbed:demo:(partition|flaky|slow) /);
    expect(lines[2]).toContain('--probability 0.25 ');
    expect(lines[3]).toContain('-j NFQUEUE --queue-num 7007 --queue-bypass');
    expect(chainBody('demo', { dropFrom: [], dropTo: [] })).toBe('');
  });

  it('never names a chain other than its own and INPUT/OUTPUT jumps', () => {
    const script = applyScript(
      'demo',
      chainBody('demo', { dropFrom: ['10.0.0.11'], dropTo: [] }),
      false,
    );
    const changed = script
      .split('\n')
      .filter((l) => /^-[AIDX] /.test(l))
      .map((l) => l.split(' ')[1]);
    expect(new Set(changed)).toEqual(new Set(['RAFTBED-IN', 'INPUT', 'OUTPUT']));
    expect(script).toMatch(/^\*filter\n:RAFTBED-IN - \[0:0\]\n:RAFTBED-OUT - \[0:0\]\n/);
    expect(script.trimEnd().endsWith('COMMIT')).toBe(true);
    expect(script).not.toMatch(/\*nat|DOCKER/);
    // With the jumps already there, they are not added twice.
    expect(applyScript('demo', '', true)).not.toMatch(/INPUT|OUTPUT/);
  });

  it('removes only its own jumps and chains', () => {
    const s = removeScript('demo', { in: true, out: false });
    expect(s).toContain('-D INPUT ! -i lo -m comment --comment raftbed:demo -j RAFTBED-IN');
    expect(s).not.toContain('-D OUTPUT');
    expect(s).toContain('-X RAFTBED-IN');
  });

  it('reads back what it left from iptables -S output', () => {
    const text = [
      '-P INPUT ACCEPT',
      '-N RAFTBED-IN',
      '-N RAFTBED-OUT',
      '-A INPUT ! -i lo -m comment --comment "raftbed:demo" -j RAFTBED-IN',
      '-A OUTPUT ! -o lo -m comment --comment "raftbed:demo" -j RAFTBED-OUT',
      '-A RAFTBED-IN -s 10.0.0.11/32 -m comment --comment "raftbed:demo:partition" -j DROP',
    ].join('\n');
    expect(scanRules(text, 'demo')).toEqual({
      chains: true,
      jumps: { in: true, out: true },
      tagged: 1,
      foreign: 0,
    });
    // Another cluster's tag is not ours (a prefix is not enough).
    expect(scanRules(text, 'dem').jumps).toEqual({ in: false, out: false });
    expect(scanRules('-P INPUT ACCEPT', 'demo').chains).toBe(false);
  });

  it('formats probabilities iptables accepts and refuses others', () => {
    expect(formatProbability(0.1)).toBe('0.1');
    expect(formatProbability(1)).toBe('1.0');
    expect(formatProbability(0.0000004)).toBe('0.0');
    expect(() => formatProbability(1.5)).toThrow(RangeError);
  });
});
