// The game-day console (shakedown gameday, /ui): every view is drawn from what the control API
// reports (/toxic-types, /journal.json, the /events stream) and every change goes through it.
// User strings only ever reach the page as text nodes (never as HTML); the page makes no request
// outside its origin (the server's Content-Security-Policy forbids it anyway).
'use strict';

const HISTORY = 120; // seconds (or samples) kept for the charts and strips
const KEEP = 'shakedown.console'; // sessionStorage key of the charts' history
const state = {
  token: sessionStorage.getItem('shakedown.token') || '',
  types: [],
  proxies: {},
  prev: null, // the previous metrics event, for rates
  traffic: {}, // proxy -> [{t, conns, up, down, req, err, p50, p99}]
  load: [], // load events
  probes: {}, // probe -> [{pass, detail}]
  seq: null, // the last journal event shown
  cards: new Map(), // proxy -> its card's parts
};

// ---------------------------------------------------------------------------------------------
// DOM helpers: text only.

/** An element with attributes (`text` sets textContent, `class` the class) and children. */
function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'text') e.textContent = String(v);
    else if (k === 'class') e.className = v;
    else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) {
    if (c !== null && c !== undefined) e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return e;
}

const $ = (id) => document.getElementById(id);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function fmtNumber(v, digits = 1) {
  if (v === null || v === undefined || !Number.isFinite(v)) return '–';
  return Math.abs(v) >= 100 ? v.toFixed(0) : v.toFixed(digits);
}
function fmtBytes(v) {
  if (!Number.isFinite(v)) return '–';
  const units = ['B', 'kB', 'MB', 'GB'];
  let i = 0;
  while (Math.abs(v) >= 1000 && i < units.length - 1) { v /= 1000; i += 1; }
  return `${fmtNumber(v)} ${units[i]}`;
}
const fmtMs = (v) => (v === null || v === undefined ? '–' : `${fmtNumber(v)} ms`);
const fmtPct = (v) => (Number.isFinite(v) ? `${fmtNumber(v * 100)} %` : '–');

/** A small inline SVG line of `values` (nulls leave gaps), scaled to its own maximum. */
function sparkline(values, label) {
  const W = 160;
  const H = 32;
  const ns = 'http://www.w3.org/2000/svg';
  const svg = document.createElementNS(ns, 'svg');
  svg.setAttribute('viewBox', `0 0 ${W} ${H}`);
  svg.setAttribute('class', 'spark');
  svg.setAttribute('role', 'img');
  svg.setAttribute('aria-label', label);
  const finite = values.filter((v) => Number.isFinite(v));
  const max = Math.max(1e-9, ...finite);
  // At least the last 30 s across the width, up to HISTORY as they come.
  const step = W / Math.max(29, values.length - 1);
  const x0 = W - (values.length - 1) * step;
  let d = '';
  let pen = false;
  values.forEach((v, i) => {
    if (!Number.isFinite(v)) { pen = false; return; }
    const x = (x0 + i * step).toFixed(1);
    const y = (H - 2 - (v / max) * (H - 4)).toFixed(1);
    d += `${pen ? 'L' : 'M'}${x} ${y}`;
    pen = true;
  });
  const path = document.createElementNS(ns, 'path');
  path.setAttribute('d', d || 'M0 0');
  svg.append(path);
  const title = document.createElementNS(ns, 'title');
  title.textContent = `${label}: max ${fmtNumber(finite.length ? max : NaN)} over the last ${values.length} s`;
  svg.append(title);
  return svg;
}

/** One figure: a label, its current value (as text) and its sparkline. */
function figure(label, text, values, name) {
  return el('div', { class: 'figure', 'data-figure': name },
    el('span', { class: 'label', text: label }),
    el('span', { class: 'value', text }),
    sparkline(values, label));
}

// ---------------------------------------------------------------------------------------------
// The API: the token (asked for once, kept in sessionStorage), the actor, JSON bodies.

let asking = null;
/** Show the token form and resolve once a token was given. */
function askToken() {
  if (asking) return asking;
  const form = $('auth');
  form.hidden = false;
  $('auth-token').focus();
  asking = new Promise((resolve) => {
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      state.token = $('auth-token').value.trim();
      sessionStorage.setItem('shakedown.token', state.token);
      form.hidden = true;
      asking = null;
      resolve();
    }, { once: true });
  });
  return asking;
}

