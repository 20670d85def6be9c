// The database a benchmark runs on: a database of its own on DATABASE_URL's server, or an embedded
// PostgreSQL in a temporary folder; `dispose` gives it back (drops the database, or stops the cluster
// and removes the folder).
import { randomBytes } from "node:crypto";
import { chmod, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { createPool } from "../src/store/db.js";
import { startEmbedded } from "../src/store/embedded.js";

export interface BenchDatabase {
  readonly url: string;
  readonly kind: "server" | "embedded";
  dispose(): Promise<void>;
}

/** `label` names the temporary folder (`till-bench-<label>-…`). */
export async function benchDatabase(label: string): Promise<BenchDatabase> {
  const serverUrl = process.env["DATABASE_URL"];
  if (serverUrl !== undefined) {
    const name = `till_bench_${randomBytes(6).toString("hex")}`;
    const admin = createPool({ url: serverUrl, max: 1 });
    await admin.query(`create database ${name}`).finally(() => admin.end());
    const url = new URL(serverUrl);
    url.pathname = `/${name}`;
    return {
      url: url.toString(),
      kind: "server",
      dispose: async () => {
        const pool = createPool({ url: serverUrl, max: 1 });
        await pool.query(`drop database if exists ${name} with (force)`).finally(() => pool.end());
      },
    };
  }
  const folder = await mkdtemp(path.join(tmpdir(), `till-bench-${label}-`));
  // mkdtemp makes it 0700; run as root, the embedded PostgreSQL runs as "postgres" and must traverse it.
  await chmod(folder, 0o711);
  const embedded = await startEmbedded({ dataDir: path.join(folder, "data") }).catch(
    async (error: unknown) => {
      await rm(folder, { recursive: true, force: true });
      throw error;
    },
  );
  return {
    url: embedded.url,
    kind: "embedded",
    dispose: async () => {
      await embedded.stop();
      await rm(folder, { recursive: true, force: true });
    },
  };
}
