// `till evaluate`: prices a basket file against a promotions file and prints the receipt with the
// reasons, so the engine is usable (and explainable) without a server.
import { readFile } from "node:fs/promises";
import Table from "cli-table3";
import { IANAZone } from "luxon";
import { BasketSchema, CustomerContextSchema, WorkspaceSettingsSchema } from "../domain/basket.js";
import type { Basket, CustomerContext, WorkspaceSettings } from "../domain/basket.js";
import { checkSchema, isInstant, type Issue } from "../domain/check.js";
import { formatMinor } from "../domain/money.js";
import type { Promotion } from "../domain/promotion.js";
import { validatePromotion } from "../domain/validate.js";
import { compilePromotions, evaluate, type Evaluation } from "../engine/index.js";

export interface EvaluateOptions {
  readonly promotions: string;
  readonly basket: string;
  readonly at?: string;
  readonly json?: boolean;
  readonly all?: boolean;
}

/** A problem with the user's files: printed as a list, exit code 2. */
export class InputError extends Error {
  constructor(
    message: string,
    readonly issues: readonly Issue[] = [],
  ) {
    super(message);
  }
}

const DEFAULT_SETTINGS: WorkspaceSettings = { currency: "EUR", timeZone: "UTC" };

export async function runEvaluate(options: EvaluateOptions): Promise<string> {
  const { promotions, settings } = await loadPromotions(options.promotions);
  const { basket, customer, settings: basketSettings } = await loadBasket(options.basket);
  const at = options.at ?? new Date().toISOString();
  if (!isInstant(at)) throw new InputError(`--at must be an ISO 8601 instant with an offset, got "${at}"`);
  const result = evaluate(compilePromotions(promotions), {
    basket,
    ...(customer ? { customer } : {}),
    settings: basketSettings ?? settings,
    at,
    explainAll: options.all === true,
  });
  return options.json ? JSON.stringify(result, null, 2) : renderReceipt(result);
}

async function readJson(path: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    throw new InputError(`cannot read ${path}: ${(error as Error).message}`);
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new InputError(`${path} is not valid JSON: ${(error as Error).message}`);
  }
}

/** A promotions file is an array of promotions, or { settings, promotions }. */
async function loadPromotions(
  path: string,
): Promise<{ promotions: Promotion[]; settings: WorkspaceSettings }> {
  const data = await readJson(path);
  const wrapped = !Array.isArray(data) && typeof data === "object" && data !== null;
  const list = wrapped ? (data as { promotions?: unknown }).promotions : data;
  if (!Array.isArray(list))
    throw new InputError(`${path} must hold an array of promotions or { "promotions": [...] }`);
  const issues: Issue[] = [];
  const promotions: Promotion[] = [];
  const ids = new Set<string>();
  list.forEach((item, i) => {
    const checked = validatePromotion(item);
    if (!checked.ok)
      issues.push(...checked.issues.map((issue) => ({ ...issue, path: `/promotions/${i}${issue.path}` })));
    else if (ids.has(checked.value.id))
      issues.push({ code: "duplicate_id", path: `/promotions/${i}/id`, message: "is used twice" });
    else {
      ids.add(checked.value.id);
      promotions.push(checked.value);
    }
  });
  const settings = wrapped
    ? settingsFrom((data as { settings?: unknown }).settings, `${path}: /settings`)
    : undefined;
  if (issues.length > 0) throw new InputError(`${path} has invalid promotions`, issues);
  return { promotions, settings: settings ?? DEFAULT_SETTINGS };
}

/** A basket file is a basket, or { basket, customer?, settings? }. */
async function loadBasket(
  path: string,
): Promise<{ basket: Basket; customer?: CustomerContext; settings?: WorkspaceSettings }> {
  const data = (await readJson(path)) as Record<string, unknown>;
  const wrapped = typeof data === "object" && data !== null && "basket" in data;
  const basket = expect<Basket>(BasketSchema, wrapped ? data.basket : data, `${path}: /basket`);
  const ids = new Set<string>();
  for (const line of basket.lines) {
    if (ids.has(line.id)) throw new InputError(`${path}: line id "${line.id}" is used twice`);
    ids.add(line.id);
  }
  const customer =
    wrapped && data.customer !== undefined
      ? expect<CustomerContext>(CustomerContextSchema, data.customer, `${path}: /customer`)
      : undefined;
  const settings = wrapped ? settingsFrom(data.settings, `${path}: /settings`) : undefined;
  return { basket, ...(customer ? { customer } : {}), ...(settings ? { settings } : {}) };
}

function settingsFrom(value: unknown, where: string): WorkspaceSettings | undefined {
  if (value === undefined) return undefined;
  const settings = expect<WorkspaceSettings>(WorkspaceSettingsSchema, value, where);
  if (!IANAZone.isValidZone(settings.timeZone)) {
    throw new InputError(`${where}/timeZone: unknown IANA time zone "${settings.timeZone}"`);
  }
  return settings;
}

function expect<T>(schema: unknown, value: unknown, where: string): T {
  const checked = checkSchema<T>(schema, value);
  if (!checked.ok) throw new InputError(`${where} is invalid`, checked.issues);
  return checked.value;
}

export function renderReceipt(result: Evaluation): string {
  const money = (amount: number): string => formatMinor(amount, result.currency);
  const lines = new Table({
    head: ["line", "sku", "qty", "unit", "gross", "discounts", "net"],
    colAligns: ["left", "left", "right", "right", "right", "left", "right"],
  });
  for (const line of result.lines) {
    const discounts = line.discounts.map((d) => `-${money(d.amountMinor)} ${d.promotionId}`).join("\n");
    lines.push([
      line.lineId,
      line.sku,
      line.quantity,
      money(line.unitPriceMinor),
      money(line.grossMinor),
      discounts,
      money(line.netMinor),
    ]);
  }
  const { grossMinor, discountMinor, netMinor } = result.totals;
  lines.push([
    { colSpan: 4, content: `TOTAL ${result.currency}` },
    money(grossMinor),
    `-${money(discountMinor)}`,
    money(netMinor),
  ]);
  const out = [lines.toString()];
  if (result.applied.length > 0) {
    const applied = new Table({ head: ["applied", "discount", "times", "units", "consumes"] });
    for (const a of result.applied) {
      const consumes =
        a.consumption.map((c) => `${c.rule} +${c.amount}`).join("\n") +
        (a.cappedBy ? `\ncapped by ${a.cappedBy}` : "");
      applied.push([
        `${a.promotionId}\n${a.name}`,
        money(a.discountMinor),
        a.instances,
        a.units,
        consumes.trim(),
      ]);
    }
    out.push(applied.toString());
  }
  if (result.rejected.length > 0) {
    const rejected = new Table({
      head: ["not applied", "reason", "why"],
      colWidths: [34, 24, 60],
      wordWrap: true,
    });
    for (const r of result.rejected) rejected.push([`${r.promotionId}\n${r.name}`, r.code, r.message]);
    out.push(rejected.toString());
  }
  return out.join("\n");
}