/** Who the journal names for the page's changes: `console:NAME` (printable ASCII only). */
function actor() {
  const name = ($('note-author').value || 'anonymous').replace(/[^\x20-\x7e]/g, '?').trim();
  return `console:${name || 'anonymous'}`;
}

function headers(extra = {}) {
  const h = { 'x-shakedown-actor': actor(), ...extra };
  if (state.token) h.Authorization = `Bearer ${state.token}`;
  return h;
}

/** A request to the API; a 401 asks for the token and tries again. */
async function api(method, path, body) {
  for (;;) {
    const init = { method, headers: headers(), cache: 'no-store' };
    if (body !== undefined) {
      init.headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    let r;
    try {
      r = await fetch(path, init);
    } catch (e) {
      // The server is gone or unreachable: an answer the callers show like a refusal.
      const error = `cannot reach the control server (${e.message})`;
      return new Response(JSON.stringify({ error }), { status: 503 });
    }
    if (r.status !== 401) return r;
    await askToken();
  }
}

/** The error text of a refused request: the API's `{"error": …}` or the status line. */
async function refusal(r) {
  const text = await r.text();
  try { return JSON.parse(text).error || text; } catch { return text || `HTTP ${r.status}`; }
}

const path = (...parts) => `/${parts.map(encodeURIComponent).join('/')}`;

// ---------------------------------------------------------------------------------------------
// Toxic forms, built from /toxic-types.

/** The input for one attribute of a toxic type. */
function attributeInput(a, value) {
  const v = value !== undefined ? value : a.default;
  const common = { name: a.name, 'data-kind': a.kind, title: a.doc || null, required: a.required };
  if (a.kind === 'boolean') return el('input', { ...common, type: 'checkbox', checked: v === true });
  if (a.kind === 'integer' || a.kind === 'number') {
    return el('input', {
      ...common, type: 'number', step: a.kind === 'integer' ? '1' : 'any',
      min: a.min ?? null, max: a.max ?? null, value: v ?? '',
    });
  }
  if (a.kind === 'object' || a.kind === 'array') {
    return el('textarea', { ...common, rows: 2, placeholder: a.kind === 'object' ? '{…}' : '[…]' },
      v === null || v === undefined ? '' : JSON.stringify(v));
  }
  return el('input', { ...common, type: 'text', value: v ?? '' });
}

/** The value of one attribute's input and the problem with it, if any. */
function attributeValue(a, input) {
  if (a.kind === 'boolean') return { value: input.checked };
  const raw = input.value.trim();
  if (raw === '') return a.required ? { problem: 'required' } : { skip: true };
  if (a.kind === 'integer' || a.kind === 'number') {
    const n = Number(raw);
    if (!Number.isFinite(n)) return { problem: 'a number' };
    if (a.kind === 'integer' && !Number.isInteger(n)) return { problem: 'a whole number' };
    if (a.min !== null && a.min !== undefined && n < a.min) return { problem: `at least ${a.min}` };
    if (a.max !== null && a.max !== undefined && n > a.max) return { problem: `at most ${a.max}` };
    return { value: n };
  }
  if (a.kind === 'object' || a.kind === 'array') {
    try {
      const v = JSON.parse(raw);
      const ok = a.kind === 'array' ? Array.isArray(v) : v !== null && typeof v === 'object' && !Array.isArray(v);
      return ok ? { value: v } : { problem: `a JSON ${a.kind}` };
    } catch { return { problem: `a JSON ${a.kind}` }; }
  }
  return { value: raw };
}

/** The add/change form of one proxy's card. */
function toxicForm(proxy) {
  const form = el('form', { class: 'toxic-form', 'data-proxy': proxy, novalidate: true });
  const mode = el('h3', { text: 'Add a toxic' });
  const type = el('select', { name: 'type', 'aria-label': 'type' });
  const name = el('input', { name: 'name', placeholder: 'name (default TYPE_STREAM)', 'aria-label': 'name' });
  const stream = el('select', { name: 'stream', 'aria-label': 'stream' },
    el('option', { value: 'downstream', text: 'downstream' }), el('option', { value: 'upstream', text: 'upstream' }));
  const toxicity = el('input', { name: 'toxicity', type: 'number', min: 0, max: 1, step: 'any', value: 1, 'aria-label': 'toxicity' });
  const attrs = el('div', { class: 'attributes' });
  const doc = el('p', { class: 'muted doc' });
  const submit = el('button', { type: 'submit', text: 'Add' });
  const cancel = el('button', { type: 'button', text: 'Cancel', hidden: true });
  const error = el('span', { class: 'error server-error', role: 'alert' });
  form.append(mode, el('div', { class: 'row' },
    el('label', {}, 'type ', type), el('label', {}, 'name ', name),
    el('label', {}, 'stream ', stream), el('label', {}, 'toxicity ', toxicity)), doc, attrs,
  el('div', { class: 'row' }, submit, cancel, error));
  let editing = null; // the toxic being changed

  const typeOf = () => state.types.find((t) => t.type === type.value);
  let offered = '';
  /** Offer the types this proxy can take (HTTP ones on an HTTP-mode proxy only). */
  function fillTypes() {
    const http = state.proxies[proxy]?.protocol === 'http';
    const types = state.types.filter((t) => http || !t.http);
    const key = types.map((t) => t.type).join(' ');
    if (key === offered) return;
    offered = key;
    const chosen = type.value;
    type.replaceChildren(...types.map((t) => el('option', { value: t.type, text: t.http ? `${t.type} (HTTP)` : t.type })));
    if (chosen && types.some((t) => t.type === chosen)) type.value = chosen;
    if (type.value !== chosen) drawAttributes();
  }
  function drawAttributes(values = {}) {
    const t = typeOf();
    doc.textContent = t?.doc || '';
    attrs.replaceChildren(...(t?.attributes || []).map((a) => el('label', { class: 'attribute' },
      `${a.name}${a.unit ? ` (${a.unit})` : ''}${a.required ? ' *' : ''} `,
      attributeInput(a, values[a.name]), el('span', { class: 'error field-error', 'data-for': a.name }))));
  }
  function reset() {
    editing = null;
    form.reset();
    [type, name, stream].forEach((i) => { i.disabled = false; });
    mode.textContent = 'Add a toxic';
    submit.textContent = 'Add';
    cancel.hidden = true;
    error.textContent = '';
    drawAttributes();
  }
  type.addEventListener('change', () => drawAttributes());
  cancel.addEventListener('click', reset);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    error.textContent = '';
    const t = typeOf();
    if (!t) { error.textContent = 'choose a type'; return; }
    const attributes = {};
    let bad = false;
    for (const a of t.attributes) {
      const input = attrs.querySelector(`[name="${CSS.escape(a.name)}"]`);
      const out = attributeValue(a, input);
      attrs.querySelector(`[data-for="${CSS.escape(a.name)}"]`).textContent = out.problem ? `must be ${out.problem}` : '';
      if (out.problem) bad = true;
      else if (!out.skip) attributes[a.name] = out.value;
    }
    const p = Number(toxicity.value);
    if (!(p >= 0 && p <= 1)) { error.textContent = 'toxicity must be between 0 and 1'; bad = true; }
    if (bad) return;
    const body = { type: t.type, stream: stream.value, toxicity: p, attributes };
    if (!editing && name.value.trim()) body.name = name.value.trim();
    const r = editing
      ? await api('POST', path('proxies', proxy, 'toxics', editing), body)
      : await api('POST', path('proxies', proxy, 'toxics'), body);
    if (!r.ok) { error.textContent = await refusal(r); return; }
    reset();
    refreshProxies();
  });
  form.edit = (toxic) => {
    editing = toxic.name;
    type.value = toxic.type;
    name.value = toxic.name;
    stream.value = toxic.stream;
    toxicity.value = toxic.toxicity;
    [type, name, stream].forEach((i) => { i.disabled = true; });
    mode.textContent = `Change ${toxic.name}`;
    submit.textContent = 'Change';
    cancel.hidden = false;
    error.textContent = '';
    drawAttributes(toxic.attributes || {});
  };
  form.fillTypes = fillTypes;
  fillTypes();
  return form;
}

