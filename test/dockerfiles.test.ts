import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, it } from "node:test";

// The container images (deploy/docker/*.Dockerfile) install the workspaces
// with `npm ci` from the lock file: it needs every workspace's package.json
// present, and an image running a workspace needs the workspaces it imports
// installed and copied. No container runtime is needed to check that.
const ROOT = path.resolve(fileURLToPath(import.meta.url), "../..");
const DOCKER = path.join(ROOT, "deploy", "docker");
const workspaces: string[] = JSON.parse(readFileSync(path.join(ROOT, "package.json"), "utf8")).workspaces;
const packageOf = (ws: string) => JSON.parse(readFileSync(path.join(ROOT, ws, "package.json"), "utf8")) as { name: string; dependencies?: Record<string, string> };
const byName = new Map(workspaces.map((ws) => [packageOf(ws).name, ws]));

/** The workspaces `ws` imports at run time, itself included, transitively. */
function closure(ws: string, seen = new Set<string>()): Set<string> {
  if (seen.has(ws)) return seen;
  seen.add(ws);
  for (const dep of Object.keys(packageOf(ws).dependencies ?? {})) {
    const other = byName.get(dep);
    if (other !== undefined) closure(other, seen);
  }
  return seen;
}

describe("container images install what they run", () => {
  for (const file of readdirSync(DOCKER).filter((f) => f.endsWith(".Dockerfile"))) {
    it(file, () => {
      const text = readFileSync(path.join(DOCKER, file), "utf8");
      const manifests = [...text.matchAll(/^COPY (\S+)\/package\.json \1\/$/gm)].map((m) => m[1]);
      for (const ws of workspaces) assert.ok(manifests.includes(ws), `${file} does not copy ${ws}/package.json (npm ci needs every workspace's)`);
      const install = text.match(/^RUN npm ci (.*)$/m);
      assert.ok(install, `${file} runs no npm ci`);
      const listed = [...install[1].matchAll(/--workspace (\S+)/g)].map((m) => m[1]);
      const installed = listed.length === 0 ? workspaces : listed;
      const sources = new Set([...text.matchAll(/^COPY (\S+) \1$/gm)].map((m) => m[1]));
      for (const ws of installed.filter((w) => sources.has(w))) {
        for (const needed of closure(ws)) {
          assert.ok(installed.includes(needed), `${file} installs ${ws} but not ${needed}, which it imports`);
          assert.ok(sources.has(needed), `${file} copies ${ws} but not ${needed}'s sources, which it imports`);
        }
      }
    });
  }
});
