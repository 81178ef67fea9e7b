// Messaging: the tenant's SMS provider (GET and PUT /v1/sms-provider) and
// what its messages say and cost (GET /v1/sms-provider/templates).
import {h, field, showErrors, fill, emptyState} from './dom.js';
import {api} from './api.js';
import {message} from './wizard.js';

// providers are the SMS providers and the credential fields PUT
// /v1/sms-provider takes for each ([key, label, type, required, hint]).
// The Hub API publishes no field list, so it is kept here, after
// pkg/hubapi/provider.go; a password field is a secret, never shown back.
export const providers = [
  {id: 'twilio', name: 'Twilio',
    sender: 'A number of the account in international format (+15005550006), an alphanumeric sender ID, or a Messaging Service SID (MG…).',
    fields: [
      ['accountSid', 'Account SID', 'text', true, 'AC…, on the Twilio Console\'s home page.'],
      ['authToken', 'Auth token', 'password', true, ''],
    ]},
  {id: 'sinch', name: 'Sinch SMS',
    sender: 'A number of the service plan in international format, or an alphanumeric sender ID.',
    fields: [
      ['servicePlanId', 'Service plan ID', 'text', true, 'In the Sinch Build Dashboard: SMS > Service APIs.'],
      ['apiToken', 'API token', 'password', true, ''],
      ['webhookSecret', 'Callback signing secret (optional)', 'password', false,
        'Without it, replies are authenticated by a secret token in the inbound URL. With it, ask Sinch to sign the plan\'s callbacks with it.'],
    ]},
  {id: 'messagemedia', name: 'Sinch MessageMedia',
    sender: 'A dedicated number of the account in international format.',
    fields: [
      ['apiKey', 'API key', 'password', true, ''],
      ['apiSecret', 'API secret', 'password', true, ''],
      ['signaturePublicKey', 'Callback signature public key, PEM (optional)', 'textarea', false,
        'When the account signs its callbacks: the RSA public key that checks them. Without it, a secret token in the inbound URL authenticates them.'],
    ]},
];

// purposes are the messages, in the order a consumer meets them: the
// key of GET /v1/sms-provider/templates, the template's key in PUT, and
// what it is for.
const purposes = [
  ['confirmation', 'confirmation', 'Confirmation', 'Sent to each new number under the "Confirmation SMS" consent option.'],
  ['double_opt_in_request', 'doubleOptInRequest', 'Double opt-in request', 'Sent to each new number under "Double opt-in"; it joins after replying YES.'],
  ['double_opt_in_reminder', 'doubleOptInReminder', 'Double opt-in reminder', 'Sent once to a number that has not answered the request.'],
  ['opt_out_confirmation', 'optOutConfirmation', 'Opt-out confirmation', 'The answer to STOP.'],
  ['help', 'help', 'Help', 'The answer to HELP.'],
];

function providerOf(id) {
  return providers.find((p) => p.id === id);
}

// hinted is field() with a hint the control is described by.
function hinted(label, control, name, hint) {
  const f = field(label, control, name);
  if (hint) {
    const p = h('p', {class: 'muted small', id: `f-${name}-hint`}, hint);
    f.insertBefore(p, control.nextSibling);
    control.setAttribute('aria-describedby', p.id);
  }
  return f;
}

async function load() {
  const [settings, texts] = await Promise.all([
    api('GET', '/v1/sms-provider').catch((err) => { if (err.status === 404) return null; throw err; }),
    api('GET', '/v1/sms-provider/templates')]);
  return {settings, texts};
}

// current shows the stored settings (credentials by name only), or the
// empty state.
function current(s) {
  if (!s) {
    return emptyState('No SMS provider is set up yet: no message is sent, and the install wizard shows the default texts. ' +
      'Choose your provider below, paste its credentials and save: they are checked with the provider first.');
  }
  const p = providerOf(s.provider);
  const names = (s.credentialsSet || []).map((k) => {
    const f = p && p.fields.find(([key]) => key === k);
    return f ? f[1].replace(/,? (PEM )?\(optional\)$/, '') : k;
  });
  const rows = [
    ['Provider', p ? p.name : s.provider],
    ['Sender', s.sender],
    ['Company name', s.companyName],
    ['Help text', s.helpText || 'the default ("Msg&data rates may apply.")'],
    ['Credentials set', names.length ? names.join(', ') + ' (not shown)' : 'none'],
    ['Inbound URL', s.inboundUrl + (s.inboundUrlToken ? ' with a secret token (shown once, when saved: save again for a new one)' : '')],
    ['API base URL', s.apiBaseUrl || `${p ? p.name : 'the provider'}'s own`],
  ];
  return h('dl', {class: 'settings', id: 'sms-current'}, rows.map(([k, v]) => [h('dt', {}, k), h('dd', {}, v)]));
}

