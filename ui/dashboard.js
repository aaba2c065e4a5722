// pxed dashboard: the page behind /ui/ (docs/dashboard.md; the server side is
// src/app/dashboard.cpp). Vanilla ES2017, no framework, no build step.
//
// Everything the server sends (hostnames, paths, DHCP details, trace lines)
// comes from machines on the provisioning network and is hostile text: it is
// only ever put into the page with textContent or attribute setters, never
// as markup. The CSP forbids inline scripts and styles anyway.
//
// Thousands of hosts stay fast: each row is built once and then updated in
// place when a newer version (`v`) of it arrives; filtering toggles `hidden`;
// sorting re-appends the existing rows; updates from the stream are applied
// together once per animation frame.
'use strict';

(function () {
  const STAGES = ['dhcp', 'boot loader', 'config', 'kernel', 'installer', 'kickstart', 'done'];
  const STATES = ['pending', 'installing', 'installed', 'failed'];
  const RELATIVE_TICK_MS = 5000;
  const RESORT_MIN_MS = 1500;
  const MAX_UNKNOWN_SHOWN = 500;
  const MAX_CONFIRM_LISTED = 12;
  // Rows laid out at once: every row exists (built once), but only this
  // many matching ones are shown until the admin asks for more; a table
  // layout of thousands of rows costs a second on each change.
  const PAGE = 200;

  const $ = (id) => document.getElementById(id);

  // ---- small helpers ------------------------------------------------------

  // el('td', {className: 'x', text: 'y', title: 'z'}, child...): no markup, ever.
  function el(tag, props, ...children) {
    const e = document.createElement(tag);
    if (props) {
      for (const k of Object.keys(props)) {
        const v = props[k];
        if (v === undefined || v === null) continue;
        if (k === 'text') e.textContent = String(v);
        else if (k === 'className') e.className = v;
        else if (k === 'dataset') Object.assign(e.dataset, v);
        else if (k === 'hidden') e.hidden = !!v;
        else e.setAttribute(k, String(v));
      }
    }
    for (const c of children) {
      if (c === null || c === undefined || c === false) continue;
      e.appendChild(typeof c === 'string' ? document.createTextNode(c) : c);
    }
    return e;
  }

  function setText(node, text) {
    const t = text === null || text === undefined ? '' : String(text);
    if (node.textContent !== t) node.textContent = t;
  }

  function setAttr(node, name, value) {
    if (value === null || value === undefined) {
      if (node.hasAttribute(name)) node.removeAttribute(name);
    } else if (node.getAttribute(name) !== String(value)) {
      node.setAttribute(name, String(value));
    }
  }

  function clear(node) {
    while (node.firstChild) node.removeChild(node.firstChild);
  }

  function normMac(mac) {
    return String(mac || '').trim().toLowerCase().replace(/-/g, ':');
  }

  // The server's clock, from the `now` of the last snapshot: relative times
  // stay right on a browser whose clock is off.
  let clockOffsetMs = 0;
  function serverNowMs() {
    return Date.now() + clockOffsetMs;
  }
  function syncClock(serverMs) {
    if (typeof serverMs === 'number' && isFinite(serverMs)) clockOffsetMs = serverMs - Date.now();
  }

  function pad(n, w) {
    return String(n).padStart(w || 2, '0');
  }

  // Local time for the eye, the UTC ISO form in the title.
  function localDateTime(ms) {
    const d = new Date(ms);
    return d.getFullYear() + '-' + pad(d.getMonth() + 1) + '-' + pad(d.getDate()) + ' ' +
      pad(d.getHours()) + ':' + pad(d.getMinutes()) + ':' + pad(d.getSeconds());
  }
  function localTimeMs(ms) {
    const d = new Date(ms);
    return pad(d.getHours()) + ':' + pad(d.getMinutes()) + ':' + pad(d.getSeconds()) + '.' + pad(d.getMilliseconds(), 3);
  }
  function isoUtc(ms) {
    const d = new Date(ms);
    return isNaN(d.getTime()) ? '' : d.toISOString();
  }
  function timeTitle(ms) {
    return localDateTime(ms) + ' local · ' + isoUtc(ms) + ' UTC';
  }

  function span(seconds) {
    const s = Math.max(0, Math.round(seconds));
    if (s < 60) return s + ' s';
    if (s < 3600) return Math.floor(s / 60) + ' min';
    if (s < 172800) return Math.floor(s / 3600) + ' h ' + (Math.floor(s / 60) % 60) + ' min';
    return Math.floor(s / 86400) + ' d';
  }

  function ago(ms) {
    const d = (serverNowMs() - ms) / 1000;
    if (d < -2) return 'in ' + span(-d);
    if (d < 2) return 'just now';
    return span(d) + ' ago';
  }

  // A <time> whose text is relative and refreshed by the ticker.
  function relTime(node, ms) {
    if (ms === null || ms === undefined) {
      setText(node, '—');
      setAttr(node, 'datetime', null);
      setAttr(node, 'title', null);
      delete node.dataset.ms;
      return;
    }
    node.dataset.ms = String(ms);
    setAttr(node, 'datetime', isoUtc(ms));
    setAttr(node, 'title', timeTitle(ms));
    setText(node, ago(ms));
  }
  function newRelTime(ms) {
    const t = el('time', {className: 'rel'});
    relTime(t, ms);
    return t;
  }

  function bytes(n) {
    if (typeof n !== 'number' || !isFinite(n)) return '?';
    const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
    let i = 0;
    while (n >= 1024 && i < units.length - 1) {
      n /= 1024;
      i++;
    }
    return (i === 0 ? String(n) : n.toFixed(n < 10 ? 1 : 0)) + ' ' + units[i];
  }

  function stageIndex(stage) {
    return STAGES.indexOf(stage); // -1 for none
  }

  async function getJson(url) {
    const r = await fetch(url, {credentials: 'same-origin', cache: 'no-store', headers: {Accept: 'application/json'}});
    let body = null;
    try {
      body = await r.json();
    } catch (e) {
      body = null;
    }
    return {status: r.status, ok: r.ok, body: body};
  }

  function errorText(res, fallback) {
    if (res.body && typeof res.body.error === 'string') return res.body.error;
    return fallback || ('HTTP ' + res.status);
  }

  // ---- messages -------------------------------------------------------------

  const message = $('action-message');
  function showMessage(kind, text, items) {
    clear(message);
    message.className = 'message ' + kind;
    message.appendChild(el('span', {text: text}));
    if (items && items.length) {
      const ul = el('ul');
      for (const it of items) ul.appendChild(el('li', {className: it.ok ? 'ok' : 'fail', text: it.text}));
      message.appendChild(ul);
    }
    message.appendChild(el('button', {type: 'button', className: 'link-button dismiss', 'aria-label': 'dismiss message', text: '×'}));
  }
  message.addEventListener('click', (e) => {
    if (e.target.classList.contains('dismiss')) {
      clear(message);
      message.className = 'message';
    }
  });

  // ---- hosts table ----------------------------------------------------------

  const table = $('hosts');
  const tbody = table.tBodies[0];
  const rows = new Map(); // mac -> rec
  const order = []; // the recs in the table's order
  let pageLimit = PAGE;
  let matchCount = 0;
  let touchCounter = 0;
  const selected = new Set();

  const sort = {key: 'hostname', dir: 1};
  let lastSortAt = 0;
  let resortTimer = null;

  const filterInput = $('filter');
  const stateFilter = $('state-filter');
  let filterText = '';
  let filterState = '';
  let filterStage = '';

  // The seven steps are drawn by the stylesheet from the cell's data-stage:
  // one node a row.
  function stepsNode() {
    return el('span', {className: 'steps', 'aria-hidden': 'true'});
  }

  function buildRow(mac) {
    // Hidden until the visibility pass places it.
    const tr = el('tr', {dataset: {mac: mac}, hidden: true});
    const box = el('input', {type: 'checkbox', className: 'select'});
    const link = el('a', {href: '#host/' + encodeURIComponent(mac)});
    const cells = {
      select: el('td', {className: 'col-select'}, box),
      hostname: el('td', {className: 'hostname'}, link),
      mac: el('td', {className: 'mac'}),
      profile: el('td', {className: 'profile'}),
      state: el('td', {className: 'state'}),
      ip: el('td', {className: 'ip'}),
      lastSeen: el('td', {className: 'last-seen'}),
      stage: el('td', {className: 'stage', dataset: {stage: 'none'}}),
      lastEvent: el('td', {className: 'last-event'}),
    };
    const stateBadge = el('span', {className: 'badge state-badge'});
    cells.state.appendChild(stateBadge);
    const ipText = el('span', {className: 'ip-addr'});
    const leaseText = el('span', {className: 'sub lease'});
    cells.ip.append(ipText, leaseText);
    const seen = el('time', {className: 'rel'});
    cells.lastSeen.appendChild(seen);
    const stageLabel = el('span', {className: 'stage-label'});
    cells.stage.append(stepsNode(), stageLabel);
    const evKind = el('span', {className: 'ev-kind'});
    const evText = el('span', {className: 'ev-text'});
    cells.lastEvent.append(evKind, ' ', evText); // a space: for copying and screen readers
    for (const k of Object.keys(cells)) tr.appendChild(cells[k]);
    return {mac: mac, tr: tr, box: box, link: link, cells: cells, stateBadge: stateBadge, ipText: ipText,
      leaseText: leaseText, seen: seen, stageLabel: stageLabel, evKind: evKind, evText: evText,
      data: null, search: '', touched: 0};
  }

  function fillRow(rec, h) {
    const name = h.hostname || '';
    setText(rec.link, name || rec.mac);
    setAttr(rec.link, 'title', name ? name + ' (' + rec.mac + ')' : rec.mac);
    rec.link.classList.toggle('no-name', !name);
    setAttr(rec.box, 'aria-label', 'select ' + (name || rec.mac));
    setText(rec.cells.mac, rec.mac);
    setText(rec.cells.profile, h.profile || '');
    setAttr(rec.cells.profile, 'title', h.profile || null);
    const state = h.state || '';
    setText(rec.stateBadge, state || '—');
    rec.stateBadge.className = 'badge state-badge state-' + (state || 'none');
    if (state) setAttr(rec.stateBadge, 'title', h.generation ? state + ', generation ' + h.generation : state);
    else setAttr(rec.stateBadge, 'title', 'no lifecycle for this host');
    setAttr(rec.tr, 'data-state', state || 'none');

    setText(rec.ipText, h.ip || '');
    const lease = h.lease;
    if (lease && lease.state) {
      setText(rec.leaseText, lease.state);
      setAttr(rec.leaseText, 'title', lease.expires ? 'lease ' + lease.state + ', expires ' + timeTitle(lease.expires * 1000) : 'lease ' + lease.state);
    } else {
      setText(rec.leaseText, h.ip ? 'no lease' : '');
      setAttr(rec.leaseText, 'title', null);
    }
    rec.leaseText.dataset.lease = lease && lease.state ? lease.state : 'none';

    relTime(rec.seen, typeof h.last_seen === 'number' ? h.last_seen * 1000 : null);

    const stage = STAGES.indexOf(h.stage) >= 0 ? h.stage : 'none';
    setAttr(rec.cells.stage, 'data-stage', stage);
    const idx = stageIndex(stage);
    setText(rec.stageLabel, stage === 'none' ? '—' : stage);
    setAttr(rec.cells.stage, 'title', stage === 'none' ? 'nothing of this boot yet' : 'reached ' + stage + ' (' + (idx + 1) + ' of ' + STAGES.length + ')');

    const ev = h.last_event;
    if (ev) {
      setText(rec.evKind, ev.kind || '');
      setText(rec.evText, ev.text || '');
      rec.cells.lastEvent.classList.toggle('fail', ev.ok === false);
      setAttr(rec.cells.lastEvent, 'title', (ev.ok === false ? 'failed: ' : '') + (ev.kind || '') + ' ' + (ev.text || '') +
        (typeof ev.time_ms === 'number' ? '\n' + timeTitle(ev.time_ms) : ''));
    } else {
      setAttr(rec.cells.lastEvent, 'title', null);
      setText(rec.evKind, '');
      setText(rec.evText, '');
      rec.cells.lastEvent.classList.remove('fail');
    }
    rec.tr.classList.toggle('problem', state === 'failed' || (ev && ev.ok === false) || false);

    rec.search = [name, rec.mac, rec.mac.replace(/:/g, '-'), h.profile, state, h.ip, stage,
      ev ? ev.kind : '', ev ? ev.text : ''].join(' ').toLowerCase();
  }

  // Applies one row; true when it changed something.
  function applyRow(h) {
    if (!h || typeof h.mac !== 'string') return false;
    const mac = normMac(h.mac);
    let rec = rows.get(mac);
    const v = typeof h.v === 'number' ? h.v : 0;
    if (rec && rec.data && typeof rec.data.v === 'number' && v <= rec.data.v) {
      rec.touched = ++touchCounter;
      return false;
    }
    let isNew = false;
    if (!rec) {
      rec = buildRow(mac);
      rows.set(mac, rec);
      isNew = true;
    }
    rec.data = h;
    rec.touched = ++touchCounter;
    fillRow(rec, h);
    if (isNew) {
      order.push(rec);
      tbody.appendChild(rec.tr);
    }
    return true;
  }

  function removeRows(macs) {
    if (!macs.length) return;
    for (const mac of macs) {
      const rec = rows.get(mac);
      if (!rec) continue;
      rec.tr.remove();
      rows.delete(mac);
      selected.delete(mac);
    }
    const keep = order.filter((rec) => rows.has(rec.mac));
    order.length = 0;
    Array.prototype.push.apply(order, keep);
  }

  // -- batching: stream rows wait for the next animation frame --
  const pendingRows = new Map();
  let frameQueued = false;
  function queueRows(list) {
    for (const h of list) {
      if (!h || typeof h.mac !== 'string') continue;
      const mac = normMac(h.mac);
      const prev = pendingRows.get(mac);
      if (!prev || (h.v || 0) > (prev.v || 0)) pendingRows.set(mac, h);
    }
    scheduleFrame();
  }
  function scheduleFrame() {
    if (frameQueued) return;
    frameQueued = true;
    // A background tab gets no animation frames: a timer still applies
    // the rows there, so that the table is current when it comes back.
    const run = () => {
      if (!frameQueued) return;
      frameQueued = false;
      flushRows();
    };
    requestAnimationFrame(run);
    setTimeout(run, 1000);
  }
  function flushRows() {
    let changed = false;
    let added = false;
    for (const h of pendingRows.values()) {
      const had = rows.has(normMac(h.mac));
      if (applyRow(h)) {
        changed = true;
        if (!had) added = true;
      }
    }
    pendingRows.clear();
    if (changed) afterRowsChanged(added);
  }

  function afterRowsChanged(added) {
    updateSummary();
    // New rows go to their place at once; otherwise the order follows the
    // data at most every RESORT_MIN_MS, so that a table under a boot storm
    // does not jump about on every event.
    if (added) sortRows();
    else {
      applyVisibility();
      if (sort.key !== 'hostname') requestResort();
    }
  }

  function requestResort() {
    const wait = Math.max(0, RESORT_MIN_MS - (Date.now() - lastSortAt));
    if (resortTimer) return;
    resortTimer = setTimeout(() => {
      resortTimer = null;
      sortRows();
    }, wait);
  }

  function ipKey(ip) {
    if (!ip) return Infinity;
    const p = String(ip).split('.').map(Number);
    if (p.length !== 4 || p.some(isNaN)) return Infinity;
    return ((p[0] * 256 + p[1]) * 256 + p[2]) * 256 + p[3];
  }

  function sortValue(rec, key) {
    const h = rec.data || {};
    switch (key) {
      case 'hostname': return (h.hostname || '\uffff' + rec.mac).toLowerCase();
      case 'mac': return rec.mac;
      case 'profile': return (h.profile || '\uffff').toLowerCase();
      case 'state': {
        const i = STATES.indexOf(h.state);
        return i < 0 ? (h.state ? 50 : 99) : i;
      }
      case 'ip': return ipKey(h.ip);
      case 'last_seen': return typeof h.last_seen === 'number' ? h.last_seen : -Infinity;
      case 'stage': return stageIndex(h.stage);
      case 'last_event': return h.last_event && typeof h.last_event.time_ms === 'number' ? h.last_event.time_ms : -Infinity;
      default: return 0;
    }
  }

  // Keys computed once a sort, not once a comparison; ties go by name.
  function sortRows() {
    lastSortAt = Date.now();
    const keyed = order.map((rec) => ({k: sortValue(rec, sort.key), n: sortValue(rec, 'hostname'), rec: rec}));
    keyed.sort((a, b) => {
      if (a.k < b.k) return -sort.dir;
      if (a.k > b.k) return sort.dir;
      return a.n < b.n ? -1 : a.n > b.n ? 1 : 0;
    });
    for (let i = 0; i < keyed.length; i++) order[i] = keyed[i].rec;
    // The nodes move only when the order changed: re-appending every row
    // would cost layout work for nothing.
    let node = tbody.firstElementChild;
    let inOrder = true;
    for (const rec of order) {
      if (node !== rec.tr) {
        inOrder = false;
        break;
      }
      node = node.nextElementSibling;
    }
    if (!inOrder || node) {
      const frag = document.createDocumentFragment();
      for (const rec of order) frag.appendChild(rec.tr);
      tbody.appendChild(frag);
    }
    applyVisibility();
  }

  function setSort(key) {
    if (sort.key === key) sort.dir = -sort.dir;
    else {
      sort.key = key;
      // Times and stages: most recent / furthest first.
      sort.dir = key === 'last_seen' || key === 'last_event' || key === 'stage' ? -1 : 1;
    }
    for (const th of table.tHead.querySelectorAll('th[data-sort]')) {
      th.setAttribute('aria-sort', th.dataset.sort === sort.key ? (sort.dir > 0 ? 'ascending' : 'descending') : 'none');
    }
    sortRows();
  }
  table.tHead.addEventListener('click', (e) => {
    const b = e.target.closest('th[data-sort] button');
    if (b) setSort(b.parentElement.dataset.sort);
  });

  // -- filtering --
  function matches(rec) {
    const h = rec.data || {};
    if (filterStage && (STAGES.indexOf(h.stage) >= 0 ? h.stage : 'none') !== filterStage) return false;
    if (filterState) {
      if (filterState === 'problem') {
        if (!rec.tr.classList.contains('problem')) return false;
      } else if (filterState === 'none') {
        if (h.state) return false;
      } else if (h.state !== filterState) {
        return false;
      }
    }
    if (filterText) {
      for (const word of filterText.split(/\s+/)) {
        if (word && rec.search.indexOf(word) < 0) return false;
      }
    }
    return true;
  }
  // One pass in table order: a row shows when it matches the filters and
  // is among the first pageLimit that do.
  function applyVisibility() {
    let n = 0;
    for (const rec of order) {
      const m = matches(rec);
      if (m) n++;
      const hide = !m || n > pageLimit;
      if (rec.tr.hidden !== hide) rec.tr.hidden = hide;
    }
    matchCount = n;
    updateShownCount();
    updateSelectAll();
    updateBulk();
  }
  function applyFilterAll() {
    pageLimit = PAGE;
    applyVisibility();
    updateSummaryPressed();
  }
  let filterTimer = null;
  filterInput.addEventListener('input', () => {
    clearTimeout(filterTimer);
    filterTimer = setTimeout(() => {
      filterText = filterInput.value.trim().toLowerCase();
      applyFilterAll();
    }, rows.size > 2000 ? 150 : 60);
  });
  stateFilter.addEventListener('change', () => {
    filterState = stateFilter.value;
    applyFilterAll();
  });

  function updateShownCount() {
    const shown = Math.min(matchCount, pageLimit);
    const total = rows.size + (rows.size === 1 ? ' host' : ' hosts');
    let text = total;
    if (matchCount !== rows.size) text = matchCount + ' of ' + total + ' match';
    if (shown < matchCount) text += ', first ' + shown + ' shown';
    setText($('shown-count'), text);
    $('hosts-empty').hidden = matchCount !== 0 || rows.size === 0;
    const more = matchCount - shown;
    $('more').hidden = more <= 0;
    if (more > 0) {
      setText($('more-text'), shown + ' of ' + matchCount + ' shown.');
      setText($('show-more'), 'Show ' + Math.min(more, PAGE) + ' more');
      setText($('show-all'), 'Show all ' + matchCount);
    }
  }
  $('show-more').addEventListener('click', () => {
    pageLimit += PAGE;
    applyVisibility();
  });
  $('show-all').addEventListener('click', () => {
    pageLimit = Infinity;
    applyVisibility();
  });

  // -- the state chips: counts that are filters --
  const summary = $('summary');
  function ensureStateOption(value, label) {
    for (const o of stateFilter.options) if (o.value === value) return;
    stateFilter.appendChild(el('option', {value: value, text: label}));
  }
  for (const s of STATES) ensureStateOption(s, s);
  ensureStateOption('problem', 'problems');

  let lastSummaryKey = '';
  function updateSummary() {
    const counts = new Map();
    const stages = new Map();
    let problems = 0;
    for (const rec of rows.values()) {
      const s = (rec.data && rec.data.state) || 'none';
      counts.set(s, (counts.get(s) || 0) + 1);
      if (rec.tr.classList.contains('problem')) problems++;
      const g = rec.data && rec.data.stage;
      if (g && g !== 'none') stages.set(g, (stages.get(g) || 0) + 1);
    }
    updateStageSummary(stages);
    for (const s of counts.keys()) if (s !== 'none') ensureStateOption(s, s);
    if (counts.has('none')) ensureStateOption('none', 'no lifecycle');
    const order = STATES.concat(Array.from(counts.keys()).filter((s) => STATES.indexOf(s) < 0 && s !== 'none').sort(), ['none']);
    const chips = [{value: '', label: rows.size + (rows.size === 1 ? ' host' : ' hosts'), cls: 'all'}];
    for (const s of order) {
      const n = counts.get(s);
      if (!n) continue;
      chips.push({value: s, label: n + ' ' + (s === 'none' ? 'no lifecycle' : s), cls: 'state-' + s});
    }
    if (problems) chips.push({value: 'problem', label: problems + (problems === 1 ? ' problem' : ' problems'), cls: 'problem'});
    const key = JSON.stringify(chips);
    if (key !== lastSummaryKey) {
      lastSummaryKey = key;
      clear(summary);
      chips.forEach((c, i) => {
        if (i > 0) summary.appendChild(el('span', {className: 'sep', 'aria-hidden': 'true', text: '·'}));
        summary.appendChild(el('button', {type: 'button', className: 'chip ' + c.cls, dataset: {filter: c.value}, text: c.label}));
      });
      updateSummaryPressed();
    }
    const failed = counts.get('failed') || 0;
    document.title = (failed ? failed + ' failed · ' : '') + 'pxed dashboard';
  }
  function updateSummaryPressed() {
    for (const b of summary.querySelectorAll('button.chip')) b.setAttribute('aria-pressed', String(b.dataset.filter === filterState));
    for (const b of stageSummary.querySelectorAll('button')) b.setAttribute('aria-pressed', String(b.dataset.stage === filterStage));
  }

  // How far the hosts got in their current boot: "dhcp 3 · kernel 5 · ...",
  // each a filter too.
  const stageSummary = $('stage-summary');
  let lastStageKey = '';
  function updateStageSummary(stages) {
    const key = JSON.stringify(Array.from(stages));
    if (key === lastStageKey) return;
    lastStageKey = key;
    clear(stageSummary);
    if (!stages.size) return;
    stageSummary.appendChild(el('span', {className: 'muted', text: 'Boot stage reached: '}));
    let first = true;
    for (const g of STAGES) {
      const n = stages.get(g);
      if (!n) continue;
      if (!first) stageSummary.appendChild(el('span', {className: 'sep', 'aria-hidden': 'true', text: ' · '}));
      first = false;
      stageSummary.appendChild(el('button', {type: 'button', className: 'link-button stage-chip', dataset: {stage: g},
        'aria-pressed': String(g === filterStage), text: g + ' ' + n}));
    }
  }
  stageSummary.addEventListener('click', (e) => {
    const b = e.target.closest('button[data-stage]');
    if (!b) return;
    filterStage = filterStage === b.dataset.stage ? '' : b.dataset.stage;
    applyFilterAll();
  });
  summary.addEventListener('click', (e) => {
    const b = e.target.closest('button.chip');
    if (!b) return;
    const value = b.dataset.filter === filterState && filterState !== '' ? '' : b.dataset.filter;
    stateFilter.value = value;
    filterState = value;
    applyFilterAll();
  });

  // -- selection and the bulk bar --
  const selectAll = $('select-all');
  tbody.addEventListener('change', (e) => {
    const box = e.target;
    if (!box.classList || !box.classList.contains('select')) return;
    const mac = box.closest('tr').dataset.mac;
    if (box.checked) selected.add(mac);
    else selected.delete(mac);
    box.closest('tr').classList.toggle('selected', box.checked);
    updateBulk();
    updateSelectAll();
  });
  selectAll.addEventListener('change', () => {
    const on = selectAll.checked;
    for (const rec of rows.values()) {
      if (rec.tr.hidden) continue;
      rec.box.checked = on;
      rec.tr.classList.toggle('selected', on);
      if (on) selected.add(rec.mac);
      else selected.delete(rec.mac);
    }
    updateBulk();
    updateSelectAll();
  });
  function updateSelectAll() {
    let shown = 0;
    let on = 0;
    for (const rec of rows.values()) {
      if (rec.tr.hidden) continue;
      shown++;
      if (rec.box.checked) on++;
    }
    selectAll.checked = shown > 0 && on === shown;
    selectAll.indeterminate = on > 0 && on < shown;
  }
  function updateBulk() {
    for (const mac of Array.from(selected)) if (!rows.has(mac)) selected.delete(mac);
    let hiddenSel = 0;
    for (const mac of selected) if (rows.get(mac).tr.hidden) hiddenSel++;
    setText($('bulk-count'), selected.size + ' selected' + (hiddenSel ? ' (' + hiddenSel + ' not shown)' : ''));
    $('bulk').classList.toggle('active', selected.size > 0);
    $('bulk-reinstall').disabled = selected.size === 0;
    $('bulk-mark-installed').disabled = selected.size === 0;
    $('bulk-clear').disabled = selected.size === 0;
  }
  $('bulk-clear').addEventListener('click', () => {
    for (const mac of selected) {
      const rec = rows.get(mac);
      if (rec) {
        rec.box.checked = false;
        rec.tr.classList.remove('selected');
      }
    }
    selected.clear();
    updateBulk();
    updateSelectAll();
  });

  // -- the snapshot --
  let snapshotSeq = 0;
  let snapshotLoaded = false;
  // The snapshot comes in pages (`next` names the row to ask from; pxed
  // answers at most a few thousand rows at once, so that a site of 100,000
  // hosts does not hold its loop). Each page is applied as it comes; hosts
  // gone from site.yaml are removed once every page is in.
  async function loadSnapshot() {
    const mySeq = ++snapshotSeq;
    // Rows still waiting for a frame are older than the snapshot asked
    // for now.
    pendingRows.clear();
    const startTouch = touchCounter;
    const seen = new Set();
    let from = 0;
    for (let page = 0; ; page++) {
      let res;
      try {
        res = await getJson('api/hosts' + (from ? '?from=' + from : ''));
      } catch (e) {
        showMessage('error', 'Could not load the hosts: ' + e.message);
        return;
      }
      if (mySeq !== snapshotSeq) return; // a newer one is under way
      if (!res.ok || !res.body) {
        showMessage('error', 'Could not load the hosts: ' + errorText(res) +
          (res.status === 403 ? ' (this address is not in access.api.read_from)' : ''));
        return;
      }
      if (typeof res.body.now === 'number') syncClock(res.body.now * 1000);
      const added = applySnapshotPage(Array.isArray(res.body.hosts) ? res.body.hosts : [], seen, startTouch);
      if (Array.isArray(res.body.unknown)) renderUnknown(res.body.unknown);
      const next = res.body.next;
      const more = typeof next === 'number' && next > from && page < 10000;
      // Shown when every page is in: sorting and placing the rows once.
      if (!more) afterRowsChanged(added || page > 0);
      if (!more) break;
      from = next;
    }
    const gone = [];
    for (const [mac, rec] of rows) {
      // A row the stream brought after the snapshot was asked for stays.
      if (!seen.has(mac) && rec.touched <= startTouch) gone.push(mac);
    }
    if (gone.length) {
      removeRows(gone);
      afterRowsChanged(false);
    }
    snapshotLoaded = true;
  }

  function applySnapshotPage(list, seen, startTouch) {
    let added = false;
    for (const h of list) {
      if (!h || typeof h.mac !== 'string') continue;
      const mac = normMac(h.mac);
      seen.add(mac);
      let rec = rows.get(mac);
      if (!rec) {
        // Built off the document; sortRows puts every new row in at once
        // when the last page is in (rows put into a live table one page
        // after the other cost the browser far more).
        rec = buildRow(mac);
        rows.set(mac, rec);
        rec.data = h;
        rec.touched = ++touchCounter;
        fillRow(rec, h);
        order.push(rec);
        added = true;
      } else if (rec.touched <= startTouch) {
        // Nothing newer came from the stream since the snapshot was asked
        // for: the snapshot is the truth, whatever its v (a pxed restarted
        // since counts its versions from 0 again).
        rec.data = h;
        rec.touched = ++touchCounter;
        fillRow(rec, h);
      } else {
        applyRow(h);
      }
    }
    return added;
  }

  // ---- unknown MACs ---------------------------------------------------------

  function renderUnknown(list) {
    const body = $('unknown').tBodies[0];
    const frag = document.createDocumentFragment();
    const sorted = list.filter((u) => u && typeof u.mac === 'string')
      .sort((a, b) => (b.last_seen_ms || 0) - (a.last_seen_ms || 0));
    for (const u of sorted.slice(0, MAX_UNKNOWN_SHOWN)) {
      frag.appendChild(el('tr', {dataset: {mac: normMac(u.mac)}},
        el('td', {className: 'mac', text: normMac(u.mac)}),
        el('td', {className: 'ip', text: u.client || ''}),
        el('td', null, newRelTime(typeof u.first_seen_ms === 'number' ? u.first_seen_ms : null)),
        el('td', null, newRelTime(typeof u.last_seen_ms === 'number' ? u.last_seen_ms : null)),
        el('td', {className: 'num', text: typeof u.events === 'number' ? u.events : ''}),
        el('td', {className: 'detail', text: u.detail || '', title: u.detail || null})));
    }
    clear(body);
    body.appendChild(frag);
    const more = sorted.length - MAX_UNKNOWN_SHOWN;
    setText($('unknown-count'), sorted.length ? '(' + sorted.length + ')' : '');
    $('unknown').classList.toggle('empty-table', sorted.length === 0);
    const none = $('no-unknown');
    none.hidden = sorted.length !== 0 && more <= 0;
    if (more > 0) setText(none, 'and ' + more + ' more (pxed trace --unknown lists them all).');
    else setText(none, 'None.');
    updateExtra({unknown: sorted.length});
  }

  // ---- transfers ------------------------------------------------------------

  const transferRows = new Map(); // key -> {tr, progress, amount, rate, running}
  function renderTransfers(d) {
    if (!d || !Array.isArray(d.transfers)) return;
    if (typeof d.now_ms === 'number') syncClock(d.now_ms);
    const body = $('transfers').tBodies[0];
    const keep = new Set();
    let i = 0;
    for (const t of d.transfers) {
      const key = [t.protocol, t.client, t.path, t.started_ms].join('|');
      keep.add(key);
      let r = transferRows.get(key);
      if (!r) {
        const progress = el('progress', {max: '1', 'aria-label': 'progress of ' + (t.path || 'transfer')});
        const amount = el('span', {className: 'sub'});
        const rate = el('td', {className: 'num rate'});
        const running = el('td', {className: 'num'});
        const tr = el('tr', null,
          el('td', {className: 'proto', text: t.protocol || ''}),
          el('td', {className: 'ip', text: t.client || ''}),
          el('td', {className: 'path', text: t.path || '', title: t.path || null}),
          el('td', {className: 'progress'}, progress, amount),
          rate, running);
        r = {tr: tr, progress: progress, amount: amount, rate: rate, running: running};
        transferRows.set(key, r);
      }
      if (typeof t.size === 'number' && t.size > 0) {
        r.progress.max = t.size;
        r.progress.value = Math.min(t.bytes || 0, t.size);
        setText(r.amount, bytes(t.bytes) + ' of ' + bytes(t.size) + ' (' + Math.floor(100 * (t.bytes || 0) / t.size) + '%)');
      } else {
        r.progress.removeAttribute('value'); // indeterminate: the size is not known
        setText(r.amount, bytes(t.bytes) + ' so far');
      }
      setText(r.rate, typeof t.rate === 'number' ? bytes(t.rate) + '/s' : '');
      setText(r.running, typeof t.started_ms === 'number' ? span((serverNowMs() - t.started_ms) / 1000) : '');
      if (body.children[i] !== r.tr) body.insertBefore(r.tr, body.children[i] || null);
      i++;
    }
    for (const [key, r] of Array.from(transferRows)) {
      if (!keep.has(key)) {
        r.tr.remove();
        transferRows.delete(key);
      }
    }
    $('no-transfers').hidden = d.transfers.length !== 0;
    const total = typeof d.total === 'number' ? d.total : d.transfers.length;
    setText($('transfers-more'), total > d.transfers.length ? 'and ' + (total - d.transfers.length) + ' more' : '');
    $('transfers').classList.toggle('empty-table', d.transfers.length === 0);
    updateExtra({transfers: total});
  }

  const extra = {unknown: 0, transfers: 0};
  function updateExtra(part) {
    Object.assign(extra, part);
    const bits = [];
    bits.push(extra.transfers + (extra.transfers === 1 ? ' transfer' : ' transfers') + ' running');
    bits.push(extra.unknown + (extra.unknown === 1 ? ' unknown MAC' : ' unknown MACs'));
    setText($('summary-extra'), bits.join(' · '));
  }

  // ---- site -----------------------------------------------------------------

  function fact(dl, term, value, opts) {
    const dd = el('dd', opts || null);
    if (value instanceof Node) dd.appendChild(value);
    else dd.textContent = value === null || value === undefined || value === '' ? '—' : String(value);
    dl.append(el('dt', {text: term}), dd);
    return dd;
  }

  function renderSite(s) {
    if (!s) return;
    setText($('site-instance'), s.instance || '');
    setText($('site-version'), s.version || '');
    const c = s.config || {};
    const dl = $('site-config');
    clear(dl);
    fact(dl, 'File', c.path ? el('code', {text: c.path}) : null);
    fact(dl, 'Loaded', typeof c.loaded_at === 'number' ? newRelTime(c.loaded_at * 1000) : null);
    fact(dl, 'Hash', c.hash ? el('code', {text: String(c.hash).slice(0, 12), title: c.hash}) : null);
    fact(dl, 'Hosts / profiles', (c.hosts !== undefined ? c.hosts : '?') + ' / ' + (c.profiles !== undefined ? c.profiles : '?'));
    fact(dl, 'pxed started', typeof s.started_at === 'number' ? newRelTime(s.started_at * 1000) : null);

    const reload = $('site-reload');
    clear(reload);
    const lr = c.last_reload;
    const badge = $('config-badge');
    if (lr) {
      reload.appendChild(el('h4', {text: 'Last reload'}));
      const p = el('p', {className: lr.ok ? 'ok' : 'fail'},
        el('strong', {text: lr.ok ? 'succeeded' : 'failed'}), ' ',
        typeof lr.at === 'number' ? newRelTime(lr.at * 1000) : '',
        lr.message ? ': ' + lr.message : '');
      reload.appendChild(p);
      if (Array.isArray(lr.details) && lr.details.length) {
        const ul = el('ul', {className: 'errors'});
        for (const d of lr.details) ul.appendChild(el('li', null, el('code', {text: d})));
        reload.appendChild(ul);
      }
    }
    const failed = lr && lr.ok === false;
    setText(badge, failed ? 'reload failed' : 'config ok');
    badge.className = 'badge config-badge ' + (failed ? 'bad' : 'good');
    setAttr(badge, 'title', (c.path || 'site.yaml') + (c.hash ? ', hash ' + String(c.hash).slice(0, 12) : '') +
      (typeof c.loaded_at === 'number' ? ', loaded ' + timeTitle(c.loaded_at * 1000) : '') +
      (failed ? ' — the last reload failed: pxed still serves the config loaded before it' : ''));

    const ul = $('site-services');
    clear(ul);
    for (const sv of Array.isArray(s.services) ? s.services : []) {
      ul.appendChild(el('li', {className: sv.enabled ? 'on' : 'off'},
        el('span', {className: 'badge ' + (sv.enabled ? 'good' : 'off'), text: sv.name || '?'}), ' ',
        el('span', {text: sv.enabled ? (sv.listen || 'on') : 'off'}),
        sv.detail ? el('span', {className: 'sub', text: ' ' + sv.detail}) : null));
    }
    const body = $('site-subnets').tBodies[0];
    clear(body);
    for (const n of Array.isArray(s.subnets) ? s.subnets : []) {
      const size = typeof n.size === 'number' ? n.size : 0;
      const used = typeof n.used === 'number' ? n.used : 0;
      const meter = el('meter', {min: '0', max: String(Math.max(size, 1)), low: String(size * 0.7), high: String(size * 0.9),
        optimum: '0', value: String(used), 'aria-label': 'pool usage of ' + (n.network || 'subnet')});
      body.appendChild(el('tr', null,
        el('td', {text: n.network || ''}),
        el('td', {text: n.pool || '—'}),
        el('td', {className: 'usage'}, meter, el('span', {className: 'sub', text: ' ' + used + ' of ' + size + (size ? ' (' + Math.round(100 * used / size) + '%)' : '')})),
        el('td', {className: 'num', text: typeof n.reserved === 'number' ? n.reserved : ''})));
    }
  }

  async function loadSite() {
    try {
      const res = await getJson('api/site');
      if (res.ok) {
        renderSite(res.body);
        if (shownConfig === null) shownConfig = configKey(res.body);
      }
    } catch (e) { /* the stream's site event brings it later */ }
  }

  async function loadTransfers() {
    try {
      const res = await getJson('api/transfers');
      if (res.ok) renderTransfers(res.body);
    } catch (e) { /* the stream brings them */ }
  }

  // ---- signing in -----------------------------------------------------------

  // The CSRF token lives in this variable only; the API key in nothing.
  const session = {signed_in: false, key: null, csrf: null, expires: null, keys_configured: true};
  let expiryTimer = null;

  function setSession(s) {
    session.signed_in = !!(s && s.signed_in);
    session.key = session.signed_in ? s.key || '?' : null;
    session.csrf = session.signed_in ? s.csrf || null : null;
    session.expires = session.signed_in && typeof s.expires === 'number' ? s.expires : null;
    if (s && typeof s.keys_configured === 'boolean') session.keys_configured = s.keys_configured;
    const status = $('signin-status');
    document.body.classList.toggle('signed-in', session.signed_in);
    $('signin-form').hidden = session.signed_in;
    $('signout-button').hidden = !session.signed_in;
    if (session.signed_in) {
      setText(status, 'signed in as ' + session.key);
      status.className = 'signin-status ok';
      if (session.expires) setAttr(status, 'title', 'session ends ' + timeTitle(session.expires * 1000));
    } else {
      setAttr(status, 'title', null);
    }
    for (const b of document.querySelectorAll('button.action')) {
      setAttr(b, 'aria-disabled', session.signed_in ? null : 'true');
      setAttr(b, 'title', session.signed_in ? null : 'Sign in with an API key first');
    }
    setText($('actions-note'), session.signed_in ? 'Acting as ' + session.key + '; every action goes into the trace and the log with this name.'
      : session.keys_configured ? 'Sign in with an API key (top right) to act on hosts.'
        : 'pxed has no API keys (access.api.keys_file): no state changes over HTTP.');
    clearTimeout(expiryTimer);
    if (session.expires) {
      const ms = session.expires * 1000 - serverNowMs();
      if (ms > 0 && ms < 2147483647) expiryTimer = setTimeout(loadSession, ms + 1000);
    }
  }

  async function loadSession() {
    try {
      const res = await getJson('api/session');
      if (res.ok && res.body) {
        const was = session.signed_in;
        setSession(res.body);
        if (was && !session.signed_in) {
          setText($('signin-status'), 'session ended: sign in again');
          $('signin-status').className = 'signin-status';
        } else if (!session.signed_in && !session.keys_configured) {
          setText($('signin-status'), 'no API keys configured');
          $('signin-status').className = 'signin-status';
        }
      }
    } catch (e) { /* stays signed out */ }
  }

  $('signin-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    const input = $('signin-key');
    const button = $('signin-button');
    const status = $('signin-status');
    let key = input.value.trim();
    input.value = '';
    if (!key) return;
    button.disabled = true;
    setText(status, 'signing in…');
    status.className = 'signin-status';
    let res;
    try {
      const r = await fetch('api/login', {method: 'POST', credentials: 'same-origin', cache: 'no-store',
        headers: {Authorization: 'Bearer ' + key, Accept: 'application/json'}});
      key = null;
      let body = null;
      try {
        body = await r.json();
      } catch (err) {
        body = null;
      }
      res = {status: r.status, ok: r.ok, body: body};
    } catch (err) {
      res = {status: 0, ok: false, body: {error: 'pxed did not answer: ' + err.message}};
    } finally {
      key = null;
      button.disabled = false;
    }
    if (res.ok && res.body && res.body.signed_in) {
      setSession(Object.assign({keys_configured: true}, res.body));
      clear(message); // an earlier refusal no longer holds
      message.className = 'message';
      return;
    }
    const why = {401: 'wrong key', 403: 'no API keys are configured', 429: 'too many refused attempts: locked out for a while'}[res.status];
    setText(status, 'sign-in failed: ' + errorText(res, why) + (why && errorText(res, why) !== why ? ' (' + why + ')' : ''));
    status.className = 'signin-status error';
    input.focus();
  });

  $('signout-button').addEventListener('click', async () => {
    try {
      await fetch('api/logout', {method: 'POST', credentials: 'same-origin', headers: {'X-CSRF-Token': session.csrf || ''}});
    } catch (e) { /* signed out here anyway */ }
    setSession({signed_in: false});
    setText($('signin-status'), 'signed out');
    $('signin-status').className = 'signin-status';
    $('signin-key').focus();
  });

  // ---- actions --------------------------------------------------------------

  const ACTIONS = {
    reinstall: {verb: 'Reinstall', warn: 'It is installed again, from scratch, at its next network boot: its disks are wiped.',
      warnMany: 'They are installed again, from scratch, at their next network boot: their disks are wiped.'},
    'mark-installed': {verb: 'Mark installed', warn: 'It boots its disk from now on; an install under way is considered done.',
      warnMany: 'They boot their disks from now on; installs under way are considered done.'},
  };

  const dialog = $('confirm-dialog');
  let dialogResolve = null;
  function closeDialog(answer) {
    if (dialog.open) dialog.close();
    if (dialogResolve) {
      const r = dialogResolve;
      dialogResolve = null;
      r(answer);
    }
  }
  $('confirm-ok').addEventListener('click', () => closeDialog(true));
  $('confirm-cancel').addEventListener('click', () => closeDialog(false));
  dialog.addEventListener('cancel', () => closeDialog(false));
  dialog.addEventListener('close', () => closeDialog(false));

  function confirmAction(what, macs) {
    const a = ACTIONS[what];
    const names = macs.map((m) => {
      const rec = rows.get(m);
      const n = rec && rec.data && rec.data.hostname;
      return n ? n + ' (' + m + ')' : m;
    });
    setText($('confirm-title'), a.verb + (macs.length === 1 ? ' ' + names[0].split(' ')[0] : ' ' + macs.length + ' hosts') + '?');
    setText($('confirm-text'), macs.length === 1 ? a.warn : a.warnMany);
    const ul = $('confirm-list');
    clear(ul);
    for (const n of names.slice(0, MAX_CONFIRM_LISTED)) ul.appendChild(el('li', {text: n}));
    if (names.length > MAX_CONFIRM_LISTED) ul.appendChild(el('li', {text: 'and ' + (names.length - MAX_CONFIRM_LISTED) + ' more'}));
    setText($('confirm-ok'), a.verb + (macs.length === 1 ? '' : ' ' + macs.length + ' hosts'));
    return new Promise((resolve) => {
      dialogResolve = resolve;
      dialog.showModal();
      $('confirm-cancel').focus(); // a stray Enter must not wipe a machine
    });
  }

  let actionBusy = false;
  async function runAction(what, macs, returnFocus) {
    if (!macs.length || actionBusy) return;
    // Not signed in: no dialog; the server's refusal is what the admin sees
    // (the request carries no session and no CSRF token, so nothing changes).
    if (session.signed_in && !(await confirmAction(what, macs))) {
      if (returnFocus) returnFocus.focus();
      return;
    }
    actionBusy = true;
    const url = 'api/action?do=' + encodeURIComponent(what) + '&hosts=' + macs.map(encodeURIComponent).join(',') +
      '&confirm=' + macs.length;
    const headers = {Accept: 'application/json'};
    if (session.csrf) headers['X-CSRF-Token'] = session.csrf;
    let res;
    try {
      const r = await fetch(url, {method: 'POST', credentials: 'same-origin', cache: 'no-store', headers: headers});
      let body = null;
      try {
        body = await r.json();
      } catch (e) {
        body = null;
      }
      res = {status: r.status, ok: r.ok, body: body};
    } catch (e) {
      res = {status: 0, ok: false, body: {error: 'pxed did not answer: ' + e.message}};
    }
    actionBusy = false;
    const verb = ACTIONS[what].verb.toLowerCase();
    if (res.ok && res.body && Array.isArray(res.body.results)) {
      const items = res.body.results.map((r) => {
        const rec = rows.get(normMac(r.mac));
        const who = rec && rec.data && rec.data.hostname ? rec.data.hostname : r.mac;
        // pxed's message names the host already.
        return {ok: !!r.ok, text: (r.message || who + ': ' + (r.ok ? 'done' : 'failed')) +
          (r.state ? ' [' + r.state + (r.generation ? ', generation ' + r.generation : '') + ']' : '')};
      });
      const nOk = items.filter((i) => i.ok).length;
      showMessage(res.body.ok ? 'ok' : 'error', verb + ': ' + nOk + ' of ' + items.length + ' done' + (session.key ? ' (as ' + session.key + ')' : ''), items);
      if (currentMac) refreshHost();
    } else {
      const why = {401: 'not signed in, or the session ended', 403: 'refused', 400: 'malformed request', 404: 'a host is not in the inventory', 429: 'locked out'}[res.status];
      showMessage('error', verb + ' refused (' + (res.status || 'no answer') + '): ' + errorText(res, why));
      if (res.status === 401 && session.signed_in) loadSession();
    }
    if (returnFocus) returnFocus.focus();
  }

  $('bulk-reinstall').addEventListener('click', (e) => runAction('reinstall', Array.from(selected), e.currentTarget));
  $('bulk-mark-installed').addEventListener('click', (e) => runAction('mark-installed', Array.from(selected), e.currentTarget));
  $('action-reinstall').addEventListener('click', (e) => currentMac && runAction('reinstall', [currentMac], e.currentTarget));
  $('action-mark-installed').addEventListener('click', (e) => currentMac && runAction('mark-installed', [currentMac], e.currentTarget));

  // ---- the host view --------------------------------------------------------

  let currentMac = null;
  let hostFetch = null; // {running, again}
  let listScroll = 0;
  let lastHostKey = {trace: '', docs: '', details: ''};

  function renderStageBig(stage) {
    const box = $('host-stage');
    setAttr(box, 'data-stage', stage);
    clear(box);
    const idx = stageIndex(stage);
    const ol = el('ol', {className: 'steps-named', 'aria-label': 'boot stages, reached: ' + (stage === 'none' ? 'none yet' : stage)});
    STAGES.forEach((s, i) => {
      ol.appendChild(el('li', {className: i <= idx ? 'on' : '', 'aria-current': i === idx ? 'step' : null, text: s}));
    });
    box.appendChild(ol);
  }

  function renderHost(d) {
    const h = d.host || {};
    const mac = normMac(h.mac || currentMac);
    setText($('host-title'), (h.hostname || mac) + (h.hostname ? ' ' : ''));
    if (h.hostname) $('host-title').appendChild(el('span', {className: 'muted mac-sub', text: mac}));
    document.title = (h.hostname || mac) + ' · pxed dashboard';

    const detailsKey = JSON.stringify([h, d.in_inventory, d.urls, d.lifecycle]);
    if (detailsKey !== lastHostKey.details) {
      lastHostKey.details = detailsKey;
      const dl = $('host-details');
      clear(dl);
      fact(dl, 'MAC', el('code', {text: mac}));
      fact(dl, 'In site.yaml', d.in_inventory === false ? 'no: an unknown MAC' : 'yes');
      fact(dl, 'Profile', h.profile);
      fact(dl, 'State', h.state ? el('span', {className: 'badge state-badge state-' + h.state, text: h.state}) : 'no lifecycle');
      fact(dl, 'Generation', h.generation);
      const lc = d.lifecycle;
      if (lc && typeof lc === 'object') {
        if (lc.changed_by || typeof lc.changed_at === 'number') {
          fact(dl, 'Changed', el('span', null, typeof lc.changed_at === 'number' ? newRelTime(lc.changed_at * 1000) : '',
            lc.changed_by ? (typeof lc.changed_at === 'number' ? ', by ' : 'by ') + lc.changed_by : ''));
        }
        if (typeof lc.install_started === 'number') fact(dl, 'Install started', newRelTime(lc.install_started * 1000));
        if (typeof lc.install_done === 'number') fact(dl, 'Install done', newRelTime(lc.install_done * 1000));
      }
      fact(dl, 'IP', h.ip);
      const l = h.lease;
      fact(dl, 'Lease', l ? el('span', null, (l.state || '?') + (l.ip ? ' ' + l.ip : '') + (typeof l.expires === 'number' ? ', expires ' : ''),
        typeof l.expires === 'number' ? newRelTime(l.expires * 1000) : '') : 'none');
      fact(dl, 'Last seen', typeof h.last_seen === 'number' ? newRelTime(h.last_seen * 1000) : null);
      const ev = h.last_event;
      fact(dl, 'Last event', ev ? el('span', {className: ev.ok === false ? 'fail' : ''}, (ev.kind || '') + ' ' + (ev.text || '') + ' ',
        typeof ev.time_ms === 'number' ? newRelTime(ev.time_ms) : '') : null);
      if (d.urls && typeof d.urls === 'object') {
        const ul = el('ul', {className: 'urls'});
        for (const k of Object.keys(d.urls)) ul.appendChild(el('li', null, el('span', {className: 'sub', text: k + ' '}), el('code', {text: String(d.urls[k])})));
        fact(dl, 'URLs', ul);
      }
    }
    const t = d.trace || {};
    renderStageBig(STAGES.indexOf(t.stage || h.stage) >= 0 ? (t.stage || h.stage) : 'none');

    const hints = $('host-hints');
    clear(hints);
    const hl = Array.isArray(t.hints) ? t.hints : [];
    for (const x of hl) hints.appendChild(el('li', {className: 'hint', text: x}));
    if (!hl.length) hints.appendChild(el('li', {className: 'muted', text: 'None: nothing looks wrong.'}));

    renderTrace(Array.isArray(t.events) ? t.events : [], typeof t.attempt_from === 'number' ? t.attempt_from : null);
    renderDocuments(Array.isArray(d.documents) ? d.documents : []);
  }

  // `line` is the event as `pxed trace` prints it; its own leading date is
  // shown instead as the browser's local time (the UTC form in the title).
  const LINE_DATE = /^\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d(\.\d+)?Z?\s+/;
  function traceItem(e, attemptFrom) {
    const failed = e.ok === false;
    const li = el('li', {className: (failed ? 'fail' : 'ok') + (attemptFrom !== null && e.seq < attemptFrom ? ' earlier' : ''),
      dataset: {seq: e.seq, kind: e.kind || ''}});
    if (typeof e.time_ms === 'number') {
      li.appendChild(el('time', {datetime: isoUtc(e.time_ms), title: timeTitle(e.time_ms), text: localTimeMs(e.time_ms)}));
    }
    if (failed) li.appendChild(el('span', {className: 'visually-hidden', text: 'failed: '}));
    const text = typeof e.line === 'string' && e.line ? e.line.replace(LINE_DATE, '')
      : [e.kind, e.what, e.outcome, e.detail].filter(Boolean).join('  ');
    li.appendChild(el('span', {className: 'line', text: text}));
    if (e.instance) li.appendChild(el('span', {className: 'sub', text: ' on ' + e.instance}));
    return li;
  }

  function renderTrace(events, attemptFrom) {
    const ol = $('host-trace');
    const key = JSON.stringify([attemptFrom, events.length ? events[0].seq : null]);
    const have = ol.children.length;
    // The usual case, a boot going on: only new events are added.
    if (key === lastHostKey.trace && have <= events.length &&
      (have === 0 || String(events[have - 1].seq) === ol.children[have - 1].dataset.seq)) {
      for (let i = have; i < events.length; i++) ol.appendChild(traceItem(events[i], attemptFrom));
    } else {
      const frag = document.createDocumentFragment();
      for (const e of events) frag.appendChild(traceItem(e, attemptFrom));
      clear(ol);
      ol.appendChild(frag);
    }
    lastHostKey.trace = key;
    $('host-trace-empty').hidden = events.length !== 0;
  }

  function renderDocuments(docs) {
    const key = JSON.stringify(docs);
    if (key === lastHostKey.docs) return;
    lastHostKey.docs = key;
    const box = $('host-documents');
    const open = new Set();
    for (const det of box.querySelectorAll('details[open]')) open.add(det.dataset.key);
    clear(box);
    if (!docs.length) box.appendChild(el('p', {className: 'empty', text: 'None: this host gets no rendered document.'}));
    for (const doc of docs) {
      const k = (doc.kind || '') + '|' + (doc.path || '');
      const det = el('details', {dataset: {key: k, kind: doc.kind || ''}},
        el('summary', null, el('span', {className: 'badge', text: doc.kind || 'document'}), ' ', el('code', {text: doc.path || ''}),
          doc.error ? el('span', {className: 'fail', text: ' cannot be rendered'}) : null));
      if (open.has(k)) det.open = true;
      if (doc.error) det.appendChild(el('p', {className: 'message error', text: doc.error}));
      if (typeof doc.body === 'string') det.appendChild(el('pre', {tabindex: '0', text: doc.body}));
      box.appendChild(det);
    }
  }

  async function refreshHost() {
    if (!currentMac) return;
    if (hostFetch) {
      hostFetch.again = true;
      return;
    }
    const mac = currentMac;
    hostFetch = {again: false};
    try {
      const res = await getJson('api/hosts/' + encodeURIComponent(mac));
      if (mac !== currentMac) return;
      const err = $('host-error');
      if (res.ok && res.body) {
        err.hidden = true;
        renderHost(res.body);
      } else {
        setText(err, res.status === 404 ? 'pxed knows nothing of ' + mac + ': it is not in site.yaml and was never seen.' : 'Could not load the host: ' + errorText(res));
        err.hidden = false;
        if (res.status === 404) setText($('host-title'), mac);
      }
    } catch (e) {
      setText($('host-error'), 'Could not load the host: ' + e.message);
      $('host-error').hidden = false;
    } finally {
      const again = hostFetch && hostFetch.again;
      hostFetch = null;
      if (again) setTimeout(refreshHost, 250);
    }
  }

  function route() {
    const m = /^#host\/(.+)$/.exec(location.hash);
    const listView = $('list-view');
    const hostView = $('host-view');
    if (m) {
      let mac;
      try {
        mac = normMac(decodeURIComponent(m[1]));
      } catch (e) {
        mac = normMac(m[1]);
      }
      if (!currentMac) listScroll = window.scrollY;
      const changed = mac !== currentMac;
      currentMac = mac;
      listView.hidden = true;
      hostView.hidden = false;
      if (changed) {
        lastHostKey = {trace: '', docs: '', details: ''};
        clear($('host-trace'));
        clear($('host-documents'));
        clear($('host-details'));
        clear($('host-hints'));
        $('host-error').hidden = true;
        setText($('host-title'), mac);
        renderStageBig('none');
      }
      window.scrollTo(0, 0);
      $('host-title').focus({preventScroll: true});
      refreshHost();
    } else {
      const was = currentMac;
      currentMac = null;
      hostView.hidden = true;
      listView.hidden = false;
      updateSummary();
      if (was) {
        window.scrollTo(0, listScroll);
        const rec = rows.get(was);
        if (rec && !rec.tr.hidden) rec.link.focus({preventScroll: true});
      }
    }
  }
  window.addEventListener('hashchange', route);

  // "/" goes to the filter, as in many admin tools; Escape there clears it.
  document.addEventListener('keydown', (e) => {
    if (e.key !== '/' || e.ctrlKey || e.metaKey || e.altKey || currentMac) return;
    const t = e.target;
    if (t && (t.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(t.tagName)) || dialog.open) return;
    e.preventDefault();
    filterInput.focus();
  });
  filterInput.addEventListener('keydown', (e) => {
    if (e.key === 'Escape' && filterInput.value) {
      filterInput.value = '';
      filterText = '';
      applyFilterAll();
    }
  });

  // ---- live -----------------------------------------------------------------

  const live = $('live-status');
  function setLive(on) {
    setText(live, on ? 'live' : 'reconnecting');
    live.dataset.live = on ? 'yes' : 'no';
  }

  function parse(data) {
    try {
      return JSON.parse(data);
    } catch (e) {
      return null;
    }
  }

  let stream = null;
  let retryMs = 1000;
  let shownConfig = null;
  function configKey(d) {
    const c = (d && d.config) || {};
    return String(c.hash) + '@' + String(c.loaded_at);
  }
  function resync() {
    loadSnapshot();
    if (currentMac) refreshHost();
  }
  function connect() {
    setLive(false);
    stream = new EventSource('api/stream');
    stream.addEventListener('open', () => {
      setLive(true);
      retryMs = 1000;
      // Whatever happened while the stream was down: the snapshot has it,
      // and stream rows only count when they are newer than it.
      loadSnapshot();
      if (currentMac) refreshHost();
    });
    stream.addEventListener('error', () => {
      setLive(false);
      // EventSource retries by itself after a dropped connection, but not
      // after an answer that is not a stream (a 503 when pxed has too many
      // readers): then it is closed, and a new one is made here, later.
      if (stream.readyState === EventSource.CLOSED) {
        stream.close();
        setTimeout(connect, retryMs);
        retryMs = Math.min(retryMs * 2, 30000);
      }
    });
    stream.addEventListener('hosts', (e) => {
      const d = parse(e.data);
      if (!d) return;
      if (Array.isArray(d.hosts)) {
        queueRows(d.hosts);
        if (currentMac && d.hosts.some((h) => h && normMac(h.mac) === currentMac)) refreshHost();
      }
      if (Array.isArray(d.unknown)) {
        renderUnknown(d.unknown);
        if (currentMac && !rows.has(currentMac) && d.unknown.some((u) => u && normMac(u.mac) === currentMac)) refreshHost();
      }
    });
    stream.addEventListener('transfers', (e) => renderTransfers(parse(e.data)));
    stream.addEventListener('site', (e) => {
      const d = parse(e.data);
      renderSite(d);
      // A new config may have added or removed hosts (pxed also says
      // `reset` then); lease counts alone change nothing in the table.
      const key = configKey(d);
      if (key !== shownConfig) {
        shownConfig = key;
        resync();
      }
    });
    // pxed lost track of what this page has (a reload, or too many rows
    // changed at once to send): the snapshot again.
    stream.addEventListener('reset', resync);
  }

  // Relative times move on without asking the server.
  function refreshRel(t) {
    if (t.dataset.ms) setText(t, ago(Number(t.dataset.ms)));
  }
  function tick() {
    if (currentMac) {
      for (const t of $('host-view').querySelectorAll('time.rel')) refreshRel(t);
      return;
    }
    // Only the rows shown: thousands of hidden ones need not be touched.
    for (const rec of order) if (!rec.tr.hidden) refreshRel(rec.seen);
    for (const t of document.querySelectorAll('#unknown time.rel, #site time.rel')) refreshRel(t);
  }

  // ---- start ----------------------------------------------------------------

  updateBulk();
  updateExtra({});
  setSession({signed_in: false});
  route();
  loadSite();
  loadSession();
  loadTransfers();
  connect();
  // The snapshot comes with the stream's open; a stream that cannot open
  // (too many readers) must not leave the table empty.
  setTimeout(() => {
    if (!snapshotLoaded) loadSnapshot();
  }, 2500);
  setInterval(tick, RELATIVE_TICK_MS);
})();
