// Proves the `till` command line end to end: the demo prices the examples, `evaluate` prints a receipt
// or JSON, and invalid files are refused with every problem by path and exit code 2.
import { execFile } from "node:child_process";
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import type { Evaluation } from "../src/engine/types.js";

const run = promisify(execFile);
const till = (...args: string[]) =>
  run("node", ["bin/till.js", ...args], { cwd: join(import.meta.dirname, "..") });

describe("till cli", () => {
  it("demo prints the receipt with the applied and the rejected promotions", async () => {
    const { stdout } = await till("demo");
    expect(stdout).toContain("TOTAL EUR");
    expect(stdout).toContain("coffee-sandwich-combo");
    expect(stdout).toContain("units_taken");
  });

  it("evaluate --json prints an evaluation whose lines sum to the totals", async () => {
    const { stdout } = await till(
      "evaluate",
      "--promotions",
      "examples/promotions.json",
      "--basket",
      "examples/basket.json",
      "--at",
      "2026-06-01T10:00:00Z",
      "--json",
    );
    const result = JSON.parse(stdout) as Evaluation;
    expect(result.totals.grossMinor).toBe(53690);
    expect(result.lines.reduce((sum, l) => sum + l.discountMinor, 0)).toBe(result.totals.discountMinor);
    expect(result.applied.map((a) => a.promotionId).sort()).toEqual([
      "coffee-sandwich-combo",
      "spend-500",
      "tees-3-for-99",
    ]);
  });

  it("refuses an invalid promotions file with every issue and exit code 2", async () => {
    const dir = await mkdtemp(join(tmpdir(), "till-cli-"));
    const file = join(dir, "bad.json");
    await writeFile(
      file,
      JSON.stringify([
        {
          id: "x",
          name: "n".repeat(51),
          type: "pos",
          schedule: { startsAt: "2026-01-01T00:00:00Z" },
          conditions: [],
          benefit: { kind: "cart", value: { kind: "percentage", bps: 20_000 } },
        },
        {
          id: "y",
          name: "n".repeat(51),
          type: "pos",
          schedule: { startsAt: "2026-01-01T00:00:00Z" },
          conditions: [],
          benefit: { kind: "cart", value: { kind: "percentage", bps: 1_000 } },
        },
      ]),
    );
    const failure = await till("evaluate", "--promotions", file, "--basket", "examples/basket.json").catch(
      (e) => e,
    );
    expect(failure.code).toBe(2);
    expect(failure.stderr).toContain("/promotions/0/benefit/value/bps");
    expect(failure.stderr).toContain("/promotions/1/name");
    expect(failure.stderr).toContain("[name_too_long]");
  });

  it("refuses a basket with a bad instant", async () => {
    const failure = await till(
      "evaluate",
      "--promotions",
      "examples/promotions.json",
      "--basket",
      "examples/basket.json",
      "--at",
      "tomorrow",
    ).catch((e) => e);
    expect(failure.code).toBe(2);
    expect(failure.stderr).toContain("--at");
  });
});
