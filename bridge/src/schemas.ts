import { Type } from "typebox";
import type { Static } from "typebox";

const Hex32 = Type.String({ pattern: "^0x[0-9a-fA-F]{64}$" });
const Address = Type.String({ pattern: "^0x[0-9a-fA-F]{40}$" });
const HexBytes = Type.String({ pattern: "^0x([0-9a-fA-F]{2})*$" });

/**
 * The `data` an on-chain request carries to the bridge: what the contract put
 * in the Chainlink request (after CBOR decoding) plus `requestId` and
 * `consumer` (the Operator log's `callbackAddr`). Unknown fields are refused:
 * the caller's job spec decides this object, and a field the bridge ignores
 * would be a mistake that goes unnoticed.
 */
export const ComputationData = Type.Object(
  {
    requestId: Hex32,
    algorithm: Type.String({ minLength: 1, maxLength: 64 }),
    /** Comma-separated 0x-hex dataset ids, as the per-algorithm contract writes them. */
    datasetIds: Type.String({ pattern: "^0x[0-9a-fA-F]{64}(,0x[0-9a-fA-F]{64}){0,19}$" }),
    /** The algorithm's parameters (JSON text, a query's SQL for query@1), checked on-chain against the request. */
    params: Type.String({ minLength: 1, maxLength: 32768 }),
    buyerKey: Hex32,
    consumer: Address,
  },
  { additionalProperties: false },
);
export type ComputationData = Static<typeof ComputationData>;

/** External Adapter request: what a Chainlink node's bridge task (or the relay) POSTs. */
export const AdapterRequest = Type.Object(
  {
    id: Type.Optional(Type.Union([Type.String({ maxLength: 128 }), Type.Number()])),
    data: ComputationData,
    /** Run information a Chainlink node adds; not used. */
    meta: Type.Optional(Type.Unknown()),
    /** Where to PATCH the outcome: present when the node's bridge task is `async="true"`. */
    responseURL: Type.Optional(Type.String({ pattern: "^https?://", maxLength: 2048 })),
  },
  { additionalProperties: false },
);
export type AdapterRequest = Static<typeof AdapterRequest>;

/** External Adapter success answer. */
export const AdapterSuccess = Type.Object({
  jobRunID: Type.String(),
  statusCode: Type.Number(),
  data: Type.Object({ result: HexBytes }),
  /** abi.encode(bytes result, bytes[3] signatures), 0x-hex: the `fulfillOracleRequest2` payload. */
  result: HexBytes,
});
export type AdapterSuccess = Static<typeof AdapterSuccess>;

/** External Adapter answer of an accepted asynchronous job; the outcome is PATCHed to `responseURL`. */
export const AdapterPending = Type.Object({
  jobRunID: Type.String(),
  pending: Type.Literal(true),
});

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
  store: Type.Object({ ok: Type.Boolean(), error: Type.Optional(Type.String()) }),
});
export type HealthAnswer = Static<typeof HealthAnswer>;

/** Path parameters of `GET /jobs/:requestId`. */
export const JobParams = Type.Object({ requestId: Hex32 }, { additionalProperties: false });

/** `GET /jobs/:requestId` answer: where a job stands, and where its callbacks stand. */
export const JobStatus = Type.Object({
  requestId: Hex32,
  state: Type.Union([Type.Literal("running"), Type.Literal("completed"), Type.Literal("failed")]),
  attempts: Type.Number(),
  algorithm: Type.String(),
  consumer: Type.String(),
  createdAt: Type.String({ description: "ISO 8601" }),
  updatedAt: Type.String({ description: "ISO 8601" }),
  finishedAt: Type.Optional(Type.String({ description: "ISO 8601" })),
  result: Type.Optional(HexBytes),
  error: Type.Optional(
    Type.Object({ name: Type.String(), message: Type.String(), statusCode: Type.Number(), code: Type.String(), retryable: Type.Boolean() }),
  ),
  callbacks: Type.Array(
    Type.Object({
      /** The responseURL's origin only: its path is the node's capability to resume the run. */
      origin: Type.String(),
      jobRunID: Type.String(),
      state: Type.Union([Type.Literal("waiting"), Type.Literal("delivered"), Type.Literal("failed")]),
      attempts: Type.Number(),
      lastError: Type.Optional(Type.String()),
      nextAttemptAt: Type.Optional(Type.String({ description: "ISO 8601" })),
    }),
  ),
});
export type JobStatus = Static<typeof JobStatus>;

/** `GET /offences/:requestId` answer: two hosts' signed attestations of a seller's offence at a request. */
export const OffenceAnswer = Type.Object({
  requestId: Hex32,
  /** The request's computation contract (the PenaltyCourt's `computation`). */
  consumer: Type.String(),
  attestations: Type.Array(
    Type.Object({
      host: Type.Number(),
      datasetId: Hex32,
      offence: Type.Number({ description: "1 share missing, 2 share not matching its on-chain commitment" }),
      signature: HexBytes,
    }),
  ),
});
