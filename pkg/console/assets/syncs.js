// Syncs: a year of runs, newest first, with charts; a run's report.
import {h, fmtTime, fmtDuration, num, emptyState, fill} from './dom.js';
import {api, qs} from './api.js';
import {barChart} from './chart.js';

// progressBar shows how far a running sync is (pages applied of the pages
// planned; "exporting" while the platform prepares an export).
export function progressBar(run) {
  const p = run.progress || {};
  if (!p.planned) {
    return h('p', {class: 'progress-text', 'data-progress': 'exporting'}, `Exporting from the platform… ${fmtDuration(run.startedAt)}`);
  }
  const total = Math.max(p.pagesTotal || 0, 1);
  const pct = Math.min(100, Math.round((100 * (p.pagesDone || 0)) / total));
  const bar = h('div', {class: 'bar'});
  bar.style.width = pct + '%';
  return h('div', {class: 'progress-wrap'},
    h('div', {class: 'progress', role: 'progressbar', 'aria-valuemin': '0', 'aria-valuemax': '100', 'aria-valuenow': String(pct),
      'aria-label': 'Sync progress', 'data-progress': String(pct)}, bar),
    h('p', {class: 'muted small'}, `${num(p.pagesDone)} of ${num(p.pagesTotal)} pages, ${num(run.counts.created)} created, ${num(run.counts.updated)} updated`));
}

const statuses = ['running', 'completed', 'failed'];

export async function syncs(ctx) {
  const {main, query} = ctx;
  const connFilter = query.get('connection') || '';
  const statusFilter = query.get('status') || '';
  const conns = await api('GET', '/v1/connections' + qs({limit: 100}));
  const labels = Object.fromEntries(conns.items.map((c) => [c.id, c.label || c.platform]));
  const rows = [];
  let cursor = '';
  const tbody = h('tbody');
  const more = h('button', {type: 'button', id: 'older'}, 'Older syncs');
  const charts = h('div', {class: 'charts'});
  const load = async () => {
    const page = await api('GET', '/v1/syncs' + qs({connectionId: connFilter, status: statusFilter, limit: 25, cursor}));
    cursor = page.nextCursor || '';
    rows.push(...page.items);
    tbody.replaceChildren(...rows.map((r) => h('tr', {},
      h('td', {}, h('a', {href: `#/syncs/${r.id}`}, fmtTime(r.startedAt))),
      h('td', {}, labels[r.connectionId] || r.connectionId),
      h('td', {}, r.trigger),
      h('td', {}, h('span', {class: `badge ${r.status}`}, r.status)),
      h('td', {class: 'num'}, num(r.counts.created)),
      h('td', {class: 'num'}, num(r.counts.updated)),
      h('td', {class: 'num'}, num(r.counts.invalid)),
      h('td', {}, r.status === 'running' ? progressBar(r) : fmtDuration(r.startedAt, r.finishedAt)))));
    more.hidden = !cursor;
    drawCharts(charts, rows);
  };
  more.addEventListener('click', load);
  const connSel = h('select', {id: 'f-connection'}, h('option', {value: ''}, 'All connections'),
    conns.items.map((c) => h('option', {value: c.id, selected: c.id === connFilter}, labels[c.id])));
  const statusSel = h('select', {id: 'f-status'}, h('option', {value: ''}, 'Any status'),
    statuses.map((s) => h('option', {value: s, selected: s === statusFilter}, s)));
  const apply = () => ctx.go('#/syncs' + qs({connection: connSel.value, status: statusSel.value}));
  connSel.addEventListener('change', apply);
  statusSel.addEventListener('change', apply);
  await load();
  fill(main, 
    h('h1', {}, 'Syncs'),
    h('div', {class: 'filters'},
      h('label', {for: 'f-connection'}, 'Connection'), connSel,
      h('label', {for: 'f-status'}, 'Status'), statusSel),
    rows.length ? [charts, h('table', {class: 'data'},
      h('caption', {class: 'sr-only'}, 'Sync runs, newest first'),
      h('thead', {}, h('tr', {}, ['Started', 'Connection', 'Trigger', 'Status', 'Created', 'Updated', 'Invalid', 'Duration'].map((t) => h('th', {scope: 'col'}, t)))),
      tbody), more]
      : emptyState('No sync matches. A connection syncs when it is created, every day, and when you press "Sync now" on its page.', h('a', {href: '#/'}, 'Go to Integrations')));
  if (rows.some((r) => r.status === 'running')) {
    ctx.every(async () => {
      const fresh = await api('GET', '/v1/syncs' + qs({connectionId: connFilter, status: statusFilter, limit: 25}));
      const byId = Object.fromEntries(fresh.items.map((r) => [r.id, r]));
      let changed = false;
      for (let i = 0; i < rows.length; i++) if (byId[rows[i].id] && JSON.stringify(byId[rows[i].id]) !== JSON.stringify(rows[i])) { rows[i] = byId[rows[i].id]; changed = true; }
      if (changed) { cursor = ''; rows.length = 0; await load(); }
    }, 1500);
  }
}

