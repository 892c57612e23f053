import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { isMpcError } from "../src/index.ts";
import { loadHostConfig } from "../src/host/index.ts";

const valid = {
  SCMPC_HOST_INDEX: "1",
  SCMPC_HOST_PEERS: "127.0.0.1:7001,127.0.0.1:7002,127.0.0.1:7003",
  SCMPC_HOST_DATA_DIR: "/tmp/h1",
  SCMPC_RPC_URL: "http://127.0.0.1:8545",
  SCMPC_REGISTRY_ADDRESS: "0x5fbdb2315678afecb367f032d93f642f64180aa3",
  SCMPC_ALGORITHM_CONTRACTS: "0xe7f1725e7734ce288f8367e1bb143e90bb3f0512, 0x9fE46736679d2D9a65F0992F2272dE9f3c7fa6e0",
};

describe("host config", () => {
  it("builds a typed config with defaults", () => {
    const config = loadHostConfig(valid);
    assert.equal(config.hostIndex, 1);
    assert.equal(config.listen, "127.0.0.1:0");
    assert.deepEqual(config.peers, ["127.0.0.1:7001", "127.0.0.1:7002", "127.0.0.1:7003"]);
    assert.equal(config.jobTimeoutMs, 30_000);
    assert.equal(config.logLevel, "info");
    assert.equal(config.registryAddress, "0x5FbDB2315678afecb367f032d93F642f64180aa3");
    assert.equal(config.algorithmContracts.length, 2);
  });

  it("reports every invalid variable at once", () => {
    assert.throws(
      () =>
        loadHostConfig({ ...valid, SCMPC_HOST_INDEX: "3", SCMPC_HOST_PEERS: "a:1,b:2", SCMPC_JOB_TIMEOUT_MS: "-5", SCMPC_RPC_URL: undefined }),
      (err: unknown) =>
        isMpcError(err, "CONFIG_INVALID") &&
        ["SCMPC_HOST_INDEX", "SCMPC_HOST_PEERS", "SCMPC_JOB_TIMEOUT_MS", "SCMPC_RPC_URL"].every((v) => err.message.includes(v)),
    );
  });
});
