// Test data written straight to the database (validated first), for tests about sales and limits
// that should not depend on the admin endpoints; those have their own tests.
import { validatePromotion } from "../../src/domain/validate.js";
import type { TestServer } from "./harness.js";

export interface ItemFixture {
  readonly sku: string;
  readonly priceMinor: number;
  readonly categories?: readonly string[];
}

export async function insertItems(
  server: TestServer,
  items: readonly ItemFixture[],
  workspaceId?: string,
): Promise<void> {
  for (const item of items) {
    await server.db.query(
      `insert into catalog_items (workspace_id, sku, name, price_minor, categories) values ($1, $2, $2, $3, $4)
       on conflict (workspace_id, sku) do update set price_minor = excluded.price_minor, categories = excluded.categories`,
      [workspaceId ?? server.workspaceId, item.sku, item.priceMinor, item.categories ?? []],
    );
  }
}

/** Inserts a published promotion (and its codes) and bumps the workspace's promotions version. */
export async function insertPromotion(
  server: TestServer,
  definition: Record<string, unknown>,
  options: { codes?: readonly string[]; workspaceId?: string } = {},
): Promise<void> {
  const checked = validatePromotion({
    schedule: { startsAt: "2026-01-01T00:00:00Z" },
    conditions: [],
    type: "pos",
    ...definition,
  });
  if (!checked.ok) throw new Error(`invalid fixture: ${JSON.stringify(checked.issues)}`);
  const p = checked.value;
  const workspaceId = options.workspaceId ?? server.workspaceId;
  await server.db.query(
    `insert into promotions (workspace_id, id, name, status, definition, published_at) values ($1, $2, $3, 'published', $4, now())`,
    [workspaceId, p.id, p.name, p],
  );
  for (const code of options.codes ?? []) {
    await server.db.query(
      `insert into promotion_codes (workspace_id, code, promotion_id) values ($1, $2, $3)`,
      [workspaceId, code.toUpperCase(), p.id],
    );
  }
  await server.db.query(`update workspaces set promotions_version = promotions_version + 1 where id = $1`, [
    workspaceId,
  ]);
}

/** A product benefit: every unit of a category at an exact price, one "time" per unit. */
export function everyUnitAt(category: string, amountMinor: number): Record<string, unknown> {
  return {
    kind: "products",
    target: {
      kind: "selector",
      scope: { include: [{ kind: "categories", categories: [category] }] },
      quantity: { kind: "all" },
    },
    value: { kind: "exact_price", amountMinor },
    repeat: { per: 1, kpi: "quantity" },
  };
}

/** The ledger invariant: every counter equals the sum of its ledger entries in its cycle. */
export async function counterMismatches(server: TestServer): Promise<unknown[]> {
  const { rows } = await server.db.query(
    `select c.workspace_id, c.promotion_id, c.rule, c.subject, c.used, coalesce(sum(l.amount), 0)::bigint as ledger
       from limit_counters c
       left join limit_ledger l on l.workspace_id = c.workspace_id and l.promotion_id = c.promotion_id
        and l.rule = c.rule and l.subject = c.subject and l.cycle_start = c.cycle_start
      where c.rule not like '%:rolling_%'
      group by c.workspace_id, c.promotion_id, c.rule, c.subject, c.used
     having c.used <> coalesce(sum(l.amount), 0)`,
  );
  return rows;
}
