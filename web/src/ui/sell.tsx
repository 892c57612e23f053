import { useState } from "preact/hooks";
import { MARKET_ALGORITHMS } from "@scmpc/contracts";
import { listDataset, DEFAULT_MIN_ROWS, type UploadedDataset, type UploadProgress } from "../../../client/src/sale.ts";
import { DEFAULT_BUDGET_EPSILON } from "../../../client/src/dataset-policy.ts";
import { sellerTableOf } from "../../../client/src/seller-columns.ts";
import type { SellerTable } from "../../../client/src/seller-table.ts";
import { webSellerTransport } from "../lib/hosts.ts";
import type { Session } from "./app.tsx";
import { ErrorMessage, Short } from "./common.tsx";

/** Selling a table: read and typed here, secret-shared here, each share sent straight to its host, then registered on-chain. */
export function SellPage(props: { session: Session }) {
  const { session } = props;
  const [file, setFile] = useState<File>();
  const [table, setTable] = useState<SellerTable>();
  const [readError, setReadError] = useState<unknown>();
  const [name, setName] = useState("");
  const [price, setPrice] = useState("10");
  const [budget, setBudget] = useState(DEFAULT_BUDGET_EPSILON);
  const [minRows, setMinRows] = useState(String(DEFAULT_MIN_ROWS));
  const [stake, setStake] = useState("");
  const [allow, setAllow] = useState<string[]>([...MARKET_ALGORITHMS]);
  const [exact, setExact] = useState<string[]>([]);
  const [busy, setBusy] = useState(false);
  const [steps, setSteps] = useState<string[]>([]);
  const [error, setError] = useState<unknown>();
  const [listed, setListed] = useState<UploadedDataset>();

  const choose = async (chosen: File | undefined) => {
    setFile(chosen);
    setTable(undefined);
    setReadError(undefined);
    setListed(undefined);
    if (!chosen) return;
    setName((n) => n || chosen.name.replace(/\.[^.]+$/, "").replace(/[^A-Za-z0-9_-]+/g, "-").slice(0, 64));
    try {
      setTable(await sellerTableOf({ name: chosen.name, bytes: new Uint8Array(await chosen.arrayBuffer()) }));
    } catch (err) {
      setReadError(err);
    }
  };

  const toggle = (list: string[], set: (v: string[]) => void, item: string, on: boolean) => set(on ? [...new Set([...list, item])] : list.filter((a) => a !== item));

  const sell = async (event: Event) => {
    event.preventDefault();
    if (!session.account) {
      setError(new Error("Choose an account to act as (top right) before selling."));
      return;
    }
    if (!table || !file) return;
    setBusy(true);
    setError(undefined);
    setListed(undefined);
    setSteps([]);
    const say = (line: string) => setSteps((s) => [...s, line]);
    const progress = (e: UploadProgress) => {
      if (e.stage === "read") say(`read ${e.rows} rows × ${e.columns} columns`);
      if (e.stage === "shared") say(`shared in this browser: ${e.bytes.map((b) => `${(b / 1024).toFixed(1)} KiB`).join(", ")} for hosts 0, 1, 2`);
      if (e.stage === "stored") say(`host ${e.host} stored its share`);
      if (e.stage === "registering") say(`registering on-chain (transaction ${e.txHash.slice(0, 10)}…)`);
    };
    try {
      const result = await listDataset({
        state: session.state,
        seller: session.account.signer,
        transport: webSellerTransport(session.config.hostWebUrls),
        source: file.name,
        table: async () => table,
        name: name.trim(),
        price,
        allow,
        exact: exact.filter((a) => allow.includes(a)),
        budget,
        minRows: Number(minRows),
        ...(stake.trim() === "" ? {} : { stake: stake.trim() }),
        progress,
      });
      setListed(result);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  const selectable = [...MARKET_ALGORITHMS];
  return (
    <section aria-labelledby="sell-title">
      <h1 id="sell-title">Sell a table</h1>
      <p class="lede">
        Your file is read and secret-shared in this browser. Each of the three MPC hosts receives one share, which alone says nothing about your
        rows; the chain receives only the schema (column names, types, bounds) and the shares' commitments.
      </p>
      <form onSubmit={sell}>
        <fieldset>
          <legend>The table</legend>
          <label>
            CSV or JSON file
            <input type="file" name="file" accept=".csv,.json,.ndjson,.jsonl,text/csv,application/json" required onChange={(e) => void choose((e.target as HTMLInputElement).files?.[0])} />
          </label>
          <ErrorMessage error={readError} title="This file cannot be sold as it is." />
          {table && (
            <table class="schema" data-testid="schema-preview">
              <caption>
                {table.rowCount} rows; the schema buyers will see (no values are shown or sent)
              </caption>
              <thead>
                <tr>
                  <th scope="col">Column</th>
                  <th scope="col">Type</th>
                  <th scope="col">Bounds</th>
                  <th scope="col">Missing cells</th>
                </tr>
              </thead>
              <tbody>
                {table.columns.map((c) => (
                  <tr>
                    <th scope="row" class="name">
                      {c.schema.name}
                    </th>
                    <td>{c.kind}</td>
                    <td>
                      {c.kind === "category" ? `${c.schema.categories?.length} categories` : `${c.schema.lo} … ${c.schema.hi}`}
                      {c.boundsDerived ? " (derived from the data)" : ""}
                    </td>
                    <td>{c.missing}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </fieldset>
        <fieldset>
          <legend>Listing</legend>
          <label>
            Name (unique among your datasets)
            <input name="name" required maxLength={64} pattern="[^/]+" value={name} onInput={(e) => setName((e.target as HTMLInputElement).value)} />
          </label>
          <label>
            Price per computation (mUSD)
            <input name="price" type="number" min="0" step="any" required value={price} onInput={(e) => setPrice((e.target as HTMLInputElement).value)} />
          </label>
          <label>
            Privacy budget (total ε buyers may spend)
            <input name="budget" type="number" min="0.001" step="0.001" required value={budget} onInput={(e) => setBudget((e.target as HTMLInputElement).value)} />
          </label>
          <label>
            Fewest rows in a result
            <input name="minRows" type="number" min="0" step="1" required value={minRows} onInput={(e) => setMinRows((e.target as HTMLInputElement).value)} />
          </label>
          <label>
            Stake to lock (mUSD; empty: the market's minimum)
            <input name="stake" type="number" min="0" step="any" value={stake} onInput={(e) => setStake((e.target as HTMLInputElement).value)} />
          </label>
        </fieldset>
        <fieldset class="algorithms">
          <legend>Algorithms buyers may run, and those whose exact answers you allow</legend>
          <table>
            <thead>
              <tr>
                <th scope="col">Algorithm</th>
                <th scope="col">Allowed</th>
                <th scope="col">Exact allowed</th>
              </tr>
            </thead>
            <tbody>
              {selectable.map((a) => (
                <tr>
                  <th scope="row">{a.replace(/@\d+$/, "")}</th>
                  <td>
                    <input type="checkbox" aria-label={`allow ${a}`} checked={allow.includes(a)} onChange={(e) => toggle(allow, setAllow, a, (e.target as HTMLInputElement).checked)} />
                  </td>
                  <td>
                    <input
                      type="checkbox"
                      aria-label={`allow exact ${a}`}
                      disabled={!allow.includes(a)}
                      checked={exact.includes(a) && allow.includes(a)}
                      onChange={(e) => toggle(exact, setExact, a, (e.target as HTMLInputElement).checked)}
                    />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </fieldset>
        <button type="submit" disabled={busy || !table}>
          {busy ? "Selling…" : "Share and list"}
        </button>
      </form>
      {steps.length > 0 && (
        <ol class="steps" aria-live="polite" aria-label="Progress">
          {steps.map((s) => (
            <li>{s}</li>
          ))}
        </ol>
      )}
      <ErrorMessage error={error} title="The sale failed." />
      {listed && (
        <div class="success" role="status" data-testid="listed">
          Listed <strong class="name">{listed.address}</strong> (id <Short value={listed.datasetId} />).{" "}
          <a href={`#/dataset/${listed.datasetId}`}>See its page</a>.
        </div>
      )}
    </section>
  );
}
