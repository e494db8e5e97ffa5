/**
 * A line chart as a standalone SVG string: numeric or categorical x, linear or log axes, one
 * series per peer, a marked point per series (a capacity knee), and guide lines. Just enough for
 * the report; no scripts, no fonts to fetch.
 */

/** One line. */
export interface Series {
  name: string;
  color: string;
  /** [x, y] points; y <= 0 is skipped on a log axis. */
  points: Array<[number, number]>;
  /** A point drawn as a ring and named in its tooltip (e.g. the knee). */
  mark?: { at: [number, number]; label: string } | undefined;
}

/** A chart. */
export interface Chart {
  title: string;
  xLabel: string;
  yLabel: string;
  series: Series[];
  /** Names for x = 0, 1, 2, ... (a categorical axis); numeric ticks when absent. */
  xCategories?: string[] | undefined;
  logY?: boolean | undefined;
  /** A log x axis (numeric x only). */
  logX?: boolean | undefined;
  /** Formats a y tick. */
  yFormat: (v: number) => string;
  /** Formats a numeric x tick (default: the number). */
  xFormat?: ((v: number) => string) | undefined;
  /** A dashed horizontal line, e.g. a latency SLO. */
  hLine?: { y: number; label: string } | undefined;
  /** A dashed y = x line, e.g. "delivered = offered". */
  diagonal?: string | undefined;
}

const W = 560;
const H = 300;
const M = { left: 70, right: 110, top: 30, bottom: 45 };

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function niceTicks(lo: number, hi: number, n: number): number[] {
  const span = hi - lo || 1;
  const step0 = span / n;
  const mag = 10 ** Math.floor(Math.log10(step0));
  const step = [1, 2, 5, 10].map((k) => k * mag).find((s) => s >= step0) ?? mag * 10;
  const out: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) out.push(v);
  return out;
}

