/**
 * The counterexample view: one self-contained, offline HTML page (no external
 * assets, no network) showing the history as a timeline per process, the longest
 * linearization found, and the first operation that breaks it highlighted. The same
 * view is available as a fragment whose styles and script are scoped under one root
 * element, so the run report can embed it next to other content.
 */
import { describeOperation } from './history.js';
import type { History, Operation } from './history.js';
import type { CheckResult } from './linearizability.js';

export interface HtmlOptions {
  /** The root element's id (fragments on one page need distinct ids). */
  readonly id?: string;
  /** At most this many operations are drawn (the failing key's come first). */
  readonly maxOps?: number;
}

/** The view as a complete page. */
export function renderCheckHtml(
  history: History,
  result: CheckResult,
  options: HtmlOptions = {},
): string {
  const title = `${verdictText(result)}: ${history.source}`;
  return [
    '<!doctype html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${escapeHtml(title)}</title>`,
    '<style>body{margin:0;padding:16px;background:#fafafa}</style>',
    '</head>',
    '<body>',
    renderCheckFragment(history, result, options),
    '</body>',
    '</html>',
    '',
  ].join('\n');
}

/** The view as an embeddable fragment: one root element holding its own style and script. */
export function renderCheckFragment(
  history: History,
  result: CheckResult,
  options: HtmlOptions = {},
): string {
  const id = options.id ?? 'raftbed-check';
  if (!/^[A-Za-z][\w-]*$/.test(id)) throw new Error(`bad element id '${id}'`);
  const data = viewData(history, result, options.maxOps ?? 20_000);
  return [
    `<div class="rbc" id="${id}">`,
    `<style>${CSS.replaceAll('#ROOT', `#${id}`)}</style>`,
    `<div class="rbc-head"><span class="rbc-verdict rbc-${verdictClass(result)}">${escapeHtml(verdictText(result))}</span>`,
    ` <span class="rbc-meta">${escapeHtml(summaryLine(history, result))}</span></div>`,
    result.counterexample === undefined
      ? ''
      : `<div class="rbc-why">${escapeHtml(whyLine(result))}</div>`,
    '<div class="rbc-controls">',
    '<label>key <select class="rbc-key"></select></label>',
    '<label>zoom <input class="rbc-zoom" type="range" min="0" max="100" step="1" value="60"></label>',
    '<button type="button" class="rbc-fit">fit</button>',
    '<span class="rbc-legend"><i class="rbc-ok"></i>ok <i class="rbc-fail"></i>fail (no effect) <i class="rbc-info"></i>info / never completed <i class="rbc-lin"></i>in the linearization <i class="rbc-stuck"></i>cannot be placed</span>',
    '</div>',
    '<div class="rbc-note"></div>',
    '<div class="rbc-timeline"><div class="rbc-lanes"></div></div>',
    '<div class="rbc-order"><h3 class="rbc-order-title"></h3><ol class="rbc-list"></ol></div>',
    `<script type="application/json" class="rbc-data">${jsonForScript(data)}</script>`,
    `<script>(function(){${SCRIPT}})(document.getElementById(${JSON.stringify(id)}));</script>`,
    '</div>',
  ].join('');
}

function verdictText(result: CheckResult): string {
  if (result.valid === true) return 'linearizable';
  if (result.valid === false) return 'NOT linearizable';
  return 'unknown';
}

function verdictClass(result: CheckResult): string {
  return result.valid === true ? 'valid' : result.valid === false ? 'invalid' : 'unknown';
}

function summaryLine(history: History, result: CheckResult): string {
  const keys = `${result.keys} key${result.keys === 1 ? '' : 's'}`;
  const reason = result.reason === undefined ? '' : ` · ${result.reason}`;
  return `${history.source} · model ${result.model} · ${result.ops} ops checked · ${keys} · ${result.ms} ms${reason}`;
}

function whyLine(result: CheckResult): string {
  const c = result.counterexample;
  if (c === undefined) return '';
  const key = c.key === null ? '' : `key ${JSON.stringify(c.key)}: `;
  return `${key}after the longest linearizable prefix found (${c.prefix.length} ops), process ${String(c.op.process)}'s ${c.op.description} (line ${c.op.line}) cannot be placed.`;
}

