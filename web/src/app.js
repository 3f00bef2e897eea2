// The live view's browser side: connects to the forwarder's WebSocket at /ws,
// hands every binary message (one Kafka record value) and text notice to
// LiveStats (src/stats.js), and redraws the page at most 10 times a second.
// Tests read window.dashstream.stats and window.dashstream.paused, and may
// drop the connection with window.dashstream.disconnect() (the page reconnects).

import { LiveStats } from './stats.js';

const RENDER_EVERY_MS = 100;
const BACKOFF_MIN_MS = 500;
const BACKOFF_MAX_MS = 10000;

const live = new LiveStats();
const api = { stats: live.stats, paused: false, live, latency: () => live.latency(), disconnect: () => {} };
window.dashstream = api;

const $ = (id) => document.getElementById(id);
// Plain digits, no thousands separators (tests look for "1000" in the page text).
const int = (n) => (n === null || n === undefined ? '-' : String(n));
/** A duration given in ms: ms below a second, then s, min, h, d. */
function ms(v) {
  if (v === null || v === undefined) return '-';
  if (v < 1000) return `${v < 10 ? v.toFixed(2) : v.toFixed(1)} ms`;
  const units = [[86400000, 'd'], [3600000, 'h'], [60000, 'min'], [1000, 's']];
  const [size, unit] = units.find(([u]) => v >= u);
  return `${(v / size).toFixed(v / size < 10 ? 2 : 1)} ${unit}`;
}
const bytes = (n) => (n < 1024 ? `${n} B` : n < 1048576 ? `${(n / 1024).toFixed(1)} KiB` : `${(n / 1048576).toFixed(1)} MiB`);
const short = (s, n = 12) => (s.length > n ? `${s.slice(0, n)}…` : s);

// --- connection -----------------------------------------------------------

const connection = { state: 'connecting', detail: '', retryAt: 0 };
let backoff = BACKOFF_MIN_MS;
let firstConnect = true;
// The forwarder index of the next record (hello's `next`, one per frame, a gap
// notice's `missed`): a reconnect resumes there with ?from=, so the forwarder
// replays what it still holds and names in a gap notice what it does not.
let position = null;

function track(data) {
  if (typeof data !== 'string') {
    if (position !== null) position += 1;
    return;
  }
  try {
    const notice = JSON.parse(data);
    if (notice.type === 'hello' && Number.isSafeInteger(notice.next)) position = notice.next;
    if (notice.type === 'gap' && position !== null && Number.isSafeInteger(notice.missed)) position += notice.missed;
  } catch {
    // Not JSON: the stats module shows it as an unknown notice.
  }
}

function wsUrl() {
  const last = new URLSearchParams(location.search).get('last');
  // Replay is asked for on the first connection only: asking again on every
  // reconnect would deliver the same records twice and count them as duplicates.
  const replay = firstConnect && last !== null && /^\d+$/.test(last) ? `?last=${last}` : '';
  const query = position !== null ? `?from=${position}` : replay;
  return `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws${query}`;
}

function connect() {
  connection.state = 'connecting';
  connection.detail = '';
  let socket;
  try {
    socket = new WebSocket(wsUrl());
  } catch (e) {
    retry(`cannot connect: ${e.message}`);
    return;
  }
  firstConnect = false;
  api.disconnect = () => socket.close();
  socket.binaryType = 'arraybuffer';
  socket.onopen = () => {
    live.stats.connected = true;
    live.closing = null;
    connection.state = 'connected';
    backoff = BACKOFF_MIN_MS;
  };
  socket.onmessage = (event) => {
    track(event.data);
    if (typeof event.data === 'string') live.notice(event.data);
    else live.frame(new Uint8Array(event.data));
  };
  socket.onclose = (event) => {
    live.stats.connected = false;
    retry(`closed (code ${event.code}${event.reason ? `: ${event.reason}` : ''})`);
  };
}

function retry(detail) {
  const delay = backoff;
  backoff = Math.min(backoff * 2, BACKOFF_MAX_MS);
  connection.state = 'closed';
  connection.detail = detail;
  connection.retryAt = Date.now() + delay;
  setTimeout(connect, delay);
}

// --- rendering ------------------------------------------------------------

function statusText() {
  if (connection.state === 'connected') return live.closing ? `connected, closing: ${live.closing.reason ?? ''}` : 'connected';
  if (connection.state === 'connecting') return 'connecting';
  const wait = Math.max(0, Math.ceil((connection.retryAt - Date.now()) / 1000));
  const why = live.closing ? `forwarder closing: ${live.closing.reason ?? ''}` : connection.detail;
  return `${why}; reconnecting in ${wait} s`;
}

