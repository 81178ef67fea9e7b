// A small SVG bar chart: grouped bars per label, an axis with its maximum,
// and a text table beside it for screen readers.
const NS = 'http://www.w3.org/2000/svg';

function svg(tag, attrs, text) {
  const el = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  if (text !== undefined) el.textContent = text;
  return el;
}

// barChart({title, labels, series: [{name, values}]}) → <figure>.
export function barChart({title, labels, series}) {
  const fig = document.createElement('figure');
  fig.className = 'chart';
  const cap = document.createElement('figcaption');
  cap.textContent = title;
  fig.append(cap);
  if (!labels.length) {
    const p = document.createElement('p');
    p.className = 'muted';
    p.textContent = 'Nothing to show yet.';
    fig.append(p);
    return fig;
  }
  const W = 600, H = 180, left = 44, bottom = 24, top = 8;
  const max = Math.max(1, ...series.flatMap((s) => s.values));
  const plotW = W - left - 8, plotH = H - top - bottom;
  const group = plotW / labels.length;
  const barW = Math.max(2, (group * 0.8) / series.length);
  const root = svg('svg', {viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': title, class: 'chart-svg'});
  root.append(svg('line', {x1: left, y1: top + plotH, x2: W - 8, y2: top + plotH, class: 'axis'}));
  root.append(svg('text', {x: left - 6, y: top + 10, 'text-anchor': 'end', class: 'tick'}, max.toLocaleString()));
  root.append(svg('text', {x: left - 6, y: top + plotH, 'text-anchor': 'end', class: 'tick'}, '0'));
  labels.forEach((label, i) => {
    series.forEach((s, j) => {
      const v = s.values[i] || 0;
      const bh = (v / max) * plotH;
      const r = svg('rect', {x: left + i * group + group * 0.1 + j * barW, y: top + plotH - bh, width: barW, height: bh, class: `s${j}`});
      r.append(svg('title', {}, `${label} ${s.name}: ${v.toLocaleString()}`));
      root.append(r);
    });
    if (labels.length <= 12 || i % Math.ceil(labels.length / 12) === 0) {
      root.append(svg('text', {x: left + i * group + group / 2, y: H - 6, 'text-anchor': 'middle', class: 'tick'}, label));
    }
  });
  fig.append(root);
  const legend = document.createElement('p');
  legend.className = 'legend';
  series.forEach((s, j) => {
    const k = document.createElement('span');
    k.className = `key s${j}`;
    k.textContent = s.name;
    legend.append(k);
  });
  if (series.length > 1) fig.append(legend);
  // The same numbers as text, for screen readers.
  const table = document.createElement('table');
  table.className = 'sr-only';
  const head = table.insertRow();
  for (const t of ['', ...series.map((s) => s.name)]) {
    const th = document.createElement('th');
    th.textContent = t;
    head.append(th);
  }
  labels.forEach((l, i) => {
    const row = table.insertRow();
    row.insertCell().textContent = l;
    for (const s of series) row.insertCell().textContent = (s.values[i] || 0).toLocaleString();
  });
  fig.append(table);
  return fig;
}
