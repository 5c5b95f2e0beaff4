import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';

/**
 * Charts of a run, as vega-lite specs rendered to SVG here, at build time, so the
 * report is one offline file that needs no script to show them.
 */

export interface LatencyPoint {
  /** Seconds since the run started, at invoke. */
  readonly t: number;
  readonly latencyMs: number;
  readonly type: 'ok' | 'fail' | 'info';
  readonly f: string;
}

export interface FaultSpan {
  readonly kind: string;
  readonly startS: number;
  readonly endS: number;
}

export interface ThroughputBin {
  readonly t: number;
  readonly type: 'ok' | 'fail' | 'info';
  readonly count: number;
}

const TYPE_COLORS = { domain: ['ok', 'fail', 'info'], range: ['#2e7d32', '#c62828', '#f9a825'] };
const FAULT_COLORS = {
  domain: ['partition', 'pause', 'kill', 'flaky', 'slow'],
  range: ['#90caf9', '#ce93d8', '#ef9a9a', '#ffe082', '#a5d6a7'],
};
const WIDTH = 860;

/** More points than this and ok ops are thinned evenly (every fail and info is kept). */
export const MAX_POINTS = 15_000;

export function thin(points: readonly LatencyPoint[], max = MAX_POINTS): LatencyPoint[] {
  if (points.length <= max) return [...points];
  const notOk = points.filter((p) => p.type !== 'ok');
  const ok = points.filter((p) => p.type === 'ok');
  const room = Math.max(0, max - notOk.length);
  const step = ok.length / Math.max(1, room);
  const kept: LatencyPoint[] = [];
  for (let i = 0; i < room && Math.floor(i * step) < ok.length; i++) {
    kept.push(ok[Math.floor(i * step)] as LatencyPoint);
  }
  return [...kept, ...notOk].sort((a, b) => a.t - b.t);
}

/** Powers of ten covering the latencies: log-axis ticks that do not crowd. */
export function decades(points: readonly LatencyPoint[]): number[] {
  const values = points.map((p) => Math.max(0.1, p.latencyMs));
  const lo = Math.floor(Math.log10(Math.min(1, ...values)));
  const hi = Math.ceil(Math.log10(Math.max(10, ...values)));
  return Array.from({ length: hi - lo + 1 }, (_, i) => 10 ** (lo + i));
}

/** Shaded bands where faults were in force, under the data layer. */
function faultLayer(faults: readonly FaultSpan[]): object {
  return {
    data: { values: faults.map((f) => ({ ...f })) },
    mark: { type: 'rect', opacity: 0.35 },
    encoding: {
      x: { field: 'startS', type: 'quantitative' },
      x2: { field: 'endS' },
      color: {
        field: 'kind',
        type: 'nominal',
        title: 'fault',
        scale: FAULT_COLORS,
      },
    },
  };
}

export function latencySpec(
  points: readonly LatencyPoint[],
  faults: readonly FaultSpan[],
  limitS: number,
): TopLevelSpec {
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    width: WIDTH,
    height: 300,
    title: 'Latency of every operation (by invoke time)',
    resolve: { scale: { color: 'independent' } },
    layer: [
      faultLayer(faults),
      {
        data: {
          values: thin(points).map((p) => ({ ...p, latencyMs: Math.max(0.1, p.latencyMs) })),
        },
        mark: { type: 'point', filled: true, size: 10, opacity: 0.7 },
        encoding: {
          x: {
            field: 't',
            type: 'quantitative',
            title: 'seconds since start',
            scale: { domain: [0, limitS] },
          },
          y: {
            field: 'latencyMs',
            type: 'quantitative',
            title: 'latency (ms, log)',
            scale: { type: 'log' },
            axis: { values: decades(points), format: '~g' },
          },
          color: { field: 'type', type: 'nominal', title: 'outcome', scale: TYPE_COLORS },
          shape: { field: 'f', type: 'nominal', title: 'op' },
        },
      },
    ],
  } as TopLevelSpec;
}

export function throughputSpec(
  bins: readonly ThroughputBin[],
  faults: readonly FaultSpan[],
  limitS: number,
): TopLevelSpec {
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    width: WIDTH,
    height: 220,
    title: 'Completed operations per second',
    resolve: { scale: { color: 'independent' } },
    layer: [
      faultLayer(faults),
      {
        data: { values: bins.map((b) => ({ ...b })) },
        mark: { type: 'line', interpolate: 'step-after' },
        encoding: {
          x: {
            field: 't',
            type: 'quantitative',
            title: 'seconds since start',
            scale: { domain: [0, limitS] },
          },
          y: { field: 'count', type: 'quantitative', title: 'ops/s' },
          color: { field: 'type', type: 'nominal', title: 'outcome', scale: TYPE_COLORS },
        },
      },
    ],
  } as TopLevelSpec;
}

/** Completions per whole second, per outcome; seconds with none are zero, not gaps. */
export function throughputBins(points: readonly LatencyPoint[], limitS: number): ThroughputBin[] {
  const seconds = Math.max(1, Math.ceil(limitS));
  const counts = {
    ok: new Array<number>(seconds).fill(0),
    fail: new Array<number>(seconds).fill(0),
    info: new Array<number>(seconds).fill(0),
  };
  for (const p of points) {
    const s = Math.floor(p.t + p.latencyMs / 1000);
    if (s >= 0 && s < seconds) counts[p.type][s] = (counts[p.type][s] ?? 0) + 1;
  }
  const bins: ThroughputBin[] = [];
  for (const type of ['ok', 'fail', 'info'] as const) {
    counts[type].forEach((count, t) => bins.push({ t, type, count }));
  }
  return bins;
}

/** Renders a vega-lite spec to an SVG string, in this process, with no network. */
export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const compiled = compile(spec).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}