// ---------------------------------------------------------------------------------------------
// Proxies.

const TOXIC_FIELDS = new Set(['name', 'type', 'stream', 'toxicity', 'attributes']);

function toxicRow(proxy, t, form) {
  const attrs = Object.entries(t.attributes || {}).map(([k, v]) => `${k}=${typeof v === 'object' ? JSON.stringify(v) : v}`).join(' ');
  const counters = Object.entries(t).filter(([k, v]) => !TOXIC_FIELDS.has(k) && typeof v === 'number')
    .map(([k, v]) => `${k} ${v}`).join(', ');
  return el('tr', { class: 'toxic', 'data-toxic': t.name },
    el('td', { text: t.name }), el('td', { text: t.type }), el('td', { text: t.stream }),
    el('td', { text: fmtNumber(t.toxicity, 2) }), el('td', { class: 'mono', text: attrs }),
    el('td', { class: 'mono', text: counters || '–' }),
    el('td', {},
      el('button', { type: 'button', text: 'Change', onclick: () => form.edit(t) }),
      el('button', {
        type: 'button', class: 'danger', text: 'Remove',
        onclick: async () => {
          const r = await api('DELETE', path('proxies', proxy, 'toxics', t.name));
          if (!r.ok) form.querySelector('.server-error').textContent = await refusal(r);
          refreshProxies();
        },
      })));
}

