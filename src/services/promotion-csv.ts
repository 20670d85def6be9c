// Promotions as CSV rows with seed 001's column names (the Synerise import format), both ways. A row
// maps onto a promotion with one product benefit (or a cart benefit), a schedule, store scope, tags
// and an optional per-customer limit; columns Till has no place for are kept verbatim in customFields,
// so an export writes back exactly what was imported. docs/csv.md describes every column.
//
// Pure: no database, no clock. Cells are read into a candidate definition, then validatePromotion
// checks it; every problem is reported against the column it came from.
import { parse } from "csv-parse/sync";
import { DateTime } from "luxon";
import type { Issue } from "../domain/check.js";
import { minorDigits, formatMinor } from "../domain/money.js";
import type { Benefit, LimitRule, Promotion, ProductValue } from "../domain/promotion.js";
import { validatePromotion } from "../domain/validate.js";
import { canonicalJson } from "./ids.js";

/** The columns in export order; tags follow as tags.0.name, tags.1.name, … */
export const CSV_COLUMNS = [
  "externalId",
  "name",
  "type",
  "headline",
  "description",
  "discountType",
  "discountValue",
  "catalogIndexItems",
  "redeemQuantityPerActivation",
  "redeemLimitPerClient",
  "storeIds",
  "startAt",
  "expireAt",
  "priority",
  "displayFrom",
  "displayTo",
  "visibilityStatus",
  "catalogItemType",
  "catalog",
  "storeCatalog",
  "storeItemType",
  "headerName",
  "redeemType",
] as const;
export type CsvColumn = (typeof CSV_COLUMNS)[number];

/** Seed 001 columns Till keeps verbatim in customFields, under the column's name. */
export const KEPT_COLUMNS = [
  "displayFrom",
  "displayTo",
  "visibilityStatus",
  "catalogItemType",
  "catalog",
  "storeCatalog",
  "storeItemType",
  "headerName",
  "redeemType",
] as const satisfies readonly CsvColumn[];

const REQUIRED_COLUMNS: readonly CsvColumn[] = ["name", "type", "discountType", "discountValue", "startAt"];
const TAG_COLUMN = /^tags\.(\d{1,2})\.name$/;
export const TAGS_MAX = 50;
const DATE_COLUMNS = new Set<string>(["displayFrom", "displayTo"]);

export function tagColumn(i: number): string {
  return `tags.${i}.name`;
}

/** What a row's values are read against: money in the workspace currency, local times in its zone. */
export interface CsvContext {
  readonly currency: string;
  readonly timeZone: string;
}

/** A problem with one cell (row 1 is the header, so row numbers match a spreadsheet's). */
export interface RowProblem {
  readonly row: number;
  readonly column: string;
  readonly code: string;
  readonly message: string;
}

export type Cells = Readonly<Record<string, string>>;

export interface CsvTable {
  readonly header: readonly string[];
  /** Data rows, blank ones left out; row is the record's number counting the header as 1. */
  readonly rows: readonly { readonly row: number; readonly cells: Cells }[];
  /** Rows whose column count differs from the header's. */
  readonly problems: readonly RowProblem[];
}

/** Parses a CSV file (comma or semicolon delimited, BOM tolerated) or throws CsvFileError. */
export function parseCsv(text: string): CsvTable {
  const firstLine = text.slice(0, text.search(/\r?\n|$/));
  const delimiter = count(firstLine, ";") > count(firstLine, ",") ? ";" : ",";
  let records: string[][];
  try {
    records = parse(text, { bom: true, delimiter, relax_column_count: true, skip_empty_lines: false });
  } catch (error) {
    const e = error as { message: string; lines?: number };
    throw new CsvFileError([{ row: e.lines ?? 0, column: "", code: "csv_malformed", message: e.message }]);
  }
  const header = (records[0] ?? []).map((h) => h.trim());
  const headerProblems = checkHeader(header);
  if (headerProblems.length > 0) throw new CsvFileError(headerProblems);
  const rows: { row: number; cells: Cells }[] = [];
  const problems: RowProblem[] = [];
  records.slice(1).forEach((record, i) => {
    const row = i + 2;
    if (record.every((cell) => cell.trim() === "")) return;
    if (record.length !== header.length) {
      const message = `has ${record.length} cells, the header ${header.length}`;
      problems.push({ row, column: "", code: "wrong_cell_count", message });
      return;
    }
    rows.push({ row, cells: Object.fromEntries(header.map((h, c) => [h, record[c]!])) });
  });
  return { header, rows, problems };
}

