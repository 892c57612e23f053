import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Wallet } from "ethers";
import { bumped, bumpFees, feesOf } from "../src/relay/fulfilment-fees.ts";
import type { TxFees } from "../src/relay/fulfilment-fees.ts";
import { datasetCount, fulfilmentGasLimit, GAS_PER_EXTRA_DATASET, GAS_PER_PAYLOAD_BYTE } from "../src/relay/fulfilment-gas.ts";

// How the relay sizes a fulfilment's gas and raises the fees of a stuck one,
// without a chain (the relay tests check both against the real Operator).
const gwei = (n: number) => BigInt(Math.round(n * 1e9));
const eip1559 = (max: number, priority: number): TxFees => ({ type: 2, maxFeePerGas: gwei(max), maxPriorityFeePerGas: gwei(priority) });

describe("fulfilment gas limit", () => {
  it("is the base for one dataset and no payload, and grows with each further dataset and payload byte", () => {
    assert.equal(fulfilmentGasLimit(500_000, 1, 0), 500_000);
    assert.equal(fulfilmentGasLimit(500_000, 3, 768), 500_000 + 2 * GAS_PER_EXTRA_DATASET + 768 * GAS_PER_PAYLOAD_BYTE);
    assert.ok(fulfilmentGasLimit(500_000, 2, 768) > fulfilmentGasLimit(500_000, 1, 768));
    assert.ok(fulfilmentGasLimit(500_000, 1, 4096) > fulfilmentGasLimit(500_000, 1, 768));
  });

  it("covers the Operator's 400,000 consumer minimum plus margin, and the measured cost with margin", () => {
    // Measured on the market: the smallest limit the Operator accepts is ~441,500 gas + ~15 per payload
    // byte; a whole fulfilment costs ~149,000 + ~12,000 per extra dataset + ~34 per payload byte.
    for (const [datasets, bytes] of [[1, 0], [1, 650], [5, 650], [20, 650], [20, 4576]]) {
      const limit = fulfilmentGasLimit(500_000, datasets, bytes);
      assert.ok(limit >= 441_500 + 15 * bytes + 40_000, `Operator minimum with margin (${datasets}, ${bytes})`);
      assert.ok(limit >= 2 * (149_000 + 12_000 * (datasets - 1) + 34 * Math.max(0, bytes - 650)), `twice the measured cost (${datasets}, ${bytes})`);
    }
  });

  it("counts the comma-separated datasetIds of the request data, 1 when it cannot tell", () => {
    assert.equal(datasetCount({ datasetIds: `0x${"aa".repeat(32)},0x${"bb".repeat(32)},0x${"cc".repeat(32)}` }), 3);
    assert.equal(datasetCount({ datasetIds: `0x${"aa".repeat(32)}` }), 1);
    assert.equal(datasetCount({}), 1);
    assert.equal(datasetCount(undefined), 1);
    assert.equal(datasetCount({ datasetIds: Array(50).fill("0x01").join(",") }), 20, "at most the consumer's 20");
  });
});

describe("replacement fees", () => {
  const cap = gwei(500);

  it("raises both EIP-1559 fees by at least 12.5%, or to what the chain asks now if more", () => {
    const previous = eip1559(10, 2);
    assert.deepEqual(bumpFees(previous, eip1559(1, 1), cap), { type: 2, maxFeePerGas: gwei(11.25), maxPriorityFeePerGas: gwei(2.25) });
    assert.deepEqual(bumpFees(previous, eip1559(40, 3), cap), { type: 2, maxFeePerGas: gwei(40), maxPriorityFeePerGas: gwei(3) });
    assert.equal(bumped(1n), 2n, "rounded up, by at least 1 wei");
    assert.equal(bumped(0n), 1n);
    assert.equal(bumped(8n), 9n);
  });

  it("raises a legacy gasPrice where the chain has no base fee", () => {
    assert.deepEqual(bumpFees({ type: 0, gasPrice: gwei(8) }, { type: 0, gasPrice: gwei(1) }, cap), { type: 0, gasPrice: gwei(9) });
  });

  it("never passes the cap, and gives up when a 12.5% raise would", () => {
    assert.deepEqual(bumpFees(eip1559(400, 2), eip1559(900, 900), cap), { type: 2, maxFeePerGas: cap, maxPriorityFeePerGas: cap });
    assert.equal(bumpFees(eip1559(450, 2), eip1559(1, 1), cap), undefined);
    assert.equal(bumpFees({ type: 0, gasPrice: gwei(480) }, { type: 0, gasPrice: gwei(1) }, cap), undefined);
  });

  it("reads the fees back from a signed transaction", async () => {
    const wallet = Wallet.createRandom();
    const raw = await wallet.signTransaction({ to: wallet.address, chainId: 31337, nonce: 0, gasLimit: 21_000, type: 2, maxFeePerGas: gwei(3), maxPriorityFeePerGas: gwei(1) });
    assert.deepEqual(feesOf(raw), eip1559(3, 1));
    const legacy = await wallet.signTransaction({ to: wallet.address, chainId: 31337, nonce: 0, gasLimit: 21_000, type: 0, gasPrice: gwei(2) });
    assert.deepEqual(feesOf(legacy), { type: 0, gasPrice: gwei(2) });
  });
});
