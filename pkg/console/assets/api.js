// The Hub API, called with the console session's cookie; writes carry the
// session's CSRF token. Nothing else is ever fetched.

let csrf = '';

export class APIError extends Error {
  constructor(status, body) {
    const e = (body && body.error) || {};
    super(e.message || `request failed (${status})`);
    this.status = status;
    this.code = e.code || 'error';
    this.fields = e.fields || null;
    this.body = body;
  }
}

async function parse(r) {
  const text = await r.text();
  if (!text) return null;
  try { return JSON.parse(text); } catch { return {error: {message: text.slice(0, 200)}}; }
}

export async function session() {
  const r = await fetch('/console/session', {credentials: 'same-origin'});
  if (r.status === 401) return null;
  const body = await parse(r);
  if (!r.ok) throw new APIError(r.status, body);
  csrf = body.csrfToken;
  return body;
}

export async function signIn(apiKey) {
  const r = await fetch('/console/session', {
    method: 'POST', credentials: 'same-origin',
    headers: {'Content-Type': 'application/json'}, body: JSON.stringify({apiKey}),
  });
  const body = await parse(r);
  if (!r.ok) throw new APIError(r.status, body);
  csrf = body.csrfToken;
  return body;
}

export async function signOut() {
  await fetch('/console/session', {method: 'DELETE', credentials: 'same-origin', headers: {'X-CSRF-Token': csrf}});
  csrf = '';
}

// api calls the Hub API: api('GET', '/v1/connections') → parsed JSON.
// A 401 sends the page back to sign-in.
export async function api(method, path, body) {
  const headers = {};
  if (method !== 'GET') headers['X-CSRF-Token'] = csrf;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const r = await fetch(path, {method, credentials: 'same-origin', headers, body: body === undefined ? undefined : JSON.stringify(body)});
  const out = await parse(r);
  if (r.status === 401) {
    location.hash = '#/signin';
    throw new APIError(401, out);
  }
  if (!r.ok) throw new APIError(r.status, out);
  return out;
}

// qs builds a query string from the non-empty values of obj.
export function qs(obj) {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(obj)) if (v !== undefined && v !== null && v !== '') p.set(k, v);
  const s = p.toString();
  return s ? '?' + s : '';
}
