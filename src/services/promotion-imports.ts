// Importing and exporting promotions as CSV (docs/csv.md). An import reads the file, then works in
// batches: each batch maps its rows (promotion-csv.ts), finds the promotions they name, and writes
// creations and updates in one transaction that holds the workspace row, so a bad row never stops the
// good ones and a failure loses at most one batch. A row is matched to a promotion by its externalId
// (by name when it has none): identical rows leave the promotion unchanged, so re-importing a file
// changes nothing. A dry run reads the same way and writes nothing.
//
// An upload is a resource (GET /v1/promotions/imports/{id}). Up to SYNC_ROWS_MAX rows the request
// waits for it; a larger one answers at once, running, and runs on in this process. As a code
// generation does, its connection holds an advisory lock while it runs: a running row whose lock is
// free belongs to a process that died, and is read as failed ("interrupted"); the batches it committed
// stay, and importing the file again finishes the job (rows already imported come out unchanged).
import type { Promotion } from "../domain/promotion.js";
import { transaction, type Db, type Queryable } from "../store/db.js";
import {
  countLive,
  exportBatch,
  failImport,
  findByExternalIds,
  findByNames,
  findImport,
  holdImportLock,
  importLockIsFree,
  importLockKey,
  insertImport,
  insertPromotions,
  maxTagCount,
  recordImport,
  releaseImportLock,
  updateDefinitions,
  type ExistingPromotion,
  type ExportRow,
  type ImportRow,
  type ImportStatus,
  type NewPromotion,
} from "../store/promotion-imports.js";
import { lockWorkspaceForPromotions, type DerivedStatus } from "../store/promotions.js";
import { getWorkspace } from "../store/workspaces.js";
import { canonicalJson, newId } from "./ids.js";
import {
  CsvFileError,
  csvHeader,
  definitionToRow,
  parseCsv,
  rowToDefinition,
  type CsvContext,
  type CsvTable,
  type RowProblem,
} from "./promotion-csv.js";
import { Problem, invalid, notFound } from "./problem.js";
import { derivedStatus } from "./promotions.js";

export const SYNC_ROWS_MAX = 1_000;
export const BATCH_ROWS = 1_000;
export const REPORT_MAX = 10_000;

export interface ImportOptions {
  readonly dryRun: boolean;
  /** Publish the promotions the import creates (updates keep their status). */
  readonly publish: boolean;
}

export interface ImportTally {
  readonly rowsTotal: number;
  rowsProcessed: number;
  created: number;
  updated: number;
  unchanged: number;
  failed: number;
  readonly report: RowProblem[];
  reportTruncated: boolean;
}

/** A parsed file ready to import: its rows and what they are read against. */
export interface PreparedImport {
  readonly ctx: CsvContext & { readonly activePromotionsMax: number };
  readonly table: CsvTable;
}

/** Reads the file and the workspace; a file that cannot be read at all is a 422 naming why. */
export async function prepareImport(
  db: Queryable,
  workspaceId: string,
  text: string,
): Promise<PreparedImport> {
  const workspace = await getWorkspace(db, workspaceId);
  if (workspace === null) throw notFound(`workspace ${workspaceId}`);
  try {
    const table = parseCsv(text);
    const { currency, timeZone, activePromotionsMax } = workspace;
    return { ctx: { currency, timeZone, activePromotionsMax }, table };
  } catch (error) {
    if (!(error instanceof CsvFileError)) throw error;
    throw invalid(
      error.problems.map((p) => ({ code: p.code, path: `/${p.row}/${p.column}`, message: p.message })),
      422,
    );
  }
}

export function rowsTotal(prepared: PreparedImport): number {
  return prepared.table.rows.length + prepared.table.problems.length;
}

