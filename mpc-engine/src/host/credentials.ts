import * as grpc from "@grpc/grpc-js";
import type { HostConfig } from "./config.ts";

/**
 * Channel credentials a host uses to dial its peers. The single place where
 * transport security is chosen: today insecure, for hosts on loopback; mutual
 * TLS (each host's certificate pinned by the others) replaces the body of this
 * function and {@link hostServerCredentials} without touching callers.
 *
 * @example
 * new Peer("127.0.0.1:7002", peerChannelCredentials(config));
 */
export function peerChannelCredentials(_config: HostConfig): grpc.ChannelCredentials {
  return grpc.credentials.createInsecure();
}

/**
 * Server credentials of a host's gRPC port (Host and Peer services). The
 * counterpart of {@link peerChannelCredentials}.
 *
 * @example
 * server.bindAsync(config.listen, hostServerCredentials(config), cb);
 */
export function hostServerCredentials(_config: HostConfig): grpc.ServerCredentials {
  return grpc.ServerCredentials.createInsecure();
}
