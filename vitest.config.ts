import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["src/**/*.test.ts", "test/**/*.test.ts"],
    // Property tests run many cases; keep the per-test budget generous but finite.
    testTimeout: 60_000,
  },
});