/** The file cannot be read at all: nothing is imported. */
export class CsvFileError extends Error {
  constructor(readonly problems: readonly RowProblem[]) {
    super(problems.map((p) => `row ${p.row} ${p.column}: ${p.message}`).join("; "));
  }
}

function checkHeader(header: readonly string[]): RowProblem[] {
  const known = new Set<string>(CSV_COLUMNS);
  const problems: RowProblem[] = [];
  const seen = new Set<string>();
  for (const column of header) {
    const tag = TAG_COLUMN.exec(column);
    if (!known.has(column) && (tag === null || Number(tag[1]) >= TAGS_MAX))
      problems.push({ row: 1, column, code: "unknown_column", message: "is not a column of the format" });
    if (seen.has(column))
      problems.push({ row: 1, column, code: "duplicate_column", message: "appears twice in the header" });
    seen.add(column);
  }
  for (const column of REQUIRED_COLUMNS)
    if (!seen.has(column))
      problems.push({ row: 1, column, code: "missing_column", message: "is required in the header" });
  return problems;
}

// ---- Row → definition.

export type RowResult =
  | { readonly ok: true; readonly definition: Omit<Promotion, "id"> }
  | { readonly ok: false; readonly problems: readonly RowProblem[] };

/** Reads one row into a promotion definition (without id), checked like one sent to the API. */
export function rowToDefinition(row: number, cells: Cells, ctx: CsvContext): RowResult {
  const problems: RowProblem[] = [];
  const reader = cellReader(row, cells, problems);
  const candidate = readCandidate(reader, ctx);
  // The id is a placeholder: the importer assigns or finds the real one.
  const checked = validatePromotion({ id: "csv", ...candidate });
  if (!checked.ok) {
    // A cell that could not be read already has its problem; what validation then says of the
    // missing part (a benefit without a value, say) would only repeat it.
    const reported = new Set(problems.map((p) => groupOf(p.column)));
    for (const issue of checked.issues) {
      const column = columnOf(issue);
      if (!reported.has(groupOf(column)))
        problems.push({ row, column, code: issue.code, message: issue.message });
    }
  }
  if (problems.length > 0 || !checked.ok) return { ok: false, problems };
  return { ok: true, definition: withoutId(checked.value) };
}

interface CellReader {
  text(column: string): string | undefined;
  fail(column: string, code: string, message: string): undefined;
}

function cellReader(row: number, cells: Cells, problems: RowProblem[]): CellReader {
  return {
    text(column) {
      const value = cells[column]?.trim();
      return value === undefined || value === "" ? undefined : value;
    },
    fail(column, code, message) {
      problems.push({ row, column, code, message });
      return undefined;
    },
  };
}

function readCandidate(r: CellReader, ctx: CsvContext): Record<string, unknown> {
  const typed = readType(r);
  const items = readList(r, "catalogIndexItems");
  const storeIds = readList(r, "storeIds");
  const tags = readTags(r);
  const limit = readPositiveInt(r, "redeemLimitPerClient");
  const customFields = readKept(r);
  const endsAt = readInstant(r, "expireAt", ctx);
  const candidate: Record<string, unknown> = {
    name: r.text("name"),
    ...optional("externalId", r.text("externalId")),
    ...optional("headline", r.text("headline")),
    ...optional("description", r.text("description")),
    ...optional("tags", tags.length > 0 ? tags : undefined),
    ...optional("priority", readInt(r, "priority")),
    ...optional("customFields", Object.keys(customFields).length > 0 ? customFields : undefined),
    type: typed?.type,
    ...optional("activationRequired", typed?.activationRequired),
    schedule: { startsAt: readInstant(r, "startAt", ctx), ...optional("endsAt", endsAt) },
    ...optional("scope", storeIds.length > 0 ? { storeIds } : undefined),
    conditions: [],
    benefit: readBenefit(r, items, ctx),
    ...optional("limits", limit !== undefined ? [customerLimit(limit)] : undefined),
  };
  return candidate;
}

