// Test support: bundles an entry module for the browser, as the web app's
// bundler would, and reports what went into the bundle.
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

/** The repository root: bundle inputs are named relative to it. */
export const REPO_ROOT = fileURLToPath(new URL("../../../", import.meta.url));

/** A browser bundle of one entry module. */
export interface BrowserBundle {
  /** The bundled code (ESM, not minified). */
  code: string;
  /** Bytes of the bundled code. */
  bytes: number;
  /** Every module in the bundle, relative to the repository root. */
  inputs: string[];
  /** Imports the bundle leaves to its host to resolve (esbuild's record of the output): their specifiers. */
  imports: string[];
  /** `"node:…"` specifiers anywhere in the bundled code (a built-in loaded some way esbuild does not record). */
  nodeSpecifiers: string[];
}

/** Packages the hosts' runtime uses that must never reach a browser bundle. */
export const RUNTIME_PACKAGES = ["wabt", "@grpc/grpc-js", "pino"] as const;

/**
 * Bundles `entry` (a path relative to the repository root) for the browser:
 * ESM, every import resolved and inlined, Node built-ins unavailable. A
 * module that imports `node:*` (or a bare built-in) fails the build.
 *
 * @example
 * const { bytes, inputs } = await bundleForBrowser("mpc-engine/src/browser.ts");
 */
export async function bundleForBrowser(entry: string): Promise<BrowserBundle> {
  const result = await build({
    absWorkingDir: REPO_ROOT,
    entryPoints: [entry],
    bundle: true,
    platform: "browser",
    format: "esm",
    write: false,
    logLevel: "silent",
    metafile: true,
  });
  const [output] = result.outputFiles;
  const code = output.text;
  const imports = Object.values(result.metafile.outputs).flatMap((o) => o.imports.map((i) => i.path));
  const nodeSpecifiers = [...code.matchAll(/["'`](node:[\w/]+)["'`]/g)].map((m) => m[1]);
  return { code, bytes: output.contents.byteLength, inputs: Object.keys(result.metafile.inputs), imports, nodeSpecifiers };
}

/**
 * Whether a bundle input belongs to one of {@link RUNTIME_PACKAGES}.
 *
 * @example
 * isRuntimePackage("node_modules/pino/browser.js") // true
 */
export function isRuntimePackage(input: string): boolean {
  return RUNTIME_PACKAGES.some((name) => input.includes(`node_modules/${name}/`));
}
