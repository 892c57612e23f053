import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { isMpcError } from "../src/index.ts";
import { createPeerMailbox } from "../src/host/index.ts";

const jobId = "0x" + "aa".repeat(32);

describe("peer mailbox", () => {
  const mailbox = createPeerMailbox({ retentionMs: 60_000 });
  after(() => mailbox.close());

  it("holds a message that arrives before the job asks for it", async () => {
    mailbox.deliver({ jobId, step: 0, fromHost: 2, payload: Buffer.from("early") });
    const got = await mailbox.receive({ jobId, step: 0, fromHost: 2 }, { deadline: Date.now() + 1000 });
    assert.equal(got.toString(), "early");
  });

  it("wakes a waiting receiver", async () => {
    const pending = mailbox.receive({ jobId, step: 1, fromHost: 1 }, { deadline: Date.now() + 1000 });
    mailbox.deliver({ jobId, step: 1, fromHost: 1, payload: Buffer.from("late") });
    assert.equal((await pending).toString(), "late");
  });

  it("refuses a duplicate key", () => {
    mailbox.deliver({ jobId, step: 3, fromHost: 1, payload: Buffer.from("x") });
    assert.throws(
      () => mailbox.deliver({ jobId, step: 3, fromHost: 1, payload: Buffer.from("y") }),
      (err: unknown) => isMpcError(err, "PEER_DUPLICATE"),
    );
  });

  it("refuses a step lower than one already delivered by that host for the request", () => {
    const id = "0x" + "cc".repeat(32);
    mailbox.deliver({ jobId: id, step: 4, fromHost: 2, payload: Buffer.from("x") });
    assert.throws(
      () => mailbox.deliver({ jobId: id, step: 3, fromHost: 2, payload: Buffer.from("y") }),
      (err: unknown) => isMpcError(err, "PEER_OUT_OF_ORDER") && err.details.highestStep === 4 && /host 2/.test(err.message),
    );
    // Order is per sending host and per request.
    mailbox.deliver({ jobId: id, step: 3, fromHost: 1, payload: Buffer.from("z") });
    mailbox.deliver({ jobId: "0x" + "dd".repeat(32), step: 0, fromHost: 2, payload: Buffer.from("w") });
  });

  it("times out naming the missing host", async () => {
    const started = Date.now();
    await assert.rejects(
      mailbox.receive({ jobId, step: 7, fromHost: 2 }, { deadline: Date.now() + 100 }),
      (err: unknown) => isMpcError(err, "PEER_TIMEOUT") && err.details.missingHost === 2 && /host 2/.test(err.message),
    );
    assert.ok(Date.now() - started < 1000);
  });

  it("drops a message's bytes once the job took it, and refuses the same message again until the run ends", async () => {
    const id = "0x" + "cd".repeat(32);
    mailbox.deliver({ jobId: id, step: 0, fromHost: 1, payload: Buffer.from("before the receive") });
    assert.deepEqual(await mailbox.receive({ jobId: id, step: 0, fromHost: 1 }, { deadline: Date.now() + 1000 }), Buffer.from("before the receive"));
    const waiting = mailbox.receive({ jobId: id, step: 1, fromHost: 1 }, { deadline: Date.now() + 1000 });
    mailbox.deliver({ jobId: id, step: 1, fromHost: 1, payload: Buffer.from("after it") });
    assert.deepEqual(await waiting, Buffer.from("after it"));
    for (const step of [0, 1]) {
      assert.throws(() => mailbox.deliver({ jobId: id, step, fromHost: 1, payload: Buffer.from("resent") }), (err: unknown) => isMpcError(err, "PEER_DUPLICATE"));
    }
    // The run ended (failed): a retry takes the peer's messages from the first step again.
    mailbox.finish(id);
    mailbox.deliver({ jobId: id, step: 0, fromHost: 1, payload: Buffer.from("retry") });
    assert.deepEqual(await mailbox.receive({ jobId: id, step: 0, fromHost: 1 }, { deadline: Date.now() + 1000 }), Buffer.from("retry"));
  });

  it("drops a finished job's messages but takes new ones for a rerun from the first step", async () => {
    const id = "0x" + "bb".repeat(32);
    mailbox.deliver({ jobId: id, step: 0, fromHost: 0, payload: Buffer.from("first run") });
    mailbox.deliver({ jobId: id, step: 5, fromHost: 0, payload: Buffer.alloc(1) });
    mailbox.finish(id);
    // A peer that lost its mailbox runs the job again from step 0: every message is needed again.
    mailbox.deliver({ jobId: id, step: 0, fromHost: 0, payload: Buffer.from("rerun") });
    assert.deepEqual(await mailbox.receive({ jobId: id, step: 0, fromHost: 0 }, { deadline: Date.now() + 1000 }), Buffer.from("rerun"));
    assert.throws(
      () => mailbox.deliver({ jobId: id, step: 0, fromHost: 0, payload: Buffer.from("again") }),
      (err: unknown) => isMpcError(err, "PEER_DUPLICATE"),
    );
  });
});
