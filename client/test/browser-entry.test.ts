import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { bundleForBrowser, isRuntimePackage } from "../../mpc-engine/test/support/browser-bundle.ts";

// The web app types a seller's table with client/src/browser.ts, the rules
// the CLI runs: bundled for the browser it must build and import nothing,
// with no file system (@scmpc/tables/node) and none of the hosts' runtime.

describe("the client's browser entry", () => {
  it("bundles for the browser, importing nothing, with the tables' and the engine's browser code only", async (t) => {
    const entry = "client/src/browser.ts";
    const bundle = await bundleForBrowser(entry);
    t.diagnostic(`${entry}: ${(bundle.bytes / 1024).toFixed(1)} KiB bundled, not minified (${bundle.inputs.length} modules)`);
    assert.deepEqual(bundle.imports, [], "every import is resolved into the bundle");
    assert.deepEqual(bundle.nodeSpecifiers, [], "no node:* specifier in the code");
    assert.deepEqual(bundle.inputs.filter(isRuntimePackage), [], "no wabt, @grpc/grpc-js or pino inside");
    assert.deepEqual(bundle.inputs.filter((input) => input === "tables/src/node.ts" || input === "client/src/seller-table.ts"), [], "no file reading");
    assert.ok(bundle.inputs.includes("mpc-engine/src/browser.ts"), "the engine through its browser entry");
  });
});