function optional<K extends string, V>(key: K, value: V | undefined): Partial<Record<K, V>> {
  return value === undefined ? {} : ({ [key]: value } as Record<K, V>);
}

/** Till's type names, plus the seed's: "Personalized promotion" is a loyalty promotion to activate. */
const TYPES: Readonly<Record<string, { type: Promotion["type"]; activationRequired?: true }>> = {
  pos: { type: "pos" },
  general: { type: "pos" },
  loyalty: { type: "loyalty" },
  members_only: { type: "loyalty" },
  custom: { type: "loyalty" },
  personalized: { type: "loyalty", activationRequired: true },
  "personalized promotion": { type: "loyalty", activationRequired: true },
  handbill: { type: "loyalty", activationRequired: true },
};

function readType(r: CellReader): (typeof TYPES)[string] | undefined {
  const text = r.text("type");
  if (text === undefined) return r.fail("type", "required", "is required");
  const found = TYPES[text.toLowerCase()];
  if (found === undefined)
    return r.fail("type", "unknown_type", `must be pos, loyalty or personalized, not "${text}"`);
  return found;
}

const DISCOUNT_TYPES: Readonly<Record<string, "percentage" | "fixed_amount" | "exact_price">> = {
  percent: "percentage",
  percentage: "percentage",
  amount: "fixed_amount",
  fixed_amount: "fixed_amount",
  price: "exact_price",
  exact_price: "exact_price",
};

function readBenefit(r: CellReader, items: readonly string[], ctx: CsvContext): Benefit | undefined {
  const typeText = r.text("discountType");
  const kind = typeText === undefined ? undefined : DISCOUNT_TYPES[typeText.toLowerCase()];
  if (typeText === undefined) r.fail("discountType", "required", "is required");
  else if (kind === undefined)
    r.fail("discountType", "unknown_discount_type", `must be percent, amount or price, not "${typeText}"`);
  const units = readPositiveInt(r, "redeemQuantityPerActivation");
  if (kind === undefined) return undefined;
  const value = readValue(r, kind, ctx);
  if (value === undefined) return undefined;
  if (items.length === 0) {
    if (units !== undefined)
      r.fail("redeemQuantityPerActivation", "needs_catalog_items", "applies only with catalogIndexItems");
    if (value.kind !== "percentage" && value.kind !== "fixed_amount")
      return r.fail(
        "discountType",
        "price_needs_catalog_items",
        "a price applies only with catalogIndexItems",
      );
    return { kind: "cart", value };
  }
  const quantity = units === undefined ? { kind: "all" as const } : { kind: "custom" as const, units };
  return {
    kind: "products",
    target: { kind: "selector", scope: { include: [{ kind: "skus", skus: [...items] }] }, quantity },
    value,
  };
}

function readValue(
  r: CellReader,
  kind: "percentage" | "fixed_amount" | "exact_price",
  ctx: CsvContext,
): ProductValue | undefined {
  const text = r.text("discountValue");
  if (text === undefined) return r.fail("discountValue", "required", "is required");
  if (kind === "percentage") {
    const bps = decimalToInt(text, 2);
    if (bps === undefined)
      return r.fail(
        "discountValue",
        "not_a_percentage",
        "must be a percentage with at most 2 decimals: 12.5",
      );
    return { kind, bps };
  }
  const digits = minorDigits(ctx.currency);
  const amountMinor = decimalToInt(text, digits);
  if (amountMinor === undefined)
    return r.fail(
      "discountValue",
      "not_an_amount",
      `must be an amount in ${ctx.currency} with at most ${digits} decimals: ${formatMinor(550, ctx.currency)}`,
    );
  return { kind, amountMinor };
}

