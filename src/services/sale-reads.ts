// Reading sales back: the receipt as answered, the lines with what was returned, the redemptions.
import type { Db } from "../store/db.js";
import { findSale, listSales, saleLines, saleRedemptions } from "../store/sales.js";
import { saleReturns } from "../store/returns.js";
import { notFound } from "./problem.js";

export async function readSale(db: Db, workspaceId: string, saleId: string) {
  const sale = await findSale(db, workspaceId, { id: saleId });
  if (sale === null) throw notFound(`sale ${saleId}`);
  const [lines, redemptions, returns, receipt] = await Promise.all([
    saleLines(db, workspaceId, sale.id),
    saleRedemptions(db, workspaceId, sale.id),
    saleReturns(db, workspaceId, sale.id),
    db.query<{ receipt: unknown }>("select receipt from sales where workspace_id = $1 and id = $2", [
      workspaceId,
      sale.id,
    ]),
  ]);
  return { ...summaryJson(sale), lines, redemptions, returns, receipt: receipt.rows[0]?.receipt };
}

export async function readSales(
  db: Db,
  workspaceId: string,
  query: { customerId?: string; transactionId?: string; limit: number; before?: string },
) {
  if (query.transactionId !== undefined) {
    const sale = await findSale(db, workspaceId, { transactionId: query.transactionId });
    return { items: sale ? [summaryJson(sale)] : [] };
  }
  const rows = await listSales(db, workspaceId, query);
  return {
    items: rows.map(summaryJson),
    ...(rows.length === query.limit ? { next: rows.at(-1)!.id } : {}),
  };
}

function summaryJson(s: Awaited<ReturnType<typeof findSale>> & object) {
  return { ...s, occurredAt: s.occurredAt.toISOString() };
}
