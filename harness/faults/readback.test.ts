import { describe, expect, it } from 'vitest';
import { delayerArgs, qdiscRate, readRules } from './readback.js';
import { applyScript, chainBody } from './rules.js';

describe('reading faults back', () => {
  it('reads cuts, loss and the queue from iptables -S, ignoring other clusters and Docker', () => {
    const text = [
      '-P INPUT ACCEPT',
      '-N RAFTBED-IN',
      '-N RAFTBED-OUT',
      '-A INPUT ! -i lo -m comment --comment "raftbed:demo" -j RAFTBED-IN',
      '-A RAFTBED-IN -s 10.0.0.11/32 -m comment --comment "raftbed:demo:partition" -j DROP',
      '-A RAFTBED-OUT -d 10.0.0.13/32 -m comment --comment "raftbed:demo:partition" -j DROP',
      '-A RAFTBED-OUT -m statistic --mode random --probability 0.20000000019 -m comment --comment "raftbed:demo:flaky" -j DROP',
      '-A RAFTBED-OUT -m comment --comment "raftbed:demo:slow" -j NFQUEUE --queue-num 7007 --queue-bypass',
      '-A RAFTBED-IN -s 10.0.0.99/32 -m comment --comment "raftbed:other:partition" -j DROP',
      '-A DOCKER_OUTPUT -d 127.0.0.11/32 -p udp -m udp --dport 53 -j DNAT --to-destination 127.0.0.11:5353',
    ].join('\n');
    expect(readRules(text, 'demo')).toEqual({
      dropFrom: ['10.0.0.11'],
      dropTo: ['10.0.0.13'],
      loss: 0.2,
      queue: true,
    });
    expect(readRules('-P INPUT ACCEPT', 'demo')).toEqual({
      dropFrom: [],
      dropTo: [],
      queue: false,
    });
  });

  it('reads back what the rules module writes', () => {
    const body = chainBody('demo', { dropFrom: ['10.0.0.12'], dropTo: [], loss: 0.5 });
    // iptables-restore input lines have the same shape as iptables -S output once applied.
    const lines = applyScript('demo', body, true).replace(/--comment (\S+)/g, '--comment "$1"');
    expect(readRules(lines, 'demo')).toMatchObject({ dropFrom: ['10.0.0.12'], loss: 0.5 });
  });

  it('reads a delayer command line and a tc rate', () => {
    expect(
      delayerArgs(['raftbed-delayer', '--queue', '7007', '--delay-ms', '40', '--jitter-ms', '5']),
    ).toEqual({
      delayMs: 40,
      jitterMs: 5,
    });
    expect(delayerArgs(['raftbed-delayer', '--queue', '7007'])).toBeUndefined();
    expect(qdiscRate('qdisc tbf 8001: root refcnt 3 rate 900Kbit burst 1600b lat 400ms')).toBe(900);
    expect(qdiscRate('qdisc netem 1: root refcnt 2 limit 1000 delay 100ms rate 2Mbit')).toBe(2000);
    expect(qdiscRate('qdisc noqueue 0: root refcnt 2')).toBeUndefined();
  });
});
