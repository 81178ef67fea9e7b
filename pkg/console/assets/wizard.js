// The install wizard: connect (OAuth where the platform's app is set up,
// keys otherwise), choose the consent option, the audience, the tags,
// lists or segments and the field mapping, preview with a dry run, then
// activate. Every step is a Hub API call; a draft connection keeps the
// choices between steps.
import {h, field, showErrors, num, fill, toast} from './dom.js';
import {api} from './api.js';
import {platforms, platformName} from './integrations.js';

// keyFields are the credentials a platform's keys are pasted as.
const keyFields = {
  shopify: [['shopDomain', 'Shop domain (name.myshopify.com)', 'text'], ['accessToken', 'Admin API access token', 'password'], ['webhookSecret', 'Webhook signing secret (the app\'s client secret)', 'password']],
  woocommerce: [['storeUrl', 'Store URL', 'url'], ['consumerKey', 'Consumer key', 'password'], ['consumerSecret', 'Consumer secret', 'password'], ['webhookSecret', 'Webhook secret', 'password']],
  mailchimp: [['apiKey', 'API key', 'password'], ['audienceId', 'Audience ID', 'text']],
  klaviyo: [['privateApiKey', 'Private API key', 'password']],
};

// consentModes are the consent options; the two that send a message show
// it as the tenant's own templates render it (GET
// /v1/sms-provider/templates), with what one costs.
const consentModes = [
  ['explicit', 'Explicit consent', 'Only people the platform shows as subscribed to SMS are subscribed. No message is sent.'],
  ['inferred', 'Inferred consent', 'Everyone with a phone number is subscribed, unless the platform shows them unsubscribed. No message is sent.'],
  ['confirmation', 'Confirmation SMS', 'As inferred, and each new number gets this text:', ['confirmation']],
  ['double_opt_in', 'Double opt-in', 'Each number gets this text, and joins the audience only after replying YES:', ['double_opt_in_request']],
];

function credits(n) {
  return `${num(n)} ${n === 1 ? 'credit' : 'credits'}`;
}

// message shows one text the install would send, exactly, and its cost
// (the Messaging page shows every text with it).
export function message(id, m, what) {
  return h('div', {class: 'sms', id},
    h('p', {class: 'sms-text'}, m.text),
    h('p', {class: 'muted small'}, `${what}${credits(m.credits)} each (${m.encoding}, ${m.text.length} characters)${m.custom ? '' : ' — the default text'}`));
}

// regions a store's local numbers are commonly in (ISO 3166-1 alpha-2).
const regions = [['AU', 'Australia'], ['CA', 'Canada'], ['DE', 'Germany'], ['ES', 'Spain'], ['FR', 'France'], ['GB', 'United Kingdom'],
  ['IE', 'Ireland'], ['IN', 'India'], ['IT', 'Italy'], ['NL', 'Netherlands'], ['NZ', 'New Zealand'], ['SG', 'Singapore'],
  ['US', 'United States'], ['ZA', 'South Africa']];

function steps(current) {
  const names = ['Connect', 'Choose', 'Preview', 'Activate'];
  return h('ol', {class: 'steps', 'aria-label': 'Install steps'}, names.map((n, i) =>
    h('li', {class: i === current ? 'current' : '', 'aria-current': i === current ? 'step' : false}, n)));
}

