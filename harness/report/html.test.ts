import { describe, expect, it } from 'vitest';
import { counterexampleFallback, esc, latencyPoints } from './html.js';

describe('report pieces', () => {
  it('escapes what it shows', () => {
    expect(esc(`<b a="x">&'`)).toBe('&lt;b a=&quot;x&quot;&gt;&amp;&#39;');
  });

  it('pairs invokes with completions into latency points; cas mismatches count as served', () => {
    const points = latencyPoints([
      { index: 0, time: 1e9, process: 0, type: 'invoke', f: 'cas', key: 'k', value: [1, 2] },
      { index: 1, time: 1.5e9, process: 1, type: 'invoke', f: 'read', value: null },
      {
        index: 2,
        time: 1.2e9,
        process: 0,
        type: 'fail',
        f: 'cas',
        key: 'k',
        value: [1, 2],
        error: 'cas-mismatch',
      },
      {
        index: 3,
        time: 1.6e9,
        process: 'nemesis',
        type: 'info',
        f: 'start-kill',
        value: 'kill n1',
      },
      { index: 4, time: 3.5e9, process: 1, type: 'info', f: 'read', value: null, error: 'timeout' },
    ]);
    expect(points).toEqual([
      { t: 1, latencyMs: expect.closeTo(200, 6) as number, type: 'ok', f: 'cas' },
      { t: 1.5, latencyMs: expect.closeTo(2000, 6) as number, type: 'info', f: 'read' },
    ]);
  });

  it("shows the checker's counterexample as the prefix and the op that breaks it", () => {
    const html = counterexampleFallback({
      counterexample: {
        key: 'k<3>',
        op: { description: 'read -> 7', process: 4, line: 120 },
        prefix: [
          { description: 'write 7 -> ok', process: 1, line: 10 },
          { description: 'write 8 -> ok', process: 2, line: 15 },
        ],
      },
    });
    expect(html).toContain('Counterexample on key k&lt;3&gt;');
    expect(html).toContain('<li>write 8 -&gt; ok (process 2, history line 15)</li>');
    expect(html).toContain(
      '<b>Cannot be placed next:</b> read -&gt; 7 (process 4, history line 120)',
    );
    expect(counterexampleFallback({ reason: 'x' })).toContain('&quot;reason&quot;');
  });
});

describe('chart helpers', () => {
  it('ticks the latency axis at powers of ten covering the data', async () => {
    const { decades } = await import('./charts.js');
    const p = (latencyMs: number) => ({ t: 0, latencyMs, type: 'ok' as const, f: 'read' });
    expect(decades([p(0.3), p(2500)])).toEqual([0.1, 1, 10, 100, 1000, 10000]);
    expect(decades([p(3)])).toEqual([1, 10]);
  });
});
