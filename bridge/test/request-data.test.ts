import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { encode } from "cbor-x";
import { decodeRequestData } from "../src/relay/request-data.ts";

// ChainlinkClient writes CBOR key/value pairs without the map header; this
// builds the same bytes by encoding a map and stripping its header.
function chainlinkBuffer(fields: Record<string, string>): string {
  const pairs = Object.entries(fields).map(([k, v]) => Buffer.concat([encode(k), encode(v)]));
  return `0x${Buffer.concat(pairs).toString("hex")}`;
}

describe("relay: OracleRequest data decoding", () => {
  it("decodes the key/value pairs a ChainlinkClient request carries", () => {
    const fields = { algorithm: "sum@1", datasetIds: `0x${"ab".repeat(32)}`, params: '{"column":"salary"}', buyerKey: `0x${"cd".repeat(32)}` };
    assert.deepEqual(decodeRequestData(chainlinkBuffer(fields)), fields);
  });

  it("rejects bytes that are not CBOR pairs", () => {
    assert.throws(() => decodeRequestData("0xff00ff"), /not CBOR/);
  });
});
