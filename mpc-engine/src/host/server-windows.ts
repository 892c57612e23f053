import type { Http2Session } from "node:http2";
import * as grpc from "@grpc/grpc-js";

/**
 * A gRPC server whose accepted connections, and each of their streams, have
 * receive windows of `windowBytes` instead of HTTP/2's 64 KiB: a sender of
 * megabytes (a seller's upload) is not stopped every 64 KiB to wait
 * for the receiver's WINDOW_UPDATE.
 *
 * @example
 * const server = serverWithWindows({ "grpc.max_receive_message_length": 4 << 20 }, 8 << 20);
 */
export function serverWithWindows(options: grpc.ServerOptions, windowBytes: number): grpc.Server {
  const server = new grpc.Server(options);
  const bindAsync = server.bindAsync.bind(server);
  server.bindAsync = (address, credentials, callback) =>
    bindAsync(address, credentials, (err, port) => {
      if (!err) for (const http2Server of http2ServersOf(server)) http2Server.on("session", (session) => widenWindows(session, windowBytes));
      callback(err, port);
    });
  return server;
}

/** The HTTP/2 servers grpc-js made for a bound server (a field it does not export). */
function http2ServersOf(server: grpc.Server): { on(event: "session", listener: (session: Http2Session) => void): void }[] {
  const servers = (server as unknown as { http2Servers?: Map<{ on(event: "session", listener: (session: Http2Session) => void): void }, unknown> }).http2Servers;
  if (!(servers instanceof Map)) throw new Error("grpc-js no longer keeps its HTTP/2 servers in http2Servers: the receive windows cannot be sized");
  return [...servers.keys()];
}

function widenWindows(session: Http2Session, windowBytes: number): void {
  const apply = (): void => {
    session.setLocalWindowSize(windowBytes);
    session.settings({ initialWindowSize: windowBytes });
  };
  // Settings can be changed once the session is connected.
  if (session.connecting) session.once("connect", apply);
  else apply();
}
