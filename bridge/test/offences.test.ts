import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import type { OffenceAttestation } from "@scmpc/mpc-engine/host";
import { attestedOffence, HostRefusedError, HostUnavailableError, OffenceAttestedError } from "../src/errors.ts";
import { AUTH, data, fixtures, recordingHosts } from "./bridge-fixture.ts";

// A host that refuses a job because a dataset's share is missing or does not match its
// commitment signs an attestation; the bridge keeps two hosts' attestations of one dataset
// with the failed job and hands them to anybody (GET /offences/:requestId) for the
// penalty court. One host alone, or a host speaking for another, proves nothing.

const fx = fixtures();
after(() => fx.cleanup());

const dataset = `0x${"22".repeat(32)}`;
const attestation = (host: number, offence: 1 | 2 = 1, datasetId = dataset): OffenceAttestation => ({
  host,
  datasetId,
  offence,
  signature: `0x${String(host + 1).repeat(130)}`,
});
const refusal = (index: number, a?: OffenceAttestation) => new HostRefusedError(index, "DATASET_NOT_FOUND: no share", { attestation: a });

describe("bridge: attested offences", () => {
  it("needs two different hosts attesting the same dataset, each for itself", () => {
    assert.deepEqual(attestedOffence([refusal(0, attestation(0))]), []);
    assert.deepEqual(attestedOffence([refusal(0, attestation(0)), refusal(1, attestation(0))]), [], "host 1 cannot speak for host 0");
    assert.deepEqual(attestedOffence([refusal(0, attestation(0)), refusal(1, attestation(1, 1, `0x${"55".repeat(32)}`))]), [], "two datasets");
    assert.deepEqual(attestedOffence([refusal(0, attestation(0)), new HostUnavailableError(1, "down")]), []);
    assert.deepEqual(attestedOffence([refusal(0, attestation(0)), refusal(1), refusal(2, attestation(2, 2))]), [attestation(0), attestation(2, 2)]);
  });

  it("keeps them with the failed job and serves them without the access key; nothing for other jobs", async () => {
    const proof = [attestation(0), attestation(2, 2)];
    const offended = recordingHosts(async () => {
      throw new OffenceAttestedError(proof);
    });
    const { app } = await fx.app({ hosts: offended.hosts });
    const answer = await app.inject({ method: "POST", url: "/", headers: AUTH, payload: { id: "o", data } });
    assert.equal(answer.statusCode, 422);
    assert.equal(answer.json().error.name, "OffenceAttestedError");
    assert.match(answer.json().error.message, /MPC hosts 0 and 2 attest a seller's offence: dataset 0x2222\S+ missing at host 0; dataset 0x2222\S+ not matching its commitment at host 2/);

    const offences = await app.inject({ method: "GET", url: `/offences/${data.requestId}` });
    assert.equal(offences.statusCode, 200);
    assert.deepEqual(offences.json(), { requestId: data.requestId, consumer: data.consumer, attestations: proof });

    const other = await app.inject({ method: "GET", url: `/offences/0x${"99".repeat(32)}` });
    assert.equal(other.statusCode, 404);
    assert.match(other.json().error.message, /no attested offence/);
  });

  it("a plain refusal is no offence", async () => {
    const refused = recordingHosts(async () => {
      throw refusal(1, attestation(1));
    });
    const { app } = await fx.app({ hosts: refused.hosts });
    const requestId = `0x${"77".repeat(32)}`;
    await app.inject({ method: "POST", url: "/", headers: AUTH, payload: { id: "p", data: { ...data, requestId } } });
    assert.equal((await app.inject({ method: "GET", url: `/offences/${requestId}` })).statusCode, 404);
  });
});