function viewData(history: History, result: CheckResult, maxOps: number): unknown {
  const failingKey = result.counterexample?.key;
  // The failing key's ops first, so a cap never hides the counterexample.
  const order = [...history.ops].sort((a, b) => {
    const fa = failingKey !== undefined && (a.key ?? null) === failingKey ? 0 : 1;
    const fb = failingKey !== undefined && (b.key ?? null) === failingKey ? 0 : 1;
    return fa - fb || a.index - b.index;
  });
  const shown = order.slice(0, maxOps).sort((a, b) => a.index - b.index);
  // [index, process, key, description, outcome, call, ret, line]
  const ops: (string | number | null)[][] = shown.map((op: Operation) => [
    op.index,
    String(op.process),
    op.key ?? null,
    describeOperation(op),
    op.outcome,
    op.call,
    op.ret,
    op.line,
  ]);
  const c = result.counterexample;
  const lins = result.linearizations.map((l) => ({ key: l.key, order: l.order }));
  return {
    events: history.events,
    ops,
    omitted: history.ops.length - shown.length,
    lins,
    failing:
      c === undefined
        ? null
        : {
            key: c.key,
            stuck: c.op.index,
            prefix: c.prefix.map((p) => p.index),
            initial: c.initial,
            states: c.states,
          },
    valid: result.valid,
  };
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);
}

/** JSON safe inside a <script> element: no `</script>`, no `<!--`. */
function jsonForScript(data: unknown): string {
  return JSON.stringify(data)
    .replace(/</g, '\\u003c')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}

const CSS = `
#ROOT{font:13px/1.4 system-ui,-apple-system,"Segoe UI",sans-serif;color:#1d2330;background:#fff;border:1px solid #d8dde6;border-radius:6px;padding:12px;box-sizing:border-box}
#ROOT *{box-sizing:border-box}
#ROOT .rbc-head{font-size:15px;margin-bottom:4px}
#ROOT .rbc-verdict{font-weight:700;padding:1px 8px;border-radius:4px;color:#fff}
#ROOT .rbc-valid{background:#2f8f4e}
#ROOT .rbc-invalid{background:#c62f2f}
#ROOT .rbc-unknown{background:#8a6d1f}
#ROOT .rbc-meta{color:#556}
#ROOT .rbc-why{margin:6px 0;padding:6px 8px;background:#fdecec;border-left:4px solid #c62f2f}
#ROOT .rbc-controls{display:flex;flex-wrap:wrap;gap:12px;align-items:center;margin:8px 0}
#ROOT .rbc-legend i{display:inline-block;width:12px;height:10px;margin:0 3px 0 8px;border-radius:2px;vertical-align:middle}
#ROOT i.rbc-ok,#ROOT .rbc-op.rbc-ok{background:#cfe9d6;border-color:#4c9a63}
#ROOT i.rbc-fail,#ROOT .rbc-op.rbc-fail{background:#e7e7e7;border-color:#9a9a9a;color:#666}
#ROOT i.rbc-info,#ROOT .rbc-op.rbc-info,#ROOT .rbc-op.rbc-open{background:#fbe6c2;border-color:#c98b1c}
#ROOT i.rbc-lin{background:#fff;border:2px solid #2e5fd1}
#ROOT i.rbc-stuck{background:#c62f2f}
#ROOT .rbc-note{color:#8a6d1f;font-size:12px}
#ROOT .rbc-timeline{overflow:auto;max-height:60vh;border:1px solid #e1e5ec;border-radius:4px;background:#fcfcfd}
#ROOT .rbc-lanes{position:relative}
#ROOT .rbc-lane{position:absolute;left:0;height:22px;border-bottom:1px dashed #eceff4;width:100%}
#ROOT .rbc-pname{position:sticky;left:0;display:inline-block;width:64px;padding:2px 4px;background:#f1f3f7;color:#445;font-size:11px;height:21px;z-index:2;white-space:nowrap;overflow:hidden}
#ROOT .rbc-op{position:absolute;height:18px;top:2px;border:1px solid;border-radius:3px;font-size:11px;line-height:16px;padding:0 3px;white-space:nowrap;overflow:hidden;cursor:default}
#ROOT .rbc-op.rbc-open{border-style:dashed}
#ROOT .rbc-op.rbc-dropped{opacity:.55}
#ROOT .rbc-op.rbc-inlin{box-shadow:inset 0 0 0 2px #2e5fd1}
#ROOT .rbc-op.rbc-isstuck{background:#c62f2f;border-color:#7d1010;color:#fff;z-index:3}
#ROOT .rbc-op.rbc-focus{outline:3px solid #f0b400;z-index:4}
#ROOT .rbc-op b{font-weight:700;margin-right:3px;color:#2e5fd1}
#ROOT .rbc-op.rbc-isstuck b{color:#fff}
#ROOT .rbc-order{margin-top:10px}
#ROOT .rbc-order h3{font-size:13px;margin:4px 0}
#ROOT .rbc-list{max-height:40vh;overflow:auto;margin:0;padding-left:48px;font-family:ui-monospace,Menlo,Consolas,monospace;font-size:12px}
#ROOT .rbc-list li{cursor:pointer;padding:1px 0}
#ROOT .rbc-list li:hover{background:#eef3ff}
#ROOT .rbc-list li.rbc-stuckrow{color:#c62f2f;font-weight:700;list-style:none;margin-left:-24px}
#ROOT .rbc-state{color:#667}
`;

