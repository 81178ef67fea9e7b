// Usage: messages and credits per month and per connection.
import {h, num, fill} from './dom.js';
import {api, qs} from './api.js';
import {barChart} from './chart.js';

function lastMonths(n) {
  const out = [];
  const d = new Date();
  d.setUTCDate(1);
  for (let i = 0; i < n; i++) {
    out.unshift(d.toISOString().slice(0, 7));
    d.setUTCMonth(d.getUTCMonth() - 1);
  }
  return out;
}

export async function usage({main}) {
  const months = lastMonths(6);
  const [conns, ...usages] = await Promise.all([api('GET', '/v1/connections' + qs({limit: 100})), ...months.map((m) => api('GET', '/v1/usage' + qs({month: m})))]);
  const labels = Object.fromEntries(conns.items.map((c) => [c.id, c.label || c.platform]));
  const cur = usages[usages.length - 1];
  const connIds = [...new Set(usages.flatMap((u) => u.byConnection.map((b) => b.connectionId)))];
  fill(main, 
    h('h1', {}, 'Usage'),
    h('ul', {class: 'counts'},
      h('li', {}, h('strong', {id: 'credits-month'}, num(cur.credits)), ' credits this month'),
      h('li', {}, h('strong', {}, num(cur.messages)), ' messages this month'),
      h('li', {}, h('strong', {}, cur.monthlyCreditCap === null || cur.monthlyCreditCap === undefined ? 'no' : num(cur.monthlyCreditCap)), ' monthly credit cap'),
      h('li', {}, h('strong', {}, num(cur.heldByCap)), ' messages held by the cap')),
    h('div', {class: 'charts'},
      barChart({title: 'Credits per month', labels: months, series: [{name: 'credits', values: usages.map((u) => u.credits)}]}),
      barChart({title: 'Credits per month and connection', labels: months,
        series: connIds.map((id) => ({name: labels[id] || id, values: usages.map((u) => (u.byConnection.find((b) => b.connectionId === id) || {}).credits || 0)}))})),
    h('h2', {}, 'This month by purpose'),
    cur.byPurpose.length ? h('table', {class: 'data'},
      h('thead', {}, h('tr', {}, ['Purpose', 'Messages', 'Credits'].map((t) => h('th', {scope: 'col'}, t)))),
      h('tbody', {}, cur.byPurpose.map((p) => h('tr', {}, h('td', {}, p.purpose.replace(/_/g, ' ')), h('td', {class: 'num'}, num(p.messages)), h('td', {class: 'num'}, num(p.credits))))))
      : h('p', {class: 'muted'}, 'No message sent this month. Confirmation texts and double opt-in requests count here; replies to STOP do too.'));
}
