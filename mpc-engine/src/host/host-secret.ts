import { randomBytes } from "node:crypto";
import { mkdir, open, readFile } from "node:fs/promises";
import { join } from "node:path";
import { MpcError } from "../errors.ts";

/**
 * Loads this host's 32-byte secret from `<dataDir>/host-secret.key`, creating
 * it (mode 0600, fsynced) on first start. It keys the per-request seeds, so it
 * must survive restarts for retried jobs to stay consistent.
 *
 * @throws MpcError `STORE_IO` or `STORE_CORRUPT`
 * @example
 * const secret = await loadHostSecret(config.dataDir);
 */
export async function loadHostSecret(dataDir: string): Promise<Buffer> {
  const file = join(dataDir, "host-secret.key");
  try {
    await mkdir(dataDir, { recursive: true });
    try {
      const handle = await open(file, "wx", 0o600);
      try {
        await handle.writeFile(randomBytes(32));
        await handle.sync();
      } finally {
        await handle.close();
      }
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
    }
    const secret = await readFile(file);
    if (secret.length !== 32) throw new MpcError("STORE_CORRUPT", `${file} must hold 32 bytes, found ${secret.length}`);
    return secret;
  } catch (cause) {
    if (cause instanceof MpcError) throw cause;
    throw new MpcError("STORE_IO", `cannot load host secret ${file}`, { cause });
  }
}