/** Imports every row, batch after batch; `onBatch` sees the tally after each. */
export async function runImport(
  db: Db,
  workspaceId: string,
  prepared: PreparedImport,
  options: ImportOptions,
  now: () => number,
  onBatch?: (tally: ImportTally) => Promise<void> | void,
): Promise<ImportTally> {
  const tally: ImportTally = {
    rowsTotal: rowsTotal(prepared),
    rowsProcessed: prepared.table.problems.length,
    created: 0,
    updated: 0,
    unchanged: 0,
    failed: prepared.table.problems.length,
    report: [],
    reportTruncated: false,
  };
  prepared.table.problems.forEach((p) => addProblem(tally, p));
  // The first row with an externalId or a name wins; a later one is a mistake in the file.
  const firstRowOf = new Map<string, number>();
  const { rows } = prepared.table;
  for (let start = 0; start < rows.length; start += BATCH_ROWS) {
    const batch: Candidate[] = [];
    for (const { row, cells } of rows.slice(start, start + BATCH_ROWS)) {
      const mapped = rowToDefinition(row, cells, prepared.ctx);
      const problems = mapped.ok ? repeatedIn(firstRowOf, row, mapped.definition) : mapped.problems;
      if (problems.length > 0 || !mapped.ok) fail(tally, problems);
      else batch.push({ row, definition: mapped.definition });
    }
    const outcomes = options.dryRun
      ? await decideBatch(db, workspaceId, batch, prepared.ctx, options, now())
      : await transaction(db, async (tx) => {
          await lockWorkspaceForPromotions(tx, workspaceId);
          const nowMs = now();
          const decided = await decideBatch(tx, workspaceId, batch, prepared.ctx, options, nowMs, true);
          await insertPromotions(tx, workspaceId, decided.inserts, nowMs);
          await updateDefinitions(tx, workspaceId, decided.updates, nowMs);
          return decided;
        });
    tally.created += outcomes.inserts.length;
    tally.updated += outcomes.updates.length;
    tally.unchanged += outcomes.unchanged;
    for (const problem of outcomes.problems) fail(tally, [problem]);
    tally.rowsProcessed += Math.min(BATCH_ROWS, rows.length - start);
    await onBatch?.(tally);
  }
  tally.report.sort((a, b) => a.row - b.row);
  return tally;
}

interface Candidate {
  readonly row: number;
  readonly definition: Omit<Promotion, "id">;
}

function repeatedIn(
  firstRowOf: Map<string, number>,
  row: number,
  definition: Omit<Promotion, "id">,
): RowProblem[] {
  const problems: RowProblem[] = [];
  const keys: [string, string, string][] = [["name", `name:${definition.name.toLowerCase()}`, "name"]];
  if (definition.externalId !== undefined)
    keys.push(["externalId", `ext:${definition.externalId}`, "externalId"]);
  for (const [column, key, what] of keys) {
    const first = firstRowOf.get(key);
    if (first === undefined) firstRowOf.set(key, row);
    else
      problems.push({
        row,
        column,
        code: `duplicate_${column === "name" ? "name" : "external_id"}`,
        message: `row ${first} has the same ${what}`,
      });
  }
  return problems;
}

function fail(tally: ImportTally, problems: readonly RowProblem[]): void {
  tally.failed += 1;
  problems.forEach((p) => addProblem(tally, p));
}

function addProblem(tally: ImportTally, problem: RowProblem): void {
  if (tally.report.length < REPORT_MAX) tally.report.push(problem);
  else tally.reportTruncated = true;
}

interface Decisions {
  readonly inserts: NewPromotion[];
  readonly updates: Promotion[];
  unchanged: number;
  readonly problems: RowProblem[];
}