function card(name) {
  if (state.cards.has(name)) return state.cards.get(name);
  const parts = {
    root: el('article', { class: 'card proxy', 'data-proxy': name }),
    title: el('h3'),
    toggle: el('button', { type: 'button' }),
    traffic: el('div', { class: 'figures' }),
    toxics: el('tbody'),
    form: toxicForm(name),
  };
  parts.toggle.addEventListener('click', async () => {
    const p = state.proxies[name];
    const r = await api('POST', path('proxies', name), { enabled: !(p && p.enabled) });
    if (!r.ok) parts.form.querySelector('.server-error').textContent = await refusal(r);
    refreshProxies();
  });
  parts.root.append(el('div', { class: 'row' }, parts.title, parts.toggle), parts.traffic,
    el('table', { class: 'toxics' }, el('thead', {}, el('tr', {},
      ...['toxic', 'type', 'stream', 'toxicity', 'attributes', 'counters', ''].map((h) => el('th', { text: h })))),
    parts.toxics), parts.form);
  state.cards.set(name, parts);
  return parts;
}

/** Draw every proxy (from /proxies or the metrics event; the same fields). */
function drawProxies() {
  const names = Object.keys(state.proxies).sort();
  $('no-proxies').hidden = names.length > 0;
  for (const [name, parts] of state.cards) {
    if (!state.proxies[name]) { parts.root.remove(); state.cards.delete(name); }
  }
  const list = $('proxies');
  for (const name of names) {
    const p = state.proxies[name];
    const parts = card(name);
    if (!parts.root.isConnected) list.append(parts.root);
    parts.title.replaceChildren(el('span', {}, el('span', { text: name }), ' ',
      el('span', { class: 'mono', text: `${p.listen} → ${p.upstream}` }), ' ',
      el('span', { class: p.enabled ? 'badge ok' : 'badge off', text: p.enabled ? 'enabled' : 'disabled' }), ' ',
      p.protocol ? el('span', { class: 'badge', text: p.protocol }) : null));
    parts.toggle.textContent = p.enabled ? 'Disable' : 'Enable';
    parts.toxics.replaceChildren(...(p.toxics || []).map((t) => toxicRow(name, t, parts.form)));
    const h = state.traffic[name] || [];
    const last = h[h.length - 1] || {};
    const series = (k) => h.map((s) => s[k]);
    const figures = [
      figure('connections', `${p.connections_active ?? '–'} open, ${fmtNumber(last.conns)}/s`, series('conns'), 'connections'),
      figure('bytes up', `${fmtBytes(last.up)}/s`, series('up'), 'up'),
      figure('bytes down', `${fmtBytes(last.down)}/s`, series('down'), 'down'),
    ];
    if (p.http) {
      figures.push(
        figure('requests', `${fmtNumber(last.req)}/s, ${fmtNumber(last.err)} errors/s`, series('req'), 'requests'),
        figure('latency p50', fmtMs(p.http.p50_ms), series('p50'), 'p50'),
        figure('latency p99', fmtMs(p.http.p99_ms), series('p99'), 'p99'));
    }
    parts.traffic.replaceChildren(...figures);
  }
}

async function refreshProxies() {
  const r = await api('GET', '/proxies');
  if (!r.ok) return;
  const listed = await r.json();
  // Keep the traffic figures of the last metrics event; take the rest from the listing.
  for (const [name, p] of Object.entries(listed)) state.proxies[name] = { ...state.proxies[name], ...p };
  for (const name of Object.keys(state.proxies)) if (!listed[name]) delete state.proxies[name];
  drawProxies();
}

