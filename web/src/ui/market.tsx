import { useState } from "preact/hooks";
import { MARKET_ALGORITHMS } from "@scmpc/contracts";
import { listMarket, RANK_WINDOW_DAYS, type MarketEntry } from "../../../client/src/market-list.ts";
import type { Session } from "./app.tsx";
import { ErrorMessage, useLoad } from "./common.tsx";

/** The listing: every dataset for sale, ranked from on-chain facts, with search and filters. */
export function MarketPage(props: { session: Session }) {
  const { state, provider } = props.session;
  const [sort, setSort] = useState<"rank" | "price" | "new">("rank");
  const [algorithm, setAlgorithm] = useState("");
  const [search, setSearch] = useState("");
  const [maxPrice, setMaxPrice] = useState("");
  const listing = useLoad(() => listMarket({ state, provider, sort, ...(algorithm ? { algorithm } : {}) }), [sort, algorithm]);
  const words = search.trim().toLowerCase();
  const cap = maxPrice.trim() === "" ? undefined : Number(maxPrice);
  const shown = (listing.value ?? []).filter(
    (e: MarketEntry) => (words === "" || e.address.toLowerCase().includes(words) || e.id.includes(words)) && (cap === undefined || Number(e.price) <= cap),
  );
  return (
    <section aria-labelledby="market-title">
      <h1 id="market-title">Datasets for sale</h1>
      <p class="lede">
        Nobody here sees anybody's rows: each seller's table is secret-shared among three MPC hosts, and a buyer pays for an aggregate answer,
        decrypted in the buyer's browser.
      </p>
      <form class="filters" role="search" onSubmit={(e) => e.preventDefault()}>
        <label>
          Search
          <input type="search" value={search} placeholder="name, seller or id" onInput={(e) => setSearch((e.target as HTMLInputElement).value)} />
        </label>
        <label>
          Algorithm
          <select value={algorithm} onChange={(e) => setAlgorithm((e.target as HTMLSelectElement).value)}>
            <option value="">any</option>
            {MARKET_ALGORITHMS.map((a) => (
              <option value={a}>{a.replace(/@\d+$/, "")}</option>
            ))}
          </select>
        </label>
        <label>
          Price at most (mUSD)
          <input type="number" min="0" step="any" inputMode="decimal" value={maxPrice} onInput={(e) => setMaxPrice((e.target as HTMLInputElement).value)} />
        </label>
        <label>
          Sort by
          <select value={sort} onChange={(e) => setSort((e.target as HTMLSelectElement).value as typeof sort)}>
            <option value="rank">rank</option>
            <option value="price">price</option>
            <option value="new">newest</option>
          </select>
        </label>
      </form>
      <ErrorMessage error={listing.error} title="The listing cannot be read." />
      {listing.loading && <p aria-busy="true">Reading the market from the chain…</p>}
      {!listing.loading && listing.value !== undefined && shown.length === 0 && <p>No dataset matches.</p>}
      <ul class="cards" aria-label="Datasets">
        {shown.map((e) => (
          <li class="card" key={e.id}>
            <h2 class="name">
              <a href={`#/dataset/${e.id}`}>{e.name}</a>
              {!e.active && <span class="badge">paused</span>}
            </h2>
            <p class="seller mono">by {e.seller}</p>
            <dl class="facts">
              <div>
                <dt>Price</dt>
                <dd>{e.price} mUSD</dd>
              </div>
              <div>
                <dt>Rank</dt>
                <dd title={`${e.facts.paidComputations} paid in ${RANK_WINDOW_DAYS} days, ${e.facts.subscribers} subscribers, ${e.facts.penalties} penalties`}>{e.rank.toFixed(1)}</dd>
              </div>
              <div>
                <dt>Budget left</dt>
                <dd>ε {e.budgetLeft}</dd>
              </div>
              <div>
                <dt>Size</dt>
                <dd>
                  {e.rowCount} rows × {e.columns}
                </dd>
              </div>
              <div>
                <dt>Sold</dt>
                <dd>{e.facts.paidComputations} in {RANK_WINDOW_DAYS} d</dd>
              </div>
            </dl>
          </li>
        ))}
      </ul>
    </section>
  );
}
