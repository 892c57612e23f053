import {
  createCipheriv,
  createDecipheriv,
  createPrivateKey,
  createPublicKey,
  diffieHellman,
  generateKeyPairSync,
  hkdfSync,
  randomBytes,
  type KeyObject,
} from "node:crypto";
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { getBytes } from "ethers";
import {
  combineOutputShares,
  decryptOutputShare,
  encryptOutputShare,
  generateBuyerKeyPair,
  isMpcError,
  newReleaseKey,
  openResult,
  packResult,
  releaseKeyHash,
  shareColumn,
  unpackResult,
  unwrapEnvelope,
  wrapEnvelope,
  wrappedKeyHash,
  WRAPPED_HEADER_BYTES,
  type OutputSharePair,
} from "../src/index.ts";

const requestId = "0x" + "5a".repeat(32);
const jobId = "0x" + "3c".repeat(32);

/** Output shares (a, b) per host of the given values. */
function outputShares(values: bigint[]): OutputSharePair[][] {
  const shares = shareColumn(BigUint64Array.from(values));
  return [0, 1, 2].map((host) => values.map((_, k) => [shares[host].a[k], shares[host].b[k]] as const));
}

/** What the three hosts put on-chain: buyer envelopes wrapped under fresh release keys. */
function seal(publicKey: Buffer, perHost: OutputSharePair[][], job = jobId): { result: string; keys: Buffer[]; envelopes: Buffer[] } {
  const keys = [0, 1, 2].map(() => newReleaseKey());
  const envelopes = perHost.map((values, hostIndex) => encryptOutputShare({ requestId, hostIndex, buyerPublicKey: publicKey, values }));
  const wrapped = envelopes.map((envelope, hostIndex) => wrapEnvelope({ jobId: job, hostIndex, key: keys[hostIndex], envelope }));
  return { result: packResult(job, wrapped), keys, envelopes };
}

