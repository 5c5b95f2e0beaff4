import { afterEach, describe, expect, it, vi } from 'vitest';
import { Ticker } from './ticker.js';

describe('Ticker', () => {
  afterEach(() => vi.useRealTimers());

  it('passes the time that really went by, a late tick included', () => {
    vi.useFakeTimers();
    let now = 1000;
    const got: number[] = [];
    const t = new Ticker({ intervalMs: 10, now: () => now, onTick: (ms) => got.push(ms) });
    t.start();
    now += 10;
    vi.advanceTimersByTime(10);
    now += 250; // the event loop was blocked
    vi.advanceTimersByTime(10);
    t.stop();
    now += 10;
    vi.advanceTimersByTime(50);
    expect(got).toEqual([10, 250]);
  });
});
