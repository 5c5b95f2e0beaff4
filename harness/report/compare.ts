import type { RunResults, Validity } from '../experiment/results.js';

/** The figures two runs (or two sets of runs) are compared by. */
export interface RunFigures {
  readonly label: string;
  readonly runs: number;
  /** Share of runs whose verdict was valid (1 for a single valid run). */
  readonly validShare: number;
  readonly verdicts: readonly Validity[];
  readonly okRate: number | null;
  readonly okRateInFaults: number | null;
  readonly okRateOutsideFaults: number | null;
  readonly longestFailStreak: number;
  readonly maxRecoveryMs: number | null;
  readonly p50Ms: number | null;
  readonly p99Ms: number | null;
  /** ok operations per second. */
  readonly throughput: number;
}

export function figuresOf(r: RunResults, label = r.name): RunFigures {
  const a = r.checks.availability;
  const l = r.checks.latency;
  return {
    label,
    runs: 1,
    validShare: r.valid === true ? 1 : 0,
    verdicts: [r.valid],
    okRate: a?.all.rate ?? null,
    okRateInFaults: a?.inFaults.rate ?? null,
    okRateOutsideFaults: a?.outsideFaults.rate ?? null,
    longestFailStreak: a?.longestFailStreak?.length ?? 0,
    maxRecoveryMs: a?.maxRecoveryMs ?? null,
    p50Ms: l?.ok.p50 ?? null,
    p99Ms: l?.ok.p99 ?? null,
    throughput: l?.throughput ?? 0,
  };
}

export function median(values: readonly (number | null)[]): number | null {
  const v = values.filter((x): x is number => x !== null).sort((a, b) => a - b);
  if (v.length === 0) return null;
  const mid = Math.floor(v.length / 2);
  return v.length % 2 === 1
    ? (v[mid] as number)
    : ((v[mid - 1] as number) + (v[mid] as number)) / 2;
}

/** The median of each figure over repeated runs (single runs are noisy). */
export function medianFigures(label: string, runs: readonly RunFigures[]): RunFigures {
  const m = (pick: (f: RunFigures) => number | null): number | null => median(runs.map(pick));
  return {
    label,
    runs: runs.length,
    validShare: runs.length === 0 ? 0 : runs.filter((r) => r.validShare === 1).length / runs.length,
    verdicts: runs.flatMap((r) => r.verdicts),
    okRate: m((f) => f.okRate),
    okRateInFaults: m((f) => f.okRateInFaults),
    okRateOutsideFaults: m((f) => f.okRateOutsideFaults),
    longestFailStreak: m((f) => f.longestFailStreak) ?? 0,
    maxRecoveryMs: m((f) => f.maxRecoveryMs),
    p50Ms: m((f) => f.p50Ms),
    p99Ms: m((f) => f.p99Ms),
    throughput: m((f) => f.throughput) ?? 0,
  };
}

/** How far B may fall behind A before it counts as a regression. */
export interface Thresholds {
  /** Percentage points of ok rate. */
  readonly okRatePoints: number;
  /** Relative latency increase (0.25 = 25%), ignored below `latencyFloorMs` of change. */
  readonly latency: number;
  readonly latencyFloorMs: number;
  /** Relative throughput drop. */
  readonly throughput: number;
  /** Extra failures in a row. */
  readonly failStreak: number;
  /** Relative recovery-time increase, ignored below 500 ms of change. */
  readonly recovery: number;
}

export const DEFAULT_THRESHOLDS: Thresholds = {
  okRatePoints: 5,
  latency: 0.25,
  latencyFloorMs: 1,
  throughput: 0.1,
  failStreak: 3,
  recovery: 0.5,
};

export interface ComparisonRow {
  readonly metric: string;
  readonly a: string;
  readonly b: string;
  readonly change: string;
  readonly regressed: boolean;
}

export interface Comparison {
  readonly a: RunFigures;
  readonly b: RunFigures;
  readonly rows: readonly ComparisonRow[];
  readonly regressed: boolean;
}

const pct = (v: number | null): string => (v === null ? '–' : `${(v * 100).toFixed(1)}%`);
const msText = (v: number | null): string => (v === null ? '–' : `${v.toFixed(1)} ms`);
const rel = (a: number | null, b: number | null): string =>
  a === null || b === null || a === 0
    ? ''
    : `${b >= a ? '+' : ''}${(((b - a) / a) * 100).toFixed(0)}%`;

