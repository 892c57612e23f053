import { Component, type ComponentChildren } from "preact";
import { useEffect, useState } from "preact/hooks";
import { explain } from "../lib/errors.ts";

/** A failure on the page, in words, announced to screen readers. */
export function ErrorMessage(props: { error: unknown; title?: string }) {
  if (props.error === undefined || props.error === null) return null;
  return (
    <div class="error" role="alert">
      <strong>{props.title ?? "That did not work."}</strong> {explain(props.error)}
    </div>
  );
}

/** Loads something for a page: its value, its error, and a way to load it again. */
export function useLoad<T>(load: () => Promise<T>, deps: unknown[]): { value?: T; error?: unknown; loading: boolean; reload: () => void } {
  const [state, setState] = useState<{ value?: T; error?: unknown; loading: boolean; deps?: string }>({ loading: true });
  const [round, setRound] = useState(0);
  const key = JSON.stringify(deps);
  useEffect(() => {
    let live = true;
    // A reload keeps what is shown; new inputs (another account, another dataset) never show the old answer.
    setState((s) => (s.deps === key ? { ...s, loading: true, error: undefined } : { loading: true, deps: key }));
    load().then(
      (value) => live && setState({ value, loading: false, deps: key }),
      (error: unknown) => live && setState({ error, loading: false, deps: key }),
    );
    return () => {
      live = false;
    };
  }, [...deps, round]);
  // Until the effect has run for new inputs, nothing is shown rather than the old answer.
  const shown = state.deps === key || state.deps === undefined ? state : { loading: true };
  return { ...shown, reload: () => setRound((r) => r + 1) };
}

/** Catches a page that fails while drawing, so the rest of the app stays. */
export class ErrorBoundary extends Component<{ children: ComponentChildren }, { error?: unknown }> {
  state: { error?: unknown } = {};
  static getDerivedStateFromError(error: unknown) {
    return { error };
  }
  render() {
    if (this.state.error !== undefined) return <ErrorMessage error={this.state.error} title="This page failed." />;
    return this.props.children;
  }
}

/** A short form of an address or id, with the whole of it on hover and for screen readers. */
export function Short(props: { value: string }) {
  const v = props.value;
  return (
    <span class="mono" title={v} aria-label={v}>
      {v.length > 14 ? `${v.slice(0, 8)}…${v.slice(-4)}` : v}
    </span>
  );
}