describe("output envelope", () => {
  const buyer = generateBuyerKeyPair();

  it("round-trips random values through wrap, pack, unpack, unwrap and open, with any two or three hosts' keys", () => {
    fc.assert(
      fc.property(
        fc.array(fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }), { minLength: 1, maxLength: 5 }),
        fc.constantFrom<number[]>([0, 1, 2], [0, 1], [1, 2], [0, 2]),
        (values, hosts) => {
          const { result, keys } = seal(buyer.publicKey, outputShares(values));
          assert.match(result, /^0x[0-9a-f]+$/);
          const releaseKeys = [0, 1, 2].map((h) => (hosts.includes(h) ? keys[h] : undefined));
          assert.deepEqual(openResult({ requestId, buyerPrivateKey: buyer.privateKey, result, releaseKeys, jobId }), values);
        },
      ),
      { numRuns: 25 },
    );
  });

  it("has the documented layouts", () => {
    const envelope = encryptOutputShare({ requestId, hostIndex: 2, buyerPublicKey: buyer.publicKey, values: [[1n, 2n]] });
    assert.equal(envelope[0], 1);
    assert.equal(envelope[1], 2);
    assert.equal(envelope.length, 1 + 1 + 32 + 12 + 16 + 16);
    const key = newReleaseKey();
    const wrapped = wrapEnvelope({ jobId, hostIndex: 2, key, envelope });
    assert.equal(wrapped[0], 2);
    assert.equal(wrapped[1], 2);
    assert.equal(wrapped.length, WRAPPED_HEADER_BYTES + envelope.length);
    assert.equal(wrappedKeyHash(wrapped, 2), releaseKeyHash(key));
    const unpacked = unpackResult(packResult(jobId, [wrapped, wrapped, wrapped]));
    assert.equal(unpacked.jobId, jobId);
    assert.deepEqual(unpacked.envelopes[2], wrapped);
  });

  it("keeps the on-chain result unreadable without release keys, the buyer's key included", () => {
    const { result, envelopes, keys } = seal(buyer.publicKey, outputShares([42n]));
    const onChain = unpackResult(result).envelopes;
    // The wrapped bytes are not the buyer's envelopes, and the buyer's key does not open them.
    onChain.forEach((wrapped, hostIndex) => {
      assert.ok(!wrapped.includes(envelopes[hostIndex].subarray(34)), `host ${hostIndex}'s ciphertext is visible inside the wrapping`);
      assert.throws(() => decryptOutputShare({ requestId, hostIndex, buyerPrivateKey: buyer.privateKey, envelope: wrapped }), (err: unknown) =>
        isMpcError(err, "ENVELOPE_MALFORMED"),
      );
    });
    // One host's key is not enough either.
    assert.throws(
      () => openResult({ requestId, buyerPrivateKey: buyer.privateKey, result, releaseKeys: [keys[0], undefined, undefined] }),
      (err: unknown) => isMpcError(err, "ENVELOPE_MALFORMED") && /at least two hosts/.test(err.message),
    );
  });

  it("refuses a key the envelope does not commit to, and a key of another job", () => {
    const { result, keys } = seal(buyer.publicKey, outputShares([7n]));
    const wrong = newReleaseKey();
    assert.throws(
      () => openResult({ requestId, buyerPrivateKey: buyer.privateKey, result, releaseKeys: [wrong, keys[1], keys[2]] }),
      (err: unknown) => isMpcError(err, "KEY_INVALID") && err.details.host === 0,
    );
    const wrapped = unpackResult(result).envelopes[1];
    assert.throws(
      () => unwrapEnvelope({ jobId: "0x" + "3d".repeat(32), hostIndex: 1, key: keys[1], wrapped }),
      (err: unknown) => isMpcError(err, "ENVELOPE_DECRYPT_FAILED") && err.details.host === 1,
    );
    assert.throws(
      () => openResult({ requestId, buyerPrivateKey: buyer.privateKey, result, releaseKeys: keys, jobId: "0x" + "3d".repeat(32) }),
      (err: unknown) => isMpcError(err, "OUTPUT_TAMPERED") && /not the expected/.test(err.message),
    );
  });

  it("detects a tampered component and names the inconsistent host pair", () => {
    const perHost = outputShares([100n, 200n]);
    // Host 1 lies about its first component (x_1) of value 1.
    perHost[1][1] = [perHost[1][1][0] + 1n, perHost[1][1][1]];
    const { result, keys } = seal(buyer.publicKey, perHost);
    assert.throws(
      () => openResult({ requestId, buyerPrivateKey: buyer.privateKey, result, releaseKeys: keys }),
      (err: unknown) =>
        isMpcError(err, "OUTPUT_TAMPERED") && /hosts 0 and 1/.test(err.message) && JSON.stringify(err.details.pairs) === "[[0,1]]",
    );
  });

  it("names the suspect host when it lies on both components", () => {
    const perHost = outputShares([5n]);
    perHost[2][0] = [perHost[2][0][0] + 1n, perHost[2][0][1] + 1n];
    const { result, keys } = seal(buyer.publicKey, perHost);
    assert.throws(
      () => openResult({ requestId, buyerPrivateKey: buyer.privateKey, result, releaseKeys: keys }),
      (err: unknown) => isMpcError(err, "OUTPUT_TAMPERED") && err.details.suspectHost === 2,
    );
  });

  it("combines two hosts' shares, checking the component they hold in common", () => {
    const perHost = outputShares([11n, 12n]);
    assert.deepEqual(combineOutputShares([perHost[0], undefined, perHost[2]]), [11n, 12n]);
    perHost[2][1] = [perHost[2][1][0], perHost[2][1][1] + 1n]; // host 2's b is x_0, which host 0 holds too
    assert.throws(() => combineOutputShares([perHost[0], undefined, perHost[2]]), (err: unknown) => isMpcError(err, "OUTPUT_TAMPERED") && /hosts 2 and 0/.test(err.message));
  });

  it("fails to open with a wrong buyer key, naming the host", () => {
    const other = generateBuyerKeyPair();
    const { result, keys } = seal(buyer.publicKey, outputShares([1n]));
    assert.throws(
      () => openResult({ requestId, buyerPrivateKey: other.privateKey, result, releaseKeys: keys }),
      (err: unknown) => isMpcError(err, "ENVELOPE_DECRYPT_FAILED") && err.details.host === 0,
    );
  });

  it("fails to open for another request id or a flipped ciphertext bit, naming the host", () => {
    const { result, keys } = seal(buyer.publicKey, outputShares([1n]));
    assert.throws(
      () => openResult({ requestId: "0x" + "5b".repeat(32), buyerPrivateKey: buyer.privateKey, result, releaseKeys: keys }),
      (err: unknown) => isMpcError(err, "ENVELOPE_DECRYPT_FAILED"),
    );
    const { jobId: job, envelopes } = unpackResult(result);
    envelopes[1][envelopes[1].length - 1] ^= 1;
    assert.throws(
      () => openResult({ requestId, buyerPrivateKey: buyer.privateKey, result: packResult(job, envelopes), releaseKeys: keys }),
      (err: unknown) => isMpcError(err, "ENVELOPE_DECRYPT_FAILED") && err.details.host === 1 && /host 1/.test(err.message),
    );
  });

  it("refuses a low-order buyer key rather than encrypt under a known key", () => {
    assert.throws(
      () => encryptOutputShare({ requestId, hostIndex: 0, buyerPublicKey: new Uint8Array(32), values: [[1n, 2n]] }),
      (err: unknown) => isMpcError(err, "KEY_INVALID") && /low order/.test(err.message),
    );
  });

  it("refuses envelopes in the wrong order", () => {
    const { result, keys } = seal(buyer.publicKey, outputShares([1n]));
    const { envelopes: [w0, w1, w2] } = unpackResult(result);
    assert.throws(
      () => openResult({ requestId, buyerPrivateKey: buyer.privateKey, result: packResult(jobId, [w1, w0, w2]), releaseKeys: [keys[1], keys[0], keys[2]] }),
      (err: unknown) => isMpcError(err, "ENVELOPE_MALFORMED") && err.details.host === 0,
    );
  });
});

