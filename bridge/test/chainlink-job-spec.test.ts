import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { after, describe, it } from "node:test";
import { AbiCoder, getAddress, Interface, keccak256, toUtf8Bytes } from "ethers";
import { encode } from "cbor-x";
import { DEFAULT_LINK_FEE, jobIdOf, MARKET_ALGORITHMS } from "@scmpc/contracts";
import { buildApp } from "../src/app.ts";
import { openJobStore } from "../src/job-store.ts";
import type { HostsClient } from "../src/hosts-client.ts";
import { OPERATOR_ABI, operatorInterface } from "../src/relay/oracle-request.ts";
import { decodeRequestData } from "../src/relay/request-data.ts";

// The Chainlink job spec in deploy/chainlink/ checked against what the relay
// and the bridge do: the pipeline's tasks and their order, and the bridge's
// answer to exactly the body a node's bridge task sends, read along the
// spec's jsonparse path and ABI-decoded as the market contract does.
const SPEC_FILE = path.resolve(fileURLToPath(import.meta.url), "../../../deploy/chainlink/scmpc-job.toml");
const ACCESS_KEY = "chainlink-node-outgoing-token-0123456789";

/** The TOML subset job specs use: `key = "string" | number | """multi-line""" | ["string", ...]`, comments. */
function parseToml(text: string): Record<string, string | number | string[]> {
  const out: Record<string, string | number | string[]> = {};
  const unescape = (s: string) => s.replace(/\\(["\\nt])/g, (_, c: string) => ({ n: "\n", t: "\t" })[c] ?? c);
  const re = /^([A-Za-z][A-Za-z0-9_]*)\s*=\s*(?:"""\n?([\s\S]*?)"""|"((?:[^"\\]|\\.)*)"|(-?\d+)|\[([^\]]*)\])\s*(?:#.*)?$/gm;
  const lines = text.replace(/^\s*#.*$/gm, "");
  for (const m of lines.matchAll(re)) {
    if (m[5] !== undefined) out[m[1]] = [...m[5].matchAll(/"((?:[^"\\]|\\.)*)"/g)].map((item) => unescape(item[1]));
    else out[m[1]] = m[4] !== undefined ? Number(m[4]) : unescape(m[2] ?? m[3]);
  }
  return out;
}

interface Task {
  type: string;
  attrs: Record<string, string>;
}

/** The pipeline's tasks (`name [key="value" ...]`) and its edges (`a -> b -> c`). */
function parseDot(source: string): { tasks: Map<string, Task>; edges: [string, string][] } {
  const tasks = new Map<string, Task>();
  for (const m of source.matchAll(/^\s*([a-z_][a-z0-9_]*)\s*\[([\s\S]*?)\]\s*$/gim)) {
    const attrs: Record<string, string> = {};
    for (const a of m[2].matchAll(/([A-Za-z]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s\]]+))/g)) {
      attrs[a[1]] = a[2] !== undefined ? a[2].replace(/\\(["\\])/g, "$1") : a[3];
    }
    tasks.set(m[1], { type: attrs.type, attrs });
  }
  const edges: [string, string][] = [];
  for (const line of source.split("\n").filter((l) => l.includes("->"))) {
    const names = line.split("->").map((s) => s.trim());
    for (let i = 1; i < names.length; i++) edges.push([names[i - 1], names[i]]);
  }
  return { tasks, edges };
}

/** The 16 bytes a node reads a job's UUID as, right-padded: the consumer's jobId. */
function uuidToSpecId(uuid: string): string {
  return `0x${uuid.replace(/-/g, "")}${"0".repeat(32)}`;
}

/** Replaces each `$(task.field)` of a task parameter with the JSON of its value, as the node does. */
function resolveVars(template: string, vars: Record<string, unknown>): string {
  return template.replace(/\$\(([a-zA-Z0-9_.]+)\)/g, (_, key: string) => {
    assert.ok(key in vars, `the spec uses $(${key}), which this test does not model`);
    assert.ok(key.split(".").length <= 2, `$(${key}): a node's keypaths have at most two parts`);
    return JSON.stringify(vars[key]);
  });
}

describe("Chainlink direct-request job spec (deploy/chainlink)", async () => {
  const spec = parseToml(await readFile(SPEC_FILE, "utf8"));
  const { tasks, edges } = parseDot(String(spec.observationSource));
  const apps: ReturnType<typeof buildApp>[] = [];
  after(async () => {
    for (const app of apps) await app.close();
  });

  it("is a direct-request job on the Operator whose external id is the consumer's jobId", () => {
    assert.equal(spec.type, "directrequest");
    assert.equal(spec.schemaVersion, 1);
    assert.match(String(spec.externalJobID), /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    assert.equal(uuidToSpecId(String(spec.externalJobID)), jobIdOf("sum@1"));
    assert.equal(spec.contractAddress, tasks.get("submit_tx")!.attrs.to, "the job listens to and fulfils on the same Operator");
    assert.equal(typeof spec.minIncomingConfirmations, "number");
  });

  it("serves only the algorithm's contract, paying at least the market's LINK fee, as the relay does", () => {
    // A node's job filter: `requesters` (the relay's SCMPC_FACTORY_ADDRESS /
    // SCMPC_RELAY_REQUESTERS) and `minContractPaymentLinkJuels` (SCMPC_RELAY_MIN_PAYMENT).
    assert.ok(Array.isArray(spec.requesters) && spec.requesters.length === 1, "one requester: this job's algorithm contract");
    for (const requester of spec.requesters as string[]) assert.match(requester, /^(0x[0-9a-fA-F]{40}|YOUR_[A-Z_]+)$/);
    assert.equal(typeof spec.minContractPaymentLinkJuels, "string", "juels as a string (a node reads a big integer)");
    assert.equal(BigInt(spec.minContractPaymentLinkJuels as string), DEFAULT_LINK_FEE, "the market's LINK fee: no request paying less is run");
  });

  it("runs ethabidecodelog → cborparse → hexencode → bridge → jsonparse → ethabiencode → ethabiencode → ethtx, in one chain", () => {
    const order = ["decode_log"];
    for (;;) {
      const next = edges.filter(([from]) => from === order.at(-1)).map(([, to]) => to);
      if (next.length === 0) break;
      assert.equal(next.length, 1, `${order.at(-1)} has one successor`);
      order.push(next[0]);
    }
    assert.equal(order.length, tasks.size, "every task is on the chain");
    assert.deepEqual(
      order.map((name) => tasks.get(name)!.type),
      ["ethabidecodelog", "cborparse", "hexencode", "bridge", "jsonparse", "ethabiencode", "ethabiencode", "ethtx"],
    );
    const decodeLog = tasks.get("decode_log")!.attrs;
    assert.equal(new Interface([`event ${decodeLog.abi}`]).getEvent("OracleRequest")!.topicHash, operatorInterface.getEvent("OracleRequest")!.topicHash);
    assert.equal(decodeLog.data, "$(jobRun.logData)");
    assert.equal(decodeLog.topics, "$(jobRun.logTopics)");
    const encodeTx = tasks.get("encode_tx")!.attrs;
    assert.equal(new Interface([`function ${encodeTx.abi}`]).getFunction("fulfillOracleRequest2")!.selector, new Interface(OPERATOR_ABI).getFunction("fulfillOracleRequest2")!.selector);
    const submit = tasks.get("submit_tx")!.attrs;
    assert.ok(Number(submit.gasLimit) >= 1_000_000, "an explicit gas limit: the Operator needs 400k left for the callback");
    assert.equal(submit.data, "$(encode_tx)");
    assert.equal(tasks.get("fetch")!.attrs.name, "scmpc");
  });

  it("each market algorithm whose job id a node can match is listed in the README", async () => {
    const readme = await readFile(path.join(path.dirname(SPEC_FILE), "README.md"), "utf8");
    for (const name of MARKET_ALGORITHMS) {
      const jobId = jobIdOf(name);
      if (!jobId.endsWith("0".repeat(32))) continue; // more than 16 bytes: no UUID maps to it (see README)
      const hex = jobId.slice(2, 34);
      const uuid = `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
      assert.ok(readme.includes(`| \`${name}\` | \`${uuid}\` |`), `README lists ${name} → ${uuid}`);
    }
  });

  it("the bridge's answer to a node's bridge-task body parses along the jsonparse path into abi.encode(bytes, bytes[3])", async () => {
    // An OracleRequest as the market contract makes it (ChainlinkClient's CBOR pairs).
    const requestId = keccak256(toUtf8Bytes("job spec request"));
    const consumer = getAddress(`0x${"44".repeat(20)}`);
    const fields = {
      algorithm: "sum@1",
      datasetIds: `0x${"22".repeat(32)},0x${"55".repeat(32)}`,
      params: JSON.stringify({ column: "salary" }),
      buyerKey: `0x${"33".repeat(32)}`,
    };
    const cbor = Buffer.concat(Object.entries(fields).flatMap(([k, v]) => [encode(k), encode(v)]));
    const decodeCbor = decodeRequestData(`0x${cbor.toString("hex")}`); // what cborparse outputs
    const vars: Record<string, unknown> = {
      "jobSpec.externalJobID": spec.externalJobID,
      "request_id": requestId, // hexencode of decode_log.requestId
      "decode_log.callbackAddr": consumer.toLowerCase(), // geth's JSON for an address
      ...Object.fromEntries(Object.entries(decodeCbor).map(([k, v]) => [`decode_cbor.${k}`, v])),
    };
    const requestData = JSON.parse(resolveVars(tasks.get("fetch")!.attrs.requestData, vars));
    const meta = {
      oracleRequest: {
        specId: jobIdOf("sum@1"),
        requester: consumer,
        requestId,
        payment: "100000000000000000",
        callbackAddr: consumer,
        callbackFunctionId: "0x4357855e",
        cancelExpiration: "1700000300",
        dataVersion: "2",
        data: `0x${cbor.toString("hex")}`,
      },
    };
    // The node's body: requestData, plus meta; responseURL only with async="true".
    const body: Record<string, unknown> = { ...requestData, meta };
    if (tasks.get("fetch")!.attrs.async === "true") body.responseURL = "http://127.0.0.1:6688/v2/resume/5a1f3b6e-0000-4000-8000-000000000001";

    const calls: { requestId: string; algorithm: string; datasetIds: string[]; consumer: string }[] = [];
    const hosts: HostsClient = {
      async compute(req) {
        calls.push(req);
        return { jobId: `0x${"66".repeat(32)}`, envelopes: [Buffer.from("aa", "hex"), Buffer.from("bbbb", "hex"), Buffer.from("cccccc", "hex")] };
      },
      async signResult() {
        return [0, 1, 2].map((i) => `0x${String(i + 1).repeat(130)}`);
      },
      async health() {
        return [];
      },
      close() {},
    };
    // The bridge task sends the access key in the headers the spec lists (a node adds no token by itself).
    const headerList = JSON.parse(tasks.get("fetch")!.attrs.headers) as string[];
    assert.equal(headerList.length % 2, 0, "headers are name, value pairs");
    const headers = Object.fromEntries(
      headerList.flatMap((item, i) => (i % 2 === 0 ? [[item.toLowerCase(), headerList[i + 1].replace("YOUR_BRIDGE_ACCESS_KEY", ACCESS_KEY)]] : [])),
    );
    assert.equal(headers.authorization, `Bearer ${ACCESS_KEY}`);
    const app = buildApp({
      accessKey: ACCESS_KEY,
      hosts,
      store: openJobStore(":memory:"),
      checker: { async check() {}, close() {} },
      jobTimeoutMs: 1_000,
      fastify: { logger: false },
    });
    apps.push(app);
    const res = await app.inject({ method: "POST", url: "/", payload: body, headers });
    assert.equal(res.statusCode, 200, res.body);
    assert.deepEqual(calls.map((c) => [c.requestId, c.algorithm, c.datasetIds.length, c.consumer.toLowerCase()]), [[requestId, "sum@1", 2, consumer.toLowerCase()]]);

    // jsonparse: follow the comma-separated path from the answer's root.
    let value: unknown = res.json();
    for (const key of tasks.get("parse")!.attrs.path.split(",")) value = (value as Record<string, unknown>)?.[key];
    assert.equal(typeof value, "string");
    assert.match(value as string, /^0x[0-9a-f]+$/);
    const [result, signatures] = AbiCoder.defaultAbiCoder().decode(["bytes", "bytes[3]"], value as string);
    assert.ok((result as string).length > 2);
    assert.equal(signatures.length, 3);

    // encode_data then encode_tx, as the spec writes them, give the call the relay makes.
    const encodeData = tasks.get("encode_data")!.attrs.abi;
    assert.equal(encodeData, "(bytes32 requestId, bytes payload)");
    const data = AbiCoder.defaultAbiCoder().encode(["bytes32", "bytes"], [requestId, value as string]);
    const [decodedId, payload] = AbiCoder.defaultAbiCoder().decode(["bytes32", "bytes"], data);
    assert.equal(decodedId, requestId);
    assert.equal(payload, value);
  });
});
