import { describe, expect, it } from 'vitest';
import {
  candidateSubnets,
  chooseSubnet,
  gatewayIp,
  nodeIp,
  overlaps,
  parseCidr,
} from './subnet.js';

describe('subnets', () => {
  it('parses CIDRs to their network base', () => {
    expect(parseCidr('10.77.3.9/24')).toEqual(parseCidr('10.77.3.0/24'));
    expect(() => parseCidr('10.77.3.0')).toThrow(/CIDR/);
    expect(() => parseCidr('300.1.1.1/8')).toThrow(/CIDR/);
  });

  it('finds overlaps between ranges of any size', () => {
    expect(overlaps(parseCidr('10.0.0.0/8'), parseCidr('10.77.3.0/24'))).toBe(true);
    expect(overlaps(parseCidr('10.77.3.0/24'), parseCidr('10.77.4.0/24'))).toBe(false);
    expect(overlaps(parseCidr('172.17.0.0/16'), parseCidr('172.17.255.0/24'))).toBe(true);
  });

  it('gives node k the address .10+k and the gateway .1', () => {
    expect(nodeIp('10.77.3.0/24', 1)).toBe('10.77.3.11');
    expect(nodeIp('10.77.3.0/24', 5)).toBe('10.77.3.15');
    expect(gatewayIp('10.77.3.0/24')).toBe('10.77.3.1');
    expect(() => nodeIp('10.77.3.0/28', 5)).toThrow(/no room/);
  });

  it('starts from the same /24 for the same name and skips taken ones', () => {
    const first = candidateSubnets('demo')[0] ?? '';
    expect(chooseSubnet('demo', [])).toBe(first);
    const next = chooseSubnet('demo', [first, '172.17.0.0/16']);
    expect(next).not.toBe(first);
    expect(next).toMatch(/^10\.77\.\d+\.0\/24$/);
    expect(() => chooseSubnet('demo', ['10.0.0.0/8'])).toThrow(/no free/);
  });
});
