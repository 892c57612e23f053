// Test support: the real local stack started by `scmpc up` in a temporary
// home, and the CLI run as a user runs it, one process per command.
import assert from "node:assert/strict";
import { execFile, spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

export const ROOT = path.resolve(fileURLToPath(import.meta.url), "../../..");
export const CLI = path.join(ROOT, "client", "bin", "scmpc.js");
const run = promisify(execFile);

/** A running local stack and the CLI against it. */
export interface CliStack {
  home: string;
  /** Runs `scmpc <args>`; resolves with its stdout, rejects on a non-zero exit. */
  scmpc(...args: string[]): Promise<string>;
  /** Runs `scmpc <args>`, which must fail; resolves with its stderr. */
  scmpcFails(...args: string[]): Promise<string>;
  stop(): Promise<void>;
}

/**
 * Starts `scmpc up` in a fresh temporary home and waits for its `ready` line.
 *
 * @example
 * const stack = await startCliStack();
 * await stack.scmpc("seller", "upload", file, "--name", "x", "--price", "1");
 */
export async function startCliStack(): Promise<CliStack> {
  const home = await mkdtemp(path.join(os.tmpdir(), "scmpc-cli-"));
  const env = { ...process.env, SCMPC_HOME: home };
  const up: ChildProcess = spawn(process.execPath, [CLI, "up"], { env, cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
  const exited = new Promise<number | null>((resolve) => up.once("exit", (code) => resolve(code)));
  let output = "";
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`scmpc up not ready in time:\n${output}`)), 180_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (/\bready\b/.test(output)) {
        clearTimeout(timer);
        resolve();
      }
    };
    up.stdout!.on("data", onData);
    up.stderr!.on("data", onData);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`scmpc up exited with ${code}:\n${output}`));
    });
  });
  const scmpc = async (...args: string[]): Promise<string> => (await run(process.execPath, [CLI, ...args], { env, cwd: ROOT, maxBuffer: 1 << 24 })).stdout;
  return {
    home,
    scmpc,
    async scmpcFails(...args: string[]): Promise<string> {
      try {
        await scmpc(...args);
      } catch (err) {
        const e = err as { code: number; stderr: string };
        assert.notEqual(e.code, 0);
        return e.stderr;
      }
      assert.fail(`scmpc ${args.join(" ")} succeeded but should have failed`);
    },
    async stop(): Promise<void> {
      if (up.exitCode === null) {
        up.kill("SIGTERM");
        await exited;
      }
      await rm(home, { recursive: true, force: true });
    },
  };
}