/** What each row of a batch does to the workspace's promotions; writes nothing. */
async function decideBatch(
  q: Queryable,
  workspaceId: string,
  batch: readonly Candidate[],
  ctx: PreparedImport["ctx"],
  options: ImportOptions,
  nowMs: number,
  forUpdate = false,
): Promise<Decisions> {
  const externalIds = batch.flatMap((c) =>
    c.definition.externalId === undefined ? [] : [c.definition.externalId],
  );
  const byExternalId = new Map<string, ExistingPromotion[]>();
  for (const p of await findByExternalIds(q, workspaceId, externalIds, { forUpdate })) {
    const key = p.definition.externalId!;
    byExternalId.set(key, [...(byExternalId.get(key) ?? []), p]);
  }
  const names = batch.map((c) => c.definition.name.toLowerCase());
  const byName = new Map((await findByNames(q, workspaceId, names)).map((p) => [p.lowerName, p]));
  let live = options.publish ? await countLive(q, workspaceId, nowMs) : 0;
  const decisions: Decisions = { inserts: [], updates: [], unchanged: 0, problems: [] };
  const problem = (row: number, column: string, code: string, message: string) =>
    decisions.problems.push({ row, column, code, message });

  for (const { row, definition } of batch) {
    const ext = definition.externalId;
    const matches = ext === undefined ? [] : (byExternalId.get(ext) ?? []);
    if (matches.length > 1) {
      problem(
        row,
        "externalId",
        "external_id_ambiguous",
        `${matches.length} promotions have this externalId`,
      );
      continue;
    }
    const holder = byName.get(definition.name.toLowerCase());
    const target = ext === undefined ? holder : matches[0];
    if (holder !== undefined && holder.id !== target?.id) {
      problem(row, "name", "name_taken", `promotion ${holder.id} has this name (names ignore case)`);
      continue;
    }
    if (target !== undefined) {
      const next: Promotion = { ...definition, id: target.id };
      if (canonicalJson(next) === canonicalJson(target.definition)) decisions.unchanged += 1;
      else if (derivedStatus(target, nowMs) === "ended")
        problem(row, "", "promotion_ended", `promotion ${target.id} has ended; it cannot change`);
      else if (target.publishedAt !== null && !sameLimits(target.definition, next))
        problem(
          row,
          "redeemLimitPerClient",
          "limits_frozen",
          `promotion ${target.id} is published: its limits cannot change`,
        );
      else decisions.updates.push(next);
      continue;
    }
    let status: NewPromotion["status"] = "draft";
    if (options.publish) {
      const { endsAt } = definition.schedule;
      if (endsAt !== undefined && Date.parse(endsAt) <= nowMs) {
        problem(row, "expireAt", "schedule_ended", "has passed: the promotion cannot be published");
        continue;
      }
      if (live >= ctx.activePromotionsMax) {
        const message = `the workspace has ${live} published promotions that have not ended, at most ${ctx.activePromotionsMax}`;
        problem(row, "", "active_cap_reached", message);
        continue;
      }
      live += 1;
      status = "published";
    }
    const id = newId("promo");
    decisions.inserts.push({ id, definition: { ...definition, id }, status });
  }
  return decisions;
}

function sameLimits(a: Promotion, b: Promotion): boolean {
  const key = (p: Promotion) => (p.limits ?? []).map(canonicalJson).sort().join("\n");
  return key(a) === key(b);
}

// ---- The import resource.

export interface PromotionImport {
  readonly id: string;
  readonly status: ImportStatus;
  readonly dryRun: boolean;
  readonly publish: boolean;
  readonly rows: { readonly total: number; readonly processed: number };
  readonly counts: {
    readonly created: number;
    readonly updated: number;
    readonly unchanged: number;
    readonly failed: number;
  };
  /** Every problem of every bad row, in row order (at most REPORT_MAX; then reportTruncated). */
  readonly report: readonly RowProblem[];
  readonly reportTruncated: boolean;
  readonly createdAt: string;
  readonly finishedAt?: string;
  readonly error?: string;
}

function toResource(row: ImportRow): PromotionImport {
  return {
    id: row.id,
    status: row.status,
    dryRun: row.dryRun,
    publish: row.publish,
    rows: { total: row.rowsTotal, processed: row.rowsProcessed },
    counts: { created: row.created, updated: row.updated, unchanged: row.unchanged, failed: row.failed },
    report: row.report,
    reportTruncated: row.reportTruncated,
    createdAt: row.createdAt.toISOString(),
    ...(row.finishedAt !== null ? { finishedAt: row.finishedAt.toISOString() } : {}),
    ...(row.error !== null ? { error: row.error } : {}),
  };
}

