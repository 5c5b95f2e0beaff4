/**
 * Latency percentiles of a history: time from invoke to completion, for ok
 * operations by function and overall, and for everything that did not succeed.
 */
import type { TimedEvent } from './availability.js';

export interface Percentiles {
  readonly count: number;
  readonly mean: number | null;
  readonly p50: number | null;
  readonly p90: number | null;
  readonly p99: number | null;
  readonly p999: number | null;
  readonly max: number | null;
}

export interface LatencyResult {
  /** Latency is a measurement, not a verdict: always true. */
  readonly valid: true;
  /** Milliseconds, ok operations. */
  readonly ok: Percentiles;
  readonly byF: Readonly<Record<string, Percentiles>>;
  /** Milliseconds, fail and info operations (an info's latency is the timeout). */
  readonly notOk: Percentiles;
  /** ok operations per second over the workload's span. */
  readonly throughput: number;
  readonly summary: string;
}

/** Nearest-rank percentile of sorted values. */
export function percentile(sorted: readonly number[], p: number): number | null {
  if (sorted.length === 0) return null;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))] ?? null;
}

export function percentiles(values: readonly number[]): Percentiles {
  const sorted = [...values].sort((a, b) => a - b);
  return {
    count: sorted.length,
    mean: sorted.length === 0 ? null : sorted.reduce((a, b) => a + b, 0) / sorted.length,
    p50: percentile(sorted, 50),
    p90: percentile(sorted, 90),
    p99: percentile(sorted, 99),
    p999: percentile(sorted, 99.9),
    max: sorted.at(-1) ?? null,
  };
}

export function checkLatency(events: readonly TimedEvent[]): LatencyResult {
  const invoked = new Map<number, number>();
  const ok: number[] = [];
  const notOk: number[] = [];
  const byF = new Map<string, number[]>();
  let first = Infinity;
  let last = -Infinity;
  for (const e of events) {
    if (e.process === 'nemesis') continue;
    const t = (e.time ?? 0) / 1e6;
    if (e.type === 'invoke') {
      invoked.set(e.process, t);
      first = Math.min(first, t);
      continue;
    }
    const start = invoked.get(e.process);
    if (start === undefined) continue;
    invoked.delete(e.process);
    last = Math.max(last, t);
    const latency = t - start;
    if (e.type === 'ok') {
      ok.push(latency);
      const list = byF.get(e.f) ?? [];
      list.push(latency);
      byF.set(e.f, list);
    } else {
      notOk.push(latency);
    }
  }
  const spanS = last > first ? (last - first) / 1000 : 0;
  const okP = percentiles(ok);
  const fmt = (v: number | null): string => (v === null ? '-' : `${v.toFixed(1)} ms`);
  return {
    valid: true,
    ok: okP,
    byF: Object.fromEntries([...byF].map(([f, v]) => [f, percentiles(v)])),
    notOk: percentiles(notOk),
    throughput: spanS === 0 ? 0 : ok.length / spanS,
    summary: `ok p50 ${fmt(okP.p50)}, p99 ${fmt(okP.p99)}, max ${fmt(okP.max)}; ${ok.length} ok ops`,
  };
}
