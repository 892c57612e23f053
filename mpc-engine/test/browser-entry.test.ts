import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { describe, it } from "node:test";
import { bundleForBrowser, isRuntimePackage, type BrowserBundle } from "./support/browser-bundle.ts";

// The web app bundles the buyer's and seller's engine code from
// mpc-engine/src/browser.ts, the modules Node runs. The bundle must build
// for the browser (no `node:` module, no bare built-in) and hold none of the
// hosts' runtime: protocols, kernels (wabt), channels, gRPC, logging.

const ENTRY = "mpc-engine/src/browser.ts";
// The two protocol/ modules noise descriptions redraw with: exact samplers with no imports.
const PURE_PROTOCOL = ["mpc-engine/src/protocol/discrete-laplace.ts", "mpc-engine/src/protocol/stream-reader.ts"];
const HOST_MODULES_ALLOWED = ["mpc-engine/src/host/job-identity.ts"];

/** Engine modules in the bundle that belong to the hosts' runtime. */
function runtimeModules(inputs: readonly string[]): string[] {
  return inputs.filter(
    (input) =>
      /^mpc-engine\/src\/(kernels|channel|tls)\//.test(input) ||
      (input.startsWith("mpc-engine/src/protocol/") && !PURE_PROTOCOL.includes(input)) ||
      (input.startsWith("mpc-engine/src/host/") && !HOST_MODULES_ALLOWED.includes(input)) ||
      /^mpc-engine\/src\/(plan\/run-query|plan\/job-plan|algorithms\/run|main|gc-tuning)\.ts$/.test(input),
  );
}

describe("the engine's browser entry", () => {
  let bundle: BrowserBundle;

  it("bundles for the browser, importing nothing, with none of the hosts' runtime", async (t) => {
    bundle = await bundleForBrowser(ENTRY);
    t.diagnostic(`${ENTRY}: ${(bundle.bytes / 1024).toFixed(1)} KiB bundled, not minified (${bundle.inputs.length} modules)`);
    assert.deepEqual(bundle.imports, [], "every import is resolved into the bundle: no node:*, wabt, @grpc/grpc-js or pino left to load");
    assert.deepEqual(bundle.nodeSpecifiers, [], "no node:* specifier in the code");
    assert.deepEqual(bundle.inputs.filter(isRuntimePackage), [], "no wabt, @grpc/grpc-js or pino inside");
    assert.deepEqual(runtimeModules(bundle.inputs), [], "no protocol, kernel, channel or host module beyond the pure ones");
    assert.ok(bundle.inputs.includes("mpc-engine/src/output-envelope.ts") && bundle.inputs.includes("mpc-engine/src/plan/plan-job.ts"));
  });

  it("runs as bundled: a buyer's key opens what the hosts sealed, a shared column reconstructs, a job plans and decodes", async () => {
    bundle ??= await bundleForBrowser(ENTRY);
    const dir = await mkdtemp(join(tmpdir(), "scmpc-browser-entry-"));
    try {
      const file = join(dir, "engine.mjs");
      await writeFile(file, bundle.code);
      const engine = (await import(pathToFileURL(file).href)) as typeof import("../src/browser.ts");
      const buyer = engine.generateBuyerKeyPair();
      const requestId = `0x${"ab".repeat(32)}`;
      const jobId = `0x${"cd".repeat(32)}`;
      const shares = engine.shareColumn(BigUint64Array.of(40n, 2n));
      assert.deepEqual([...engine.reconstruct(shares)], [40n, 2n]);
      const keys = [0, 1, 2].map(() => engine.newReleaseKey());
      const wrapped = shares.map((share, hostIndex) => {
        const values = [...share.a].map((a, k) => [a, share.b[k]] as const);
        const envelope = engine.encryptOutputShare({ requestId, hostIndex, buyerPublicKey: buyer.publicKey, values });
        return engine.wrapEnvelope({ jobId, hostIndex, key: keys[hostIndex], envelope });
      });
      const result = engine.packResult(jobId, wrapped);
      assert.deepEqual(engine.openResult({ requestId, buyerPrivateKey: buyer.privateKey, result, releaseKeys: [keys[0], undefined, keys[2]], jobId }), [40n, 2n]);
      const schema = { columns: [{ name: "x", scale: 0, lo: "0", hi: "100" }] };
      const job = engine.planJob("query@1", engine.queryParams(`SELECT count(*), sum(x) FROM "${jobId}"`), schema, { rowCount: 2n, epsilonMilli: 0 });
      assert.equal(job.kind, "query");
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("commits to shares in a runtime without Node's crypto (a browser's) exactly as the hosts do", async () => {
    bundle ??= await bundleForBrowser(ENTRY);
    const dir = await mkdtemp(join(tmpdir(), "scmpc-browser-entry-"));
    const scope = process as { getBuiltinModule?: unknown };
    const native = scope.getBuiltinModule;
    try {
      const file = join(dir, "engine-without-node-crypto.mjs");
      await writeFile(file, bundle.code);
      // Loaded while Node's built-ins are out of reach, the bundle takes its WebAssembly SHA-256.
      scope.getBuiltinModule = undefined;
      const engine = (await import(pathToFileURL(file).href)) as typeof import("../src/browser.ts");
      scope.getBuiltinModule = native;
      const { chunkDigests, shareCommitments } = await import("../src/index.ts");
      const long = new Uint8Array(2 * engine.COMMITMENT_CHUNK_BYTES + 40).map((_, i) => (i * 31) & 0xff);
      assert.deepEqual(Buffer.from(engine.chunkDigests(long)), Buffer.from(chunkDigests(long)));
      const [s0, s1, s2] = engine.shareColumn(BigUint64Array.from({ length: 1000 }, (_, i) => BigInt(i)));
      const shares = [s0, s1, s2].map((share, hostIndex) => ({
        datasetId: `0x${"ab".repeat(32)}`,
        hostIndex,
        rowCount: 1000n,
        columns: [{ name: "x", scale: 0, lo: "0", hi: "999", a: engine.encodeRingVector(share.a), b: engine.encodeRingVector(share.b), validA: long.subarray(0, 8000), validB: long.subarray(8, 8008) }],
      }));
      assert.deepEqual(engine.shareCommitments(shares), shareCommitments(shares));
    } finally {
      scope.getBuiltinModule = native;
      await rm(dir, { recursive: true, force: true });
    }
  });
});
