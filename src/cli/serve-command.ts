// `till serve`: the server. With DATABASE_URL it uses that PostgreSQL; without, it starts its own
// embedded PostgreSQL in the data folder. It migrates, creates the first workspace on an empty
// database (printing its admin key once), optionally loads the demo, and serves until a signal.
import { hostname } from "node:os";
import { buildApp } from "../api/app.js";
import { createPool, type Db } from "../store/db.js";
import { DataFolderInUse, startEmbedded, type EmbeddedDatabase } from "../store/embedded.js";
import { migrate } from "../store/migrate.js";
import { countWorkspaces } from "../store/workspaces.js";
import { createWorkspace } from "../services/workspaces.js";
import { loadDemo } from "./demo-data.js";

export interface ServeOptions {
  readonly port: number;
  readonly host: string;
  readonly dataDir: string;
  readonly demo?: boolean;
}

export interface Database {
  readonly db: Db;
  readonly where: string;
  close(): Promise<void>;
}

export class CliError extends Error {}

/** The database the server and `till migrate` use: DATABASE_URL, or the embedded one. */
export async function openDatabase(dataDir: string, poolMax = 20): Promise<Database> {
  const url = process.env["DATABASE_URL"];
  let embedded: EmbeddedDatabase | undefined;
  if (url === undefined) {
    try {
      embedded = await startEmbedded({ dataDir });
    } catch (error) {
      if (error instanceof DataFolderInUse) throw new CliError(error.message);
      throw error;
    }
  }
  const db = createPool({ url: url ?? embedded!.url, max: poolMax });
  return {
    db,
    where: url === undefined ? `embedded PostgreSQL in ${dataDir}` : redact(url),
    async close() {
      await db.end();
      await embedded?.stop();
    },
  };
}

function redact(url: string): string {
  const parsed = new URL(url);
  if (parsed.password) parsed.password = "***";
  return parsed.toString();
}

export async function serve(options: ServeOptions): Promise<void> {
  const database = await openDatabase(options.dataDir);
  const { db } = database;
  const report = await migrate(db);
  const app = await buildApp({ db, logger: { level: process.env["LOG_LEVEL"] ?? "info" } });
  const stop = async (signal: string): Promise<void> => {
    app.log.info({ signal }, "stopping");
    await app.close();
    await database.close();
    process.exit(0);
  };
  process.once("SIGINT", () => void stop("SIGINT"));
  process.once("SIGTERM", () => void stop("SIGTERM"));

  const banner: string[] = [];
  if ((await countWorkspaces(db)) === 0) {
    const { workspace, admin } = await createWorkspace(db, {
      name: "My shop",
      currency: process.env["TILL_CURRENCY"] ?? "EUR",
      timeZone: process.env["TILL_TIME_ZONE"] ?? Intl.DateTimeFormat().resolvedOptions().timeZone,
    });
    banner.push(
      `Created workspace ${workspace.id} (${workspace.currency}, ${workspace.timeZone}).`,
      `Its admin API key, shown only this once (keep it):`,
      ``,
      `  ${admin.secret}`,
      ``,
    );
    if (options.demo) {
      await loadDemo(app, admin.secret);
      banner.push(
        "Loaded the demo: catalog, store warsaw-1, customers c-1001 (loyalty card) and c-1002, promotions.",
      );
    }
  } else if (options.demo) {
    banner.push("The database already has a workspace: the demo is only loaded into a new one.");
  }
  const address = await app.listen({ port: options.port, host: options.host });
  console.log(
    [
      `Till is serving on ${address} (${hostname()}), database: ${database.where}`,
      `Migrations: ${report.applied.length > 0 ? `applied ${report.applied.join(", ")}` : `up to date (${report.current})`}`,
      `API docs: ${address}/docs   OpenAPI: ${address}/openapi.json   metrics: ${address}/metrics`,
      ...banner,
    ].join("\n"),
  );
}
