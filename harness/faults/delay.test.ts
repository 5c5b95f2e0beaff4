import { describe, expect, it } from 'vitest';
import { planQdisc } from './delay.js';

describe('planQdisc', () => {
  it('uses one netem qdisc for delay, jitter and rate where netem exists', () => {
    expect(planQdisc({ delayMs: 100, jitterMs: 10, rateKbit: 512 }, true)).toEqual({
      words: ['netem', 'delay', '100ms', '10ms', 'rate', '512kbit'],
      delayer: false,
    });
  });

  it('without netem: the delayer for delay, tbf only for a rate', () => {
    expect(planQdisc({ delayMs: 100, jitterMs: 0 }, false)).toEqual({ delayer: true });
    const p = planQdisc({ delayMs: 0, jitterMs: 0, rateKbit: 800 }, false);
    expect(p.delayer).toBe(false);
    expect(p.words?.slice(0, 3)).toEqual(['tbf', 'rate', '800kbit']);
    // burst holds at least a full frame
    expect(Number(p.words?.[4])).toBeGreaterThanOrEqual(1600);
  });

  it('plans nothing when the node is not slow', () => {
    expect(planQdisc(undefined, true)).toEqual({ delayer: false });
  });
});
