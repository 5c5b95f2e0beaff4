import type { AvailabilityResult } from '../../checks/availability.js';
import type { Percentiles } from '../../checks/latency.js';
import type { RunResults, Validity } from '../experiment/results.js';
import type { HistoryEvent } from '../history/types.js';
import { CAS_MISMATCH } from '../workload/adapter.js';
import {
  latencySpec,
  renderSvg,
  throughputBins,
  throughputSpec,
  type FaultSpan,
  type LatencyPoint,
} from './charts.js';

/** Escapes text for HTML element content and attribute values. */
export function esc(s: string): string {
  return s
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

/** Each op's invoke time and latency, from a history (nemesis lines are skipped). */
export function latencyPoints(events: readonly HistoryEvent[]): LatencyPoint[] {
  const open = new Map<number, { t: number; f: string }>();
  const points: LatencyPoint[] = [];
  for (const e of events) {
    if (e.process === 'nemesis') continue;
    if (e.type === 'invoke') {
      open.set(e.process, { t: e.time / 1e9, f: e.f });
      continue;
    }
    const inv = open.get(e.process);
    if (inv === undefined) continue;
    open.delete(e.process);
    // A cas that found another value was answered: it is shown as served, not failed.
    const type = e.type === 'fail' && e.error === CAS_MISMATCH ? 'ok' : e.type;
    points.push({ t: inv.t, latencyMs: (e.time / 1e9 - inv.t) * 1000, type, f: inv.f });
  }
  return points;
}

function faultSpans(results: RunResults): FaultSpan[] {
  return results.faults.map((f) => ({
    kind: f.kind,
    startS: f.startMs / 1000,
    endS: (f.endMs ?? results.workloadS * 1000) / 1000,
  }));
}

const verdictWord = (v: Validity): string =>
  v === true ? 'valid' : v === false ? 'NOT VALID' : 'unknown';
const verdictClass = (v: Validity): string => (v === true ? 'ok' : v === false ? 'bad' : 'unk');
const pct = (r: number | null): string => (r === null ? '–' : `${(r * 100).toFixed(1)}%`);
const ms = (v: number | null | undefined): string => (v == null ? '–' : `${v.toFixed(1)} ms`);

function availabilityTable(a: AvailabilityResult): string {
  const streak = a.longestFailStreak;
  const rows: [string, string][] = [
    ['ok rate, whole run', `${pct(a.all.rate)} of ${a.all.ops} ops`],
    ['ok rate inside faults', `${pct(a.inFaults.rate)} of ${a.inFaults.ops} ops`],
    ['ok rate outside faults', `${pct(a.outsideFaults.rate)} of ${a.outsideFaults.ops} ops`],
    ...Object.entries(a.byFaultKind).map(([kind, r]): [string, string] => [
      `ok rate during ${kind}`,
      `${pct(r.rate)} of ${r.ops} ops`,
    ]),
    [
      'longest fail streak',
      streak === null
        ? '0'
        : `${streak.length} (client ${streak.client}, ${(streak.startMs / 1000).toFixed(1)}–${(streak.endMs / 1000).toFixed(1)} s); criterion: fewer than ${a.failStreakLimit}`,
    ],
    ['fail streak per client', a.failStreakPerClient.join(', ')],
    [
      'heal to first ok op',
      a.recoveries.length === 0
        ? 'no heals'
        : a.recoveries
            .map(
              (r) =>
                `${(r.healMs / 1000).toFixed(1)} s → ${r.recoveryMs === null ? 'never' : ms(r.recoveryMs)}`,
            )
            .join('; '),
    ],
    ['decides the verdict', a.required ? 'yes (the experiment requires it)' : 'no'],
  ];
  return table(
    ['availability', ''],
    rows.map(([k, v]) => [esc(k), esc(v)]),
  );
}

function latencyRows(label: string, p: Percentiles): string[] {
  return [esc(label), String(p.count), ms(p.p50), ms(p.p90), ms(p.p99), ms(p.p999), ms(p.max)];
}

function table(head: readonly string[], rows: readonly (readonly string[])[]): string {
  return (
    `<table><thead><tr>${head.map((h) => `<th>${h}</th>`).join('')}</tr></thead><tbody>` +
    rows.map((r) => `<tr>${r.map((c) => `<td>${c}</td>`).join('')}</tr>`).join('') +
    '</tbody></table>'
  );
}

const STYLE = `
body{font:14px/1.45 system-ui,sans-serif;margin:24px auto;max-width:960px;color:#222}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #ddd}
.badge{display:inline-block;padding:2px 10px;border-radius:4px;font-weight:600;color:#fff}
.ok{background:#2e7d32}.bad{background:#c62828}.unk{background:#757575}
table{border-collapse:collapse;margin:6px 0}td,th{border:1px solid #ddd;padding:3px 8px;text-align:left;vertical-align:top}
th{background:#f5f5f5}code,pre{font:12px ui-monospace,monospace}pre{background:#f7f7f7;padding:8px;overflow:auto;max-height:320px}
.chart svg{max-width:100%;height:auto}.muted{color:#666}`;

interface OpLike {
  readonly description?: unknown;
  readonly process?: unknown;
  readonly line?: unknown;
}

/**
 * The checker's counterexample as a list, for when its own HTML view is not
 * given: the key, the longest linearizable prefix and the op that breaks it.
 */
export function counterexampleFallback(detail: Readonly<Record<string, unknown>>): string {
  const cx = detail['counterexample'] as
    { key?: unknown; op?: OpLike; prefix?: readonly OpLike[] } | undefined;
  if (cx === undefined || typeof cx !== 'object') {
    return `<pre>${esc(JSON.stringify(detail, null, 2))}</pre>`;
  }
  const show = (o: OpLike | undefined): string =>
    esc(
      `${typeof o?.description === 'string' ? o.description : JSON.stringify(o)}` +
        (typeof o?.process === 'number' || typeof o?.process === 'string'
          ? ` (process ${o.process}`
          : ' (') +
        (typeof o?.line === 'number' ? `, history line ${o.line})` : ')'),
    );
  const prefix = cx.prefix ?? [];
  const shown = prefix.slice(-30);
  return (
    `<h3>Counterexample${typeof cx.key === 'string' ? ` on key ${esc(cx.key)}` : ''}</h3>` +
    `<p>Longest linearizable prefix: ${prefix.length} ops${shown.length < prefix.length ? ` (last ${shown.length} shown)` : ''}</p>` +
    `<ol start="${prefix.length - shown.length + 1}">${shown.map((o) => `<li>${show(o)}</li>`).join('')}</ol>` +
    `<p><b>Cannot be placed next:</b> ${show(cx.op)}</p>`
  );
}

export interface ReportInput {
  readonly results: RunResults;
  readonly events: readonly HistoryEvent[];
}

/** The whole report: one HTML file with its charts inline as SVG and no script. */
export async function renderReport({ results, events }: ReportInput): Promise<string> {
  const points = latencyPoints(events);
  const faults = faultSpans(results);
  const limitS = Math.max(1, results.workloadS, ...points.map((p) => p.t + p.latencyMs / 1000));
  const [latencySvg, throughputSvg] = await Promise.all([
    renderSvg(latencySpec(points, faults, limitS)),
    renderSvg(throughputSpec(throughputBins(points, limitS), faults, limitS)),
  ]);
  const { checks, experiment: e } = results;
  const checkRows = Object.entries(checks).map(([name, c]) => {
    const check = c as { valid: Validity; summary?: string; required?: boolean };
    const decides = name === 'availability' ? check.required === true : name !== 'latency';
    return [
      esc(name),
      `<span class="badge ${verdictClass(check.valid)}">${verdictWord(check.valid)}</span>`,
      decides ? 'yes' : 'no',
      esc(check.summary ?? ''),
    ];
  });
  const lin = checks.linearizability;
  const latency = checks.latency;
  const sections = [
    `<h1>raftbed run ${esc(results.name)} <span class="badge ${verdictClass(results.valid)}">${verdictWord(results.valid)}</span></h1>`,
    `<p class="muted">${esc(results.startedAt)} · ${results.nodes.length} nodes · ${e.workload} workload · ` +
      `${results.workloadS.toFixed(1)} s of ${e.timeLimitS} s · seed ${e.seed} · image ${esc(results.image ?? 'default')}` +
      `${e.unsafe === null ? '' : ` · <b>unsafe: ${esc(e.unsafe)}</b>`}${results.interrupted ? ' · <b>interrupted</b>' : ''} · exit ${results.exitCode}</p>`,
    '<h2>Checks</h2>',
    table(['check', 'verdict', 'decides', 'summary'], checkRows),
    `<p>${results.workload.invoked} ops: ${results.workload.ok} ok, ${results.workload.fail} fail, ${results.workload.info} info; ` +
      `final reads: ${results.finalReads.ok} ok of ${results.finalReads.invoked}.</p>`,
    '<h2>Latency</h2>',
    `<div class="chart" id="latency-chart">${latencySvg}</div>`,
    latency === undefined
      ? ''
      : table(
          ['ops', 'count', 'p50', 'p90', 'p99', 'p99.9', 'max'],
          [
            latencyRows('ok, all', latency.ok),
            ...Object.entries(latency.byF).map(([f, p]) => latencyRows(`ok, ${f}`, p)),
            latencyRows('fail and info', latency.notOk),
          ],
        ),
    '<h2>Throughput</h2>',
    `<div class="chart" id="throughput-chart">${throughputSvg}</div>`,
    '<h2>Availability</h2>',
    checks.availability === undefined
      ? '<p>not checked</p>'
      : availabilityTable(checks.availability),
    '<h2>Faults</h2>',
    results.faults.length === 0
      ? '<p>none</p>'
      : table(
          ['kind', 'what', 'from', 'to', 'error'],
          results.faults.map((f) => [
            esc(f.kind),
            esc(f.description),
            `${(f.startMs / 1000).toFixed(1)} s`,
            f.endMs === null ? '–' : `${(f.endMs / 1000).toFixed(1)} s`,
            esc(f.error ?? ''),
          ]),
        ),
    '<h2>Linearizability</h2>',
    lin === undefined
      ? '<p>not checked</p>'
      : `<p><span class="badge ${verdictClass(lin.valid)}">${verdictWord(lin.valid)}</span> model <code>${esc(lin.model)}</code>: ${esc(lin.summary)}</p>` +
        (lin.valid === false
          ? `<section id="counterexample">${lin.counterexampleHtml ?? counterexampleFallback(lin.detail ?? {})}</section>`
          : ''),
    checks['node-logs'] === undefined
      ? ''
      : `<h2>Raft invariants (node logs)</h2><p>${esc(checks['node-logs'].summary)}</p>`,
    results.warnings.length === 0
      ? ''
      : `<h2>Warnings</h2><ul>${results.warnings.map((w) => `<li>${esc(w)}</li>`).join('')}</ul>`,
  ];
  return (
    '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">' +
    `<title>raftbed ${esc(results.name)}: ${verdictWord(results.valid)}</title>` +
    `<style>${STYLE}</style></head><body>\n${sections.join('\n')}\n</body></html>\n`
  );
}
