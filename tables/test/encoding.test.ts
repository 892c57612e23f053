import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import fc from "fast-check";
import {
  UNIT_LIMIT,
  formatIsoDate,
  formatScaled,
  parseIsoDate,
  parseTable,
  roundDecimal,
  shortestDecimal,
  toUnits,
} from "../src/index.ts";
import { text } from "./helpers.ts";

const units = fc.bigInt({ min: -UNIT_LIMIT, max: UNIT_LIMIT });
const scale = fc.integer({ min: 0, max: 12 });

describe("encoding round trips", () => {
  it("parses encoded decimals back exactly, from CSV and from JSON numbers", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(units, { minLength: 1, maxLength: 20 }), scale, async (values, s) => {
        const texts = values.map((u) => formatScaled(u, s));
        const sum = formatScaled(values.reduce((a, b) => a + b, 0n), s);
        for (const source of [
          text("p.csv", `x\n${texts.join("\n")}\n`),
          text("p.json", `[${texts.map((t) => `{"x": ${t}}`).join(",")}]`),
        ]) {
          const [x] = (await parseTable(source, { types: { x: { kind: "decimal", scale: s } } })).columns;
          assert.deepEqual([...x.values], values);
          assert.equal(x.plaintextSum, sum);
          assert.deepEqual(values.map((_, i) => formatScaled(x.values[i], x.scale)), texts);
        }
      }),
      { numRuns: 200 },
    );
  });

  it("reads a JSON number's exponent exactly", async () => {
    await fc.assert(
      fc.asyncProperty(fc.bigInt({ min: -(10n ** 12n), max: 10n ** 12n }), fc.integer({ min: -12, max: 6 }), async (mantissa, exponent) => {
        const s = Math.max(0, -exponent);
        const [x] = (await parseTable(text("e.json", `[{"x": ${mantissa}e${exponent}}]`), { types: { x: { kind: "decimal", scale: s } } })).columns;
        assert.equal(x.values[0], mantissa * 10n ** BigInt(exponent + s));
      }),
    );
  });

  it("writes the shortest decimal that reads back as the same double or float", () => {
    fc.assert(
      fc.property(fc.double({ noNaN: true, noDefaultInfinity: true }), (x) => {
        assert.equal(Number(shortestDecimal(x, false)), x === 0 ? 0 : x);
      }),
    );
    fc.assert(
      fc.property(fc.float({ noNaN: true, noDefaultInfinity: true }), (x) => {
        const s = shortestDecimal(x, true);
        assert.equal(Math.fround(Number(s)), x === 0 ? 0 : x);
        assert.ok(s.replace(/^-?0*\.?0*/, "").replace(".", "").replace(/0+$/, "").length <= 9, s);
      }),
    );
  });

  it("rounds halves away from zero", () => {
    fc.assert(
      fc.property(units, fc.integer({ min: 1, max: 12 }), fc.integer({ min: 0, max: 11 }), (u, from, to) => {
        fc.pre(to < from);
        const step = 10n ** BigInt(from - to);
        const magnitude = u < 0n ? -u : u;
        const rounded = (magnitude / step + ((magnitude % step) * 2n >= step ? 1n : 0n)) * (u < 0n ? -1n : 1n);
        assert.equal(toUnits(roundDecimal(formatScaled(u, from), to), to), rounded);
      }),
    );
  });

  it("counts days as the calendar does, before and after 1970", () => {
    // Years 0001–9999, checked against the platform's own UTC calendar.
    fc.assert(
      fc.property(fc.integer({ min: -719162, max: 2932896 }), (days) => {
        const iso = formatIsoDate(days);
        assert.equal(iso, new Date(days * 86_400_000).toISOString().slice(0, 10));
        assert.equal(parseIsoDate(iso), days);
      }),
    );
  });
});

describe("portability", () => {
  it("imports no Node module outside src/node.ts, so the package runs in a browser", () => {
    const src = path.join(path.dirname(fileURLToPath(import.meta.url)), "..", "src");
    for (const file of readdirSync(src).filter((f) => f.endsWith(".ts") && f !== "node.ts")) {
      const imports = [...readFileSync(path.join(src, file), "utf8").matchAll(/from\s+"([^"]+)"/g)].map((m) => m[1]);
      for (const spec of imports) assert.ok(spec.startsWith("./") || spec === "hyparquet", `${file} imports ${spec}`);
    }
  });
});
