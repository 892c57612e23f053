/**
 * Gas added for each dataset beyond the first: twice the ~12,000 measured per
 * extra dataset (one seller credited, one `PaymentCredited`), so a request
 * whose sellers are all new (cold storage) still fits.
 */
export const GAS_PER_EXTRA_DATASET = 24_000;

/**
 * Gas added per payload byte: the payload is calldata (16 gas a byte), is
 * copied and hashed by the Operator and the consumer, and its result is
 * logged in `ComputationFulfilled` (8 a byte): about 34 a byte measured.
 */
export const GAS_PER_PAYLOAD_BYTE = 40;

/** Datasets one request may combine (`AlgorithmComputation.MAX_DATASETS`). */
const MAX_DATASETS = 20;

/**
 * How many datasets a request combines, from its CBOR data's `datasetIds`
 * (comma-separated, as the consumer writes it). 1 when it cannot tell: the
 * base gas limit is enough for one.
 *
 * @example
 * datasetCount({ datasetIds: "0xaa…,0xbb…" }) // 2
 */
export function datasetCount(data: Record<string, unknown> | undefined): number {
  const ids = data?.datasetIds;
  if (typeof ids !== "string") return 1;
  const count = ids.split(",").filter((id) => id.trim() !== "").length;
  return Math.min(MAX_DATASETS, Math.max(1, count));
}

/**
 * The gas limit of one `fulfillOracleRequest2`:
 *
 *     base + 24,000 × (datasets − 1) + 40 × payload bytes
 *
 * `base` (`SCMPC_RELAY_FULFILL_GAS_LIMIT`, at least 500,000) covers the
 * transaction (21,000 and its fixed calldata), the Operator's bookkeeping
 * (~20,000) and the 400,000 the Operator insists on leaving for the callback
 * (`MINIMUM_CONSUMER_GAS_LIMIT`), with room to spare. Measured on the market's
 * consumer, a whole fulfilment costs about 149,000 gas with one dataset and a
 * ~650-byte payload, about 12,000 more per extra dataset and ~34 more per
 * payload byte; the two terms above are those costs with a margin, so the
 * limit grows with the request and never starves its callback. Only the gas
 * used is paid; the limit only bounds it.
 *
 * @example
 * fulfilmentGasLimit(500_000, 3, 768) // 500,000 + 48,000 + 30,720 = 578,720
 */
export function fulfilmentGasLimit(base: number, datasets: number, payloadBytes: number): number {
  return base + GAS_PER_EXTRA_DATASET * (Math.max(1, datasets) - 1) + GAS_PER_PAYLOAD_BYTE * Math.max(0, payloadBytes);
}