// drawCharts: contacts created and updated per day, and sync durations.
function drawCharts(el, runs) {
  const days = {};
  for (const r of runs) {
    const d = (r.startedAt || '').slice(0, 10);
    days[d] = days[d] || {created: 0, updated: 0};
    days[d].created += r.counts.created || 0;
    days[d].updated += r.counts.updated || 0;
  }
  const dayKeys = Object.keys(days).sort().slice(-30);
  const finished = runs.filter((r) => r.finishedAt).slice(0, 30).reverse();
  el.replaceChildren(
    barChart({title: 'Contacts created and updated per day', labels: dayKeys.map((d) => d.slice(5)),
      series: [{name: 'created', values: dayKeys.map((d) => days[d].created)}, {name: 'updated', values: dayKeys.map((d) => days[d].updated)}]}),
    barChart({title: 'Sync durations (seconds)', labels: finished.map((r) => new Date(r.startedAt).toLocaleTimeString([], {hour: '2-digit', minute: '2-digit'})),
      series: [{name: 'seconds', values: finished.map((r) => Math.round((new Date(r.finishedAt) - new Date(r.startedAt)) / 1000))}]}));
}

const outcomes = ['created', 'updated', 'invalid', 'out_of_scope', 'skipped'];

export async function syncReport(ctx) {
  const {main, params: [id], query} = ctx;
  const outcome = query.get('outcome') || '';
  const run = await api('GET', `/v1/syncs/${id}`);
  const tbody = h('tbody');
  const more = h('button', {type: 'button', id: 'more-rows'}, 'More rows');
  let cursor = '';
  let count = 0;
  const load = async () => {
    const page = await api('GET', `/v1/syncs/${id}/report` + qs({outcome, cursor, limit: 100}));
    cursor = page.nextCursor || '';
    count += page.items.length;
    tbody.append(...page.items.map((r) => h('tr', {'data-outcome': r.outcome},
      h('td', {}, h('span', {class: `badge ${r.outcome}`}, r.outcome)),
      h('td', {}, [r.reason, ...(r.warnings || [])].filter(Boolean).join(', ')),
      h('td', {}, r.name || ''),
      h('td', {}, r.identifier || ''),
      h('td', {}, r.externalId),
      h('td', {}, r.contactId ? h('a', {href: `#/contacts/${r.contactId}`}, 'contact') : ''))));
    more.hidden = !cursor;
  };
  more.addEventListener('click', load);
  const sel = h('select', {id: 'f-outcome'}, h('option', {value: ''}, 'All outcomes'),
    outcomes.map((o) => h('option', {value: o, selected: o === outcome}, o.replace(/_/g, ' '))));
  sel.addEventListener('change', () => ctx.go(`#/syncs/${id}` + qs({outcome: sel.value})));
  await load();
  const c = run.counts;
  fill(main, 
    h('p', {}, h('a', {href: '#/syncs'}, '← Syncs')),
    h('h1', {}, `Sync of ${fmtTime(run.startedAt)}`),
    h('p', {}, `${run.trigger} sync, `, h('span', {class: `badge ${run.status}`}, run.status), `, ${fmtDuration(run.startedAt, run.finishedAt)}`,
      run.error ? h('span', {class: 'error'}, ` — ${run.error}`) : ''),
    run.status === 'running' ? progressBar(run) : null,
    h('ul', {class: 'counts'}, [['created', c.created], ['updated', c.updated], ['unchanged', c.unchanged], ['invalid', c.invalid],
      ['out of scope', c.out_of_scope], ['messages', c.messages], ['pending confirmation', c.pending_confirmation]]
      .map(([k, v]) => h('li', {}, h('strong', {}, num(v)), ' ', k))),
    h('h2', {}, 'Detailed report'),
    h('div', {class: 'filters'}, h('label', {for: 'f-outcome'}, 'Outcome'), sel,
      h('a', {class: 'button', id: 'csv', href: `/v1/syncs/${id}/report.csv` + qs({outcome}), download: `sync-${id}.csv`}, 'Download CSV')),
    count ? h('table', {class: 'data', id: 'report'},
      h('caption', {class: 'sr-only'}, 'Report rows'),
      h('thead', {}, h('tr', {}, ['Outcome', 'Reason', 'Name', 'Identifier', 'Platform id', 'Contact'].map((t) => h('th', {scope: 'col'}, t)))),
      tbody) : emptyState(outcome ? `No ${outcome.replace(/_/g, ' ')} rows in this sync.` : 'This sync has no report rows: unchanged records are only counted.'),
    more);
  if (run.status === 'running') ctx.every(async () => {
    const r = await api('GET', `/v1/syncs/${id}`);
    if (r.status !== 'running') syncReport(ctx);
  }, 2000);
}