// The envelope formats as node:crypto writes them (X25519 keys as DER,
// HKDF-SHA256, AES-256-GCM with a separate tag): the reference the engine's
// portable implementation must stay byte-compatible with, both ways.
const SPKI_X25519 = Buffer.from("302a300506032b656e032100", "hex");
const PKCS8_X25519 = Buffer.from("302e020100300506032b656e04220420", "hex");
const rawPublic = (key: KeyObject): Buffer => key.export({ format: "der", type: "spki" }).subarray(SPKI_X25519.length);
const publicFromRaw = (raw: Uint8Array): KeyObject => createPublicKey({ key: Buffer.concat([SPKI_X25519, raw]), format: "der", type: "spki" });
const privateFromRaw = (raw: Uint8Array): KeyObject => createPrivateKey({ key: Buffer.concat([PKCS8_X25519, raw]), format: "der", type: "pkcs8" });

function nodeOutputKey(privateKey: KeyObject, publicKey: KeyObject, hostIndex: number): Buffer {
  const shared = diffieHellman({ privateKey, publicKey });
  const info = Buffer.concat([Buffer.from("scmpc-output-v1"), Uint8Array.of(hostIndex)]);
  return Buffer.from(hkdfSync("sha256", shared, getBytes(requestId), info, 32));
}

function nodeEncrypt(buyerPublicKey: Uint8Array, hostIndex: number, values: OutputSharePair[]): Buffer {
  const ephemeral = generateKeyPairSync("x25519");
  const plaintext = Buffer.alloc(16 * values.length);
  values.forEach(([a, b], k) => {
    plaintext.writeBigUInt64LE(a, 16 * k);
    plaintext.writeBigUInt64LE(b, 16 * k + 8);
  });
  const iv = randomBytes(12);
  const cipher = createCipheriv("aes-256-gcm", nodeOutputKey(ephemeral.privateKey, publicFromRaw(buyerPublicKey), hostIndex), iv);
  cipher.setAAD(Buffer.concat([getBytes(requestId), Uint8Array.of(hostIndex)]));
  const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return Buffer.concat([Uint8Array.of(1, hostIndex), rawPublic(ephemeral.publicKey), iv, cipher.getAuthTag(), ciphertext]);
}

