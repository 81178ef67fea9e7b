// Contacts: search and filters, and one contact with its consent timeline.
import {h, fmtTime, emptyState, toast, fill} from './dom.js';
import {api, qs} from './api.js';

export async function contacts(ctx) {
  const {main, query} = ctx;
  const f = {q: query.get('q') || '', status: query.get('status') || '', source: query.get('source') || '', group: query.get('group') || ''};
  const [conns, groups] = await Promise.all([api('GET', '/v1/connections' + qs({limit: 100})), api('GET', '/v1/groups' + qs({limit: 100}))]);
  const q = h('input', {type: 'search', id: 'f-q', value: f.q, placeholder: 'Name, email or phone'});
  const status = h('select', {id: 'f-cstatus'}, h('option', {value: ''}, 'Audience (not pending)'),
    ['subscribed', 'unsubscribed', 'not_subscribed', 'pending'].map((s) => h('option', {value: s, selected: s === f.status}, s.replace('_', ' '))));
  const source = h('select', {id: 'f-source'}, h('option', {value: ''}, 'Any source'),
    conns.items.map((c) => h('option', {value: c.label, selected: c.label === f.source}, c.label)));
  const group = h('select', {id: 'f-group'}, h('option', {value: ''}, 'Any group'),
    groups.items.map((g) => {
      const name = typeof g === 'string' ? g : g.name;
      return h('option', {value: name, selected: name === f.group}, name);
    }));
  const form = h('form', {class: 'filters', role: 'search', 'aria-label': 'Find contacts'},
    h('label', {for: 'f-q'}, 'Search'), q,
    h('label', {for: 'f-cstatus'}, 'Status'), status,
    h('label', {for: 'f-source'}, 'Source'), source,
    h('label', {for: 'f-group'}, 'Group'), group,
    h('button', {type: 'submit'}, 'Search'));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    ctx.go('#/contacts' + qs({q: q.value.trim(), status: status.value, source: source.value, group: group.value}));
  });
  const tbody = h('tbody');
  const more = h('button', {type: 'button', id: 'more-contacts'}, 'More contacts');
  let cursor = '', count = 0;
  const errorBox = h('p', {class: 'error', role: 'alert'});
  const load = async () => {
    try {
      const page = await api('GET', '/v1/contacts' + qs({...f, limit: 50, cursor}));
      cursor = page.nextCursor || '';
      count += page.items.length;
      tbody.append(...page.items.map((c) => h('tr', {},
        h('td', {}, h('a', {href: `#/contacts/${c.id}`}, [c.firstName, c.lastName].filter(Boolean).join(' ') || '(no name)')),
        h('td', {}, c.email || ''), h('td', {}, c.phone || ''),
        h('td', {}, h('span', {class: `badge ${c.status}`}, c.status)),
        h('td', {}, (c.sources || []).join(', ')))));
      more.hidden = !cursor;
    } catch (err) {
      errorBox.textContent = err.fields ? Object.entries(err.fields).map(([k, v]) => `${k}: ${v}`).join('; ') : err.message;
      more.hidden = true;
    }
  };
  more.addEventListener('click', load);
  await load();
  fill(main, h('h1', {}, 'Contacts'), form, errorBox,
    count ? h('table', {class: 'data', id: 'contacts'},
      h('caption', {class: 'sr-only'}, 'Contacts'),
      h('thead', {}, h('tr', {}, ['Name', 'Email', 'Phone', 'Status', 'Sources'].map((t) => h('th', {scope: 'col'}, t)))), tbody)
      : emptyState(f.q || f.status || f.source || f.group ? 'No contact matches. Try fewer filters or another spelling.'
        : 'No contacts yet. They arrive with the first sync of an integration.', h('a', {href: '#/'}, 'Go to Integrations')),
    more);
}

export async function contact(ctx) {
  const {main, params: [id]} = ctx;
  const [c, hist] = await Promise.all([api('GET', `/v1/contacts/${id}`), api('GET', `/v1/contacts/${id}/history` + qs({limit: 100}))]);
  const msg = h('p', {class: 'error', role: 'alert', id: 'subscription-error'});
  const setStatus = async (status) => {
    msg.textContent = '';
    try {
      await api('PUT', `/v1/contacts/${id}/subscription`, {status});
      toast(status === 'unsubscribed' ? 'Unsubscribed' : 'Subscribed');
      // The page is drawn again (status, timeline); the focus goes to
      // the control that took the clicked one's place.
      await contact(ctx);
      const next = document.getElementById('unsubscribe') || document.getElementById('resubscribe');
      if (next) next.focus();
    } catch (err) {
      msg.textContent = err.code === 'consent_required'
        ? 'This person texted STOP. Only they can opt in again (by texting START or YES), or give their consent again through the source platform.'
        : err.message;
    }
  };
  const subscribed = c.status === 'subscribed';
  const action = h('button', {type: 'button', id: subscribed ? 'unsubscribe' : 'resubscribe', class: subscribed ? 'danger' : '', 'aria-describedby': 'subscription-error'},
    subscribed ? 'Unsubscribe' : (c.status === 'unsubscribed' ? 'Subscribe again' : 'Subscribe'));
  action.addEventListener('click', () => setStatus(subscribed ? 'unsubscribed' : 'subscribed'));
  const custom = Object.entries(c.fields || c.customFields || {});
  fill(main, 
    h('p', {}, h('a', {href: '#/contacts'}, '← Contacts')),
    h('h1', {}, [c.firstName, c.lastName].filter(Boolean).join(' ') || '(no name)', ' ', h('span', {class: `badge ${c.status}`}, c.status)),
    h('section', {class: 'card', 'aria-labelledby': 'details-title'}, h('h2', {id: 'details-title'}, 'Details'),
      h('dl', {class: 'settings'},
        [['Phone', c.phone], ['Email', c.email], ['Sources', (c.sources || []).join(', ')], ['Groups', (c.groups || []).join(', ')],
          ['Created', fmtTime(c.createdAt)], ['Updated', fmtTime(c.updatedAt)], ...custom.map(([k, v]) => [k, typeof v === 'object' ? JSON.stringify(v) : v])]
          .map(([k, v]) => [h('dt', {}, k), h('dd', {}, v || '—')])),
      action, msg),
    h('section', {class: 'card', 'aria-labelledby': 'history-title'}, h('h2', {id: 'history-title'}, 'Consent history'),
      hist.items.length ? h('ol', {class: 'timeline', id: 'timeline'}, hist.items.map((e) => h('li', {},
        h('time', {datetime: e.at}, fmtTime(e.at)), ' ',
        h('strong', {}, (e.kind || '').replace(/_/g, ' ')),
        e.detail ? h('span', {class: 'muted'}, ' — ' + Object.entries(e.detail).filter(([, v]) => v).map(([k, v]) => `${k}: ${v}`).join(', ')) : '')))
        : emptyState('No consent changes recorded yet.')));
}