// messages shows each text as the outbox sends it, with its cost.
function messages(texts) {
  return h('div', {id: 'templates'},
    texts.configured ? null : h('p', {class: 'muted small'}, 'The default texts: {company} becomes your company name once the provider is set up.'),
    purposes.map(([key, , title, about]) => texts.templates[key] ? h('div', {class: 'template'},
      h('h3', {}, title), h('p', {class: 'muted small'}, about),
      message(`tpl-${key}`, texts.templates[key], '')) : null));
}

// done says what the save set up: the inbound URL pointed at us, or the
// step left to the hub user.
function done(out) {
  const p = providerOf(out.provider);
  const name = p ? p.name : out.provider;
  const inb = out.inbound || {};
  return [
    h('h2', {id: 'sms-result-title', tabindex: '-1'}, 'Saved'),
    h('p', {}, `${name} sends from ${out.sender} as ${out.companyName}; the credentials were checked with ${name}.`),
    inb.configured
      ? h('p', {id: 'sms-inbound'}, `Replies (STOP, YES, HELP) come to contactsync: we ${inb.how}.`)
      : h('div', {id: 'sms-inbound'},
        h('p', {}, h('strong', {}, 'One step left for you: '), inb.manualStep || `point the sender's inbound messages at ${out.inboundUrl}.`),
        inb.reason ? h('p', {class: 'muted small'}, `Why we could not do it: ${inb.reason}`) : null),
    h('p', {class: 'muted small'}, 'Inbound URL: ', h('code', {class: 'url'}, out.inboundUrl)),
  ];
}