/** Runs in the page with `root` the fragment's root element; plain ES2017, no dependencies. */
const SCRIPT = `
var root = arguments[0];
var data = JSON.parse(root.querySelector('.rbc-data').textContent);
var lanes = root.querySelector('.rbc-lanes');
var timeline = root.querySelector('.rbc-timeline');
var select = root.querySelector('.rbc-key');
var zoom = root.querySelector('.rbc-zoom');
var list = root.querySelector('.rbc-list');
var title = root.querySelector('.rbc-order-title');
var LANE = 22, NAME = 68;
var ops = data.ops.map(function (o) {
  return { index: o[0], process: o[1], key: o[2], text: o[3], outcome: o[4], call: o[5], ret: o[6], line: o[7] };
});
var byIndex = {};
ops.forEach(function (op) { byIndex[op.index] = op; });
var rank = {}, inLin = {};
data.lins.forEach(function (l) { l.order.forEach(function (i, n) { rank[i] = n + 1; inLin[i] = true; }); });
var stuck = data.failing ? data.failing.stuck : -1;
var keys = [];
var seen = {};
ops.forEach(function (op) {
  var k = op.key === null ? '' : op.key;
  if (!seen.hasOwnProperty(k)) { seen[k] = true; keys.push(k); }
});
keys.sort(function (a, b) { return a.localeCompare(b, 'en', { numeric: true }); });
function option(value, label) {
  var o = document.createElement('option');
  o.value = value; o.textContent = label; select.appendChild(o); return o;
}
if (keys.length > 1) option('*', 'all keys (' + keys.length + ')');
keys.forEach(function (k) { option('=' + k, k === '' ? '(single object)' : k); });
var initialKey = data.failing && data.failing.key !== null ? '=' + data.failing.key : (keys.length > 1 ? '*' : '=' + (keys[0] || ''));
select.value = initialKey;
function shown() {
  var v = select.value;
  if (v === '*') return ops;
  var k = v.slice(1);
  return ops.filter(function (op) { return (op.key === null ? '' : op.key) === k; });
}
/* The zoom slider is logarithmic: 0.02 to 80 pixels per event. */
function scaleOf() { return 0.02 * Math.pow(4000, Number(zoom.value) / 100); }
function zoomFor(scale) { return Math.max(0, Math.min(100, Math.round(100 * Math.log(scale / 0.02) / Math.log(4000)))); }
/* The x axis counts the events of the ops shown, so one key's ops sit close together. */
var at = {}, atEnd = 1;
function axis(list0) {
  var pos = [];
  list0.forEach(function (op) { pos.push(op.call); if (op.ret >= 0) pos.push(op.ret); });
  pos.sort(function (a, b) { return a - b; });
  at = {}; atEnd = 0;
  pos.forEach(function (p) { if (!at.hasOwnProperty(p)) at[p] = atEnd++; });
  atEnd += 1;
}
function x0(op) { return at[op.call]; }
function x1(op) { return op.ret < 0 ? atEnd : at[op.ret]; }
function span(list0) {
  axis(list0);
  return [0, atEnd];
}
function fit() {
  var sp = span(shown());
  zoom.value = String(zoomFor(Math.max(2, (timeline.clientWidth - NAME - 40) / (sp[1] - sp[0] + 2))));
}
if (data.omitted > 0) root.querySelector('.rbc-note').textContent = data.omitted + ' operations of other keys are not drawn (the page stays readable); the verdict covers all of them.';
function draw() {
  var scale = scaleOf();
  var list0 = shown();
  var procs = [], pseen = {};
  list0.forEach(function (op) { if (!pseen.hasOwnProperty(op.process)) { pseen[op.process] = procs.length; procs.push(op.process); } });
  var order = procs.slice().sort(function (a, b) { return a.localeCompare(b, 'en', { numeric: true }); });
  order.forEach(function (p, i) { pseen[p] = i; });
  var sp = span(list0), first = sp[0], last = sp[1];
  lanes.textContent = '';
  lanes.style.height = (order.length * LANE + 4) + 'px';
  lanes.style.width = (NAME + (last - first + 2) * scale + 40) + 'px';
  var frag = document.createDocumentFragment();
  order.forEach(function (p, i) {
    var lane = document.createElement('div');
    lane.className = 'rbc-lane'; lane.style.top = (i * LANE) + 'px';
    var name = document.createElement('span'); name.className = 'rbc-pname'; name.textContent = 'process ' + p;
    lane.appendChild(name); frag.appendChild(lane);
  });
  list0.forEach(function (op) {
    var el = document.createElement('div');
    var cls = 'rbc-op rbc-' + op.outcome;
    if (!inLin[op.index] && op.index !== stuck && (op.outcome === 'fail' || op.outcome === 'info' || op.outcome === 'open')) cls += ' rbc-dropped';
    if (inLin[op.index]) cls += ' rbc-inlin';
    if (op.index === stuck) cls += ' rbc-isstuck';
    el.className = cls;
    el.dataset.index = op.index;
    el.style.left = (NAME + (x0(op) - first) * scale) + 'px';
    el.style.width = Math.max(op.index === stuck ? 12 : 4, (x1(op) - x0(op)) * scale) + 'px';
    el.style.top = (pseen[op.process] * LANE + 2) + 'px';
    /* Ranks are per key: drawn when one key (or the single object) is shown. */
    if (rank[op.index] && (select.value !== '*' || data.lins.length === 1)) { var b = document.createElement('b'); b.textContent = '#' + rank[op.index]; el.appendChild(b); }
    el.appendChild(document.createTextNode(op.text));
    el.title = 'process ' + op.process + (op.key !== null ? ' · key ' + op.key : '') + ' · line ' + op.line + '\\n' + op.text +
      (rank[op.index] ? '\\nlinearized #' + rank[op.index] : '') + (op.index === stuck ? '\\ncannot be placed after the longest linearizable prefix' : '');
    frag.appendChild(el);
  });
  lanes.appendChild(frag);
  drawList();
}
function drawList() {
  list.textContent = '';
  var v = select.value;
  var failing = data.failing;
  var lin = null;
  if (failing && (v === '*' || v === '=' + (failing.key === null ? '' : failing.key))) {
    title.textContent = 'Longest linearizable prefix found (' + failing.prefix.length + ' ops), then the operation that cannot be placed';
    lin = failing.prefix;
  } else {
    var k = v === '*' ? null : v.slice(1);
    var found = data.lins.filter(function (l) { return v === '*' ? data.lins.length === 1 : (l.key === null ? '' : l.key) === k; })[0];
    title.textContent = found ? 'Linearization found (' + found.order.length + ' ops)' : (v === '*' ? 'Choose a key to see the linearization found for it' : 'No linearization to show for this key');
    lin = found ? found.order : [];
  }
  var frag = document.createDocumentFragment();
  lin.forEach(function (i, n) {
    var op = byIndex[i]; if (!op) return;
    var li = document.createElement('li');
    li.dataset.index = i;
    var state = failing && lin === failing.prefix && failing.states[n] !== undefined ? '  ⇒ ' + failing.states[n] : '';
    li.textContent = 'line ' + op.line + ' · process ' + op.process + (op.key !== null ? ' · key ' + op.key : '') + ' · ' + op.text;
    if (state) { var s = document.createElement('span'); s.className = 'rbc-state'; s.textContent = state; li.appendChild(s); }
    frag.appendChild(li);
  });
  if (failing && lin === failing.prefix && byIndex[failing.stuck]) {
    var op = byIndex[failing.stuck];
    var li = document.createElement('li');
    li.className = 'rbc-stuckrow'; li.dataset.index = failing.stuck;
    li.textContent = '✗ cannot place: line ' + op.line + ' · process ' + op.process + ' · ' + op.text;
    frag.appendChild(li);
  }
  list.appendChild(frag);
}
function focus(index) {
  var prev = root.querySelector('.rbc-focus'); if (prev) prev.classList.remove('rbc-focus');
  var el = lanes.querySelector('[data-index="' + index + '"]');
  if (!el) return;
  el.classList.add('rbc-focus');
  timeline.scrollLeft = Math.max(0, el.offsetLeft - timeline.clientWidth / 3);
  timeline.scrollTop = Math.max(0, el.offsetTop - timeline.clientHeight / 2);
}
list.addEventListener('click', function (e) {
  var li = e.target.closest('li'); if (li) focus(li.dataset.index);
});
zoom.addEventListener('input', draw);
root.querySelector('.rbc-fit').addEventListener('click', function () { fit(); draw(); });
select.addEventListener('change', function () { fit(); draw(); });
fit();
draw();
if (stuck >= 0) focus(stuck);
`;
