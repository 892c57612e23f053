import { Contract, formatUnits } from "ethers";
import { useState } from "preact/hooks";
import { loadArtifact } from "@scmpc/contracts";
import { marketBalance, withdrawAll } from "../../../client/src/balances.ts";
import { PAYMENT_DECIMALS, setDatasetPolicy, showDataset, type DatasetListing } from "../../../client/src/dataset-policy.ts";
import { manageDataset } from "../../../client/src/sale.ts";
import { refundRequest, reopenPurchase } from "../../../client/src/purchase.ts";
import { buyerKey, keyName } from "../lib/key-store.ts";
import { webBuyerTransport } from "../lib/hosts.ts";
import { salesOf, type Sale } from "../lib/sales.ts";
import { AlgorithmResultView, QueryResultView } from "./result.tsx";
import type { Session } from "./app.tsx";
import { ErrorMessage, Short, useLoad } from "./common.tsx";

/** What the acting account holds, sold and bought: balances and withdrawal, the seller's datasets, the buyer's history. */
export function AccountPage(props: { session: Session }) {
  const { session } = props;
  const account = session.account;
  if (!account) {
    return (
      <section>
        <h1>My account</h1>
        <p>Choose an account to act as (top right): a development account on the local chain, or your browser's wallet.</p>
      </section>
    );
  }
  return (
    <section aria-labelledby="account-title">
      <h1 id="account-title">My account</h1>
      <p class="mono seller">{account.address}</p>
      <Balances session={session} />
      <MyDatasets session={session} />
      <History session={session} />
    </section>
  );
}

