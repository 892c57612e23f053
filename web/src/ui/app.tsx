import type { JsonRpcProvider } from "ethers";
import { useEffect, useMemo, useState } from "preact/hooks";
import type { StackState } from "../../../client/src/state.ts";
import { loadConfig, marketState, type MarketConfig } from "../lib/config.ts";
import { chainProvider, devAccount, injectedWallet, walletAccount, type Account } from "../lib/wallet.ts";
import { ErrorBoundary, ErrorMessage, useLoad } from "./common.tsx";
import { MarketPage } from "./market.tsx";

/** What every page gets: the market, the chain, and who acts. */
export interface Session {
  config: MarketConfig;
  state: StackState;
  provider: JsonRpcProvider;
  account?: Account;
}

/**
 * The pages besides the listing, each loaded when first visited: buying
 * brings the query parser and the decryption, selling the table readers.
 */
const PAGES = {
  dataset: () => import("./dataset.tsx").then((m) => m.DatasetPage),
  sell: () => import("./sell.tsx").then((m) => m.SellPage),
  account: () => import("./account.tsx").then((m) => m.AccountPage),
};

/** A page loaded on demand; its failure to load is a message like any other. */
function Lazy(props: { page: keyof typeof PAGES; session: Session; id?: string }) {
  const loaded = useLoad(() => PAGES[props.page](), [props.page]);
  if (loaded.error !== undefined) return <ErrorMessage error={loaded.error} title="This page cannot be loaded." />;
  const Page = loaded.value as ((p: { session: Session; id: string }) => preact.JSX.Element) | undefined;
  return Page === undefined ? <p aria-busy="true">Loading…</p> : <Page session={props.session} id={props.id ?? ""} />;
}

/** The route from the location's hash: `#/`, `#/dataset/<id>`, `#/sell`, `#/account`. */
function useRoute(): string[] {
  const read = () => (location.hash.replace(/^#\/?/, "") || "market").split("/").map(decodeURIComponent);
  const [route, setRoute] = useState(read);
  useEffect(() => {
    const onChange = () => setRoute(read());
    addEventListener("hashchange", onChange);
    return () => removeEventListener("hashchange", onChange);
  }, []);
  return route;
}

export function App() {
  const loaded = useLoad(() => loadConfig(), []);
  if (loaded.error !== undefined) {
    return (
      <main class="page">
        <h1>sc-mpc market</h1>
        <ErrorMessage error={loaded.error} title="The market cannot start." />
      </main>
    );
  }
  if (loaded.value === undefined) return <main class="page" aria-busy="true">Loading the market…</main>;
  return <Market config={loaded.value} />;
}

const ACCOUNT_KEY = "scmpc.account";

function Market(props: { config: MarketConfig }) {
  const { config } = props;
  const provider = useMemo(() => chainProvider(config), [config]);
  const state = useMemo(() => marketState(config), [config]);
  const route = useRoute();
  const [choice, setChoice] = useState<string>(() => localStorage.getItem(ACCOUNT_KEY) ?? (config.devAccounts?.length ? "dev:buyer" : ""));
  const [account, setAccount] = useState<Account | undefined>();
  const [accountError, setAccountError] = useState<unknown>();

  useEffect(() => {
    setAccountError(undefined);
    localStorage.setItem(ACCOUNT_KEY, choice);
    if (choice.startsWith("dev:")) {
      const dev = config.devAccounts?.find((d) => d.label === choice.slice(4));
      setAccount(dev ? devAccount(dev, provider) : undefined);
    } else if (choice === "wallet") {
      setAccount(undefined);
      walletAccount(config).then(setAccount, (err: unknown) => {
        setAccountError(err);
        setAccount(undefined);
      });
    } else setAccount(undefined);
  }, [choice, config, provider]);

  const session: Session = { config, state, provider, account };
  const [page, arg] = route;
  const nav = [
    ["market", "Market"],
    ["sell", "Sell"],
    ["account", "My account"],
  ];
  return (
    <>
      <header class="top">
        <a class="brand" href="#/">
          sc-mpc market
        </a>
        <nav aria-label="Main">
          {nav.map(([id, label]) => (
            <a href={`#/${id}`} aria-current={page === id || (id === "market" && page === "dataset") ? "page" : undefined}>
              {label}
            </a>
          ))}
        </nav>
        <label class="account">
          <span>Acting as</span>
          <select value={choice} onChange={(e) => setChoice((e.target as HTMLSelectElement).value)}>
            <option value="">nobody (browse only)</option>
            {(config.devAccounts ?? []).map((d) => (
              <option value={`dev:${d.label}`}>
                {d.label} ({d.address.slice(0, 6)}…{d.address.slice(-4)}, development)
              </option>
            ))}
            <option value="wallet" disabled={injectedWallet() === undefined}>
              browser wallet{injectedWallet() === undefined ? " (none found)" : ""}
            </option>
          </select>
        </label>
      </header>
      <main class="page">
        <ErrorMessage error={accountError} title="No account." />
        <ErrorBoundary key={route.join("/")}>
          {page === "dataset" && arg ? (
            <Lazy page="dataset" session={session} id={arg} />
          ) : page === "sell" || page === "account" ? (
            <Lazy page={page} session={session} />
          ) : (
            <MarketPage session={session} />
          )}
        </ErrorBoundary>
      </main>
    </>
  );
}
