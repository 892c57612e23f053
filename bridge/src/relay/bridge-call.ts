/**
 * What one bridge call came to:
 * - `result`: the on-chain payload (0x-hex) to fulfil with;
 * - `refused`: a definitive error (an External Adapter error body with a 4xx
 *   status, or an answer that is not one): fulfil with an empty result so the
 *   buyer is refunded;
 * - `retry`: the bridge is unreachable, timed out, is still working
 *   (`pending`), rejected the relay's access key or failed with a 5xx: the
 *   job may still succeed, so call again later.
 */
export type BridgeOutcome =
  | { kind: "result"; payload: string }
  | { kind: "refused"; error: string; status: number }
  | { kind: "retry"; error: string; status?: number };

/** One bridge call's inputs. */
export interface BridgeCall {
  url: string;
  /** Sent as `Authorization: Bearer <key>` (a Chainlink node's outgoing bridge token). Never logged. */
  accessKey?: string;
  timeoutMs: number;
  /** The External Adapter request body. */
  body: { id: string; data: Record<string, unknown> };
  /** Aborts the call when the relay stops. */
  signal?: AbortSignal;
}

/** Statuses worth another try: the request itself may be fine. */
function isTransient(status: number): boolean {
  // 401/403: the relay's access key is wrong, an operator's mistake rather
  // than the buyer's; 408/425/429: come back later.
  return status >= 500 || status === 401 || status === 403 || status === 408 || status === 425 || status === 429;
}

/**
 * POSTs one External Adapter request to the bridge, synchronously (no
 * `responseURL`), and classifies the answer. Never throws.
 *
 * @example
 * const outcome = await callBridge({ url, accessKey, timeoutMs: 120_000, body: { id: requestId, data } });
 * if (outcome.kind === "result") send(outcome.payload);
 */
export async function callBridge(call: BridgeCall): Promise<BridgeOutcome> {
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (call.accessKey) headers.authorization = `Bearer ${call.accessKey}`;
  const signal = call.signal ? AbortSignal.any([call.signal, AbortSignal.timeout(call.timeoutMs)]) : AbortSignal.timeout(call.timeoutMs);
  let response: Response;
  let text: string;
  try {
    response = await fetch(call.url, { method: "POST", headers, body: JSON.stringify(call.body), signal });
    text = await response.text();
  } catch (err) {
    const e = err as Error & { cause?: { code?: string } };
    return { kind: "retry", error: `bridge unreachable: ${e.cause?.code ?? e.name}: ${e.message}` };
  }
  let answer: { result?: unknown; pending?: unknown; error?: { name?: unknown; message?: unknown } } | undefined;
  try {
    answer = JSON.parse(text);
  } catch {
    answer = undefined;
  }
  const described = answer?.error
    ? `${String(answer.error.name ?? "Error")}: ${String(answer.error.message ?? "")}`
    : `HTTP ${response.status}${answer === undefined ? " (not JSON)" : ""}`;
  if (isTransient(response.status)) return { kind: "retry", error: described, status: response.status };
  if (response.ok && answer?.pending === true) return { kind: "retry", error: "bridge job still pending", status: response.status };
  if (response.ok && typeof answer?.result === "string" && /^0x([0-9a-fA-F]{2})*$/.test(answer.result)) {
    return { kind: "result", payload: answer.result };
  }
  if (response.ok) return { kind: "refused", error: "bridge answered without a 0x-hex result", status: response.status };
  return { kind: "refused", error: described, status: response.status };
}
