// Vitest global setup for the server tests on the PostgreSQL server named by DATABASE_URL.
import type { TestProject } from "vitest/node";
import "./setup-embedded.js";

export default function setup(project: TestProject): void {
  const url = process.env["DATABASE_URL"];
  if (url === undefined) throw new Error("DATABASE_URL is not set");
  project.provide("adminDatabaseUrl", url);
  project.provide("databaseKind", "server");
}
