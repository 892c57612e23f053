import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { isMpcError } from "../src/index.ts";
import { createPeerMailbox } from "../src/host/index.ts";

const requestId = "0x" + "aa".repeat(32);

describe("peer mailbox", () => {
  const mailbox = createPeerMailbox({ retentionMs: 60_000 });
  after(() => mailbox.close());

  it("holds a message that arrives before the job asks for it", async () => {
    mailbox.deliver({ requestId, step: 0, fromHost: 2, payload: Buffer.from("early") });
    const got = await mailbox.receive({ requestId, step: 0, fromHost: 2 }, { deadline: Date.now() + 1000 });
    assert.equal(got.toString(), "early");
  });

  it("wakes a waiting receiver", async () => {
    const pending = mailbox.receive({ requestId, step: 1, fromHost: 1 }, { deadline: Date.now() + 1000 });
    mailbox.deliver({ requestId, step: 1, fromHost: 1, payload: Buffer.from("late") });
    assert.equal((await pending).toString(), "late");
  });

  it("refuses a duplicate key", () => {
    mailbox.deliver({ requestId, step: 3, fromHost: 1, payload: Buffer.from("x") });
    assert.throws(
      () => mailbox.deliver({ requestId, step: 3, fromHost: 1, payload: Buffer.from("y") }),
      (err: unknown) => isMpcError(err, "PEER_DUPLICATE"),
    );
  });

  it("refuses a step lower than one already delivered by that host for the request", () => {
    const id = "0x" + "cc".repeat(32);
    mailbox.deliver({ requestId: id, step: 4, fromHost: 2, payload: Buffer.from("x") });
    assert.throws(
      () => mailbox.deliver({ requestId: id, step: 3, fromHost: 2, payload: Buffer.from("y") }),
      (err: unknown) => isMpcError(err, "PEER_OUT_OF_ORDER") && err.details.highestStep === 4 && /host 2/.test(err.message),
    );
    // Order is per sending host and per request.
    mailbox.deliver({ requestId: id, step: 3, fromHost: 1, payload: Buffer.from("z") });
    mailbox.deliver({ requestId: "0x" + "dd".repeat(32), step: 0, fromHost: 2, payload: Buffer.from("w") });
  });

  it("times out naming the missing host", async () => {
    const started = Date.now();
    await assert.rejects(
      mailbox.receive({ requestId, step: 7, fromHost: 2 }, { deadline: Date.now() + 100 }),
      (err: unknown) => isMpcError(err, "PEER_TIMEOUT") && err.details.missingHost === 2 && /host 2/.test(err.message),
    );
    assert.ok(Date.now() - started < 1000);
  });

  it("refuses messages for a finished request", () => {
    const id = "0x" + "bb".repeat(32);
    mailbox.deliver({ requestId: id, step: 0, fromHost: 0, payload: Buffer.alloc(1) });
    mailbox.finish(id);
    assert.throws(
      () => mailbox.deliver({ requestId: id, step: 1, fromHost: 0, payload: Buffer.alloc(1) }),
      (err: unknown) => isMpcError(err, "PEER_DUPLICATE"),
    );
  });
});
