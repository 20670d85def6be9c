// Versioned migrations: plain SQL files in ./migrations, applied in name order, each in its own
// transaction, recorded in till_migrations. An advisory lock makes concurrent starts wait in line.
import { readdir, readFile } from "node:fs/promises";
import type { Db } from "./db.js";

const MIGRATIONS_DIR = new URL("./migrations/", import.meta.url);
/** Arbitrary but fixed: the advisory lock key for "migrating Till's schema". */
const MIGRATION_LOCK = 7_150_001;

export interface MigrationReport {
  readonly applied: readonly string[];
  readonly current: string | null;
}

export async function migrate(db: Db): Promise<MigrationReport> {
  const files = (await readdir(MIGRATIONS_DIR)).filter((f) => f.endsWith(".sql")).sort();
  const client = await db.connect();
  try {
    await client.query("select pg_advisory_lock($1)", [MIGRATION_LOCK]);
    await client.query(
      "create table if not exists till_migrations (name text primary key, applied_at timestamptz not null default now())",
    );
    const done = new Set(
      (await client.query<{ name: string }>("select name from till_migrations")).rows.map((r) => r.name),
    );
    const applied: string[] = [];
    for (const file of files) {
      if (done.has(file)) continue;
      const sql = await readFile(new URL(file, MIGRATIONS_DIR), "utf8");
      await client.query("begin");
      try {
        await client.query(sql);
        await client.query("insert into till_migrations (name) values ($1)", [file]);
        await client.query("commit");
      } catch (error) {
        await client.query("rollback");
        throw new Error(`migration ${file} failed: ${(error as Error).message}`, { cause: error });
      }
      applied.push(file);
    }
    return { applied, current: files.at(-1) ?? null };
  } finally {
    await client.query("select pg_advisory_unlock($1)", [MIGRATION_LOCK]).catch(() => undefined);
    client.release();
  }
}