function onMetrics(m) {
  const prev = state.prev;
  for (const [name, p] of Object.entries(m.proxies || {})) {
    const q = prev?.proxies?.[name];
    const dt = prev ? m.t - prev.t : 0;
    if (q && dt > 0) {
      const rate = (a, b) => Math.max(0, (a - b) / dt);
      const h = (state.traffic[name] ||= []);
      h.push({
        t: m.t,
        conns: rate(p.connections_total, q.connections_total),
        up: rate(p.bytes_up, q.bytes_up),
        down: rate(p.bytes_down, q.bytes_down),
        req: p.http && q.http ? rate(p.http.requests, q.http.requests) : null,
        err: p.http && q.http ? rate(p.http.errors, q.http.errors) : null,
        p50: p.http ? p.http.p50_ms : null,
        p99: p.http ? p.http.p99_ms : null,
      });
      if (h.length > HISTORY) h.splice(0, h.length - HISTORY);
    }
  }
  for (const name of Object.keys(state.traffic)) if (!m.proxies?.[name]) delete state.traffic[name];
  state.prev = m;
  state.proxies = { ...m.proxies };
  drawProxies();
  for (const parts of state.cards.values()) parts.form.fillTypes();
  keep();
}

// ---------------------------------------------------------------------------------------------
// The experiment's load and probes.

function onLoad(l) {
  state.load.push(l);
  if (state.load.length > HISTORY) state.load.splice(0, state.load.length - HISTORY);
  drawLoad();
}

function drawLoad() {
  if (state.load.length === 0) return;
  $('experiment').hidden = false;
  const last = state.load[state.load.length - 1];
  const series = (k) => state.load.map((l) => l[k]);
  $('load').replaceChildren(
    figure('load rate', `${fmtNumber(last.rps)} req/s`, series('rps'), 'rate'),
    figure('error rate', fmtPct(last.error_rate), series('error_rate'), 'error_rate'),
    figure('p50', fmtMs(last.p50_ms), series('p50_ms'), 'p50'),
    figure('p99', fmtMs(last.p99_ms), series('p99_ms'), 'p99'));
}

function onProbe(sample) {
  for (const p of sample.probes || []) {
    const strip = (state.probes[p.name] ||= []);
    strip.push({ pass: p.pass, detail: p.detail });
    if (strip.length > HISTORY) strip.splice(0, strip.length - HISTORY);
  }
  drawProbes();
}

function drawProbes() {
  const names = Object.keys(state.probes);
  if (names.length === 0) return;
  $('experiment').hidden = false;
  $('probes').replaceChildren(...names.map((name) => {
    const strip = state.probes[name];
    const last = strip[strip.length - 1];
    return el('div', { class: 'probe', 'data-probe': name },
      el('span', { class: 'label', text: name }),
      el('span', { class: 'strip', 'aria-label': `${name}: the last ${strip.length} samples` },
        ...strip.map((s) => el('i', { class: s.pass ? 'pass' : 'fail', title: s.detail }))),
      el('span', { class: last.pass ? 'value ok' : 'value bad', text: `${last.pass ? 'pass' : 'FAIL'}: ${last.detail}` }));
  }));
}

// ---------------------------------------------------------------------------------------------
// The journal.

function addJournal(ev) {
  if (state.seq !== null && ev.seq <= state.seq) return;
  state.seq = ev.seq;
  const list = $('journal');
  const atEnd = list.scrollTop + list.clientHeight >= list.scrollHeight - 8;
  const wall = typeof ev.wall === 'string' ? ev.wall.replace(/^.*T/, '').replace(/(\.\d+)?Z$/, '') : '';
  const where = [ev.proxy, ev.toxic].filter(Boolean).join('/');
  list.append(el('li', { class: `event ${ev.kind || ''}`, 'data-seq': ev.seq, 'data-kind': ev.kind },
    el('span', { class: 'when mono', title: ev.wall, text: `+${fmtNumber(ev.t)}s ${wall}` }),
    el('span', { class: 'actor', text: ev.actor }),
    el('span', { class: 'kind', text: ev.kind }),
    where ? el('span', { class: 'where mono', text: where }) : null,
    el('span', { class: 'text', text: ev.text })));
  if (atEnd) list.scrollTop = list.scrollHeight;
}

async function loadJournal() {
  const r = await api('GET', '/journal.json');
  if (!r.ok) return;
  const body = await r.json();
  for (const ev of Array.isArray(body) ? body : body.events || []) addJournal(ev);
}

