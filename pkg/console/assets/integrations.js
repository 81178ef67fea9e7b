// Integrations: a tile per platform, and a connection's own page.
import {h, fmtTime, fmtDuration, num, toast, emptyState, fill} from './dom.js';
import {api, qs} from './api.js';
import {progressBar} from './syncs.js';

export const platforms = [
  {id: 'shopify', name: 'Shopify', about: 'Customers, tags and guest checkouts from your store.'},
  {id: 'woocommerce', name: 'WooCommerce', about: 'Customers and guest orders from your WordPress store.'},
  {id: 'mailchimp', name: 'Mailchimp', about: 'Members of an audience, by the tags you select.'},
  {id: 'klaviyo', name: 'Klaviyo', about: 'Profiles with their SMS consent, lists and segments.'},
];

export function platformName(id) {
  const p = platforms.find((p) => p.id === id);
  return p ? p.name : id;
}

// latestRuns maps connection id → its newest run (one listing of the
// tenant's recent runs).
async function latestRuns() {
  const out = {};
  const runs = await api('GET', '/v1/syncs' + qs({limit: 100}));
  for (const r of runs.items) if (!out[r.connectionId]) out[r.connectionId] = r;
  return out;
}

// stateOf says what a connection's tile shows: its state and, when it
// needs attention, why.
export function stateOf(conn, run) {
  if (conn.status === 'draft') return {state: 'draft', text: 'Draft: not synced yet'};
  if (conn.status === 'needs_reauthorization') return {state: 'attention', text: 'Needs attention: authorise again'};
  if (conn.status === 'disconnected') return {state: 'attention', text: 'Needs attention: disconnected by the platform'};
  if (conn.webhooks && conn.webhooks.status === 'failing') return {state: 'attention', text: 'Needs attention: webhooks failing'};
  if (!conn.enabled) return {state: 'disabled', text: 'Disabled'};
  if (run && run.status === 'running') return {state: 'syncing', text: 'Syncing'};
  if (run && run.status === 'failed') return {state: 'attention', text: 'Needs attention: last sync failed' + (run.error ? ` (${run.error})` : '')};
  return {state: 'connected', text: 'Connected'};
}

export async function integrations({main}) {
  const [conns, runs] = await Promise.all([api('GET', '/v1/connections' + qs({limit: 100})), latestRuns()]);
  const tiles = platforms.map((p) => {
    const mine = conns.items.filter((c) => c.platform === p.id);
    const body = mine.length ? h('ul', {class: 'plain'}, mine.map((c) => {
      const run = runs[c.id];
      const st = stateOf(c, run);
      return h('li', {},
        h('a', {href: c.status === 'draft' ? `#/wizard/${c.id}` : `#/connections/${c.id}`}, c.label || p.name),
        ' ', h('span', {class: `badge ${st.state}`}, st.text),
        h('div', {class: 'muted small'}, c.lastSyncAt ? `Last sync ${fmtTime(c.lastSyncAt)}` : 'Never synced'));
    })) : h('p', {class: 'muted'}, 'Not connected. ', p.about);
    return h('section', {class: 'tile', 'aria-labelledby': `tile-${p.id}`},
      h('h2', {id: `tile-${p.id}`}, p.name), body,
      h('p', {}, h('a', {class: 'button', href: `#/connect/${p.id}`, id: `connect-${p.id}`}, mine.length ? `Connect another ${p.name}` : `Connect ${p.name}`)));
  });
  fill(main, 
    h('h1', {}, 'Integrations'),
    conns.items.length ? null : emptyState('No integration is connected yet. Press "Connect" on a platform below: authorise it or paste its keys, choose what to sync, preview, activate.'),
    h('div', {class: 'tiles'}, tiles));
}

// webhookHealth says how the platform's webhooks to us are.
function webhookHealth(w) {
  if (!w) return 'not registered by contactsync (the daily sync keeps the contacts in step)';
  const text = {ok: 'working', repaired: 'repaired by the daily check', failing: 'failing', unavailable: 'not available on this account (the daily sync brings the changes)'}[w.status] || w.status;
  return `${text}${w.reason ? ` (${w.reason})` : ''}${w.checkedAt ? `, checked ${fmtTime(w.checkedAt)}` : ''}`;
}