// connect is #/connect/<platform>: authorise, or paste the keys.
export async function connect(ctx) {
  const {main, params: [platform]} = ctx;
  if (!keyFields[platform]) return fill(main, h('h1', {}, 'No such platform'), h('a', {href: '#/'}, 'Go to Integrations'));
  const name = platformName(platform);
  const label = h('input', {type: 'text', value: name, required: true, maxlength: '100'});
  // OAuth: the platform's own login, then back here.
  const shop = h('input', {type: 'text', placeholder: 'name.myshopify.com'});
  const store = h('input', {type: 'url', placeholder: 'your store\'s address'});
  const oauthForm = h('form', {class: 'card', 'aria-labelledby': 'oauth-title', id: 'oauth-form'},
    h('h2', {id: 'oauth-title'}, `Authorise with ${name}`),
    h('p', {class: 'muted'}, `Sign in to ${name} and approve access; you come back here to choose what to sync.`),
    platform === 'shopify' ? field('Shop domain', shop, 'shop') : null,
    platform === 'woocommerce' ? field('Store URL', store, 'storeUrl') : null,
    h('p', {class: 'error', 'data-error-for': '_form', role: 'alert'}),
    h('button', {type: 'submit', class: 'primary'}, `Continue to ${name}`));
  oauthForm.addEventListener('submit', async (e) => {
    e.preventDefault();
    try {
      const out = await api('POST', '/v1/connections/authorize', {platform, label: label.value,
        shop: platform === 'shopify' ? shop.value.trim() : undefined, storeUrl: platform === 'woocommerce' ? store.value.trim() : undefined,
        returnUrl: location.origin + '/console'});
      location.assign(out.authorizeUrl);
    } catch (err) {
      showErrors(oauthForm, err.code === 'oauth_not_configured' ? {message: `${name} sign-in is not set up on this installation: paste the keys below.`} : err);
    }
  });
  const inputs = {};
  const keysForm = h('form', {class: 'card', 'aria-labelledby': 'keys-title', id: 'keys-form'},
    h('h2', {id: 'keys-title'}, 'Or paste the keys'),
    keyFields[platform].map(([key, text, type]) => {
      inputs[key] = h('input', {type, autocomplete: 'off', spellcheck: 'false'});
      return field(text, inputs[key], 'config.' + key);
    }),
    h('details', {}, h('summary', {}, 'Advanced'),
      field('API base URL (a test or staging endpoint)', inputs.apiBaseUrl = h('input', {type: 'url', autocomplete: 'off'}), 'config.apiBaseUrl')),
    h('p', {class: 'error', 'data-error-for': '_form', role: 'alert'}),
    h('button', {type: 'submit', class: 'primary'}, 'Check and continue'));
  keysForm.addEventListener('submit', async (e) => {
    e.preventDefault();
    const config = {};
    for (const [k, input] of Object.entries(inputs)) if (input.value.trim()) config[k] = input.value.trim();
    try {
      const out = await api('POST', '/v1/connections', {platform, label: label.value, status: 'draft', config});
      ctx.go(`#/wizard/${out.id}`);
    } catch (err) {
      if (err.code === 'credentials_rejected') err = {message: `${name} refused these keys: ${err.body.error.reason || err.message}`};
      else if (err.fields) err = {message: err.message, fields: Object.fromEntries(Object.entries(err.fields).map(([k, v]) => [k.startsWith('config.') ? k : 'config.' + k, v]))};
      showErrors(keysForm, err);
    }
  });
  fill(main, h('p', {}, h('a', {href: '#/'}, '← Integrations')),
    h('h1', {}, `Connect ${name}`), steps(0),
    h('div', {class: 'card'}, field('Name in the hub (groups are named "<name> - <tag>")', label, 'label')),
    oauthForm, keysForm);
}

