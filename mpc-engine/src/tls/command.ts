import { access, chown, copyFile, mkdir, readdir } from "node:fs/promises";
import path from "node:path";
import { parseArgs } from "node:util";
import { createTlsMaterial, readTlsMaterial, writeHostBundles } from "./tls-material.ts";

const HOSTS = 3;

export const TLS_USAGE = `tls create --dir <dir> [--name <i>=<dns-or-ip>[,<more>]] ... [--per-host <out>] [--public <out>] [--force | --keep-existing]
           [--owner <uid>:<gid>] [--json]
    Creates the hosts' mutual-TLS material in <dir>: a CA (ca.pem; its key is not kept) and one
    certificate and key per host (host-<i>.pem, host-<i>-key.pem), each valid as TLS server and
    client, with the subject alternative names scmpc-host-<i>, localhost, 127.0.0.1 and the names
    given with --name (the names the other hosts dial host <i> by). --per-host <out> also writes
    <out>/host-<i>/ for each host: ca.pem, every host's certificate and that host's key only, the
    directory to hand to host <i>'s operator. --public <out> writes the CA and the three certificates
    only (no key): what sellers and the bridge need to reach the hosts' Host API over TLS.
    Refuses to overwrite existing material unless --force;
    --keep-existing keeps valid material and only (re)writes the bundles. --owner gives every file
    written to that user (when run as root, e.g. in a container's one-shot job).
tls show --dir <dir> [--json]
    Prints the fingerprints of the material in <dir> (for SCMPC_HOST_PEER_FINGERPRINTS and the
    host registry's tlsFingerprint).`;

/** A mistake in how the command was called. */
export class TlsUsageError extends Error {}

type Out = { log: (line: string) => void };

/**
 * `tls create` / `tls show`: the hosts' TLS material for a deployment without
 * the local stack (plain processes or containers). Returns the exit code.
 *
 * @throws TlsUsageError when the arguments are wrong
 * @example
 * await runTlsCommand(["create", "--dir", "/etc/scmpc/tls", "--name", "0=host0.example.org"], console);
 */
export async function runTlsCommand(argv: string[], out: Out): Promise<number> {
  const [action, ...rest] = argv;
  const { values } = parseArgs({
    args: rest,
    options: {
      dir: { type: "string" },
      name: { type: "string", multiple: true, default: [] },
      "per-host": { type: "string" },
      public: { type: "string" },
      force: { type: "boolean", default: false },
      "keep-existing": { type: "boolean", default: false },
      owner: { type: "string" },
      json: { type: "boolean", default: false },
    },
    strict: true,
  });
  if (values.dir === undefined) throw new TlsUsageError("--dir <dir> is required");
  const dir = path.resolve(values.dir);

  if (action === "show") {
    const material = await readTlsMaterial({ hosts: HOSTS, dir });
    if (material === undefined) throw new Error(`no complete, valid TLS material for ${HOSTS} hosts in ${dir}`);
    print(out, material.hosts.map((h) => h.fingerprint), values.json, material.dir);
    return 0;
  }
  if (action !== "create") throw new TlsUsageError(`unknown tls action "${action ?? ""}"; use create or show`);

  const hostNames: string[][] = Array.from({ length: HOSTS }, () => []);
  for (const entry of values.name) {
    const m = /^([0-2])=(.+)$/.exec(entry);
    if (m === null) throw new TlsUsageError(`--name must be <host index 0-2>=<name>[,<name>...]; got "${entry}"`);
    hostNames[Number(m[1])].push(...m[2].split(",").map((n) => n.trim()).filter((n) => n !== ""));
  }
  if (values.force && values["keep-existing"]) throw new TlsUsageError("--force and --keep-existing exclude each other");
  let owner: { uid: number; gid: number } | undefined;
  if (values.owner !== undefined) {
    const m = /^(\d+):(\d+)$/.exec(values.owner);
    if (m === null) throw new TlsUsageError(`--owner must be <uid>:<gid>; got "${values.owner}"`);
    owner = { uid: Number(m[1]), gid: Number(m[2]) };
  }
  const existing = await exists(path.join(dir, "ca.pem"));
  let material = values["keep-existing"] ? await readTlsMaterial({ hosts: HOSTS, dir }) : undefined;
  if (material === undefined) {
    if (existing && !values.force && !values["keep-existing"]) {
      throw new Error(`${dir} already holds TLS material (ca.pem); pass --force to replace it (every host then needs its new files)`);
    }
    material = await createTlsMaterial({ hosts: HOSTS, dir, hostNames });
  }
  const bundles = values["per-host"] === undefined ? [] : await writeHostBundles(material, path.resolve(values["per-host"]));
  if (values.public !== undefined) {
    const publicDir = path.resolve(values.public);
    await mkdir(publicDir, { recursive: true });
    await copyFile(material.caFile, path.join(publicDir, "ca.pem"));
    for (const [i, host] of material.hosts.entries()) await copyFile(host.certFile, path.join(publicDir, `host-${i}.pem`));
  }
  const publicDir = values.public === undefined ? undefined : path.resolve(values.public);
  if (owner !== undefined) {
    for (const target of [dir, ...bundles.map((b) => b.dir), ...(publicDir ? [publicDir] : [])]) await chownTree(target, owner.uid, owner.gid);
  }
  print(out, material.hosts.map((h) => h.fingerprint), values.json, material.dir, bundles.map((b) => b.dir), publicDir);
  return 0;
}

function print(out: Out, fingerprints: string[], json: boolean, dir: string, bundles: string[] = [], publicDir?: string): void {
  if (json) {
    out.log(JSON.stringify({ dir, fingerprints, bundles, ...(publicDir ? { public: publicDir } : {}) }));
    return;
  }
  out.log(`TLS material in ${dir}`);
  fingerprints.forEach((fp, i) => out.log(`  host ${i}: host-${i}.pem  sha256 ${fp}`));
  for (const b of bundles) out.log(`  bundle ${b}`);
  if (publicDir) out.log(`  public ${publicDir} (CA and certificates, no key)`);
  out.log(`SCMPC_HOST_PEER_FINGERPRINTS=${fingerprints.join(",")}`);
}

async function chownTree(dir: string, uid: number, gid: number): Promise<void> {
  await chown(dir, uid, gid);
  for (const entry of await readdir(dir)) await chown(path.join(dir, entry), uid, gid);
}

async function exists(file: string): Promise<boolean> {
  return access(file).then(
    () => true,
    () => false,
  );
}
