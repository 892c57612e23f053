import { Type } from "typebox";
import type { Static } from "typebox";

const Hex32 = Type.String({ pattern: "^0x[0-9a-fA-F]{64}$" });
const Address = Type.String({ pattern: "^0x[0-9a-fA-F]{40}$" });

/** The `data` an on-chain request carries to the bridge (after the relay's CBOR decoding). */
export const ComputationData = Type.Object(
  {
    requestId: Hex32,
    algorithm: Type.String({ minLength: 1, maxLength: 64 }),
    /** Comma-separated 0x-hex dataset ids, as the per-algorithm contract writes them. */
    datasetIds: Type.String({ pattern: "^0x[0-9a-fA-F]{64}(,0x[0-9a-fA-F]{64}){0,19}$" }),
    /** The algorithm's parameters (JSON text), checked by the hosts against the on-chain request. */
    params: Type.String({ minLength: 1, maxLength: 8192 }),
    buyerKey: Hex32,
    consumer: Address,
  },
  // A Chainlink node may add its own fields to `data`; they are ignored.
  { additionalProperties: true },
);
export type ComputationData = Static<typeof ComputationData>;

/** External Adapter request: what a Chainlink node's bridge task (or the relay) POSTs. */
export const AdapterRequest = Type.Object(
  {
    id: Type.Optional(Type.Union([Type.String({ maxLength: 128 }), Type.Number()])),
    data: ComputationData,
    meta: Type.Optional(Type.Unknown()),
    responseURL: Type.Optional(Type.String()),
  },
  { additionalProperties: true },
);
export type AdapterRequest = Static<typeof AdapterRequest>;

/** External Adapter success answer. */
export const AdapterSuccess = Type.Object({
  jobRunID: Type.String(),
  statusCode: Type.Number(),
  data: Type.Object({ result: Type.String() }),
  result: Type.String(),
});
export type AdapterSuccess = Static<typeof AdapterSuccess>;

/** External Adapter error answer (DESIGN §5). */
export const AdapterErrorBody = Type.Object({
  jobRunID: Type.String(),
  status: Type.Literal("errored"),
  statusCode: Type.Number(),
  error: Type.Object({ name: Type.String(), message: Type.String() }),
});

/** `GET /health` answer. */
export const HealthAnswer = Type.Object({
  status: Type.Union([Type.Literal("ok"), Type.Literal("degraded")]),
  hosts: Type.Array(
    Type.Object({
      index: Type.Number(),
      endpoint: Type.String(),
      reachable: Type.Boolean(),
      error: Type.Optional(Type.String()),
    }),
  ),
});
export type HealthAnswer = Static<typeof HealthAnswer>;