// configure is #/wizard/<connection id>: the draft's choices, then the
// dry run and activation.
export async function configure(ctx) {
  const {main, params: [id]} = ctx;
  const [conn, opts, texts] = await Promise.all([api('GET', `/v1/connections/${id}`), api('GET', `/v1/connections/${id}/options`),
    api('GET', '/v1/sms-provider/templates')]);
  if (conn.status && conn.status !== 'draft') return ctx.go(`#/connections/${id}`);
  if (opts.audiences && opts.audiences.items.length && !conn.config.audienceId) return chooseAudience(ctx, conn, opts.audiences);
  const form = h('form', {id: 'wizard-form', 'aria-labelledby': 'choose-title'});
  const modes = h('fieldset', {class: 'card'}, h('legend', {}, 'Consent option'),
    consentModes.map(([value, title, text, sends]) => {
      const msgs = (sends || []).map((p) => message(`msg-${p}`, texts.templates[p], ''));
      if (value === 'double_opt_in' && conn.doubleOptInReminderDays > 0) {
        msgs.push(message('msg-double_opt_in_reminder', texts.templates.double_opt_in_reminder,
          `Sent once more after ${conn.doubleOptInReminderDays} days without an answer: `));
      }
      return h('div', {class: 'choice'},
        h('input', {type: 'radio', name: 'consentMode', id: `mode-${value}`, value, checked: (conn.consentMode || 'explicit') === value,
          'aria-describedby': msgs.length ? msgs.map((m) => m.id).join(' ') : false}),
        h('div', {}, h('label', {for: `mode-${value}`}, h('strong', {}, title), h('span', {class: 'muted'}, ' — ' + text)), msgs));
    }),
    texts.configured ? null : h('p', {class: 'muted small', id: 'templates-note'},
      'No SMS provider is set up yet: these are the default texts, {company} becomes your company name, and nothing is sent until the provider is set up (',
      h('a', {href: '#/messaging'}, 'Messaging'), ').'),
    h('p', {class: 'error', 'data-error-for': 'consentMode'}));
  const selected = new Set(conn.selectedTags || []);
  const groupBoxes = [];
  const groupSet = (title, choices, kind) => {
    if (!choices || !choices.items.length) return null;
    return h('fieldset', {class: 'card'}, h('legend', {}, title),
      h('p', {class: 'muted small'}, 'Only the members of what you tick are synced; tick nothing to sync everyone.'),
      choices.items.map((c, i) => {
        const box = h('input', {type: 'checkbox', id: `${kind}-${i}`, value: c.name, checked: selected.has(c.name)});
        groupBoxes.push(box);
        return h('div', {class: 'choice'}, box, h('label', {for: `${kind}-${i}`}, c.name, c.count !== undefined ? h('span', {class: 'muted'}, ` (${num(c.count)})`) : ''));
      }),
      choices.truncated ? h('p', {class: 'muted small'}, 'More exist than are listed here.') : null);
  };
  let audience = null;
  if (opts.audiences && opts.audiences.items.length) {
    audience = h('select', {}, opts.audiences.items.map((a) => h('option', {value: a.id, selected: a.id === conn.config.audienceId}, `${a.name}${a.count !== undefined ? ` (${num(a.count)})` : ''}`)));
  }
  // Numbers written without a country code are read as this country's.
  const guess = (navigator.language.split('-')[1] || '').toUpperCase();
  const regionNow = conn.defaultRegion || (regions.some(([c]) => c === guess) ? guess : 'US');
  const region = h('select', {}, regions.map(([code, name]) => h('option', {value: code, selected: code === regionNow}, name)));
  const fieldsList = opts.fields || [];
  const mapRows = ['firstName', 'lastName', 'phone', 'email'].map((target) => {
    const current = Object.entries(conn.fieldMap || {}).find(([, t]) => t === target);
    const sel = h('select', {}, h('option', {value: ''}, 'The platform\'s own'),
      fieldsList.map((f) => h('option', {value: f.key, selected: current && current[0] === f.key}, `${f.label} (${f.type})`)));
    sel.dataset.target = target;
    return field({firstName: 'First name', lastName: 'Last name', phone: 'Mobile phone', email: 'Email'}[target] + ' comes from', sel, 'fieldMap.' + target);
  });
  fill(form,
    modes,
    h('div', {class: 'card'}, field('Country of phone numbers written without a country code', region, 'defaultRegion')),
    audience ? h('div', {class: 'card'}, field('Audience', audience, 'config.audienceId')) : null,
    groupSet('Tags to sync', opts.tags, 'tag'), groupSet('Lists to sync', opts.lists, 'list'), groupSet('Segments to sync', opts.segments, 'segment'),
    fieldsList.length ? h('fieldset', {class: 'card'}, h('legend', {}, 'Field mapping'), mapRows) : null,
    h('p', {class: 'error', 'data-error-for': '_form', role: 'alert'}),
    h('button', {type: 'submit', class: 'primary', id: 'preview'}, 'Save and preview'));
  const preview = h('section', {class: 'card', id: 'preview-result', 'aria-live': 'polite', hidden: true});
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const fieldMap = {};
    for (const sel of form.querySelectorAll('select[data-target]')) if (sel.value) fieldMap[sel.value] = sel.dataset.target;
    const body = {consentMode: form.querySelector('input[name="consentMode"]:checked').value, defaultRegion: region.value,
      selectedTags: groupBoxes.filter((b) => b.checked).map((b) => b.value), fieldMap};
    if (audience && audience.value !== conn.config.audienceId) body.config = {audienceId: audience.value};
    try {
      await api('PATCH', `/v1/connections/${id}`, body);
      const run = await api('POST', `/v1/connections/${id}/activate`, {dryRun: true});
      await showPreview(ctx, preview, id, run.syncId);
    } catch (err) {
      showErrors(form, err.code === 'field_map_invalid' ? {message: err.message, fields: {['fieldMap.' + (fieldMap[err.body.error.field] || '')]: err.message}} : err);
    }
  });
  fill(main, h('p', {}, h('a', {href: '#/'}, '← Integrations')),
    h('h1', {id: 'choose-title'}, `Set up ${conn.label || platformName(conn.platform)}`), steps(1), form, preview);
}