export function compareFigures(
  a: RunFigures,
  b: RunFigures,
  t: Thresholds = DEFAULT_THRESHOLDS,
): Comparison {
  const rows: ComparisonRow[] = [];
  const okRow = (metric: string, x: number | null, y: number | null): void => {
    const drop = x !== null && y !== null ? (x - y) * 100 : 0;
    rows.push({
      metric,
      a: pct(x),
      b: pct(y),
      change:
        x === null || y === null ? '' : `${y >= x ? '+' : ''}${((y - x) * 100).toFixed(1)} pt`,
      regressed: drop > t.okRatePoints,
    });
  };
  const verdict = (f: RunFigures): string =>
    f.runs === 1
      ? String(f.verdicts[0] === true ? 'valid' : f.verdicts[0] === false ? 'not valid' : 'unknown')
      : `${f.verdicts.filter((v) => v === true).length}/${f.runs} valid`;
  rows.push({
    metric: 'verdict',
    a: verdict(a),
    b: verdict(b),
    change: '',
    regressed: b.validShare < a.validShare,
  });
  okRow('ok rate', a.okRate, b.okRate);
  okRow('ok rate in faults', a.okRateInFaults, b.okRateInFaults);
  okRow('ok rate outside faults', a.okRateOutsideFaults, b.okRateOutsideFaults);
  rows.push({
    metric: 'longest fail streak',
    a: String(a.longestFailStreak),
    b: String(b.longestFailStreak),
    change: `${b.longestFailStreak - a.longestFailStreak >= 0 ? '+' : ''}${b.longestFailStreak - a.longestFailStreak}`,
    regressed: b.longestFailStreak - a.longestFailStreak > t.failStreak,
  });
  rows.push({
    metric: 'slowest recovery',
    a: msText(a.maxRecoveryMs),
    b: msText(b.maxRecoveryMs),
    change: rel(a.maxRecoveryMs, b.maxRecoveryMs),
    regressed:
      a.maxRecoveryMs !== null &&
      b.maxRecoveryMs !== null &&
      b.maxRecoveryMs - a.maxRecoveryMs > 500 &&
      b.maxRecoveryMs > a.maxRecoveryMs * (1 + t.recovery),
  });
  for (const [metric, x, y] of [
    ['latency p50', a.p50Ms, b.p50Ms],
    ['latency p99', a.p99Ms, b.p99Ms],
  ] as const) {
    rows.push({
      metric,
      a: msText(x),
      b: msText(y),
      change: rel(x, y),
      regressed: x !== null && y !== null && y - x > t.latencyFloorMs && y > x * (1 + t.latency),
    });
  }
  rows.push({
    metric: 'throughput',
    a: `${a.throughput.toFixed(1)} ok/s`,
    b: `${b.throughput.toFixed(1)} ok/s`,
    change: rel(a.throughput, b.throughput),
    regressed: b.throughput < a.throughput * (1 - t.throughput),
  });
  return { a, b, rows, regressed: rows.some((r) => r.regressed) };
}

/** The comparison as a plain-text table; regressions marked with `<< regression`. */
export function formatComparison(c: Comparison): string {
  const head = [
    '',
    `A: ${c.a.label}${c.a.runs > 1 ? ` (median of ${c.a.runs})` : ''}`,
    `B: ${c.b.label}${c.b.runs > 1 ? ` (median of ${c.b.runs})` : ''}`,
    'change',
    '',
  ];
  const body = c.rows.map((r) => [
    r.metric,
    r.a,
    r.b,
    r.change,
    r.regressed ? '<< regression' : '',
  ]);
  const widths = head.map((_, i) =>
    Math.max(...[head, ...body].map((row) => (row[i] ?? '').length)),
  );
  const line = (row: readonly string[]): string =>
    row
      .map((cell, i) => cell.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd();
  const verdict = c.regressed
    ? `B regresses on: ${c.rows
        .filter((r) => r.regressed)
        .map((r) => r.metric)
        .join(', ')}`
    : 'B does not regress past the thresholds';
  return [line(head), ...body.map(line), '', verdict].join('\n') + '\n';
}
