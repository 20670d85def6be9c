// Vitest global setup for the server tests on the embedded PostgreSQL: one cluster per run, in a
// fresh temporary folder; each test file makes its own database in it.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestProject } from "vitest/node";
import { startEmbedded } from "../../src/store/embedded.js";

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const dataDir = await mkdtemp(join(tmpdir(), "till-test-"));
  const embedded = await startEmbedded({ dataDir });
  project.provide("adminDatabaseUrl", embedded.adminUrl);
  project.provide("databaseKind", "embedded");
  return async () => {
    await embedded.stop();
    await rm(dataDir, { recursive: true, force: true });
  };
}

declare module "vitest" {
  export interface ProvidedContext {
    adminDatabaseUrl: string;
    databaseKind: "embedded" | "server";
  }
}
