import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { Wallet } from "ethers";
import { decodeUploadBody, encodeUploadBody, isMpcError, UPLOAD_HEADER_LENGTH_BYTES, type UploadBody } from "../src/index.ts";
import { buildUploads } from "./support/cluster.ts";

/** A body whose header is `header` (any text) followed by `rest`. */
function bodyOf(header: string, rest: Uint8Array = new Uint8Array(0)): Uint8Array {
  const text = new TextEncoder().encode(header);
  const body = new Uint8Array(UPLOAD_HEADER_LENGTH_BYTES + text.length + rest.length);
  new DataView(body.buffer).setUint32(0, text.length, true);
  body.set(text, UPLOAD_HEADER_LENGTH_BYTES);
  body.set(rest, UPLOAD_HEADER_LENGTH_BYTES + text.length);
  return body;
}

/** Asserts `decodeUploadBody(body)` throws ENCODING_INVALID with a message matching `message`. */
function refuses(body: Uint8Array, message: RegExp): void {
  assert.throws(
    () => decodeUploadBody(body),
    (err: unknown) => isMpcError(err, "ENCODING_INVALID") && message.test(err.message),
  );
}

async function sampleUpload(): Promise<UploadBody> {
  const built = await buildUploads(Wallet.createRandom(), "wire", [
    { name: "price", scale: 2, values: BigUint64Array.from([1n, 2n, 3n]), valid: [1, 0, 1] },
    { name: "kind", scale: 0, type: "category", categories: ["a", "b"], lo: "0", hi: "1", values: BigUint64Array.from([0n, 1n, 1n]) },
  ]);
  return built.requests[1];
}

describe("upload body framing", () => {
  it("round-trips an upload: header fields, column metadata and every component byte", async () => {
    const request = await sampleUpload();
    const body = encodeUploadBody(request);
    const decoded = decodeUploadBody(body);
    assert.deepEqual(
      { ...decoded, columns: decoded.columns.map((c) => ({ ...c, a: [...c.a], b: [...c.b], validA: [...c.validA], validB: [...c.validB] })) },
      { ...request, columns: request.columns.map((c) => ({ ...c, a: [...c.a], b: [...c.b], validA: [...c.validA], validB: [...c.validB] })) },
    );
    // The int column has no type or categories on the wire; the category column keeps both.
    assert.equal("type" in decoded.columns[0], false);
    assert.deepEqual(decoded.columns[1].categories, ["a", "b"]);
  });

  it("lays the body out as documented: LE u32 header length, JSON header, then a, b, validA, validB per column", async () => {
    const request = await sampleUpload();
    const body = encodeUploadBody(request);
    const headerLength = new DataView(body.buffer, body.byteOffset).getUint32(0, true);
    const header = JSON.parse(new TextDecoder().decode(body.subarray(4, 4 + headerLength))) as Record<string, unknown>;
    assert.deepEqual(Object.keys(header).sort(), ["columns", "commitment", "datasetId", "hostIndex", "name", "rowCount", "seller", "signature"]);
    assert.equal(header.rowCount, "3");
    const expected = request.columns.flatMap((c) => [c.a, c.b, c.validA, c.validB]);
    assert.equal(body.length, 4 + headerLength + expected.length * 24);
    expected.forEach((component, i) => {
      const start = 4 + headerLength + i * 24;
      assert.deepEqual([...body.subarray(start, start + 24)], [...component]);
    });
  });

  it("decodes components as views into the body, not copies, and takes rowCount as a number too", async () => {
    const request = await sampleUpload();
    const body = encodeUploadBody(request);
    const decoded = decodeUploadBody(body);
    assert.equal(decoded.columns[0].a.buffer, body.buffer);
    const headerLength = new DataView(body.buffer).getUint32(0, true);
    const header = JSON.parse(new TextDecoder().decode(body.subarray(4, 4 + headerLength))) as Record<string, unknown>;
    const numeric = bodyOf(JSON.stringify({ ...header, rowCount: 3 }), body.subarray(4 + headerLength));
    assert.equal(decodeUploadBody(numeric).rowCount, "3");
  });

  it("refuses to encode a component that is not rowCount*8 bytes", async () => {
    const request = await sampleUpload();
    const short = { ...request, columns: [{ ...request.columns[0], validB: request.columns[0].validB.subarray(1) }, request.columns[1]] };
    assert.throws(() => encodeUploadBody(short), /column "price" component validB has 23 bytes, expected rowCount\*8 = 24/);
  });

  it("refuses malformed bodies, naming what is wrong", async () => {
    const request = await sampleUpload();
    const good = encodeUploadBody(request);
    const headerLength = new DataView(good.buffer).getUint32(0, true);
    const header = JSON.parse(new TextDecoder().decode(good.subarray(4, 4 + headerLength))) as Record<string, unknown>;
    const components = good.subarray(4 + headerLength);
    const withHeader = (h: Record<string, unknown>) => bodyOf(JSON.stringify(h), components);

    refuses(new Uint8Array([1, 0]), /2 bytes, fewer than the 4-byte header length/);
    refuses(good.subarray(0, 4 + headerLength - 1), /header length says \d+ bytes, but only \d+ follow it/);
    refuses(good.subarray(0, good.length - 1), /take 192 component bytes after the header, but the body has only 191 \(truncated body\?\)/);
    refuses(new Uint8Array([...good, 0]), /but the body has 193 \(trailing bytes\)/);
    refuses(bodyOf("{not json", components), /the header is not valid JSON/);
    refuses(bodyOf("[1,2]"), /the header must be a JSON object/);
    const badUtf8 = bodyOf("xx");
    badUtf8.set([0xff, 0xfe], 4);
    refuses(badUtf8, /the header is not valid UTF-8/);
    refuses(withHeader({ ...header, seller: 7 }), /seller must be a string/);
    refuses(withHeader({ ...header, hostIndex: -1 }), /hostIndex must be an integer/);
    refuses(withHeader({ ...header, rowCount: "3.5" }), /rowCount must be a non-negative integer/);
    refuses(withHeader({ ...header, columns: "price" }), /columns must be a list/);
    refuses(withHeader({ ...header, extra: true }), /unknown field\(s\) "extra"/);
    const columns = header.columns as Record<string, unknown>[];
    refuses(withHeader({ ...header, columns: [{ ...columns[0], a: "00" }, columns[1]] }), /column 0 of the header has unknown field\(s\) "a"/);
    refuses(withHeader({ ...header, columns: [columns[0], { ...columns[1], categories: [1] }] }), /column 1 of the header: categories must be a list of strings/);
    refuses(withHeader({ ...header, columns: [{ ...columns[0], scale: "2" }, columns[1]] }), /column 0 of the header's scale must be an integer/);
    // One column fewer than the components carry: the sizes no longer add up.
    refuses(withHeader({ ...header, columns: [columns[0]] }), /1 column\(s\) of 3 rows take 96 component bytes after the header, but the body has 192 \(trailing bytes\)/);
  });

  it("imports nothing Node-only, so a browser can build the body", () => {
    const source = readFileSync(new URL("../src/upload-wire.ts", import.meta.url), "utf8");
    const imports = [...source.matchAll(/^import .* from "([^"]+)";$/gm)].map((m) => m[1]);
    assert.deepEqual(imports, ["./errors.ts"]);
    assert.doesNotMatch(source.replace(/^\s*(\/\/|\*).*$/gm, ""), /\bBuffer\b|\bprocess\b|node:/);
    const errors = readFileSync(new URL("../src/errors.ts", import.meta.url), "utf8");
    assert.doesNotMatch(errors, /^import /m);
  });
});