/** "12.5" with 2 digits → 1250, exactly, never through a float. */
function decimalToInt(text: string, digits: number): number | undefined {
  const match = /^(\d{1,12})(?:\.(\d+))?$/.exec(text);
  if (match === null) return undefined;
  const fraction = match[2] ?? "";
  if (fraction.length > digits) return undefined;
  return Number(match[1]! + fraction.padEnd(digits, "0"));
}

function intToDecimal(value: number, digits: number): string {
  if (digits === 0) return String(value);
  const text = String(value).padStart(digits + 1, "0");
  const fraction = text.slice(-digits).replace(/0+$/, "");
  return fraction === "" ? text.slice(0, -digits) : `${text.slice(0, -digits)}.${fraction}`;
}

function customerLimit(max: number): LimitRule {
  return { level: "customer", measure: "times", max, window: { kind: "lifetime" } };
}

/** A JSON array of strings, or values separated by commas. */
function readList(r: CellReader, column: string): string[] {
  const text = r.text(column);
  if (text === undefined) return [];
  if (text.startsWith("[")) {
    try {
      const parsed: unknown = JSON.parse(text);
      if (Array.isArray(parsed) && parsed.every((v) => typeof v === "string" && v !== "")) return parsed;
    } catch {
      // reported below
    }
    r.fail(column, "not_a_list", 'must be values separated by commas, or a JSON array of strings: ["a","b"]');
    return [];
  }
  return text
    .split(",")
    .map((v) => v.trim())
    .filter((v) => v !== "");
}

function writeList(values: readonly string[]): string {
  const plain = values.every((v) => !v.includes(",") && v.trim() === v && !v.startsWith("["));
  return plain ? values.join(",") : JSON.stringify(values);
}

function readTags(r: CellReader): string[] {
  const tags: string[] = [];
  for (let i = 0; i < TAGS_MAX; i++) {
    const tag = r.text(tagColumn(i));
    if (tag !== undefined) tags.push(tag);
  }
  return tags;
}

function readInt(r: CellReader, column: string): number | undefined {
  const text = r.text(column);
  if (text === undefined) return undefined;
  if (!/^-?\d{1,15}$/.test(text)) return r.fail(column, "not_an_integer", "must be a whole number");
  return Number(text);
}

function readPositiveInt(r: CellReader, column: string): number | undefined {
  const value = readInt(r, column);
  if (value !== undefined && value < 1) return r.fail(column, "not_positive", "must be at least 1");
  return value;
}

/** An instant with offset is kept as written; a local date or time is read in the workspace zone. */
function readInstant(r: CellReader, column: string, ctx: CsvContext): string | undefined {
  const text = r.text(column);
  if (text === undefined) return undefined;
  const hasOffset = /(?:[zZ]|[+-]\d{2}:?\d{2})$/.test(text) && text.includes("T");
  const parsed = DateTime.fromISO(text, { zone: ctx.timeZone, setZone: true });
  if (!parsed.isValid)
    return r.fail(column, "not_an_instant", "must be an ISO 8601 date or time: 2026-03-01T00:00:00Z");
  return hasOffset ? text : parsed.toISO({ suppressMilliseconds: true })!;
}

function readKept(r: CellReader): Record<string, string> {
  const kept: Record<string, string> = {};
  for (const column of KEPT_COLUMNS) {
    const text = r.text(column);
    if (text === undefined) continue;
    if (DATE_COLUMNS.has(column) && !DateTime.fromISO(text, { setZone: true }).isValid) {
      r.fail(column, "not_an_instant", "must be an ISO 8601 date or time");
      continue;
    }
    kept[column] = text;
  }
  return kept;
}

const BENEFIT_COLUMNS = new Set([
  "discountType",
  "discountValue",
  "catalogIndexItems",
  "redeemQuantityPerActivation",
]);

function groupOf(column: string): string {
  return BENEFIT_COLUMNS.has(column) ? "benefit" : column;
}

