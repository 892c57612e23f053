import { createHash, timingSafeEqual } from "node:crypto";
import { UnauthorizedError } from "./errors.ts";

/**
 * Builds the check of a request's `Authorization` header against the bridge's
 * access key. The key travels as `Authorization: Bearer <key>`: what a
 * Chainlink node's bridge adapter sends with the bridge's outgoing token (and
 * what the oracle relay sends). Both sides are hashed to one length first, so
 * the comparison takes the same time whatever the presented value.
 * With no key configured every request passes.
 *
 * @example
 * const check = accessKeyCheck(config.accessKey);
 * check(request.headers.authorization); // throws UnauthorizedError
 */
export function accessKeyCheck(accessKey: string | undefined): (authorization: string | undefined) => void {
  if (accessKey === undefined) return () => {};
  const expected = createHash("sha256").update(accessKey).digest();
  return (authorization) => {
    const match = /^Bearer[ \t]+(.+)$/i.exec(authorization?.trim() ?? "");
    if (!match) throw new UnauthorizedError("missing access key: send Authorization: Bearer <key>");
    const presented = createHash("sha256").update(match[1]).digest();
    if (!timingSafeEqual(presented, expected)) throw new UnauthorizedError("wrong access key");
  };
}