// ---------------------------------------------------------------------------------------------
// The event stream: fetch() and a reader (the token goes in a header), resumed with
// Last-Event-ID after a drop or a reload.

function dispatch(block) {
  let event = 'message';
  const data = [];
  for (const line of block.split('\n')) {
    if (line.startsWith(':')) continue;
    const i = line.indexOf(':');
    const field = i < 0 ? line : line.slice(0, i);
    const value = i < 0 ? '' : line.slice(i + 1).replace(/^ /, '');
    if (field === 'event') event = value;
    else if (field === 'data') data.push(value);
  }
  if (data.length === 0) return;
  const payload = JSON.parse(data.join('\n'));
  if (event === 'journal') addJournal(payload);
  else if (event === 'metrics') onMetrics(payload);
  else if (event === 'load') { onLoad(payload); keep(); }
  else if (event === 'probe') { onProbe(payload); keep(); }
}

function live(on, text) {
  const badge = $('live');
  badge.className = on ? 'live on' : 'live off';
  badge.textContent = text;
}

async function stream() {
  for (;;) {
    try {
      const extra = { Accept: 'text/event-stream' };
      if (state.seq !== null) extra['Last-Event-ID'] = String(state.seq);
      const r = await fetch('/events', { headers: headers(extra), cache: 'no-store' });
      if (r.status === 401) { await askToken(); continue; }
      if (!r.ok || !r.body) throw new Error(`HTTP ${r.status}`);
      live(true, 'live');
      const reader = r.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = '';
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += value.replace(/\r\n?/g, '\n');
        let end;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          dispatch(buffer.slice(0, end));
          buffer = buffer.slice(end + 2);
        }
      }
      live(false, 'reconnecting…');
    } catch (e) {
      live(false, `reconnecting… (${e.message})`);
    }
    await sleep(1000);
  }
}

// ---------------------------------------------------------------------------------------------
// Keeping the charts across a reload (this tab only).

function keep() {
  try {
    sessionStorage.setItem(KEEP, JSON.stringify({ traffic: state.traffic, load: state.load, probes: state.probes }));
  } catch { /* storage full: the charts start afresh after a reload */ }
}

function restore() {
  try {
    const kept = JSON.parse(sessionStorage.getItem(KEEP) || '{}');
    state.traffic = kept.traffic || {};
    state.load = kept.load || [];
    state.probes = kept.probes || {};
  } catch { /* ignore a damaged copy */ }
  drawLoad();
  drawProbes();
}

// ---------------------------------------------------------------------------------------------
// The buttons and forms outside the proxies.

function wire() {
  $('clear-all').addEventListener('click', async () => {
    const status = $('clear-status');
    const r = await api('POST', '/reset', {});
    const at = new Date().toLocaleTimeString();
    status.textContent = r.ok ? `all faults cleared at ${at}` : `clear all: ${await refusal(r)}`;
    refreshProxies();
  });
  const author = $('note-author');
  author.value = sessionStorage.getItem('shakedown.name') || '';
  author.addEventListener('change', () => sessionStorage.setItem('shakedown.name', author.value));
  $('note').addEventListener('submit', async (e) => {
    e.preventDefault();
    const form = e.target;
    const error = form.querySelector('.error');
    const text = $('note-text').value.trim();
    if (!author.value.trim() || !text) { error.textContent = 'a name and a note, please'; return; }
    const r = await api('POST', '/notes', { author: author.value.trim(), text });
    if (!r.ok) { error.textContent = await refusal(r); return; }
    error.textContent = '';
    $('note-text').value = '';
  });
  for (const [id, file, type] of [['export-md', 'journal.md', 'text/markdown'], ['export-json', 'journal.json', 'application/json']]) {
    $(id).addEventListener('click', async (e) => {
      e.preventDefault();
      const r = await api('GET', `/${file}`);
      if (!r.ok) { error.textContent = await refusal(r); return; }
      const url = URL.createObjectURL(new Blob([await r.text()], { type }));
      el('a', { href: url, download: file }).click();
      setTimeout(() => URL.revokeObjectURL(url), 1000);
    });
  }
}

async function start() {
  wire();
  restore();
  const r = await api('GET', '/toxic-types');
  state.types = r.ok ? await r.json() : [];
  await refreshProxies();
  await loadJournal();
  stream();
}

start();
