// DOM helpers: every value goes in as text, never as HTML.

// h builds an element: h('a', {href: '#/x', class: 'btn'}, 'text', child, ...).
// Attributes starting with "on" are event listeners; false/null are skipped.
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === false || v === null || v === undefined) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, children);
  return el;
}

// fill replaces el's children, with h's rules for null, false and arrays.
export function fill(el, ...children) {
  el.replaceChildren();
  append(el, children);
}

function append(el, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

// fmtTime shows a timestamp in the user's locale ("" for none).
export function fmtTime(s) {
  if (!s) return '';
  const d = new Date(s);
  return isNaN(d) ? '' : d.toLocaleString();
}

// fmtDuration shows the time between two timestamps (to now when open).
export function fmtDuration(from, to) {
  if (!from) return '';
  const ms = (to ? new Date(to) : new Date()) - new Date(from);
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return s + ' s';
  const m = Math.floor(s / 60);
  return m < 60 ? `${m} min ${s % 60} s` : `${Math.floor(m / 60)} h ${m % 60} min`;
}

export function num(n) {
  return (n || 0).toLocaleString();
}

// field wraps a control with its label and a place for its error.
export function field(label, control, name) {
  const id = 'f-' + name;
  control.id = id;
  control.name = name;
  return h('div', {class: 'field'}, h('label', {for: id}, label), control,
    h('p', {class: 'error', id: id + '-error', 'data-error-for': name}));
}

// showErrors puts an API error next to the fields it names, or in the
// form's general error place.
export function showErrors(form, err) {
  for (const p of form.querySelectorAll('.error')) p.textContent = '';
  const fields = (err && err.fields) || {};
  let placed = false;
  for (const [name, msg] of Object.entries(fields)) {
    const p = form.querySelector(`[data-error-for="${CSS.escape(name)}"]`);
    if (p) { p.textContent = msg; placed = true; }
    const input = form.querySelector(`[name="${CSS.escape(name)}"]`);
    if (input) input.setAttribute('aria-invalid', 'true');
  }
  const general = form.querySelector('[data-error-for="_form"]');
  if (general && (!placed || !Object.keys(fields).length)) general.textContent = err ? err.message : '';
}

// emptyState says there is nothing yet and what to do next.
export function emptyState(text, ...next) {
  return h('div', {class: 'empty'}, h('p', {}, text), ...next);
}

// toast announces a short message (role=status).
export function toast(text) {
  const t = document.getElementById('toast');
  t.textContent = text;
  t.classList.add('show');
  clearTimeout(toast.timer);
  // Shown or hidden at once (no fade: text half faded is text nobody can
  // read), and emptied when hidden.
  toast.timer = setTimeout(() => { t.classList.remove('show'); t.textContent = ''; }, 4000);
}
