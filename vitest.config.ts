import { defineConfig } from "vitest/config";

// Server tests run once per database: always on the embedded PostgreSQL that Till starts itself, and
// also on the PostgreSQL server named by DATABASE_URL when it is set (CI sets it: both run there).
const serverTests = ["test/server/**/*.test.ts"];

export default defineConfig({
  test: {
    // Property tests run many cases; keep the per-test budget generous but finite.
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // In CI, also write a JSON report so .ci/run can print a plain "N passed, N failed" line.
    reporters: process.env.CI ? ["default", "json"] : ["default"],
    outputFile: { json: ".ci/results/vitest.json" },
    projects: [
      {
        extends: true as const,
        test: { name: "unit", include: ["src/**/*.test.ts", "test/*.test.ts"] },
      },
      {
        extends: true as const,
        test: {
          name: "server:embedded",
          include: serverTests,
          globalSetup: ["test/server/setup-embedded.ts"],
        },
      },
      ...(process.env.DATABASE_URL
        ? [
            {
              extends: true as const,
              test: {
                name: "server:postgres",
                include: serverTests,
                globalSetup: ["test/server/setup-server.ts"],
              },
            },
          ]
        : []),
    ],
  },
});
