import { decode } from "cbor-x";

/**
 * Decodes the `data` of an Operator `OracleRequest` log as a Chainlink node's
 * `cborparse` task does: ChainlinkClient writes the key/value pairs of a CBOR
 * map without the map's header, so the node wraps them in an
 * indefinite-length map (0xbf ... 0xff) before decoding.
 *
 * @example
 * decodeRequestData(log.args.data) // { algorithm: "sum@1", datasetId: "0x…", … }
 */
export function decodeRequestData(data: Uint8Array | string): Record<string, unknown> {
  const bytes = typeof data === "string" ? Buffer.from(data.replace(/^0x/, ""), "hex") : Buffer.from(data);
  let decoded: unknown;
  try {
    decoded = decode(Buffer.concat([Buffer.from([0xbf]), bytes, Buffer.from([0xff])]));
  } catch (err) {
    throw new Error(`request data is not CBOR key/value pairs: ${(err as Error).message}`, { cause: err });
  }
  if (decoded === null || typeof decoded !== "object" || Array.isArray(decoded)) {
    throw new Error("request data does not decode to a map");
  }
  const entries = decoded instanceof Map ? Object.fromEntries(decoded) : (decoded as Record<string, unknown>);
  return entries;
}
