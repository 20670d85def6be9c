// `till import promotions FILE` and `till export promotions`: the CSV format of docs/csv.md against
// DATABASE_URL or the embedded database, like `till migrate`. Progress goes to stderr (a bar on a
// terminal, plain lines otherwise); the report and the export go to stdout.
import { createWriteStream } from "node:fs";
import { readFile } from "node:fs/promises";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { SingleBar, Presets } from "cli-progress";
import { stringify } from "csv-stringify";
import { migrate } from "../store/migrate.js";
import { listWorkspaceIds } from "../store/promotion-imports.js";
import type { Db } from "../store/db.js";
import {
  exportPromotions,
  prepareImport,
  rowsTotal,
  runImport,
  type ImportTally,
} from "../services/promotion-imports.js";
import { Problem } from "../services/problem.js";
import { CliError, openDatabase } from "./serve-command.js";

export interface ImportCommandOptions {
  readonly dataDir: string;
  readonly workspace?: string;
  readonly dryRun?: boolean;
  readonly publish?: boolean;
  readonly json?: boolean;
}

/** Imports the file; answers the exit code: 0 every row imported, 1 some rows failed. */
export async function runImportCommand(file: string, options: ImportCommandOptions): Promise<number> {
  const text = await readFile(file, "utf8").catch((error: NodeJS.ErrnoException) => {
    throw new CliError(`cannot read ${file}: ${error.code ?? error.message}`);
  });
  return withDatabase(options.dataDir, async (db) => {
    const workspaceId = await chooseWorkspace(db, options.workspace);
    const prepared = await refusedAsCliError(() => prepareImport(db, workspaceId, text));
    const progress = startProgress(rowsTotal(prepared));
    const tally = await runImport(
      db,
      workspaceId,
      prepared,
      { dryRun: options.dryRun ?? false, publish: options.publish ?? false },
      Date.now,
      (t) => progress.update(t.rowsProcessed),
    ).finally(() => progress.stop());
    console.log(options.json ? JSON.stringify(tally, null, 2) : formatReport(tally, options.dryRun ?? false));
    return tally.failed > 0 ? 1 : 0;
  });
}

export interface ExportCommandOptions {
  readonly dataDir: string;
  readonly workspace?: string;
  readonly out?: string;
}

export async function runExportCommand(options: ExportCommandOptions): Promise<void> {
  await withDatabase(options.dataDir, async (db) => {
    const workspaceId = await chooseWorkspace(db, options.workspace);
    const skipped: string[] = [];
    const rows = await exportPromotions(db, workspaceId, {}, Date.now(), (id) => skipped.push(id));
    const out = options.out === undefined ? process.stdout : createWriteStream(options.out);
    await pipeline(Readable.from(rows), stringify(), out, { end: options.out !== undefined });
    if (skipped.length > 0)
      console.error(
        `till: left out ${skipped.length} promotions the CSV format cannot hold: ${skipped.slice(0, 20).join(", ")}${skipped.length > 20 ? ", …" : ""}`,
      );
  });
}

async function withDatabase<T>(dataDir: string, work: (db: Db) => Promise<T>): Promise<T> {
  const database = await openDatabase(dataDir, 4);
  try {
    await migrate(database.db);
    return await work(database.db);
  } finally {
    await database.close();
  }
}

async function chooseWorkspace(db: Db, wanted: string | undefined): Promise<string> {
  const ids = await listWorkspaceIds(db);
  if (wanted !== undefined) {
    if (!ids.includes(wanted)) throw new CliError(`workspace ${wanted} does not exist`);
    return wanted;
  }
  if (ids.length === 1) return ids[0]!;
  if (ids.length === 0) throw new CliError("the database has no workspace yet: run `till serve` once");
  throw new CliError(
    `the database has ${ids.length} workspaces; choose one with --workspace (${ids.join(", ")})`,
  );
}

async function refusedAsCliError<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (!(error instanceof Problem)) throw error;
    const lines = (error.errors ?? []).map((e) => `  ${e.path}: ${e.message} [${e.code}]`);
    throw new CliError([`the file cannot be imported: ${error.detail ?? error.title}`, ...lines].join("\n"));
  }
}

interface Progress {
  update(processed: number): void;
  stop(): void;
}

function startProgress(total: number): Progress {
  if (process.stderr.isTTY) {
    const bar = new SingleBar(
      {
        stream: process.stderr,
        format: "importing [{bar}] {percentage}% | {value}/{total} rows | {eta}s left",
      },
      Presets.shades_classic,
    );
    bar.start(total, 0);
    return { update: (n) => bar.update(n), stop: () => bar.stop() };
  }
  return {
    update: (n) => console.error(`imported ${n}/${total} rows`),
    stop: () => undefined,
  };
}

function formatReport(tally: ImportTally, dryRun: boolean): string {
  const lines = [
    `${dryRun ? "dry run, nothing written: " : ""}${tally.rowsTotal} rows: ${tally.created} created, ${tally.updated} updated, ${tally.unchanged} unchanged, ${tally.failed} failed`,
    ...tally.report.map((p) => `  row ${p.row}${p.column ? `, ${p.column}` : ""}: ${p.message} [${p.code}]`),
  ];
  if (tally.reportTruncated) lines.push(`  … (the report keeps the first ${tally.report.length} problems)`);
  return lines.join("\n");
}
