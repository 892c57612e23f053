import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { X509Certificate } from "node:crypto";
import { readFile, rm, stat, writeFile } from "node:fs/promises";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { certificateFingerprint, createTlsMaterial, readTlsMaterial, type TlsMaterial } from "../src/tls/index.ts";

describe("TLS material (createTlsMaterial)", () => {
  let dir: string;
  let m: TlsMaterial;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "scmpc-tls-material-"));
    m = await createTlsMaterial({ hosts: 3, dir });
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("issues one P-256 certificate per host from a P-256 CA, as the hosts need them", async () => {
    const ca = new X509Certificate(await readFile(m.caFile));
    assert.equal(ca.ca, true);
    assert.equal(ca.publicKey.asymmetricKeyDetails?.namedCurve, "prime256v1");
    for (const [i, files] of m.hosts.entries()) {
      const cert = new X509Certificate(await readFile(files.certFile));
      assert.equal(cert.subject, `CN=scmpc-host-${i}`);
      assert.equal(cert.subjectAltName, `DNS:scmpc-host-${i}, IP Address:127.0.0.1, DNS:localhost`);
      assert.equal(cert.ca, false);
      // Node exposes the extended key usages as keyUsage.
      assert.deepEqual(cert.keyUsage, ["1.3.6.1.5.5.7.3.1", "1.3.6.1.5.5.7.3.2"]);
      assert.ok(cert.checkIssued(ca) && cert.verify(ca.publicKey), `host ${i} certificate is signed by the CA`);
      assert.equal(cert.publicKey.asymmetricKeyDetails?.namedCurve, "prime256v1");
      assert.equal(files.fingerprint, cert.fingerprint256.replace(/:/g, "").toLowerCase());
      assert.equal(files.fingerprint, certificateFingerprint(cert.raw));
      assert.equal((await stat(files.keyFile)).mode & 0o777, 0o600);
      assert.ok(cert.checkPrivateKey((await import("node:crypto")).createPrivateKey(await readFile(files.keyFile))));
    }
    assert.equal(new Set(m.hosts.map((h) => h.fingerprint)).size, 3);
  });

  it("key usage is digitalSignature only (critical)", async () => {
    // KeyUsage extension: OID 2.5.29.15, critical, BIT STRING 0x80 (digitalSignature).
    const der = new X509Certificate(await readFile(m.hosts[0].certFile)).raw;
    assert.ok(der.includes(Buffer.from("0603551d0f0101ff040403020780", "hex")), "keyUsage=digitalSignature, critical");
  });

  it("reads back existing material, and refuses a tampered set", async () => {
    assert.deepEqual(await readTlsMaterial({ hosts: 3, dir }), m);
    assert.equal(await readTlsMaterial({ hosts: 4, dir }), undefined, "a missing host certificate means new material");
    const other = await createTlsMaterial({ hosts: 1, dir: join(dir, "other") });
    await writeFile(m.hosts[2].certFile, await readFile(other.hosts[0].certFile));
    assert.equal(await readTlsMaterial({ hosts: 3, dir }), undefined, "a certificate from another CA means new material");
  });
});