function cell(row, text, className) {
  const td = row.insertCell();
  td.textContent = text;
  if (className) td.className = className;
  return td;
}

function fill(tbody, items, build) {
  const body = document.createElement('tbody');
  body.id = tbody.id;
  for (const item of items) build(body.insertRow(), item);
  tbody.replaceWith(body);
}

function renderTail() {
  fill($('tail'), live.tail, (tr, r) => {
    if (r.error) {
      cell(tr, '-', 'num muted');
      cell(tr, '-', 'muted');
      cell(tr, `undecodable: ${r.error}`, 'bad').title = r.detail;
      cell(tr, '-', 'num muted');
      cell(tr, bytes(r.size), 'num');
      cell(tr, '-', 'muted');
      return;
    }
    cell(tr, int(r.sequence), 'num');
    cell(tr, r.producer).title = `session ${r.session}`;
    const kind = cell(tr, r.payload ?? '(none)', r.payload ? '' : 'muted');
    if (r.duplicate) kind.append(' ', Object.assign(document.createElement('span'), { className: 'tag warn', textContent: 'duplicate' }));
    if (r.skewUs !== undefined) cell(tr, `skew +${ms(r.skewUs / 1000)}`, 'num warn');
    else cell(tr, ms(r.latencyUs / 1000), 'num');
    cell(tr, bytes(r.size), 'num');
    cell(tr, r.format);
  });
}

function renderProducers() {
  fill($('producers'), live.producers(), (tr, p) => {
    cell(tr, p.producer);
    cell(tr, short(p.session)).title = p.session;
    cell(tr, int(p.received), 'num');
    cell(tr, int(p.highest), 'num');
    cell(tr, int(p.lost), p.lost ? 'num bad' : 'num');
    cell(tr, p.lostRanges || '-', 'wrap');
    cell(tr, int(p.duplicates), p.duplicates ? 'num warn' : 'num');
    cell(tr, int(p.announced), 'num');
  });
}

function render() {
  const s = live.stats;
  $('status').textContent = statusText();
  $('status').className = `status ${connection.state}`;
  $('topic').textContent = live.hello?.topic ?? '?';
  for (const el of document.querySelectorAll('[data-stat]')) {
    el.textContent = int(s[el.dataset.stat]);
    const card = el.closest('[data-alert]');
    if (card) card.classList.toggle('alert', s[el.dataset.stat] > 0);
  }
  const l = live.latency();
  $('p50').textContent = ms(l.p50);
  $('p99').textContent = ms(l.p99);
  $('pmax').textContent = ms(l.max);
  $('samples').textContent = int(l.count);
  $('skew').textContent = s.skewed ? `${int(s.skewed)} message${s.skewed === 1 ? '' : 's'}, max +${ms(live.maxSkewUs / 1000)} (not counted as latency)` : 'none';
  const list = (o) => Object.entries(o).map(([k, v]) => `${k} ${int(v)}`).join(' · ') || '-';
  $('formats').textContent = list(live.formats);
  $('errors').textContent = list(live.errorsByKind);
  const lastError = live.tail.find((r) => r.error);
  if (lastError) $('lastError').textContent = `${lastError.error}: ${lastError.detail}`;
  $('forwarder').textContent = live.hello?.forwarder ?? '-';
  $('replayed').textContent = live.hello ? int(live.hello.replayed) : '-';
  $('keepalive').textContent = live.lastKeepaliveUs ? `${((Date.now() * 1000 - live.lastKeepaliveUs) / 1e6).toFixed(1)} s ago (forwarder clock)` : '-';
  $('noticeCount').textContent = int(s.notices);
  $('notices').replaceChildren(...live.noticeLog.map(({ notice }) => Object.assign(document.createElement('li'), { textContent: JSON.stringify(notice) })));
  renderProducers();
  renderTail();
}

function renderPauseButton() {
  const button = $('pause');
  button.textContent = api.paused ? 'Resume' : 'Pause';
  button.setAttribute('aria-pressed', String(api.paused));
  document.body.classList.toggle('paused', api.paused);
}

$('pause').addEventListener('click', () => {
  api.paused = !api.paused;
  renderPauseButton();
});

setInterval(() => {
  renderPauseButton(); // also when a test flips window.dashstream.paused
  if (!api.paused) render();
}, RENDER_EVERY_MS);

connect();
