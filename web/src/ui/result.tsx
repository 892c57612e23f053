import type { AlgorithmResult, QueryResult } from "@scmpc/mpc-engine";

/** One bar of a chart: a label and a value (a decimal; null where undefined). */
interface Bar {
  label: string;
  value: number;
}

/**
 * A bar chart in SVG: labels below, values above each bar, scaled to the
 * largest; readable to screen readers as a list of label: value.
 */
export function BarChart(props: { title: string; bars: Bar[] }) {
  const { bars } = props;
  const width = 640;
  const height = 260;
  const pad = { top: 24, bottom: 48, left: 8, right: 8 };
  const max = Math.max(1e-9, ...bars.map((b) => Math.max(0, b.value)));
  const slot = (width - pad.left - pad.right) / Math.max(1, bars.length);
  const plot = height - pad.top - pad.bottom;
  return (
    <figure class="chart">
      <svg viewBox={`0 0 ${width} ${height}`} role="img" aria-label={`${props.title}: ${bars.map((b) => `${b.label}: ${b.value}`).join("; ")}`}>
        {bars.map((b, k) => {
          const h = (Math.max(0, b.value) / max) * plot;
          const x = pad.left + k * slot + slot * 0.15;
          const y = pad.top + plot - h;
          return (
            <g key={k}>
              <rect x={x} y={y} width={slot * 0.7} height={h} class="bar" />
              <text x={x + slot * 0.35} y={y - 6} text-anchor="middle" class="value">
                {formatNumber(b.value)}
              </text>
              <text x={x + slot * 0.35} y={height - pad.bottom + 18} text-anchor="middle" class="label">
                {b.label.length > 14 ? `${b.label.slice(0, 13)}…` : b.label}
              </text>
            </g>
          );
        })}
        <line x1={pad.left} x2={width - pad.right} y1={pad.top + plot} y2={pad.top + plot} class="axis" />
      </svg>
      <figcaption>{props.title}</figcaption>
    </figure>
  );
}

function formatNumber(v: number): string {
  return Math.abs(v) >= 1e6 ? v.toExponential(2) : String(Math.round(v * 1000) / 1000);
}

/** Histogram buckets as the catalog defines them: (−∞, e1), [e1, e2), ..., [ek, +∞). */
export function bucketLabels(edges: readonly string[]): string[] {
  return [`< ${edges[0]}`, ...edges.slice(1).map((e, k) => `${edges[k]}–${e}`), `≥ ${edges[edges.length - 1]}`];
}

/** A named algorithm's decrypted answer: a single value, a table of named values, and a chart for a histogram. */
export function AlgorithmResultView(props: { result: AlgorithmResult; interval?: unknown }) {
  const { result } = props;
  if (typeof result === "string") {
    return (
      <p class="answer">
        <span class="label">Answer</span> <output data-testid="answer">{result}</output>
      </p>
    );
  }
  const histogram = Array.isArray(result.edges) && Array.isArray(result.counts) ? (result as { edges: string[]; counts: string[] }) : undefined;
  if (histogram) {
    const labels = bucketLabels(histogram.edges);
    return (
      <>
        <table class="result" data-testid="histogram">
          <caption>Rows per bucket</caption>
          <thead>
            <tr>
              <th scope="col">Bucket</th>
              <th scope="col">Count</th>
            </tr>
          </thead>
          <tbody>
            {histogram.counts.map((c, k) => (
              <tr>
                <th scope="row">{labels[k]}</th>
                <td class="num">{c}</td>
              </tr>
            ))}
          </tbody>
        </table>
        <BarChart title="Rows per bucket" bars={histogram.counts.map((c, k) => ({ label: labels[k], value: Number(c) }))} />
      </>
    );
  }
  return (
    <table class="result" data-testid="named-result">
      <caption>Answer</caption>
      <tbody>
        {Object.entries(result).map(([name, value]) => (
          <tr>
            <th scope="row">{name}</th>
            <td class="num">{value === null ? "undefined" : typeof value === "string" ? value : JSON.stringify(value)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** A query's answer table, with a bar chart when it has a label column and one numeric column per group. */
export function QueryResultView(props: { result: QueryResult }) {
  const { columns, rows } = props.result;
  const numeric = columns.map((_, j) => rows.length > 0 && rows.every((r) => r[j] === null || /^-?\d+(\.\d+)?$/.test(r[j]!)));
  const label = numeric.findIndex((n) => !n);
  const value = numeric.findIndex((n) => n);
  return (
    <>
      <table class="result" data-testid="query-result">
        <caption>Answer table</caption>
        <thead>
          <tr>
            {columns.map((c) => (
              <th scope="col">{c}</th>
            ))}
          </tr>
        </thead>
        <tbody>
          {rows.map((r) => (
            <tr>
              {r.map((cell, j) => (
                <td class={numeric[j] ? "num" : ""}>{cell ?? "—"}</td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
      {label >= 0 && value >= 0 && rows.length > 1 && (
        <BarChart title={`${columns[value]} by ${columns[label]}`} bars={rows.map((r) => ({ label: r[label] ?? "—", value: Number(r[value] ?? 0) }))} />
      )}
    </>
  );
}
