import { getBytes } from "ethers";
import { encodeUploadBody } from "@scmpc/mpc-engine";
import type { BuyerTransport, HostJobState } from "../../../client/src/purchase.ts";
import type { SellerTransport } from "../../../client/src/sale.ts";
import { keepBuyerKey, keyName } from "./key-store.ts";

// The browser's way to the MPC hosts: each host's web endpoint (HTTPS with the
// host's own certificate; CORS open, since calls are authenticated by the
// seller's signature or are public by design).

/** A host that could not be reached at all (down, or its certificate not trusted by this browser). */
export class HostUnreachableError extends Error {
  constructor(
    readonly hostIndex: number,
    readonly url: string,
    cause: unknown,
  ) {
    super(
      `MPC host ${hostIndex} at ${url} cannot be reached. It may be down, or this browser may not trust its certificate: ` +
        `open ${url}/v1/health once in this browser and accept the certificate, then try again.`,
      { cause },
    );
    this.name = "HostUnreachableError";
  }
}

/** A host that answered with an error. */
export class HostRefusedError extends Error {
  constructor(
    readonly hostIndex: number,
    readonly code: string,
    message: string,
    readonly status: number,
  ) {
    super(message);
    this.name = "HostRefusedError";
  }
}

async function call(urls: readonly string[], hostIndex: number, path: string, init: RequestInit, what: string): Promise<unknown> {
  const url = urls[hostIndex];
  let response: Response;
  try {
    response = await fetch(`${url}${path}`, init);
  } catch (err) {
    throw new HostUnreachableError(hostIndex, url, err);
  }
  const text = await response.text();
  let body: unknown;
  try {
    body = text === "" ? undefined : JSON.parse(text);
  } catch {
    body = undefined;
  }
  if (!response.ok) {
    const error = (body as { error?: { code?: string; message?: string } } | undefined)?.error;
    throw new HostRefusedError(
      hostIndex,
      error?.code ?? `HTTP_${response.status}`,
      `MPC host ${hostIndex} refused ${what}: ${error?.message ?? `HTTP ${response.status}`}`,
      response.status,
    );
  }
  return body;
}

/** The seller's transport: each share POSTed to its host's `/v1/upload` as one binary body. */
export function webSellerTransport(urls: readonly string[]): SellerTransport {
  return {
    async upload(hostIndex, request) {
      const body = encodeUploadBody(request) as Uint8Array<ArrayBuffer>;
      await call(urls, hostIndex, "/v1/upload", { method: "POST", headers: { "content-type": "application/octet-stream" }, body }, "the upload");
    },
  };
}

/** The buyer's transport: keys in IndexedDB, release keys and job states from the hosts' web endpoints. */
export function webBuyerTransport(urls: readonly string[], chainId: number): BuyerTransport {
  return {
    keepKey: (requestId, privateKey) => keepBuyerKey(keyName(chainId, requestId), privateKey),
    async releaseKey(hostIndex, request) {
      const answer = (await call(
        urls,
        hostIndex,
        "/v1/release-key",
        { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(request) },
        "to release its key",
      )) as { key: string; jobId: string };
      return { jobId: answer.jobId, key: getBytes(answer.key) };
    },
    async jobState(hostIndex, jobId): Promise<HostJobState> {
      const answer = (await call(urls, hostIndex, `/v1/jobs/${jobId}`, { method: "GET" }, "to say where the job stands")) as { state: HostJobState };
      return answer.state;
    },
  };
}