/** Renders the chart. */
export function lineChart(c: Chart): string {
  const pts = c.series.flatMap((s) => s.points).filter(([x, y]) => (!c.logY || y > 0) && (!c.logX || x > 0));
  const iw = W - M.left - M.right;
  const ih = H - M.top - M.bottom;
  if (pts.length === 0) return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="60"><text x="10" y="30">${esc(c.title)}: no data</text></svg>`;
  const xs = pts.map(([x]) => x);
  const ys = pts.map(([, y]) => y);
  if (c.hLine !== undefined) ys.push(c.hLine.y);
  const fx = c.logX && !c.xCategories ? Math.log10 : (v: number) => v;
  const xLo = c.xCategories ? 0 : fx(Math.min(...xs));
  const xHi = c.xCategories ? Math.max(1, c.xCategories.length - 1) : fx(Math.max(...xs));
  const fy = c.logY ? Math.log10 : (v: number) => v;
  let yLo = c.logY ? Math.floor(Math.log10(Math.min(...ys))) : 0;
  let yHi = c.logY ? Math.ceil(Math.log10(Math.max(...ys))) : Math.max(...ys) * 1.1;
  if (yHi <= yLo) yHi = yLo + 1;
  if (!c.logY && yLo === yHi) yLo = 0;
  const px = (x: number): number => M.left + (xHi === xLo ? iw / 2 : ((fx(x) - xLo) / (xHi - xLo)) * iw);
  const py = (y: number): number => M.top + ih - ((fy(y) - yLo) / (yHi - yLo)) * ih;

  const parts: string[] = [];
  parts.push(`<text x="${W / 2}" y="18" text-anchor="middle" font-weight="bold">${esc(c.title)}</text>`);
  parts.push(`<rect x="${M.left}" y="${M.top}" width="${iw}" height="${ih}" fill="none" stroke="#999"/>`);
  const yTicks = c.logY ? Array.from({ length: yHi - yLo + 1 }, (_, i) => 10 ** (yLo + i)) : niceTicks(yLo, yHi, 5);
  for (const t of yTicks) {
    const y = py(t);
    parts.push(`<line x1="${M.left}" x2="${M.left + iw}" y1="${y}" y2="${y}" stroke="#eee"/>`);
    parts.push(`<text x="${M.left - 6}" y="${y + 4}" text-anchor="end" font-size="11">${esc(c.yFormat(t))}</text>`);
  }
  const xTicks = c.xCategories ? c.xCategories.map((_, i) => i) : [...new Set(xs)].sort((a, b) => a - b);
  // Every tick gets a mark; with many, every other one a label, so they do not overlap.
  const labelEvery = xTicks.length > 8 ? 2 : 1;
  xTicks.forEach((t, i) => {
    const x = px(t);
    const label = c.xCategories ? (c.xCategories[t] ?? '') : (c.xFormat ?? String)(t);
    parts.push(`<line x1="${x}" x2="${x}" y1="${M.top + ih}" y2="${M.top + ih + 4}" stroke="#999"/>`);
    if (i % labelEvery === 0) parts.push(`<text x="${x}" y="${M.top + ih + 16}" text-anchor="middle" font-size="11">${esc(label)}</text>`);
  });
  parts.push(`<text x="${M.left + iw / 2}" y="${H - 6}" text-anchor="middle" font-size="12">${esc(c.xLabel)}</text>`);
  parts.push(`<text x="14" y="${M.top + ih / 2}" text-anchor="middle" font-size="12" transform="rotate(-90 14 ${M.top + ih / 2})">${esc(c.yLabel)}</text>`);
  const inside = (x: number, y: number): boolean => (!c.logX || x > 0) && (!c.logY || y > 0);
  if (c.hLine !== undefined && inside(1, c.hLine.y)) {
    const y = py(c.hLine.y);
    parts.push(`<line x1="${M.left}" x2="${M.left + iw}" y1="${y}" y2="${y}" stroke="#555" stroke-dasharray="5,4"/>`);
    parts.push(`<text x="${M.left + 4}" y="${y - 4}" font-size="11" fill="#555">${esc(c.hLine.label)}</text>`);
  }
  if (c.diagonal !== undefined && !c.xCategories) {
    // y = x from the left edge to the right edge, clipped to the plot by the y range.
    const x0 = Math.min(...xs);
    const x1 = Math.max(...xs);
    const yMin = c.logY ? 10 ** yLo : yLo;
    const yMax = c.logY ? 10 ** yHi : yHi;
    const a = Math.max(x0, yMin);
    const b = Math.min(x1, yMax);
    if (b > a) {
      parts.push(
        `<line x1="${px(a).toFixed(1)}" y1="${py(a).toFixed(1)}" x2="${px(b).toFixed(1)}" y2="${py(b).toFixed(1)}" stroke="#555" stroke-dasharray="5,4"/>`,
      );
      parts.push(`<text x="${(px(b) - 4).toFixed(1)}" y="${(py(b) + 14).toFixed(1)}" text-anchor="end" font-size="11" fill="#555">${esc(c.diagonal)}</text>`);
    }
  }
  c.series.forEach((s, i) => {
    const ps = s.points.filter(([x, y]) => inside(x, y)).sort((a, b) => a[0] - b[0]);
    if (ps.length > 0) {
      parts.push(
        `<polyline fill="none" stroke="${s.color}" stroke-width="2" points="${ps.map(([x, y]) => `${px(x).toFixed(1)},${py(y).toFixed(1)}`).join(' ')}"/>`,
      );
      for (const [x, y] of ps)
        parts.push(
          `<circle cx="${px(x).toFixed(1)}" cy="${py(y).toFixed(1)}" r="3" fill="${s.color}"><title>${esc(`${s.name}: ${c.yFormat(y)}`)}</title></circle>`,
        );
    }
    if (s.mark !== undefined && inside(...s.mark.at)) {
      const [mx, my] = s.mark.at;
      parts.push(
        `<circle cx="${px(mx).toFixed(1)}" cy="${py(my).toFixed(1)}" r="7" fill="none" stroke="${s.color}" stroke-width="2"><title>${esc(`${s.name}: ${s.mark.label}`)}</title></circle>`,
      );
    }
    const ly = M.top + 14 + i * 18;
    parts.push(`<line x1="${W - M.right + 12}" x2="${W - M.right + 30}" y1="${ly - 4}" y2="${ly - 4}" stroke="${s.color}" stroke-width="3"/>`);
    parts.push(`<text x="${W - M.right + 36}" y="${ly}" font-size="12">${esc(s.name)}</text>`);
  });
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif">${parts.join('')}</svg>`;
}