/** Where a validation issue's path lands in the file. */
function columnOf(issue: Issue): string {
  const [, first = "", second = "", third = ""] = issue.path.split("/");
  switch (first) {
    case "tags":
      return second === "" ? tagColumn(0) : tagColumn(Number(second));
    case "activationRequired":
      return "type";
    case "schedule":
      return second === "endsAt" ? "expireAt" : "startAt";
    case "scope":
      return "storeIds";
    case "limits":
      return "redeemLimitPerClient";
    case "customFields":
      return second;
    case "benefit":
      if (second === "value") return third === "kind" ? "discountType" : "discountValue";
      if (second === "target")
        return issue.path.includes("quantity") ? "redeemQuantityPerActivation" : "catalogIndexItems";
      return "discountType";
    case "name":
    case "description":
    case "headline":
    case "externalId":
    case "priority":
    case "type":
      return first;
    default:
      return "";
  }
}

function withoutId(definition: Promotion): Omit<Promotion, "id"> {
  const copy: Partial<Promotion> = { ...definition };
  delete copy.id;
  return copy as Omit<Promotion, "id">;
}

// ---- Definition → row.

/**
 * The row of a definition, or null when the format cannot hold it exactly (conditions, other
 * benefits, eligibility, …): reading the row back must give the same definition.
 */
export function definitionToRow(definition: Promotion, ctx: CsvContext): Record<string, string> | null {
  const cells = writeCells(definition, ctx);
  if (cells === null) return null;
  const back = rowToDefinition(2, cells, ctx);
  if (!back.ok) return null;
  return canonicalJson(back.definition) === canonicalJson(withoutId(definition)) ? cells : null;
}

function writeCells(p: Promotion, ctx: CsvContext): Record<string, string> | null {
  const benefit = p.benefit;
  let items: readonly string[] = [];
  let units = "";
  let value: ProductValue;
  if (benefit.kind === "cart") value = benefit.value;
  else if (benefit.kind === "products" && benefit.target.kind === "selector") {
    const include = benefit.target.scope.include;
    if (include.length !== 1 || include[0]!.kind !== "skus") return null;
    items = include[0]!.skus;
    value = benefit.value;
    if (benefit.target.quantity.kind === "custom") units = String(benefit.target.quantity.units);
  } else return null;
  const discount = writeValue(value, ctx);
  if (discount === null) return null;
  const limit = p.limits?.[0];
  const cells: Record<string, string> = {
    externalId: p.externalId ?? "",
    name: p.name,
    type: p.type === "loyalty" && p.activationRequired === true ? "personalized" : p.type,
    headline: p.headline ?? "",
    description: p.description ?? "",
    ...discount,
    catalogIndexItems: writeList(items),
    redeemQuantityPerActivation: units,
    redeemLimitPerClient: limit === undefined ? "" : String(limit.max),
    storeIds: writeList(p.scope?.storeIds ?? []),
    startAt: p.schedule.startsAt,
    expireAt: p.schedule.endsAt ?? "",
    priority: p.priority === undefined ? "" : String(p.priority),
  };
  for (const column of KEPT_COLUMNS) cells[column] = String(p.customFields?.[column] ?? "");
  (p.tags ?? []).forEach((tag, i) => (cells[tagColumn(i)] = tag));
  return cells;
}

function writeValue(value: ProductValue, ctx: CsvContext): Record<string, string> | null {
  switch (value.kind) {
    case "percentage":
      return { discountType: "percent", discountValue: intToDecimal(value.bps, 2) };
    case "fixed_amount":
      return { discountType: "amount", discountValue: formatMinor(value.amountMinor, ctx.currency) };
    case "exact_price":
      return { discountType: "price", discountValue: formatMinor(value.amountMinor, ctx.currency) };
    case "fixed_target_amount":
    case "free_product":
      return null;
    default:
      throw new Error(`unexpected value: ${JSON.stringify(value satisfies never)}`);
  }
}

/** The header of an export whose most-tagged promotion has `tagCount` tags (at least one column). */
export function csvHeader(tagCount: number): string[] {
  const tags = Math.min(Math.max(tagCount, 1), TAGS_MAX);
  return [...CSV_COLUMNS, ...Array.from({ length: tags }, (_, i) => tagColumn(i))];
}

function count(text: string, char: string): number {
  return text.split(char).length - 1;
}