// chooseAudience comes first when the draft has no audience yet (an OAuth
// install of Mailchimp): the audience's tags and fields follow from it.
function chooseAudience(ctx, conn, audiences) {
  const {main, params: [id]} = ctx;
  const select = h('select', {}, audiences.items.map((a) => h('option', {value: a.id}, `${a.name}${a.count !== undefined ? ` (${num(a.count)} members)` : ''}`)));
  const form = h('form', {class: 'card', id: 'audience-form', 'aria-labelledby': 'audience-title'},
    h('h2', {id: 'audience-title'}, 'Audience'),
    h('p', {class: 'muted'}, 'The audience whose members are synced; its tags, segments and fields are offered next.'),
    field('Audience', select, 'config.audienceId'),
    h('p', {class: 'error', 'data-error-for': '_form', role: 'alert'}),
    h('button', {type: 'submit', class: 'primary', id: 'choose-audience'}, 'Continue'));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    try {
      await api('PATCH', `/v1/connections/${id}`, {config: {audienceId: select.value}});
      await configure(ctx);
      document.getElementById('main').focus();
    } catch (err) {
      showErrors(form, err);
    }
  });
  fill(main, h('p', {}, h('a', {href: '#/'}, '← Integrations')),
    h('h1', {id: 'choose-title'}, `Set up ${conn.label || platformName(conn.platform)}`), steps(1), form);
  queueMicrotask(() => select.focus());
}

// showPreview waits for the dry run and says what the install will do.
async function showPreview(ctx, el, id, syncId) {
  el.hidden = false;
  fill(el, h('h2', {}, 'Preview'), h('p', {class: 'muted'}, 'Reading the platform to count what the install would do; nothing is written or sent…'));
  const wait = () => new Promise((resolve) => {
    const tick = async () => {
      const run = await api('GET', `/v1/syncs/${syncId}`);
      if (run.status !== 'running') resolve(run); else setTimeout(tick, 1000);
    };
    tick();
  });
  const run = await wait();
  const c = run.counts;
  if (run.status !== 'completed') {
    fill(el, h('h2', {}, 'Preview'), h('p', {class: 'error', role: 'alert'}, `The preview failed: ${run.error || run.status}. Check the keys and the choices, then try again.`));
    return;
  }
  const activate = h('button', {type: 'button', class: 'primary', id: 'activate'}, 'Activate');
  activate.addEventListener('click', async () => {
    activate.disabled = true;
    try {
      await api('POST', `/v1/connections/${id}/activate`);
      toast('Connection activated: its install sync is running');
      ctx.go(`#/connections/${id}`);
    } catch (err) {
      activate.disabled = false;
      fill(el, h('p', {class: 'error', role: 'alert'}, err.message));
    }
  });
  fill(el, h('h2', {}, 'Preview'), steps(2),
    h('p', {id: 'preview-summary'}, `This install will create ${num(c.created)} contacts and update ${num(c.updated)}; ${num(c.invalid)} records are invalid`,
      c.out_of_scope ? ` and ${num(c.out_of_scope)} are out of scope` : '', '. ',
      h('strong', {}, `It will send ${num(c.messages)} messages = ${num(c.credits)} credits.`)),
    h('p', {}, h('a', {href: `#/syncs/${syncId}`}, 'See the detailed preview report')),
    activate, ' ', h('span', {class: 'muted'}, 'Or change the choices above and preview again.'));
}
