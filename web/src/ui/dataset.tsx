import { Contract, formatUnits } from "ethers";
import { useState } from "preact/hooks";
import { loadArtifact } from "@scmpc/contracts";
import { PAYMENT_DECIMALS, showDataset, type DatasetListing } from "../../../client/src/dataset-policy.ts";
import type { Session } from "./app.tsx";
import { BuyPanel } from "./buy.tsx";
import { ErrorMessage, Short, useLoad } from "./common.tsx";
import { salesOf } from "../lib/sales.ts";

/** A dataset as a buyer sees it before paying, and the form to buy an answer over it. */
export function DatasetPage(props: { session: Session; id: string }) {
  const { session, id } = props;
  const listing = useLoad(() => showDataset({ state: session.state, runner: session.provider, dataset: id }), [id]);
  const sales = useLoad(() => salesOf({ state: session.state, provider: session.provider, datasetId: id, limit: 10 }), [id]);
  const d = listing.value;
  return (
    <section aria-labelledby="dataset-title">
      <p>
        <a href="#/">← All datasets</a>
      </p>
      <ErrorMessage error={listing.error} title="This dataset cannot be read." />
      {listing.loading && !d && <p aria-busy="true">Reading the dataset from the chain…</p>}
      {d && (
        <>
          <h1 id="dataset-title" class="name">
            {d.name}
            {!d.active && <span class="badge">paused</span>}
          </h1>
          <p class="seller mono">
            {d.address} · id <Short value={d.id} /> · version {d.version}
          </p>
          <div class="columns">
            <div>
              <Terms listing={d} />
              <h2>Schema</h2>
              <p class="hint">The public schema is all a buyer sees of the table: column names, types and bounds.</p>
              <table class="schema">
                <thead>
                  <tr>
                    <th scope="col">Column</th>
                    <th scope="col">Type</th>
                    <th scope="col">Bounds</th>
                  </tr>
                </thead>
                <tbody>
                  {d.schema.map((c) => (
                    <tr>
                      <th scope="row" class="name">
                        {c.name}
                      </th>
                      <td>{c.type ?? (c.scale > 0 ? `decimal (${c.scale} places)` : "int")}</td>
                      <td>{c.type === "category" ? `${c.categories?.length ?? 0} categories: ${(c.categories ?? []).join(", ")}` : `${c.lo} … ${c.hi}`}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
              <h2>Recent sales</h2>
              <ErrorMessage error={sales.error} title="Sales cannot be read." />
              {sales.value && sales.value.length === 0 && <p>None yet.</p>}
              {sales.value && sales.value.length > 0 && (
                <table class="sales">
                  <thead>
                    <tr>
                      <th scope="col">When</th>
                      <th scope="col">Algorithm</th>
                      <th scope="col">ε</th>
                      <th scope="col">Status</th>
                    </tr>
                  </thead>
                  <tbody>
                    {sales.value.map((s) => (
                      <tr>
                        <td>{new Date(s.at).toLocaleString()}</td>
                        <td>{s.algorithm.replace(/@\d+$/, "")}</td>
                        <td>{s.epsilon === "0" ? "exact" : s.epsilon}</td>
                        <td>{s.status}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              )}
            </div>
            <BuyPanel
              session={session}
              listing={d}
              onBought={() => {
                listing.reload();
                sales.reload();
              }}
            />
          </div>
        </>
      )}
    </section>
  );
}

function Terms(props: { listing: DatasetListing }) {
  const d = props.listing;
  return (
    <dl class="terms">
      <div>
        <dt>Price</dt>
        <dd>{d.price} mUSD per computation</dd>
      </div>
      <div>
        <dt>Privacy budget</dt>
        <dd data-testid="budget-left">
          ε {d.policy.budget.remaining} left of {d.policy.budget.total}
        </dd>
      </div>
      <div>
        <dt>Rows</dt>
        <dd>{d.rowCount} (a result aggregates at least {d.policy.minRows})</dd>
      </div>
      <div>
        <dt>Algorithms</dt>
        <dd>{d.policy.allowedAlgorithms.map((a) => a.replace(/@\d+$/, "")).join(", ")}</dd>
      </div>
      <div>
        <dt>Exact answers</dt>
        <dd>{d.policy.exactAlgorithms.length === 0 ? "none: every answer is differentially private" : d.policy.exactAlgorithms.map((a) => a.replace(/@\d+$/, "")).join(", ")}</dd>
      </div>
      <div>
        <dt>Subscription</dt>
        <dd>{d.subscription ? `${d.subscription.periodPrice} mUSD per ${d.subscription.period}, ${d.subscription.quota} computations each period` : "not offered"}</dd>
      </div>
      <div>
        <dt>Trial</dt>
        <dd>{d.trial ? `${d.trial.perBuyer} free computation(s) per buyer at ε ${d.trial.epsilon}` : "not offered"}</dd>
      </div>
      <div>
        <dt>Seller's stake</dt>
        <dd>{d.stake} mUSD</dd>
      </div>
    </dl>
  );
}

/** The price of one computation over a dataset for the acting buyer: the dataset's (unless a subscription covers it) and the operators' fee. */
export async function quote(session: Session, listing: DatasetListing, algorithm: string): Promise<{ price: bigint; covered: boolean; fee: bigint }> {
  const address = session.state.contracts.algorithms[algorithm];
  if (address === undefined) throw new Error(`this market has no contract for ${algorithm}`);
  const market = new Contract(address, loadArtifact("AlgorithmComputation").abi, session.provider);
  const registry = new Contract(session.state.contracts.registry, loadArtifact("DatasetRegistry").abi, session.provider);
  const fee: bigint = await market.operatorFee();
  const dataset = await registry.getDataset(listing.id);
  let covered = false;
  if (session.account) {
    const [, quotaLeft] = await registry.subscriptionOf(listing.id, session.account.address);
    covered = (quotaLeft as bigint) > 0n;
  }
  return { price: covered ? 0n : (dataset.price as bigint), covered, fee };
}

/** Token units as mUSD. */
export function musd(amount: bigint): string {
  return `${formatUnits(amount, PAYMENT_DECIMALS)} mUSD`;
}
