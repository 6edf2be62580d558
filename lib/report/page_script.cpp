// The report's script: reads the embedded JSON and draws the page with plain DOM and SVG
// calls (no library). Data reaches the page only through textContent and attributes, never
// as HTML. Each plot's <svg> carries data-plot (its id) and data-points (the points, bars or
// lines it drew; 0 with a "no data" message), which tests/report_page_check.cpp reads.
#include "report/page_assets.h"

namespace kiln::report {

const char* const kErrorHook = R"JS(
window.onerror = function (msg, src, line, col) {
  var text = 'report script error: ' + msg + ' (line ' + line + ', column ' + col + ')';
  document.documentElement.setAttribute('data-js-error', text);
  var box = document.getElementById('kiln-js-error');
  if (box) { box.hidden = false; box.textContent = text; box.setAttribute('data-error', text); }
};
)JS";

const char* const kPageScript = R"JS(
(function () {
'use strict';
const D = JSON.parse(document.getElementById('kiln-data').textContent);
const root = document.getElementById('kiln-report');
const SVGNS = 'http://www.w3.org/2000/svg';
const PALETTE = ['#2563eb', '#dc2626', '#16a34a', '#9333ea', '#ea580c', '#0891b2', '#ca8a04', '#db2777'];
// lib/instrument/phase.cpp's NVTX colours, so the timeline matches Nsight Systems.
const PHASE_COLORS = {epoch: '#9E9E9E', step: '#607D8B', data_wait: '#E53935', h2d_copy: '#FF9800',
  forward: '#43A047', backward: '#1E88E5', optimizer: '#8E24AA', eval: '#00ACC1', checkpoint: '#795548',
  load_batch: '#F06292'};
// Timeline row of each phase within a thread's lane: nested phases sit below their parent.
const PHASE_ROW = {epoch: 0, step: 1, eval: 1, data_wait: 2, forward: 2, backward: 2, optimizer: 2,
  checkpoint: 2, h2d_copy: 3, load_batch: 0};
const STATE_COLORS = {COMPLETE: '#2563eb', PRUNED: '#ea580c', FAIL: '#dc2626', RUNNING: '#9aa5b1',
  WAITING: '#9aa5b1'};

function h(tag, attrs, text, parent) {
  const e = document.createElement(tag);
  if (attrs) for (const k of Object.keys(attrs)) e.setAttribute(k, attrs[k]);
  if (text !== undefined && text !== null) e.textContent = String(text);
  if (parent) parent.appendChild(e);
  return e;
}
function s(tag, attrs, parent, text) {
  const e = document.createElementNS(SVGNS, tag);
  for (const k of Object.keys(attrs)) e.setAttribute(k, attrs[k]);
  if (text !== undefined) e.textContent = String(text);
  if (parent) parent.appendChild(e);
  return e;
}
function finite(v) { return typeof v === 'number' && isFinite(v); }
function fmt(v, digits) {
  if (v === null || v === undefined) return '\u2013';
  if (typeof v !== 'number') return typeof v === 'string' ? v : JSON.stringify(v);
  if (!isFinite(v)) return String(v);
  if (Number.isInteger(v) && Math.abs(v) < 1e15) return String(v);
  const a = Math.abs(v);
  if (a !== 0 && (a < 1e-3 || a >= 1e6)) return Number(v.toPrecision(3)).toExponential().replace('e+', 'e');
  return String(+v.toPrecision(digits || 4));
}
function fmtSeconds(x) {
  if (!finite(x)) return '\u2013';
  if (x < 60) return x.toFixed(1) + ' s';
  if (x < 3600) return (x / 60).toFixed(1) + ' min';
  return (x / 3600).toFixed(2) + ' h';
}
function fmtBytes(b) {
  if (!finite(b) || b < 0) return '\u2013';
  return b >= 1 << 30 ? (b / (1 << 30)).toFixed(2) + ' GiB' : (b / (1 << 20)).toFixed(1) + ' MiB';
}

// ---- scales -------------------------------------------------------------------------------
function extent(vals, log) {
  let lo = Infinity, hi = -Infinity;
  for (const v of vals) if (finite(v) && (!log || v > 0)) { if (v < lo) lo = v; if (v > hi) hi = v; }
  return lo === Infinity ? null : [lo, hi];
}
function niceTicks(lo, hi, n) {
  const raw = (hi - lo) / n, p = Math.pow(10, Math.floor(Math.log10(raw))), f = raw / p;
  const step = (f < 1.5 ? 1 : f < 3 ? 2 : f < 7 ? 5 : 10) * p;
  const out = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) out.push(+v.toPrecision(12));
  return out;
}
// An axis maps a value to [0, 1] (unit) and lists its ticks; null when no value can be shown.
// opt: {log, categories (labels; values are indices, fractions allowed for jitter), zero (start at
// 0 when all values are >= 0), integer (integer ticks only), n (about how many ticks)}.
function axis(vals, opt) {
  opt = opt || {};
  if (opt.categories) {
    const n = Math.max(1, opt.categories.length);
    if (!vals.some(finite)) return null;
    return {ok: finite, unit: v => (v + 0.5) / n,
            ticks: opt.categories.map((c, i) => ({u: (i + 0.5) / n, label: fmt(c)}))};
  }
  const e = extent(vals, opt.log);
  if (!e) return null;
  if (opt.log) {
    let a = Math.log10(e[0]), b = Math.log10(e[1]);
    if (a === b) { a -= 0.5; b += 0.5; } else { const pad = (b - a) * 0.05; a -= pad; b += pad; }
    let ticks = [];
    for (const mult of [[1], [1, 2, 5], [1, 2, 3, 4, 5, 6, 7, 8, 9]]) {
      ticks = [];
      for (let k = Math.floor(a); k <= Math.ceil(b); k++) {
        for (const m of mult) { const t = Math.log10(m) + k; if (t >= a && t <= b) ticks.push(t); }
      }
      if (ticks.length >= 3) break;
    }
    return {ok: v => finite(v) && v > 0, unit: v => (Math.log10(v) - a) / (b - a),
            ticks: ticks.map(t => ({u: (t - a) / (b - a), label: fmt(Math.pow(10, t), 3)}))};
  }
  let lo = e[0], hi = e[1];
  if (lo === hi) { const d = lo === 0 ? 1 : Math.abs(lo) * 0.1; lo -= d; hi += d; }
  else { const pad = (hi - lo) * 0.04; lo -= pad; hi += pad; }
  if (opt.zero && e[0] >= 0) lo = 0;
  let ticks = niceTicks(lo, hi, opt.n || 5);
  if (opt.integer) ticks = ticks.filter(Number.isInteger);  // trial numbers: no 0.5
  return {ok: finite, unit: v => (v - lo) / (hi - lo),
          ticks: ticks.map(v => ({u: (v - lo) / (hi - lo), label: fmt(v)}))};
}

// ---- plots --------------------------------------------------------------------------------
function card(parent, title, wide) {
  const c = h('div', {class: wide ? 'card wide' : 'card'}, null, parent);
  h('h3', null, title, c);
  return c;
}
function noData(svg, W, H, why) {
  s('text', {x: W / 2, y: H / 2 - 4, 'text-anchor': 'middle', class: 'nodata'}, svg, 'no data');
  if (why) s('text', {x: W / 2, y: H / 2 + 16, 'text-anchor': 'middle'}, svg, why);
  svg.setAttribute('data-points', '0');
}
function legend(svg, items, x, y) {
  for (const it of items) {
    if (it.dash) s('line', {x1: x, y1: y - 4, x2: x + 14, y2: y - 4, stroke: it.color, 'stroke-width': 2,
                            'stroke-dasharray': '4 3'}, svg);
    else s('rect', {x: x, y: y - 9, width: 12, height: 10, rx: 2, fill: it.color}, svg);
    s('text', {x: x + 17, y: y}, svg, it.name);
    x += 30 + it.name.length * 6.2;
  }
}
// An x/y plot. o: {id, title, xLabel, yLabel, xOpt, yOpt, empty (why there is no data),
// series: [{name, color, x: [], y: [], mode: 'line' | 'step' | 'dots', labels: [] (dot tooltips),
// thin (a faint line under a bolder one), dash}]}.
function plotXY(parent, o) {
  const W = 580, H = 300, M = {l: 70, r: 16, t: 26, b: 46};
  const pw = W - M.l - M.r, ph = H - M.t - M.b;
  const c = card(parent, o.title);
  const svg = s('svg', {class: 'plot', viewBox: '0 0 ' + W + ' ' + H, 'data-plot': o.id, role: 'img',
                        'aria-label': o.title}, c);
  const xs = [], ys = [];
  for (const se of o.series) for (let i = 0; i < se.x.length; i++) { xs.push(se.x[i]); ys.push(se.y[i]); }
  const X = axis(xs, o.xOpt), Y = axis(ys, o.yOpt);
  s('rect', {x: M.l, y: M.t, width: pw, height: ph, fill: 'none', class: 'axis-line'}, svg);
  s('text', {x: M.l + pw / 2, y: H - 8, 'text-anchor': 'middle', class: 'axis-label'}, svg, o.xLabel);
  s('text', {x: 13, y: M.t + ph / 2, 'text-anchor': 'middle', class: 'axis-label',
             transform: 'rotate(-90 13 ' + (M.t + ph / 2) + ')'}, svg, o.yLabel);
  if (!X || !Y) { noData(svg, W, H, o.empty); return svg; }
  const px = v => M.l + X.unit(v) * pw, py = v => M.t + (1 - Y.unit(v)) * ph;
  for (const t of X.ticks) {
    const x = M.l + t.u * pw;
    s('line', {x1: x, y1: M.t, x2: x, y2: M.t + ph, class: 'grid-line'}, svg);
    s('line', {x1: x, y1: M.t + ph, x2: x, y2: M.t + ph + 4, class: 'axis-line'}, svg);
    s('text', {x: x, y: M.t + ph + 16, 'text-anchor': 'middle'}, svg, t.label);
  }
  for (const t of Y.ticks) {
    const y = M.t + (1 - t.u) * ph;
    s('line', {x1: M.l, y1: y, x2: M.l + pw, y2: y, class: 'grid-line'}, svg);
    s('line', {x1: M.l - 4, y1: y, x2: M.l, y2: y, class: 'axis-line'}, svg);
    s('text', {x: M.l - 7, y: y + 4, 'text-anchor': 'end'}, svg, t.label);
  }
  let count = 0;
  o.series.forEach((se, k) => {
    const color = se.color || PALETTE[k % PALETTE.length];
    let d = '', pen = false, last = null;
    for (let i = 0; i < se.x.length; i++) {
      const x = se.x[i], y = se.y[i];
      if (!X.ok(x) || !Y.ok(y)) { pen = false; continue; }
      ++count;
      const X1 = px(x).toFixed(1), Y1 = py(y).toFixed(1);
      if (se.mode === 'dots') {
        const dot = s('circle', {cx: X1, cy: Y1, r: 3.6, fill: color, 'fill-opacity': 0.8}, svg);
        if (se.labels) s('title', {}, dot, se.labels[i]);
        continue;
      }
      if (!pen) d += 'M' + X1 + ',' + Y1;
      else if (se.mode === 'step') d += 'H' + X1 + 'V' + Y1;
      else d += 'L' + X1 + ',' + Y1;
      pen = true;
      last = [X1, Y1];
    }
    if (d) {
      s('path', {d: d, fill: 'none', stroke: color, 'stroke-width': se.thin ? 1 : 1.6, 'stroke-linejoin': 'round',
                 'stroke-opacity': se.thin ? 0.45 : 1, 'stroke-dasharray': se.dash ? '5 3' : 'none'}, svg);
      if (last && d.indexOf('L') < 0 && d.indexOf('H') < 0) s('circle', {cx: last[0], cy: last[1], r: 2.5, fill: color}, svg);
    }
  });
  if (o.series.length > 1 || o.legend) {
    legend(svg, o.series.map((se, k) => ({name: se.name, color: se.color || PALETTE[k % PALETTE.length],
                                           dash: se.dash})), M.l + 4, 16);
  }
  if (count === 0) { noData(svg, W, H, o.empty); return svg; }
  svg.setAttribute('data-points', String(count));
  return svg;
}

// ---- tables -------------------------------------------------------------------------------
function table(parent, headers, rows, numeric) {
  const wrap = h('div', {class: 'table-wrap'}, null, parent);
  const t = h('table', null, null, wrap);
  const tr = h('tr', null, null, h('thead', null, null, t));
  headers.forEach((x, i) => h('th', numeric && numeric[i] ? {class: 'num'} : null, x, tr));
  const body = h('tbody', null, null, t);
  for (const r of rows) {
    const row = h('tr', r.cls ? {class: r.cls} : null, null, body);
    (r.cells || r).forEach((x, i) => {
      const td = h('td', numeric && numeric[i] ? {class: 'num'} : null, null, row);
      if (x instanceof Node) td.appendChild(x); else td.textContent = x === undefined ? '' : fmt(x);
    });
  }
  return t;
}
function flatten(obj, prefix, out) {
  for (const k of Object.keys(obj)) {
    const v = obj[k];
    if (v && typeof v === 'object' && !Array.isArray(v)) flatten(v, prefix + k + '.', out);
    else out.push([prefix + k, Array.isArray(v) ? JSON.stringify(v) : v]);
  }
  return out;
}
function keyValues(parent, obj, empty) {
  if (!obj || typeof obj !== 'object' || Object.keys(obj).length === 0) { h('p', {class: 'muted'}, empty, parent); return; }
  table(parent, ['key', 'value'], flatten(obj, '', [])).classList.add('kv');
}

// ---- page frame ---------------------------------------------------------------------------
function header(title, sub, badges) {
  const top = h('header', {class: 'top'}, null, root);
  h('h1', null, title, top);
  h('div', {class: 'sub'}, sub, top);
  const b = h('div', {class: 'badges'}, null, top);
  for (const x of badges) {
    const e = h('div', {class: 'badge' + (x.cls ? ' ' + x.cls : '')}, null, b);
    h('b', null, x.k, e);
    h('span', null, x.v, e);
  }
}
function sections(list) {
  const nav = h('nav', null, null, root);
  const out = {};
  for (const [id, title] of list) {
    h('a', {href: '#' + id}, title, nav);
    const sec = h('section', {id: id}, null, root);
    h('h2', null, title, sec);
    out[id] = sec;
  }
  return out;
}
function notes(list) {
  for (const n of list || []) h('div', {class: 'note'}, n, root);
}

// ---- a run --------------------------------------------------------------------------------
function runPage() {
  const st = D.steps, ev = D.evals, sum = D.summary;
  const main = ev.main;
  const mainVals = main ? ev.metrics[main].filter(finite) : [];
  const badges = [{k: 'status', v: D.status, cls: sum ? 'ok' : 'warn'}, {k: 'task', v: D.task || '\u2013'}];
  if (main) badges.push({k: main + (mainVals.length ? ' (last eval)' : ''), v: mainVals.length ? fmt(mainVals[mainVals.length - 1]) : 'no evaluations'});
  badges.push({k: 'steps', v: st.step.length ? String(st.step[st.step.length - 1]) : '0'});
  if (sum && sum.model) badges.push({k: 'model', v: String(sum.model)});
  if (sum && sum.device) badges.push({k: 'device', v: String(sum.device)});
  if (sum && finite(sum.train_seconds)) badges.push({k: 'train time', v: fmtSeconds(sum.train_seconds)});
  header('run ' + D.name, D.dir, badges);
  notes(D.notes);
  const S = sections([['training', 'Training'], ['evaluation', 'Evaluation'], ['throughput', 'Throughput'],
                      ['profile', 'Profile'], ['config', 'Config'], ['environment', 'Environment'],
                      ['summary', 'Summary']]);

  let g = h('div', {class: 'grid'}, null, S.training);
  const noSteps = 'metrics.jsonl has no step records';
  plotXY(g, {id: 'loss', title: 'Training loss per step', xLabel: 'step', xOpt: {integer: true}, yLabel: 'loss', empty: noSteps,
             series: [{name: 'loss', x: st.step, y: st.loss}]});
  plotXY(g, {id: 'lr', title: 'Learning rate per step', xLabel: 'step', xOpt: {integer: true}, yLabel: 'learning rate', empty: noSteps,
             series: [{name: 'lr', x: st.step, y: st.lr, color: PALETTE[2]}]});
  if (st.grad_norm.some(finite)) {
    plotXY(g, {id: 'grad-norm', title: 'Gradient norm (before clipping)', xLabel: 'step', xOpt: {integer: true}, yLabel: 'global norm',
               series: [{name: 'grad norm', x: st.grad_norm.map((_, i) => st.step[i]), y: st.grad_norm, color: PALETTE[3]}]});
  }

  g = h('div', {class: 'grid'}, null, S.evaluation);
  const names = Object.keys(ev.metrics);
  if (names.length === 0) {
    plotXY(g, {id: 'eval', title: 'Evaluation metrics', xLabel: 'step', xOpt: {integer: true}, yLabel: 'value',
               empty: 'no evaluation records in metrics.jsonl', series: []});
  }
  names.sort((a, b) => (b === main) - (a === main));
  names.forEach((m, k) => {
    plotXY(g, {id: 'eval-' + m, title: m + ' per evaluation', xLabel: 'step', xOpt: {integer: true}, yLabel: m,
               series: [{name: m, x: ev.step, y: ev.metrics[m], color: PALETTE[(k + 4) % PALETTE.length]}]});
  });
  if (ev.step.length) {
    const rows = ev.step.map((stp, i) => [stp, ev.epoch[i]].concat(names.map(m => ev.metrics[m][i])));
    table(S.evaluation, ['step', 'epoch'].concat(names), rows, rows[0].map(() => true));
  }

  g = h('div', {class: 'grid'}, null, S.throughput);
  // One point per logged interval (records flushed together share their time_s), and over
  // it, on a long run, the rate over the last throughput_window intervals: the trend.
  const tput = [{name: 'per interval', x: st.time_s, y: st.throughput, color: PALETTE[5], thin: true}];
  if (st.throughput_window >= 2) {
    tput.push({name: 'rolling, ' + st.throughput_window + ' intervals', x: st.time_s, y: st.throughput_rolling,
               color: PALETTE[0]});
  }
  plotXY(g, {id: 'throughput', title: 'Throughput (' + D.throughput_unit + ')',
             xLabel: 'time since start (s)',
             yLabel: D.throughput_unit, yOpt: {zero: true}, legend: true,
             empty: 'needs step records with samples and time_s', series: tput});
  plotXY(g, {id: 'data-wait', title: 'Data wait per step (ms)', xLabel: 'step',
             yLabel: 'data wait (ms)', yOpt: {zero: true}, empty: noSteps,
             series: [{name: 'data wait', x: st.step, y: st.data_wait_ms, color: PALETTE[1]}]});
  if (sum && finite(sum.samples_per_s)) {
    h('p', {class: 'muted'}, 'Whole run: ' + fmt(sum.samples_per_s) + ' samples/s' +
      (finite(sum.tokens_per_s) ? ', ' + fmt(sum.tokens_per_s) + ' tokens/s' : '') + ' (summary.json).', S.throughput);
  }

  profileSection(S.profile, D.profile);
  if (D.config_toml) h('pre', null, D.config_toml, S.config);
  else h('p', {class: 'muted'}, 'no config.toml in the run dir', S.config);
  if (D.manifest) {
    h('h3', null, 'manifest.json', S.environment);
    keyValues(S.environment, D.manifest, 'no manifest.json');
    h('h3', null, 'environment', S.environment);
  }
  keyValues(S.environment, D.environment, 'no environment record (manifest.json is missing)');
  keyValues(S.summary, sum, 'not finished: no summary.json yet (the run is still going, was stopped or failed)');
}

function profileSection(sec, P) {
  if (!P) {
    h('p', {class: 'muted'}, 'Not profiled: no profile/ in the run dir. Profile a run with ' +
      '`kiln train --profile-steps A:B` (or `kiln profile`).', sec);
    return;
  }
  const r = P.report || {};
  const w = r.window || {};
  h('p', null, 'Steps ' + fmt(w.first_step) + '\u2013' + fmt(w.last_step) + ' on ' + (r.device || '?') + ' (' +
    (r.timing || '?') + '), ' + fmt(r.samples_per_s) + ' samples/s; peak memory ' +
    fmtBytes(r.peak_memory ? r.peak_memory.bytes : null) + ' (' + (r.peak_memory ? r.peak_memory.kind : '?') +
    '); telemetry: ' + (r.telemetry ? r.telemetry.note : '\u2013'), sec);
  if (r.verdict) {
    const v = h('div', {class: 'verdict'}, null, sec);
    h('b', null, r.verdict.kind, v);
    v.appendChild(document.createTextNode(': ' + (r.verdict.reason || '')));
    const ul = h('ul', null, null, sec);
    for (const x of r.verdict.suggestions || []) h('li', null, x, ul);
  }
  const rows = (r.phases || []).map(p => {
    const share = h('span');
    if (finite(p.share)) {
      h('span', {class: 'share-bar', style: 'width:' + Math.max(1, Math.round(p.share * 120)) + 'px'}, null, share);
      share.appendChild(document.createTextNode((p.share * 100).toFixed(1) + ' %'));
    }
    const name = p.name === 'h2d_copy' ? '\u2003h2d_copy (within data_wait)' : p.name;
    return [name, p.count, p.mean_ms, p.p50_ms, p.p95_ms, p.total_ms, share];
  });
  table(sec, ['phase', 'count', 'mean ms', 'p50 ms', 'p95 ms', 'total ms', 'share of step'], rows,
        [false, true, true, true, true, true, false]);
  timeline(card(sec, 'Timeline of the profiling window (profile/trace.json, host clock)', true), P);
}

function timeline(parent, P) {
  const ev = P.events || [], threads = P.threads || {};
  const W = 1180, M = {l: 110, r: 16, t: 28, b: 40}, ROW = 13, GAP = 10;
  const tids = Array.from(new Set(ev.map(e => e.tid))).sort((a, b) => a - b);
  const lanes = tids.map(tid => {
    const rows = Array.from(new Set(ev.filter(e => e.tid === tid).map(e => PHASE_ROW[e.name] === undefined ? 2 : PHASE_ROW[e.name]))).sort();
    return {tid: tid, rows: rows};
  });
  let y = M.t;
  for (const l of lanes) { l.y = y; y += l.rows.length * ROW + GAP; }
  const H = Math.max(160, y + M.b);
  const svg = s('svg', {class: 'plot', viewBox: '0 0 ' + W + ' ' + H, 'data-plot': 'timeline', role: 'img',
                        'aria-label': 'profiling timeline'}, parent);
  const pw = W - M.l - M.r;
  s('text', {x: M.l + pw / 2, y: H - 6, 'text-anchor': 'middle', class: 'axis-label'}, svg, 'time since the window opened (ms)');
  if (ev.length === 0) { noData(svg, W, H, 'trace.json holds no spans'); return; }
  const endMs = Math.max.apply(null, ev.map(e => (e.ts + e.dur) / 1000));
  const X = axis([0, endMs], {n: 10, zero: true});
  const px = ms => M.l + X.unit(ms) * pw;
  for (const t of X.ticks) {
    const x = M.l + t.u * pw;
    s('line', {x1: x, y1: M.t - 4, x2: x, y2: y - GAP, class: 'grid-line'}, svg);
    s('text', {x: x, y: y - GAP + 14, 'text-anchor': 'middle'}, svg, t.label);
  }
  let count = 0;
  for (const l of lanes) {
    const name = threads[String(l.tid)] || ('thread ' + l.tid);
    s('text', {x: M.l - 8, y: l.y + ROW * l.rows.length / 2 + 4, 'text-anchor': 'end', class: 'axis-label'}, svg, name);
    s('line', {x1: M.l, y1: l.y + l.rows.length * ROW + GAP / 2, x2: M.l + pw, y2: l.y + l.rows.length * ROW + GAP / 2,
               class: 'grid-line'}, svg);
  }
  const laneOf = {};
  for (const l of lanes) laneOf[l.tid] = l;
  for (const e of ev) {
    const l = laneOf[e.tid];
    const row = l.rows.indexOf(PHASE_ROW[e.name] === undefined ? 2 : PHASE_ROW[e.name]);
    const x0 = px(e.ts / 1000), x1 = px((e.ts + e.dur) / 1000);
    const r = s('rect', {x: x0.toFixed(2), y: l.y + row * ROW + 1, width: Math.max(0.6, x1 - x0).toFixed(2),
                         height: ROW - 2, fill: PHASE_COLORS[e.name] || '#64748b'}, svg);
    s('title', {}, r, e.name + ': ' + fmt(e.dur / 1000) + ' ms at ' + fmt(e.ts / 1000) + ' ms');
    ++count;
  }
  const present = Object.keys(PHASE_COLORS).filter(p => ev.some(e => e.name === p));
  legend(svg, present.map(p => ({name: p, color: PHASE_COLORS[p]})), M.l, 16);
  svg.setAttribute('data-points', String(count));
}

// ---- a sweep ------------------------------------------------------------------------------
function sweepPage() {
  const T = D.trials, maximize = D.direction === 'maximize', sum = D.summary;
  const better = (a, b) => maximize ? a > b : a < b;
  let best = null;
  for (const t of T) if (t.state === 'COMPLETE' && finite(t.value) && (!best || better(t.value, best.value))) best = t;
  const count = st => T.filter(t => t.state === st).length;
  header('sweep ' + D.name, D.dir, [
    {k: 'status', v: D.status, cls: sum ? 'ok' : 'warn'},
    {k: 'trials', v: T.length + ' (' + count('COMPLETE') + ' complete, ' + count('PRUNED') + ' pruned, ' +
                     count('FAIL') + ' failed)'},
    {k: 'objective', v: D.metric + ' (' + D.direction + ')'},
    {k: 'best', v: best ? fmt(best.value) + ' (trial ' + best.number + ')' : 'no complete trial'}]);
  const S = sections([['history', 'Optimisation history'], ['params', 'Parameters vs objective'],
                      ['parallel', 'Parallel coordinates'], ['leaderboard', 'Leaderboard'], ['summary', 'Summary']]);

  // History: every trial's objective by state, and the best complete value so far.
  let g = h('div', {class: 'grid'}, null, S.history);
  const series = ['COMPLETE', 'PRUNED'].map(st => {
    const ts = T.filter(t => t.state === st);
    return {name: st.toLowerCase(), color: STATE_COLORS[st], mode: 'dots', x: ts.map(t => t.number),
            y: ts.map(t => t.value), labels: ts.map(t => 'trial ' + t.number + ': ' + fmt(t.value))};
  });
  const bx = [], by = [];
  let run = null;
  for (const t of T) {
    if (t.state !== 'COMPLETE' || !finite(t.value)) continue;
    if (run === null || better(t.value, run)) run = t.value;
    bx.push(t.number); by.push(run);
  }
  series.push({name: 'best so far', color: '#111827', mode: 'step', x: bx, y: by});
  plotXY(g, {id: 'history', title: D.metric + ' per trial', xLabel: 'trial number', yLabel: D.metric,
             xOpt: {integer: true},
             legend: true, empty: 'no trial has an objective value yet', series: series});
  const durs = T.filter(t => finite(t.duration_s));
  plotXY(g, {id: 'durations', title: 'Wall time per trial', xLabel: 'trial number', yLabel: 'seconds',
             xOpt: {integer: true},
             yOpt: {zero: true}, empty: 'no finished trial',
             series: [{name: 'wall time', mode: 'dots', color: PALETTE[5], x: durs.map(t => t.number),
                       y: durs.map(t => t.duration_s), labels: durs.map(t => 'trial ' + t.number + ': ' + fmtSeconds(t.duration_s))}]});

  g = h('div', {class: 'grid'}, null, S.params);
  if (D.space.length === 0) h('p', {class: 'muted'}, 'no parameters: the study has no trial with params yet', S.params);
  for (const p of D.space) paramScatter(g, p, T);

  parallel(card(S.parallel, 'Each line is a trial with an objective value; darker is better', true), D.space, T, maximize);

  leaderboard(S.leaderboard, T, best, maximize);
  keyValues(S.summary, sum, 'no summary.json yet: the sweep is running or was stopped');
}

// A categorical value's index among the choices (JSON equality), or -1.
function choiceIndex(p, v) {
  const key = JSON.stringify(v);
  return p.choices.findIndex(c => JSON.stringify(c) === key);
}
// A param value as a plot coordinate: the number itself, or for a categorical its index
// spread by a small deterministic jitter so equal choices do not hide each other.
function paramCoord(p, v, number) {
  if (p.kind !== 'categorical') return typeof v === 'number' ? v : null;
  const i = choiceIndex(p, v);
  return i < 0 ? null : i + (((number * 0.6180339887) % 1) - 0.5) * 0.4;
}

function paramScatter(parent, p, T) {
  const series = ['COMPLETE', 'PRUNED'].map(st => {
    const ts = T.filter(t => t.state === st && p.name in t.params);
    return {name: st.toLowerCase(), color: STATE_COLORS[st], mode: 'dots',
            x: ts.map(t => paramCoord(p, t.params[p.name], t.number)), y: ts.map(t => t.value),
            labels: ts.map(t => 'trial ' + t.number + ': ' + p.name + ' = ' + fmt(t.params[p.name]) + ', ' + fmt(t.value))};
  });
  const xOpt = p.kind === 'categorical' ? {categories: p.choices} : {log: p.log};
  plotXY(parent, {id: 'param-' + p.name, title: p.name + ' (' + p.kind + (p.log ? ', log' : '') + ') vs ' + D.metric,
                  xLabel: p.name, yLabel: D.metric, xOpt: xOpt, legend: true,
                  empty: 'no trial with this param has an objective value', series: series});
}

function parallel(parent, space, T, maximize) {
  const W = 1180, H = 340, M = {l: 60, r: 90, t: 30, b: 44};
  const pw = W - M.l - M.r, ph = H - M.t - M.b;
  const svg = s('svg', {class: 'plot', viewBox: '0 0 ' + W + ' ' + H, 'data-plot': 'parallel', role: 'img',
                        'aria-label': 'parallel coordinates'}, parent);
  const rows = T.filter(t => finite(t.value));
  if (space.length === 0 || rows.length === 0) { noData(svg, W, H, 'needs params and at least one objective value'); return; }
  // One axis per param, then the objective.
  const axes = space.map(p => {
    const coords = rows.map(t => {
      if (!(p.name in t.params)) return null;
      if (p.kind !== 'categorical') return t.params[p.name];
      const i = choiceIndex(p, t.params[p.name]);
      return i < 0 ? null : i;
    });
    const A = axis(coords, p.kind === 'categorical' ? {categories: p.choices} : {log: p.log});
    return {name: p.name, A: A, coords: coords};
  });
  axes.push({name: D.metric, A: axis(rows.map(t => t.value), {}), coords: rows.map(t => t.value)});
  const xAt = i => M.l + (axes.length === 1 ? pw / 2 : i * pw / (axes.length - 1));
  const vals = rows.map(t => t.value);
  const lo = Math.min.apply(null, vals), hi = Math.max.apply(null, vals);
  // 1 = best, 0 = worst: the line's colour (dark blue best, pale worst).
  const goodness = v => hi === lo ? 1 : (maximize ? (v - lo) / (hi - lo) : (hi - v) / (hi - lo));
  const order = rows.map((_, i) => i).sort((a, b) => goodness(vals[a]) - goodness(vals[b]));
  let count = 0;
  for (const i of order) {
    let d = '', pen = false;
    axes.forEach((ax, k) => {
      const v = ax.coords[i];
      if (!ax.A || v === null || !ax.A.ok(v)) { pen = false; return; }
      const x = xAt(k).toFixed(1), y = (M.t + (1 - ax.A.unit(v)) * ph).toFixed(1);
      d += (pen ? 'L' : 'M') + x + ',' + y;
      pen = true;
    });
    if (!d) continue;
    const g = goodness(vals[i]);
    const light = Math.round(85 - g * 55);
    const path = s('path', {d: d, fill: 'none', stroke: 'hsl(221, 75%, ' + light + '%)', 'stroke-width': 1.2 + g * 1.3,
                            'stroke-opacity': 0.85, 'stroke-dasharray': rows[i].state === 'PRUNED' ? '4 3' : 'none'}, svg);
    s('title', {}, path, 'trial ' + rows[i].number + ' (' + rows[i].state + '): ' + fmt(rows[i].value));
    ++count;
  }
  axes.forEach((ax, k) => {
    const x = xAt(k);
    s('line', {x1: x, y1: M.t, x2: x, y2: M.t + ph, stroke: '#52606d', 'stroke-width': 1.2}, svg);
    s('text', {x: x, y: H - 16, 'text-anchor': 'middle', class: 'axis-label'}, svg, ax.name);
    if (!ax.A) return;
    for (const t of ax.A.ticks) {
      const y = M.t + (1 - t.u) * ph;
      s('line', {x1: x - 3, y1: y, x2: x + 3, y2: y, stroke: '#52606d'}, svg);
      s('text', {x: x + 6, y: y + 4}, svg, t.label);
    }
  });
  legend(svg, [{name: 'complete', color: 'hsl(221, 75%, 40%)'}, {name: 'pruned (dashed)', color: 'hsl(221, 75%, 60%)', dash: true}], M.l, 16);
  svg.setAttribute('data-points', String(count));
}

function leaderboard(sec, T, best, maximize) {
  const rank = {COMPLETE: 0, PRUNED: 1, FAIL: 2, RUNNING: 3, WAITING: 4};
  const sorted = T.slice().sort((a, b) => {
    if (rank[a.state] !== rank[b.state]) return rank[a.state] - rank[b.state];
    if (a.state === 'COMPLETE' && finite(a.value) && finite(b.value) && a.value !== b.value) {
      return maximize ? b.value - a.value : a.value - b.value;
    }
    return a.number - b.number;
  });
  const names = D.space.map(p => p.name);
  const rows = sorted.map((t, i) => {
    const state = h('span', {class: 'state-' + t.state}, t.state);
    const cells = [i + 1, t.number, state, t.value, fmtSeconds(t.duration_s)]
      .concat(names.map(n => n in t.params ? t.params[n] : undefined))
      .concat([t.fail_reason || '', t.run_dir || '']);
    return {cls: best && t.number === best.number ? 'best' : '', cells: cells};
  });
  if (rows.length === 0) { h('p', {class: 'muted'}, 'no trials yet', sec); return; }
  table(sec, ['#', 'trial', 'state', D.metric, 'time'].concat(names).concat(['note', 'run dir']), rows,
        [true, true, false, true, true].concat(names.map(() => true)).concat([false, false]));
}

if (D.kind === 'sweep') sweepPage(); else runPage();
document.body.setAttribute('data-rendered', 'ok');
})();
)JS";

}  // namespace kiln::report