function nodeDecrypt(buyerPrivateKey: Uint8Array, hostIndex: number, envelope: Buffer): OutputSharePair[] {
  assert.deepEqual([envelope[0], envelope[1]], [1, hostIndex]);
  const key = nodeOutputKey(privateFromRaw(buyerPrivateKey), publicFromRaw(envelope.subarray(2, 34)), hostIndex);
  const decipher = createDecipheriv("aes-256-gcm", key, envelope.subarray(34, 46));
  decipher.setAAD(Buffer.concat([getBytes(requestId), Uint8Array.of(hostIndex)]));
  decipher.setAuthTag(envelope.subarray(46, 62));
  const plaintext = Buffer.concat([decipher.update(envelope.subarray(62)), decipher.final()]);
  return Array.from({ length: plaintext.length / 16 }, (_, k) => [plaintext.readBigUInt64LE(16 * k), plaintext.readBigUInt64LE(16 * k + 8)] as const);
}

function nodeWrap(key: Buffer, hostIndex: number, envelope: Buffer): Buffer {
  const iv = randomBytes(12);
  const cipher = createCipheriv("aes-256-gcm", key, iv);
  cipher.setAAD(Buffer.concat([getBytes(jobId), Uint8Array.of(hostIndex)]));
  const ciphertext = Buffer.concat([cipher.update(envelope), cipher.final()]);
  return Buffer.concat([Uint8Array.of(2, hostIndex), getBytes(releaseKeyHash(key)), iv, cipher.getAuthTag(), ciphertext]);
}

function nodeUnwrap(key: Buffer, hostIndex: number, wrapped: Buffer): Buffer {
  assert.deepEqual([wrapped[0], wrapped[1]], [2, hostIndex]);
  const decipher = createDecipheriv("aes-256-gcm", key, wrapped.subarray(34, 46));
  decipher.setAAD(Buffer.concat([getBytes(jobId), Uint8Array.of(hostIndex)]));
  decipher.setAuthTag(wrapped.subarray(46, 62));
  return Buffer.concat([decipher.update(wrapped.subarray(WRAPPED_HEADER_BYTES)), decipher.final()]);
}

describe("output envelope format, against a node:crypto implementation", () => {
  it("node:crypto opens what the engine seals and the engine opens what node:crypto seals: buyer envelopes, wrapping and buyer keys", () => {
    const nodeBuyer = generateKeyPairSync("x25519");
    const nodeBuyerKeys = { publicKey: rawPublic(nodeBuyer.publicKey), privateKey: nodeBuyer.privateKey.export({ format: "der", type: "pkcs8" }).subarray(PKCS8_X25519.length) };
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }), fc.bigInt({ min: 0n, max: (1n << 64n) - 1n })), { minLength: 1, maxLength: 4 }),
        fc.constantFrom(0, 1, 2),
        fc.boolean(),
        (values, hostIndex, engineKeys) => {
          // The buyer's key pair from either side: the raw 32-byte keys mean the same to both.
          const buyer = engineKeys ? generateBuyerKeyPair() : nodeBuyerKeys;
          const sealed = encryptOutputShare({ requestId, hostIndex, buyerPublicKey: buyer.publicKey, values });
          assert.deepEqual(nodeDecrypt(buyer.privateKey, hostIndex, sealed), values);
          const fromNode = nodeEncrypt(buyer.publicKey, hostIndex, values);
          assert.deepEqual(decryptOutputShare({ requestId, hostIndex, buyerPrivateKey: buyer.privateKey, envelope: fromNode }), values);

          const key = newReleaseKey();
          assert.deepEqual(nodeUnwrap(key, hostIndex, wrapEnvelope({ jobId, hostIndex, key, envelope: sealed })), sealed);
          assert.deepEqual(unwrapEnvelope({ jobId, hostIndex, key, wrapped: nodeWrap(key, hostIndex, fromNode) }), fromNode);
        },
      ),
      { numRuns: 30 },
    );
  });
});
