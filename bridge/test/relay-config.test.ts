import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseUnits } from "ethers";
import { loadRelayConfig } from "../src/relay/config.ts";

// The relay's configuration: which consumers it serves, the minimum payment,
// and the gas, deadline and fee settings, each refused with the variable named.
const FACTORY = "0x5FbDB2315678afecb367f032d93F642f64180aa3";
const A = "0x32467b43BFa67273FC7dDda0999Ee9A12F2AaA08";
const B = "0x4ABEaCA4b05d8fA4CED09D26aD28Ea298E8afaC8";
const base = {
  SCMPC_RPC_URL: "http://127.0.0.1:8545",
  SCMPC_OPERATOR_ADDRESS: "0x5FC8d32690cc91D4c39d9d3abcBD16989F875707",
  SCMPC_RELAY_PRIVATE_KEY: `0x${"11".repeat(32)}`,
  SCMPC_BRIDGE_URL: "http://127.0.0.1:8080",
};
const fails = (env: NodeJS.ProcessEnv, pattern: RegExp) =>
  assert.throws(() => loadRelayConfig(env), (err: unknown) => (err as { code?: string }).code === "CONFIG_INVALID" && pattern.test((err as Error).message));

describe("relay configuration", () => {
  it("serves the factory's algorithm contracts, or an explicit list, never neither nor both", () => {
    assert.deepEqual(loadRelayConfig({ ...base, SCMPC_FACTORY_ADDRESS: FACTORY.toLowerCase() }).market, { kind: "factory", factoryAddress: FACTORY });
    assert.deepEqual(loadRelayConfig({ ...base, SCMPC_RELAY_REQUESTERS: ` ${A.toLowerCase()}, ${B},${A}` }).market, { kind: "requesters", requesters: [A, B] });
    fails(base, /SCMPC_FACTORY_ADDRESS is required.*SCMPC_RELAY_REQUESTERS/);
    fails({ ...base, SCMPC_FACTORY_ADDRESS: FACTORY, SCMPC_RELAY_REQUESTERS: A }, /SCMPC_RELAY_REQUESTERS and SCMPC_FACTORY_ADDRESS exclude each other/);
    fails({ ...base, SCMPC_FACTORY_ADDRESS: "0x1234" }, /SCMPC_FACTORY_ADDRESS must be a 0x-prefixed 20-byte address/);
    fails({ ...base, SCMPC_RELAY_REQUESTERS: `${A},nope` }, /SCMPC_RELAY_REQUESTERS must be a 0x-prefixed 20-byte address/);
  });

  it("defaults: 1 juel minimum, 500000 gas base, 30 s deadline margin, replacement after 60 s, 500 gwei cap", () => {
    const config = loadRelayConfig({ ...base, SCMPC_FACTORY_ADDRESS: FACTORY });
    assert.equal(config.minPayment, 1n);
    assert.equal(config.fulfillGasLimit, 500_000);
    assert.equal(config.deadlineMarginS, 30);
    assert.equal(config.replaceAfterMs, 60_000);
    assert.equal(config.maxFeePerGas, parseUnits("500", "gwei"));
  });

  it("takes the market's linkFee as the minimum payment, and refuses 0 or a non-integer", () => {
    assert.equal(loadRelayConfig({ ...base, SCMPC_FACTORY_ADDRESS: FACTORY, SCMPC_RELAY_MIN_PAYMENT: "100000000000000000" }).minPayment, 10n ** 17n);
    fails({ ...base, SCMPC_FACTORY_ADDRESS: FACTORY, SCMPC_RELAY_MIN_PAYMENT: "0" }, /SCMPC_RELAY_MIN_PAYMENT must be a whole number of juels, at least 1/);
    fails({ ...base, SCMPC_FACTORY_ADDRESS: FACTORY, SCMPC_RELAY_MIN_PAYMENT: "0.1" }, /SCMPC_RELAY_MIN_PAYMENT/);
  });

  it("refuses a gas base under 500000, a bad margin, replacement delay or fee cap, naming the variable", () => {
    const env = { ...base, SCMPC_FACTORY_ADDRESS: FACTORY };
    fails({ ...env, SCMPC_RELAY_FULFILL_GAS_LIMIT: "400000" }, /SCMPC_RELAY_FULFILL_GAS_LIMIT must be at least 500000/);
    fails({ ...env, SCMPC_RELAY_DEADLINE_MARGIN_S: "-1" }, /SCMPC_RELAY_DEADLINE_MARGIN_S must be a non-negative integer/);
    fails({ ...env, SCMPC_RELAY_REPLACE_AFTER_MS: "0" }, /SCMPC_RELAY_REPLACE_AFTER_MS must be a positive integer/);
    fails({ ...env, SCMPC_RELAY_MAX_FEE_GWEI: "0" }, /SCMPC_RELAY_MAX_FEE_GWEI must be a positive number of gwei/);
    fails({ ...env, SCMPC_RELAY_MAX_FEE_GWEI: "lots" }, /SCMPC_RELAY_MAX_FEE_GWEI/);
    assert.equal(loadRelayConfig({ ...env, SCMPC_RELAY_MAX_FEE_GWEI: "1.5" }).maxFeePerGas, 1_500_000_000n);
    assert.equal(loadRelayConfig({ ...env, SCMPC_RELAY_DEADLINE_MARGIN_S: "0" }).deadlineMarginS, 0);
  });
});