export async function messaging(ctx) {
  const {main} = ctx;
  let {settings, texts} = await load();
  const now = h('section', {class: 'card', 'aria-labelledby': 'sms-current-title'});
  const drawCurrent = () => fill(now, h('h2', {id: 'sms-current-title'}, 'Current settings'), current(settings));
  const costs = h('section', {class: 'card', 'aria-labelledby': 'sms-texts-title'});
  const drawTexts = () => fill(costs, h('h2', {id: 'sms-texts-title'}, 'Your messages and what each costs'), messages(texts));
  const result = h('section', {class: 'card', id: 'sms-result', role: 'status', hidden: true});

  const s = settings || {};
  const provider = h('select', {required: true},
    providers.map((p) => h('option', {value: p.id, selected: p.id === (s.provider || 'twilio')}, p.name)));
  const creds = h('div', {id: 'sms-credentials'});
  const sender = h('input', {type: 'text', required: true, maxlength: '34', autocomplete: 'off', spellcheck: 'false', value: s.sender || ''});
  const senderField = hinted('Sender', sender, 'sender', ' ');
  const senderHint = senderField.querySelector('#f-sender-hint');
  const company = h('input', {type: 'text', required: true, maxlength: '100', value: s.companyName || ''});
  const helpText = h('input', {type: 'text', maxlength: '320', value: s.helpText || ''});
  const baseURL = h('input', {type: 'url', autocomplete: 'off', spellcheck: 'false', value: s.apiBaseUrl || ''});
  const own = s.templates || {};
  const tplInputs = purposes.map(([, key, title]) => [key, h('textarea', {rows: '2', maxlength: '640'}, own[key] || ''), title]);
  const advanced = h('details', {id: 'sms-advanced'}, h('summary', {}, 'Advanced'),
    hinted('API base URL', baseURL, 'apiBaseUrl', 'Leave empty for the provider\'s own API; a test or regional endpoint otherwise.'));
  const textsBox = h('details', {id: 'sms-texts', open: tplInputs.some(([key]) => own[key]) || false}, h('summary', {}, 'Message texts (optional)'),
    h('p', {class: 'muted small'}, 'Empty: the default text (shown below). {company} becomes the company name, {help} the help text.'),
    tplInputs.map(([key, input, title]) => field(title, input, 'templates.' + key)));
  const credInputs = {};
  const drawCreds = () => {
    const p = providerOf(provider.value);
    const saved = settings && settings.provider === p.id ? new Set(settings.credentialsSet || []) : new Set();
    for (const k of Object.keys(credInputs)) delete credInputs[k];
    senderHint.textContent = p.sender;
    fill(creds, h('p', {class: 'muted small'}, saved.size
      ? 'Saved credentials are never shown: enter them again to save any change (they are checked with the provider each time).'
      : `Your ${p.name} credentials: checked with ${p.name} before anything is saved.`),
    p.fields.map(([key, label, type, required, hint]) => {
      const input = type === 'textarea' ? h('textarea', {rows: '4', spellcheck: 'false', required})
        : h('input', {type, required, autocomplete: type === 'password' ? 'new-password' : 'off', spellcheck: 'false'});
      credInputs[key] = input;
      const note = [hint, saved.has(key) ? 'Set (not shown).' : ''].filter(Boolean).join(' ');
      return hinted(label, input, 'credentials.' + key, note);
    }));
  };
  provider.addEventListener('change', drawCreds);
  drawCreds();

  const submit = h('button', {type: 'submit', class: 'primary', id: 'sms-save'}, 'Check and save');
  const form = h('form', {class: 'card', id: 'sms-form', 'aria-labelledby': 'sms-form-title'},
    h('h2', {id: 'sms-form-title'}, settings ? 'Change the provider or its settings' : 'Set up your SMS provider'),
    field('Provider', provider, 'provider'), creds,
    senderField,
    hinted('Company name', company, 'companyName', 'Named in every message ({company}).'),
    hinted('Help text (optional)', helpText, 'helpText', 'The {help} of the answer to HELP, e.g. a phone number. Empty: "Msg&data rates may apply."'),
    textsBox, advanced,
    h('p', {class: 'error', 'data-error-for': '_form', role: 'alert', id: 'sms-form-error'}),
    submit);

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    for (const el of form.querySelectorAll('[aria-invalid]')) el.removeAttribute('aria-invalid');
    const credentials = {};
    for (const [k, input] of Object.entries(credInputs)) if (input.value.trim()) credentials[k] = input.value.trim();
    const templates = {};
    for (const [key, input] of tplInputs) if (input.value.trim()) templates[key] = input.value.trim();
    const body = {provider: provider.value, sender: sender.value.trim(), companyName: company.value.trim(), credentials, templates};
    if (helpText.value.trim()) body.helpText = helpText.value.trim();
    if (baseURL.value.trim()) body.apiBaseUrl = baseURL.value.trim();
    submit.disabled = true;
    submit.textContent = 'Checking…';
    try {
      const out = await api('PUT', '/v1/sms-provider', body);
      showErrors(form, null);
      ({settings, texts} = await load());
      drawCurrent();
      drawTexts();
      fill(result, done(out));
      result.hidden = false;
      drawCreds();
      form.querySelector('h2').textContent = 'Change the provider or its settings';
      result.querySelector('h2').focus();
    } catch (err) {
      const name = providerOf(provider.value).name;
      const reason = err.body && err.body.error && err.body.error.reason;
      if (err.code === 'credentials_rejected') err = {message: `${name} refused these credentials: ${reason || err.message}. Nothing was saved.`};
      else if (err.code === 'provider_unreachable') err = {message: `${name} could not check these credentials${reason ? ` (${reason})` : ''}. Nothing was saved: try again.`};
      showErrors(form, err);
      // A field inside a closed section is opened, and the focus goes to
      // the first field named (or the form's error).
      const first = Object.keys(err.fields || {}).map((k) => form.querySelector(`[name="${CSS.escape(k)}"]`)).find(Boolean);
      if (first) {
        const d = first.closest('details');
        if (d) d.open = true;
        first.focus();
      } else {
        form.querySelector('[data-error-for="_form"]').focus();
      }
    } finally {
      submit.disabled = false;
      submit.textContent = 'Check and save';
    }
  });
  form.querySelector('[data-error-for="_form"]').setAttribute('tabindex', '-1');

  drawCurrent();
  drawTexts();
  fill(main, h('h1', {}, 'Messaging'),
    h('p', {class: 'muted'}, 'The SMS provider your messages go through: confirmations, double opt-in requests and the answers to STOP and HELP. Replies come back to contactsync.'),
    now, result, form, costs);
}