export async function connection(ctx) {
  const {main, params: [id]} = ctx;
  const c = await api('GET', `/v1/connections/${id}`);
  const badge = h('span', {class: 'badge'});
  const latest = h('div', {id: 'latest-sync'});
  const syncNow = h('button', {type: 'button', class: 'primary', id: 'sync-now', 'aria-describedby': 'sync-now-help'}, 'Sync now');
  const help = h('p', {id: 'sync-now-help', class: 'muted small'});
  // The sync card is redrawn in place (the button keeps its focus).
  const drawSync = async () => {
    const runs = await api('GET', '/v1/syncs' + qs({connectionId: id, limit: 1}));
    const run = runs.items[0];
    const running = !!run && run.status === 'running';
    const st = stateOf(c, run);
    badge.className = `badge ${st.state}`;
    badge.textContent = st.text;
    syncNow.disabled = running || !c.enabled;
    syncNow.textContent = running ? 'Sync running…' : 'Sync now';
    if (!help.hasAttribute('role')) {
      help.textContent = running ? 'One manual sync at a time: this one must finish first.'
        : (c.enabled ? 'Pulls every change since the last sync.' : 'Enable the connection to sync it.');
    }
    latest.replaceChildren(run ? h('div', {},
      h('p', {}, `Latest: ${run.trigger} sync, ${run.status}, started ${fmtTime(run.startedAt)}, ${fmtDuration(run.startedAt, run.finishedAt)}. `,
        h('a', {href: `#/syncs/${run.id}`}, 'See detailed report')),
      running ? progressBar(run) : h('p', {class: 'muted'}, `${num(run.counts.created)} created, ${num(run.counts.updated)} updated, ${num(run.counts.invalid)} invalid`))
      : h('p', {class: 'muted'}, 'No sync yet.'));
  };
  syncNow.addEventListener('click', async () => {
    syncNow.disabled = true;
    help.removeAttribute('role');
    try {
      await api('POST', `/v1/connections/${id}/syncs`);
      toast('Sync started');
    } catch (err) {
      const msg = err.code === 'sync_in_progress' ? 'A sync of this connection is already running: one manual sync at a time.' : err.message;
      toast(msg);
      help.textContent = msg;
      help.setAttribute('role', 'alert');
    }
    await drawSync();
  });
  const toggle = h('button', {type: 'button', id: 'toggle-enabled'}, c.enabled ? 'Disable' : 'Enable');
  toggle.addEventListener('click', async () => {
    await api('PATCH', `/v1/connections/${id}`, {enabled: !c.enabled});
    toast(c.enabled ? 'Connection disabled' : 'Connection enabled');
    connection(ctx);
  });
  const del = h('button', {type: 'button', class: 'danger', id: 'delete'}, 'Delete…');
  const confirmBox = h('div', {class: 'confirm', hidden: true, role: 'group', 'aria-label': 'Confirm delete'},
    h('p', {}, 'Delete this connection? Its contacts stay; they lose this source.'),
    h('button', {type: 'button', class: 'danger', id: 'delete-confirm', onclick: async () => {
      await api('DELETE', `/v1/connections/${id}`);
      toast('Connection deleted');
      ctx.go('#/');
    }}, 'Delete'),
    ' ', h('button', {type: 'button', onclick: () => { confirmBox.hidden = true; del.focus(); }}, 'Cancel'));
  del.addEventListener('click', () => { confirmBox.hidden = false; confirmBox.querySelector('button').focus(); });
  const settings = [
    ['Platform', platformName(c.platform)],
    ['Consent mode', c.consentMode],
    ['Default region', c.defaultRegion],
    ['Selected tags', (c.selectedTags || []).join(', ') || 'all'],
    ['Daily sync', c.enabled ? `every ${c.syncIntervalHours} h` : 'off'],
    ['Write back opt-outs', c.writeBackOptOuts ? 'yes' : 'no'],
    ['Webhook URL', c.webhookUrl],
    ['Last sync', fmtTime(c.lastSyncAt) || 'never'],
    ['Next scheduled sync', fmtTime(c.nextSyncAt) || '—'],
    ['Webhooks', webhookHealth(c.webhooks)],
  ];
  await drawSync();
  fill(main, 
    h('p', {}, h('a', {href: '#/'}, '← Integrations')),
    h('h1', {}, c.label || platformName(c.platform), ' ', badge),
    h('section', {class: 'card', 'aria-labelledby': 'sync-title'},
      h('h2', {id: 'sync-title'}, 'Sync'), latest, syncNow, help),
    h('section', {class: 'card', 'aria-labelledby': 'settings-title'},
      h('h2', {id: 'settings-title'}, 'Settings'),
      h('dl', {class: 'settings'}, settings.map(([k, v]) => [h('dt', {}, k), h('dd', {}, v || '—')])),
      h('div', {class: 'actions'}, toggle, ' ', del), confirmBox),
    h('p', {}, h('a', {href: '#/syncs' + qs({connection: id})}, 'All syncs of this connection')));
  ctx.every(drawSync, 1500);
}
