import { useEffect, useState } from "preact/hooks";
import type { AlgorithmResult, QueryResult } from "@scmpc/mpc-engine";
import type { DatasetListing } from "../../../client/src/dataset-policy.ts";
import { purchaseComputation, purchaseQuery, type PurchaseProgress } from "../../../client/src/purchase.ts";
import { webBuyerTransport } from "../lib/hosts.ts";
import type { Session } from "./app.tsx";
import { ErrorMessage, Short, useLoad } from "./common.tsx";
import { musd, quote } from "./dataset.tsx";
import { AlgorithmResultView, QueryResultView } from "./result.tsx";

const STAGES = ["requested", "relayed", "computing", "fulfilled", "keys released", "decrypted"] as const;
type Stage = (typeof STAGES)[number];

const COLUMN_ALGORITHMS = new Set(["sum@1", "mean@1", "variance@1", "stddev@1", "min@1", "max@1"]);
const PAIR_ALGORITHMS = new Set(["covariance@1", "regression@1"]);

/** A finished purchase as the page shows it. */
interface Bought {
  requestId: string;
  result: { kind: "algorithm"; value: AlgorithmResult } | { kind: "query"; value: QueryResult };
  epsilon?: string;
  interval?: unknown;
  budgetLeft?: Record<string, string>;
  keysReleasedBy: number[];
}

/** The algorithm's parameters from the form's fields. */
function paramsOf(algorithm: string, f: { column: string; other: string; edges: string; op: string; threshold: string }): string {
  if (algorithm === "count@1") return "{}";
  if (COLUMN_ALGORITHMS.has(algorithm)) return JSON.stringify({ column: f.column });
  if (algorithm === "histogram@1") return JSON.stringify({ column: f.column, edges: f.edges.split(",").map((e) => e.trim()).filter((e) => e !== "") });
  if (algorithm === "count-if@1") return JSON.stringify({ column: f.column, op: f.op, threshold: f.threshold.trim() });
  if (PAIR_ALGORITHMS.has(algorithm)) return JSON.stringify({ x: f.column, y: f.other });
  if (algorithm === "correlation@1") return JSON.stringify({ columns: [f.column, f.other] });
  return JSON.stringify({ column: f.column });
}

