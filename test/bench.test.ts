// Proves the engine benchmark still runs and prints what its README promises: one JSON line per case,
// every generated promotion valid, and the hand-written floor pricing the shared subset exactly as the
// engine does (an independent check of the engine's arithmetic on ~100 promotions per basket).
import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";

const run = promisify(execFile);

describe("bench:engine --quick", () => {
  it("prints one valid JSON line per case, and the floor agrees with the engine", async () => {
    const { stdout } = await run(
      "node",
      [
        "--import",
        "tsx",
        "bench/engine.ts",
        "--quick",
        "--measure-ms",
        "30",
        "--warmup-ms",
        "10",
        "--max-evals",
        "200",
      ],
      { cwd: join(import.meta.dirname, ".."), maxBuffer: 10 * 1024 * 1024 },
    );
    const lines = stdout
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    const of = (bench: string) => lines.filter((l) => l.bench === bench);

    expect(of("setup")).toHaveLength(1);
    for (const compile of of("compile")) expect(compile.valid).toBe(compile.promotions);
    const floors = of("floor");
    expect(floors.length).toBeGreaterThan(0);
    for (const floor of floors) expect(floor.matches_engine).toBe(true);
    const evaluations = of("evaluate");
    expect(evaluations.length).toBeGreaterThanOrEqual(4);
    for (const e of evaluations) {
      expect(e.evals_per_s).toBeGreaterThan(0);
      expect(e.p50_us as number).toBeLessThanOrEqual(e.p99_us as number);
      if (e.mix === "dense") expect(e.vs_floor).toBeGreaterThan(0);
    }
    expect(of("targets")).toHaveLength(1);
  });
});