/** Starts an upload's import and answers its resource: done when it was small enough to wait for. */
export async function startImport(
  db: Db,
  workspaceId: string,
  text: string,
  options: ImportOptions,
  now: () => number,
  waitRowsMax = SYNC_ROWS_MAX,
): Promise<PromotionImport> {
  const prepared = await prepareImport(db, workspaceId, text);
  const id = newId("import");
  // The job's own connection holds its lock from before its row is visible until after its outcome
  // is written: a running row whose lock is free was left by a process that died (readImport).
  const client = await db.connect();
  const lockKey = importLockKey(workspaceId, id);
  const letGo = async () => {
    const unlocked = await releaseImportLock(client, lockKey).then(
      () => true,
      () => false,
    );
    client.release(!unlocked); // a connection that could not unlock is dropped, and its lock with it
  };
  try {
    await holdImportLock(client, lockKey);
    await insertImport(client, workspaceId, { id, ...options, rowsTotal: rowsTotal(prepared) }, now());
  } catch (error) {
    await letGo();
    throw error;
  }
  const job = (async () => {
    try {
      const tally = await runImport(db, workspaceId, prepared, options, now, (t) =>
        recordImport(db, workspaceId, id, t),
      );
      await recordImport(db, workspaceId, id, tally, { status: "done", nowMs: now() });
    } catch (error) {
      const message = error instanceof Problem ? (error.detail ?? error.title) : "internal error";
      const row = await findImport(db, workspaceId, id);
      const progress = row ?? emptyProgress();
      await recordImport(db, workspaceId, id, progress, { status: "failed", error: message, nowMs: now() });
      throw error;
    } finally {
      await letGo();
    }
  })();
  if (rowsTotal(prepared) <= waitRowsMax) await job;
  else job.catch(() => undefined); // recorded on the row as failed
  return toResource((await findImport(db, workspaceId, id))!);
}

function emptyProgress() {
  return {
    rowsProcessed: 0,
    created: 0,
    updated: 0,
    unchanged: 0,
    failed: 0,
    report: [],
    reportTruncated: false,
  };
}

export const INTERRUPTED =
  "interrupted: the process running it stopped; the batches it finished stay imported, import the file again";

export async function readImport(
  db: Db,
  workspaceId: string,
  id: string,
  nowMs: number,
): Promise<PromotionImport> {
  const row = await findImport(db, workspaceId, id);
  if (row === null) throw notFound(`promotion import ${id}`);
  if (row.status !== "running") return toResource(row);
  return toResource(await reapIfDead(db, workspaceId, row, nowMs));
}

/**
 * A running import whose connection let go of its lock died with its process: mark it failed. Its
 * progress stays as its last committed batch recorded it.
 */
async function reapIfDead(db: Db, workspaceId: string, row: ImportRow, nowMs: number): Promise<ImportRow> {
  return transaction(db, async (tx) => {
    if (!(await importLockIsFree(tx, importLockKey(workspaceId, row.id)))) return row;
    const locked = await findImport(tx, workspaceId, row.id, { forUpdate: true });
    if (locked === null || locked.status !== "running") return locked ?? row;
    await failImport(tx, workspaceId, row.id, INTERRUPTED, nowMs);
    return (await findImport(tx, workspaceId, row.id))!;
  });
}

// ---- Export.

export interface ExportFilter {
  readonly status?: DerivedStatus;
  readonly tag?: string;
}

const EXPORT_BATCH = 1_000;

/**
 * The workspace's promotions as CSV rows (header first), in externalId order (then id), in keyset
 * batches: a file sorted by externalId exports byte for byte as it was imported. Promotions the format
 * cannot hold exactly are left out and their ids passed to `skipped`.
 */
export async function exportPromotions(
  db: Db,
  workspaceId: string,
  filter: ExportFilter,
  nowMs: number,
  skipped: (id: string) => void = () => undefined,
): Promise<AsyncIterable<string[]>> {
  const workspace = await getWorkspace(db, workspaceId);
  if (workspace === null) throw notFound(`workspace ${workspaceId}`);
  const header = csvHeader(await maxTagCount(db, workspaceId));
  return (async function* rows() {
    yield header;
    let after: ExportRow | undefined;
    for (;;) {
      const batch = await exportBatch(
        db,
        workspaceId,
        { ...optionalTag(filter.tag), ...(after ? { after } : {}) },
        EXPORT_BATCH,
      );
      for (const row of batch) {
        if (filter.status !== undefined && derivedStatus(row, nowMs) !== filter.status) continue;
        const cells = definitionToRow(row.definition, workspace);
        if (cells === null) skipped(row.id);
        else yield header.map((column) => cells[column] ?? "");
      }
      if (batch.length < EXPORT_BATCH) return;
      after = batch.at(-1)!;
    }
  })();
}

function optionalTag(tag: string | undefined): { tag?: string } {
  return tag === undefined ? {} : { tag };
}