/** Buying an answer over one dataset: algorithm or query, ε, the price, then live progress and the decrypted result. */
export function BuyPanel(props: { session: Session; listing: DatasetListing; onBought: () => void }) {
  const { session, listing } = props;
  const allowed = listing.policy.allowedAlgorithms;
  const named = allowed.filter((a) => a !== "query@1");
  const numeric = listing.schema.filter((c) => c.type !== "category").map((c) => c.name);
  const [mode, setMode] = useState<"algorithm" | "query">(named.length > 0 ? "algorithm" : "query");
  const [algorithm, setAlgorithm] = useState(named.includes("mean@1") ? "mean@1" : (named[0] ?? ""));
  const [column, setColumn] = useState(numeric[0] ?? "");
  const [other, setOther] = useState(numeric[1] ?? numeric[0] ?? "");
  const [edges, setEdges] = useState("");
  const [op, setOp] = useState("gt");
  const [threshold, setThreshold] = useState("");
  const [sql, setSql] = useState(`SELECT count(*) FROM "${listing.id}"`);
  const [epsilon, setEpsilon] = useState("1");
  const [exact, setExact] = useState(false);
  const [stage, setStage] = useState<Stage | undefined>();
  const [requestId, setRequestId] = useState<string>();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>();
  const [bought, setBought] = useState<Bought>();

  const job = mode === "query" ? "query@1" : algorithm;
  const price = useLoad(() => quote(session, listing, job), [job, session.account?.address, listing.id]);
  const exactAllowed = listing.policy.exactAlgorithms.includes(job);
  useEffect(() => {
    if (!exactAllowed) setExact(false);
  }, [exactAllowed]);

  const buy = async (event: Event) => {
    event.preventDefault();
    if (!session.account) {
      setError(new Error("Choose an account to act as (top right) before buying."));
      return;
    }
    setBusy(true);
    setError(undefined);
    setBought(undefined);
    setStage(undefined);
    setRequestId(undefined);
    const progress = (e: PurchaseProgress) => {
      if (e.stage === "requested") setRequestId(e.requestId);
      setStage((now) => (now !== undefined && STAGES.indexOf(now) >= STAGES.indexOf(e.stage) ? now : e.stage));
    };
    const common = {
      state: session.state,
      buyer: session.account.signer,
      transport: webBuyerTransport(session.config.hostWebUrls, session.config.chainId),
      ...(exact ? { exact: true } : { epsilon }),
      progress,
    };
    try {
      if (mode === "query") {
        const r = await purchaseQuery({ ...common, sql });
        setBought({ requestId: r.requestId, result: { kind: "query", value: r.result }, epsilon: r.dp?.epsilon, budgetLeft: r.dp?.budgetLeft, keysReleasedBy: r.keysReleasedBy });
      } else {
        const params = paramsOf(algorithm, { column, other, edges, op, threshold });
        const r = await purchaseComputation({ ...common, algorithm, datasetIds: [listing.id], params });
        setBought({
          requestId: r.requestId,
          result: { kind: "algorithm", value: r.result },
          epsilon: r.dp?.epsilon,
          interval: r.dp?.interval95,
          budgetLeft: r.dp?.budgetLeft,
          keysReleasedBy: r.keysReleasedBy,
        });
      }
      setStage("decrypted");
      props.onBought();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  const field = (label: string, input: preact.JSX.Element) => (
    <label>
      {label}
      {input}
    </label>
  );
  const columnSelect = (name: string, value: string, set: (v: string) => void) => (
    <select name={name} value={value} onChange={(e) => set((e.target as HTMLSelectElement).value)}>
      {numeric.map((c) => (
        <option value={c}>{c}</option>
      ))}
    </select>
  );
  return (
    <aside class="buy" aria-labelledby="buy-title">
      <h2 id="buy-title">Buy an answer</h2>
      <form onSubmit={buy}>
        <fieldset>
          <legend>What to compute</legend>
          <div class="tabs" role="radiogroup" aria-label="Kind of question">
            <label>
              <input type="radio" name="mode" checked={mode === "algorithm"} disabled={named.length === 0} onChange={() => setMode("algorithm")} /> a named algorithm
            </label>
            <label>
              <input type="radio" name="mode" checked={mode === "query"} disabled={!allowed.includes("query@1")} onChange={() => setMode("query")} /> a query (SQL)
            </label>
          </div>
          {mode === "algorithm" ? (
            <>
              {field(
                "Algorithm",
                <select name="algorithm" value={algorithm} onChange={(e) => setAlgorithm((e.target as HTMLSelectElement).value)}>
                  {named.map((a) => (
                    <option value={a}>{a.replace(/@\d+$/, "")}</option>
                  ))}
                </select>,
              )}
              {algorithm !== "count@1" && field(PAIR_ALGORITHMS.has(algorithm) ? "x column" : "Column", columnSelect("column", column, setColumn))}
              {(PAIR_ALGORITHMS.has(algorithm) || algorithm === "correlation@1") && field(algorithm === "correlation@1" ? "Second column" : "y column", columnSelect("other", other, setOther))}
              {algorithm === "histogram@1" &&
                field("Bucket edges (increasing, comma-separated)", <input name="edges" required value={edges} placeholder="50000, 80000" onInput={(e) => setEdges((e.target as HTMLInputElement).value)} />)}
              {algorithm === "count-if@1" && (
                <>
                  {field(
                    "Comparison",
                    <select value={op} onChange={(e) => setOp((e.target as HTMLSelectElement).value)}>
                      {["lt", "le", "gt", "ge", "eq", "ne"].map((o) => (
                        <option value={o}>{{ lt: "<", le: "≤", gt: ">", ge: "≥", eq: "=", ne: "≠" }[o]}</option>
                      ))}
                    </select>,
                  )}
                  {field("Threshold", <input required inputMode="decimal" value={threshold} onInput={(e) => setThreshold((e.target as HTMLInputElement).value)} />)}
                </>
              )}
            </>
          ) : (
            field("Query", <textarea name="sql" rows={4} value={sql} spellcheck={false} onInput={(e) => setSql((e.target as HTMLTextAreaElement).value)} />)
          )}
        </fieldset>
        <fieldset>
          <legend>Privacy</legend>
          {field(
            "ε to spend (differential privacy: smaller is noisier)",
            <input name="epsilon" type="number" min="0.001" max="65.535" step="0.001" required={!exact} disabled={exact} value={epsilon} onInput={(e) => setEpsilon((e.target as HTMLInputElement).value)} />,
          )}
          {exactAllowed && (
            <label class="check">
              <input type="checkbox" checked={exact} onChange={(e) => setExact((e.target as HTMLInputElement).checked)} /> exact answer (the seller allows it; spends no budget)
            </label>
          )}
        </fieldset>
        <div class="price" aria-live="polite">
          <ErrorMessage error={price.error} title="No price." />
          {price.value && (
            <table>
              <caption>Price</caption>
              <tbody>
                <tr>
                  <th scope="row">Dataset</th>
                  <td>{price.value.covered ? "covered by your subscription" : musd(price.value.price)}</td>
                </tr>
                <tr>
                  <th scope="row">Operators' fee</th>
                  <td>{musd(price.value.fee)}</td>
                </tr>
                <tr class="total">
                  <th scope="row">Total</th>
                  <td data-testid="total">{musd(price.value.price + price.value.fee)}</td>
                </tr>
              </tbody>
            </table>
          )}
        </div>
        <button type="submit" disabled={busy || !listing.active}>
          {busy ? "Buying…" : listing.active ? "Buy" : "Paused by its seller"}
        </button>
      </form>
      {(stage !== undefined || busy) && (
        <ol class="progress" aria-label="Progress" aria-live="polite">
          {STAGES.map((s) => {
            const done = stage !== undefined && STAGES.indexOf(s) <= STAGES.indexOf(stage);
            return (
              <li class={done ? "done" : ""} data-stage={s}>
                {done ? "✓" : "·"} {s}
              </li>
            );
          })}
        </ol>
      )}
      {requestId && (
        <p class="hint">
          Request <Short value={requestId} />
        </p>
      )}
      <ErrorMessage error={error} title="The purchase failed." />
      {bought && (
        <section class="answer-box" aria-label="Decrypted result" data-testid="result">
          <h3>Decrypted in this browser</h3>
          {bought.result.kind === "algorithm" ? <AlgorithmResultView result={bought.result.value} /> : <QueryResultView result={bought.result.value} />}
          {bought.epsilon !== undefined ? (
            <p class="hint">
              Differentially private (ε {bought.epsilon})
              {Array.isArray(bought.interval) && typeof bought.interval[0] === "string" ? `; 95% interval [${bought.interval[0]}, ${bought.interval[1]}]` : ""}; budget left ε{" "}
              {Object.values(bought.budgetLeft ?? {}).join(", ")}.
            </p>
          ) : (
            <p class="hint">Exact answer.</p>
          )}
          <p class="hint">Keys released by hosts {bought.keysReleasedBy.join(", ")}.</p>
        </section>
      )}
    </aside>
  );
}
