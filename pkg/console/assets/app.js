// The console's router: the part of the URL after # names the page.
import {h, field, showErrors, fill, toast} from './dom.js';
import {session, signIn, signOut} from './api.js';
import {integrations, connection} from './integrations.js';
import {syncs, syncReport} from './syncs.js';
import {contacts, contact} from './contacts.js';
import {usage} from './usage.js';
import {connect, configure} from './wizard.js';
import {messaging} from './messaging.js';

const routes = [
  [/^\/$/, integrations],
  [/^\/connections\/([\w.-]+)$/, connection],
  [/^\/syncs$/, syncs],
  [/^\/syncs\/([\w.-]+)$/, syncReport],
  [/^\/contacts$/, contacts],
  [/^\/contacts\/([\w.-]+)$/, contact],
  [/^\/usage$/, usage],
  [/^\/connect\/(\w+)$/, connect],
  [/^\/wizard\/([\w.-]+)$/, configure],
  [/^\/messaging$/, messaging],
];

// A view gets ctx: {main, params, query, every(fn, ms), go(hash)}. Timers
// started with every() stop when the user leaves the page.
let timers = [];
let signedIn = false;

function stopTimers() {
  for (const t of timers) clearInterval(t);
  timers = [];
}

function parseHash() {
  const raw = location.hash.replace(/^#/, '') || '/';
  const [path, q] = raw.split('?');
  return {path, query: new URLSearchParams(q || '')};
}

async function render() {
  stopTimers();
  const main = document.getElementById('main');
  const {path, query} = parseHash();
  if (path.startsWith('/signin') || !signedIn) {
    document.getElementById('nav').hidden = true;
    fill(main, signInView(path === '/signin/link-invalid'));
    return;
  }
  document.getElementById('nav').hidden = false;
  for (const a of document.querySelectorAll('#nav a')) {
    const target = a.getAttribute('href').slice(1);
    const current = target === '/' ? path === '/' || path.startsWith('/connections') : path.startsWith(target);
    if (current) a.setAttribute('aria-current', 'page'); else a.removeAttribute('aria-current');
  }
  for (const [re, view] of routes) {
    const m = path.match(re);
    if (!m) continue;
    const ctx = {
      main, params: m.slice(1), query,
      every(fn, ms) { timers.push(setInterval(fn, ms)); },
      go(hash) { location.hash = hash; },
    };
    fill(main, h('p', {class: 'muted'}, 'Loading…'));
    try {
      await view(ctx);
    } catch (err) {
      if (err.status === 401) return;
      fill(main, h('h1', {}, 'Something went wrong'), h('p', {class: 'error', role: 'alert'}, err.message));
    }
    return;
  }
  fill(main, h('h1', {}, 'Not found'), h('p', {}, 'No such page. ', h('a', {href: '#/'}, 'Go to Integrations')));
}

function signInView(linkInvalid) {
  const key = h('input', {type: 'password', autocomplete: 'off', required: true, spellcheck: 'false'});
  const form = h('form', {class: 'card narrow', 'aria-labelledby': 'signin-title'},
    h('h1', {id: 'signin-title'}, 'Sign in'),
    linkInvalid ? h('p', {class: 'error', role: 'alert'}, 'That sign-in link was already used or has expired. Ask the hub for a new one, or sign in with an API key.') : null,
    h('p', {class: 'muted'}, 'Paste your contactsync API key. It is exchanged for a session of 8 hours and not kept in the browser.'),
    field('API key', key, 'apiKey'),
    h('p', {class: 'error', 'data-error-for': '_form', role: 'alert'}),
    h('button', {type: 'submit', class: 'primary'}, 'Sign in'));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    try {
      await signIn(key.value.trim());
      signedIn = true;
      location.hash = '#/';
      if (parseHash().path === '/') render();
    } catch (err) {
      showErrors(form, err);
      key.focus();
    }
  });
  queueMicrotask(() => key.focus());
  return form;
}

// An OAuth install comes back to /console?connection=<id> (or ?error=):
// on to the wizard's next step, and the query leaves the address bar.
function oauthReturn() {
  const q = new URLSearchParams(location.search);
  const id = q.get('connection'), error = q.get('error');
  if (!id && !error) return;
  history.replaceState(null, '', '/console' + (id ? `#/wizard/${id}` : '#/'));
  if (error) queueMicrotask(() => toast(`The platform did not authorise the connection (${error}).`));
}

async function start() {
  oauthReturn();
  try {
    signedIn = !!(await session());
  } catch {
    signedIn = false;
  }
  // The skip link moves the focus without touching the address (whose
  // hash is the page).
  document.querySelector('.skip').addEventListener('click', (e) => {
    e.preventDefault();
    document.getElementById('main').focus();
  });
  document.getElementById('signout').addEventListener('click', async () => {
    await signOut();
    signedIn = false;
    location.hash = '#/signin';
  });
  window.addEventListener('hashchange', () => {
    render();
    document.getElementById('main').focus({preventScroll: true});
  });
  render();
}

start();
