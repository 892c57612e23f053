import { fileURLToPath } from "node:url";
import preact from "@preact/preset-vite";
import { defineConfig } from "vite";

const here = (path: string): string => fileURLToPath(new URL(path, import.meta.url));

// The app runs the same client code as the CLI (tables, sharing, planning,
// decryption, the market's contract calls). Three packages have Node-only
// entry points; the browser gets their browser entries instead:
// - @scmpc/mpc-engine: its browser entry (no hosts' runtime, no node:*);
// - @scmpc/mpc-engine/host: the job identity and chain reads only;
// - @scmpc/contracts: ABIs bundled from the build output instead of read from disk.
export default defineConfig({
  plugins: [preact()],
  base: "./",
  resolve: {
    alias: [
      { find: /^@scmpc\/mpc-engine$/, replacement: here("../mpc-engine/src/browser.ts") },
      { find: /^@scmpc\/mpc-engine\/host$/, replacement: here("src/platform/engine-host.ts") },
      { find: /^@scmpc\/contracts$/, replacement: here("src/platform/contracts.ts") },
    ],
  },
  build: {
    outDir: "dist",
    emptyOutDir: true,
    target: "es2022",
    chunkSizeWarningLimit: 1500,
    reportCompressedSize: true,
  },
  server: { host: "127.0.0.1" },
});
