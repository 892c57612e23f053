import assert from "node:assert/strict";
import http2 from "node:http2";
import { once } from "node:events";
import { describe, it } from "node:test";
import * as grpc from "@grpc/grpc-js";
import { serverWithWindows } from "../src/channel/peer-server.ts";

/** The initial stream window a server advertises to an HTTP/2 client that connects to it. */
async function advertisedWindow(server: grpc.Server): Promise<number | undefined> {
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (err, bound) => (err ? reject(err) : resolve(bound))),
  );
  const session = http2.connect(`http://127.0.0.1:${port}`);
  try {
    let window: number | undefined;
    session.on("remoteSettings", (settings: http2.Settings) => (window = settings.initialWindowSize));
    await once(session, "remoteSettings");
    // A widened window comes in a second SETTINGS frame, once the server sees the connection.
    await new Promise((resolve) => setTimeout(resolve, 300));
    return window;
  } finally {
    session.destroy();
    server.forceShutdown();
  }
}

describe("receive windows of accepted connections (channel/peer-server.ts)", () => {
  it("a server made with serverWithWindows advertises its window to every client; grpc-js's own keeps HTTP/2's 64 KiB", async () => {
    assert.equal(await advertisedWindow(serverWithWindows({}, 4 << 20)), 4 << 20);
    assert.equal(await advertisedWindow(new grpc.Server()), 65_535);
  });
});