function Balances(props: { session: Session }) {
  const { session } = props;
  const signer = session.account!.signer;
  const balances = useLoad(async () => {
    const token = new Contract(session.state.contracts.paymentToken, loadArtifact("DevPaymentToken").abi, session.provider);
    const [held, market] = await Promise.all([token.balanceOf(session.account!.address) as Promise<bigint>, marketBalance(session.state, signer)]);
    return { held, market };
  }, [session.account!.address]);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>();
  const [done, setDone] = useState<string>();
  const withdraw = async () => {
    setBusy(true);
    setError(undefined);
    setDone(undefined);
    try {
      const { total } = await withdrawAll(session.state, signer, { releaseEarnings: true });
      setDone(total === 0n ? "Nothing to withdraw." : `Withdrew ${formatUnits(total, PAYMENT_DECIMALS)} mUSD to your account.`);
      balances.reload();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  const b = balances.value;
  return (
    <section aria-labelledby="balances-title">
      <h2 id="balances-title">Balances</h2>
      <ErrorMessage error={balances.error} title="Balances cannot be read." />
      {b && (
        <dl class="terms">
          <div>
            <dt>In your account</dt>
            <dd data-testid="token-balance">{formatUnits(b.held, PAYMENT_DECIMALS)} mUSD</dd>
          </div>
          <div>
            <dt>Held for you by the market</dt>
            <dd data-testid="withdrawable">{formatUnits(b.market.total, PAYMENT_DECIMALS)} mUSD</dd>
          </div>
          {Object.entries(b.market.byAlgorithm).map(([name, amount]) => (
            <div>
              <dt>· {name === "subscriptions" ? "subscriptions" : name.replace(/@\d+$/, "")}</dt>
              <dd>{formatUnits(amount, PAYMENT_DECIMALS)} mUSD</dd>
            </div>
          ))}
        </dl>
      )}
      <button type="button" onClick={withdraw} disabled={busy || !b || b.market.total === 0n}>
        {busy ? "Withdrawing…" : "Withdraw all"}
      </button>
      {done && (
        <p role="status" class="success">
          {done}
        </p>
      )}
      <ErrorMessage error={error} title="The withdrawal failed." />
    </section>
  );
}

function MyDatasets(props: { session: Session }) {
  const { session } = props;
  const me = session.account!.address;
  const mine = useLoad(async () => {
    const registry = new Contract(session.state.contracts.registry, loadArtifact("DatasetRegistry").abi, session.provider);
    const events = await registry.queryFilter(registry.filters.DatasetRegistered(null, me));
    const ids = [...new Set(events.map((e) => ((e as unknown as { args: { datasetId: string } }).args.datasetId as string).toLowerCase()))];
    const listings: DatasetListing[] = [];
    for (const id of ids) {
      const d = await registry.getDataset(id);
      if ((d.stakeReleaseTime as bigint) !== 0n) continue;
      listings.push(await showDataset({ state: session.state, runner: session.provider, dataset: id }));
    }
    return listings;
  }, [me]);
  return (
    <section aria-labelledby="mine-title">
      <h2 id="mine-title">Datasets you sell</h2>
      <ErrorMessage error={mine.error} title="Your datasets cannot be read." />
      {mine.value && mine.value.length === 0 && (
        <p>
          None. <a href="#/sell">Sell a table</a>.
        </p>
      )}
      <ul class="cards">
        {(mine.value ?? []).map((d) => (
          <MyDataset session={session} listing={d} onChange={mine.reload} />
        ))}
      </ul>
    </section>
  );
}

function MyDataset(props: { session: Session; listing: DatasetListing; onChange: () => void }) {
  const { session, listing: d } = props;
  const [price, setPrice] = useState(d.price);
  const [budget, setBudget] = useState(d.policy.budget.total);
  const [minRows, setMinRows] = useState(String(d.policy.minRows));
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>();
  const [done, setDone] = useState<string>();
  const run = async (change: () => Promise<string>) => {
    setBusy(true);
    setError(undefined);
    try {
      setDone(await change());
      props.onChange();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  const seller = session.account!.signer;
  const act = (action: Parameters<typeof manageDataset>[0]["action"]) =>
    run(async () => (await manageDataset({ state: session.state, seller, datasetId: d.id, action })).message);
  const setPolicy = () =>
    run(async () => {
      const policy = await setDatasetPolicy({ state: session.state, seller, dataset: d.id, budget, minRows: Number(minRows) });
      return `policy of ${d.name} set: privacy budget ε ${policy.budget.total} (ε ${policy.budget.remaining} left), at least ${policy.minRows} rows in a result`;
    });
  return (
    <li class="card">
      <h3 class="name">
        <a href={`#/dataset/${d.id}`}>{d.name}</a> {!d.active && <span class="badge">paused</span>}
      </h3>
      <p class="hint">
        {d.rowCount} rows · ε {d.policy.budget.remaining} of {d.policy.budget.total} left · {d.price} mUSD
      </p>
      <form
        class="inline"
        onSubmit={(e) => {
          e.preventDefault();
          void act({ kind: "price", price });
        }}
      >
        <label>
          Price (mUSD)
          <input type="number" min="0" step="any" value={price} onInput={(e) => setPrice((e.target as HTMLInputElement).value)} />
        </label>
        <button type="submit" disabled={busy}>
          Set price
        </button>
        <button type="button" disabled={busy} onClick={() => void act({ kind: "active", active: !d.active })}>
          {d.active ? "Pause sales" : "Resume sales"}
        </button>
      </form>
      <form
        class="inline"
        onSubmit={(e) => {
          e.preventDefault();
          void setPolicy();
        }}
      >
        <label>
          Privacy budget (total ε)
          <input type="number" min="0.001" step="0.001" required value={budget} onInput={(e) => setBudget((e.target as HTMLInputElement).value)} />
        </label>
        <label>
          Fewest rows in a result
          <input type="number" min="0" step="1" required value={minRows} onInput={(e) => setMinRows((e.target as HTMLInputElement).value)} />
        </label>
        <button type="submit" disabled={busy}>
          Set policy
        </button>
      </form>
      {done && (
        <p role="status" class="success">
          {done}
        </p>
      )}
      <ErrorMessage error={error} title="That change failed." />
    </li>
  );
}

function History(props: { session: Session }) {
  const { session } = props;
  const me = session.account!.address;
  const bought = useLoad(async () => {
    const sales = await salesOf({ state: session.state, provider: session.provider, buyer: me });
    // Which results this browser can still open: it holds their keys.
    const held = await Promise.all(sales.map(async (s) => (await buyerKey(keyName(session.config.chainId, s.requestId))) !== undefined));
    // Deadlines are in chain time, which a test chain may have moved ahead of the clock.
    const now = (await session.provider.getBlock("latest"))?.timestamp ?? Math.floor(Date.now() / 1000);
    return sales.map((s, k) => ({ ...s, keyHeld: held[k], refundable: s.status === "Pending" && now > s.deadline }));
  }, [me]);
  const withdrawals = useLoad(async () => {
    const abi = loadArtifact("AlgorithmComputation").abi;
    const rows: { block: number; amount: bigint; algorithm: string }[] = [];
    for (const [algorithm, address] of Object.entries(session.state.contracts.algorithms)) {
      const market = new Contract(address, abi, session.provider);
      for (const e of await market.queryFilter(market.filters.PaymentWithdrawn(me))) {
        rows.push({ block: e.blockNumber, amount: (e as unknown as { args: { amount: bigint } }).args.amount, algorithm });
      }
    }
    return rows.sort((a, b) => b.block - a.block);
  }, [me]);
  return (
    <section aria-labelledby="history-title">
      <h2 id="history-title">Your purchases</h2>
      <ErrorMessage error={bought.error} title="Your purchases cannot be read." />
      {bought.value && bought.value.length === 0 && <p>None yet.</p>}
      {bought.value && bought.value.length > 0 && (
        <table class="sales" data-testid="purchases">
          <thead>
            <tr>
              <th scope="col">When</th>
              <th scope="col">Request</th>
              <th scope="col">Algorithm</th>
              <th scope="col">ε</th>
              <th scope="col">Paid</th>
              <th scope="col">Status</th>
              <th scope="col">Result</th>
            </tr>
          </thead>
          <tbody>
            {bought.value.map((s) => (
              <tr>
                <td>{new Date(s.at).toLocaleString()}</td>
                <td>
                  <Short value={s.requestId} />
                </td>
                <td>{s.algorithm.replace(/@\d+$/, "")}</td>
                <td>{s.epsilon === "0" ? "exact" : s.epsilon}</td>
                <td>
                  {s.price} + {s.fee} mUSD
                </td>
                <td>{s.status === "Failed" || s.status === "Refunded" ? `${s.status} (price and fee refunded)` : s.status}</td>
                <td>
                  {s.refundable ? <Refund session={session} requestId={s.requestId} onDone={bought.reload} /> : <Reopen session={session} sale={s} />}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <h2>Your withdrawals</h2>
      <ErrorMessage error={withdrawals.error} title="Your withdrawals cannot be read." />
      {withdrawals.value && withdrawals.value.length === 0 && <p>None yet.</p>}
      {withdrawals.value && withdrawals.value.length > 0 && (
        <ul>
          {withdrawals.value.map((w) => (
            <li>
              {formatUnits(w.amount, PAYMENT_DECIMALS)} mUSD from {w.algorithm.replace(/@\d+$/, "")} (block {w.block})
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

/** Decrypts a past purchase again, with the key this browser kept for it. */
function Reopen(props: { session: Session; sale: Sale & { keyHeld: boolean } }) {
  const { session, sale } = props;
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>();
  const [opened, setOpened] = useState<Awaited<ReturnType<typeof reopenPurchase>>>();
  if (sale.status !== "Fulfilled") return <span class="hint">—</span>;
  if (!sale.keyHeld) return <span class="hint">key not in this browser</span>;
  const open = async () => {
    setBusy(true);
    setError(undefined);
    try {
      const privateKey = await buyerKey(keyName(session.config.chainId, sale.requestId));
      if (privateKey === undefined) throw new Error("this browser no longer holds the request's key");
      setOpened(
        await reopenPurchase({
          state: session.state,
          runner: session.provider,
          algorithm: sale.algorithm,
          requestId: sale.requestId,
          privateKey,
          transport: webBuyerTransport(session.config.hostWebUrls, session.config.chainId),
        }),
      );
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  if (opened) {
    return (
      <div data-testid="reopened">
        {opened.job.kind === "algorithm" ? <AlgorithmResultView result={opened.job.result} /> : <QueryResultView result={opened.job.result} />}
      </div>
    );
  }
  return (
    <>
      <button type="button" onClick={open} disabled={busy}>
        {busy ? "Decrypting…" : "Decrypt"}
      </button>
      <ErrorMessage error={error} title="It cannot be opened." />
    </>
  );
}

/** Takes back the price and fee of a request not fulfilled by its deadline (they become withdrawable). */
function Refund(props: { session: Session; requestId: string; onDone: () => void }) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>();
  const refund = async () => {
    setBusy(true);
    setError(undefined);
    try {
      await refundRequest({ state: props.session.state, buyer: props.session.account!.signer, requestId: props.requestId });
      props.onDone();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <>
      <button type="button" onClick={refund} disabled={busy}>
        {busy ? "Refunding…" : "Refund (past its deadline)"}
      </button>
      <ErrorMessage error={error} title="The refund failed." />
    </>
  );
}
