// The cost curve's chart: time against rows on log-log axes, one line per
// measured job, as a self-contained SVG (no fonts or scripts fetched).

export interface CostSeries {
  label: string;
  colour: string;
  /** (rows, milliseconds), rows increasing. */
  points: [number, number][];
}

const WIDTH = 640;
const HEIGHT = 400;
const MARGIN = { left: 70, right: 170, top: 30, bottom: 50 };

const decades = (lo: number, hi: number): number[] => {
  const out: number[] = [];
  for (let e = Math.floor(Math.log10(lo)); e <= Math.ceil(Math.log10(hi)); e++) out.push(10 ** e);
  return out;
};

const timeLabel = (ms: number): string => (ms >= 1000 ? `${ms / 1000} s` : `${ms} ms`);
const rowsLabel = (n: number): string => (n >= 1e6 ? `${n / 1e6}M` : n >= 1e3 ? `${n / 1e3}k` : String(n));
const escape = (s: string): string => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

/**
 * Draws the series on log-log axes with a grid at every decade.
 *
 * @example
 * writeFileSync("cost.svg", costChartSvg("Engine cost by rows", [{ label: "mean@1", colour: "#1f77b4", points: [[1e4, 20], [1e5, 40]] }]));
 */
export function costChartSvg(title: string, series: readonly CostSeries[]): string {
  const all = series.flatMap((s) => s.points);
  const xs = decades(Math.min(...all.map(([n]) => n)), Math.max(...all.map(([n]) => n)));
  const ys = decades(Math.min(...all.map(([, ms]) => ms)), Math.max(...all.map(([, ms]) => ms)));
  const [x0, x1] = [Math.log10(xs[0]), Math.log10(xs[xs.length - 1])];
  const [y0, y1] = [Math.log10(ys[0]), Math.log10(ys[ys.length - 1])];
  const plotW = WIDTH - MARGIN.left - MARGIN.right;
  const plotH = HEIGHT - MARGIN.top - MARGIN.bottom;
  const px = (n: number): number => MARGIN.left + ((Math.log10(n) - x0) / (x1 - x0 || 1)) * plotW;
  const py = (ms: number): number => MARGIN.top + plotH - ((Math.log10(ms) - y0) / (y1 - y0 || 1)) * plotH;
  const f = (v: number): string => v.toFixed(1);
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" font-family="sans-serif" font-size="12">`,
    `<rect width="${WIDTH}" height="${HEIGHT}" fill="#fff"/>`,
    `<text x="${MARGIN.left}" y="18" font-size="14" font-weight="bold">${escape(title)}</text>`,
  ];
  for (const n of xs) {
    parts.push(`<line x1="${f(px(n))}" y1="${MARGIN.top}" x2="${f(px(n))}" y2="${MARGIN.top + plotH}" stroke="#ddd"/>`);
    parts.push(`<text x="${f(px(n))}" y="${MARGIN.top + plotH + 18}" text-anchor="middle">${rowsLabel(n)}</text>`);
  }
  for (const ms of ys) {
    parts.push(`<line x1="${MARGIN.left}" y1="${f(py(ms))}" x2="${MARGIN.left + plotW}" y2="${f(py(ms))}" stroke="#ddd"/>`);
    parts.push(`<text x="${MARGIN.left - 8}" y="${f(py(ms) + 4)}" text-anchor="end">${timeLabel(ms)}</text>`);
  }
  parts.push(`<rect x="${MARGIN.left}" y="${MARGIN.top}" width="${plotW}" height="${plotH}" fill="none" stroke="#888"/>`);
  parts.push(`<text x="${MARGIN.left + plotW / 2}" y="${HEIGHT - 10}" text-anchor="middle">rows</text>`);
  series.forEach((s, k) => {
    const path = s.points.map(([n, ms], i) => `${i === 0 ? "M" : "L"}${f(px(n))},${f(py(ms))}`).join(" ");
    parts.push(`<path d="${path}" fill="none" stroke="${s.colour}" stroke-width="2"/>`);
    for (const [n, ms] of s.points) parts.push(`<circle cx="${f(px(n))}" cy="${f(py(ms))}" r="3" fill="${s.colour}"/>`);
    const ly = MARGIN.top + 10 + k * 20;
    parts.push(`<line x1="${WIDTH - MARGIN.right + 12}" y1="${ly}" x2="${WIDTH - MARGIN.right + 32}" y2="${ly}" stroke="${s.colour}" stroke-width="2"/>`);
    parts.push(`<text x="${WIDTH - MARGIN.right + 38}" y="${ly + 4}">${escape(s.label)}</text>`);
  });
  parts.push("</svg>");
  return parts.join("\n") + "\n";
}

/**
 * Least-squares line ms = a + b·rows over the points with at least `from`
 * rows: `b` is the cost per row; `a` the fixed cost.
 *
 * @example
 * linearFit([[1e5, 110], [1e6, 1010]], 1e5) // { perRowMs: 0.001, fixedMs: 10 }
 */
export function linearFit(points: readonly [number, number][], from: number): { perRowMs: number; fixedMs: number } {
  const used = points.filter(([n]) => n >= from);
  const mean = (v: number[]): number => v.reduce((s, x) => s + x, 0) / v.length;
  const mx = mean(used.map(([n]) => n));
  const my = mean(used.map(([, ms]) => ms));
  const sxy = used.reduce((s, [n, ms]) => s + (n - mx) * (ms - my), 0);
  const sxx = used.reduce((s, [n]) => s + (n - mx) ** 2, 0);
  const perRowMs = sxx === 0 ? 0 : sxy / sxx;
  return { perRowMs, fixedMs: my - perRowMs * mx };
}
