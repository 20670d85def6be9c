// Workspaces and their API keys.
import type { Queryable } from "./db.js";

export interface WorkspaceRow {
  readonly id: string;
  readonly name: string;
  readonly currency: string;
  readonly timeZone: string;
  readonly cartStacking: boolean;
  readonly productStacking: boolean;
  readonly activePromotionsMax: number;
  readonly promotionsVersion: number;
  /** Moves with every change to the loyalty model (definitions, event types, attribute declarations). */
  readonly loyaltyVersion: number;
  readonly createdAt: Date;
}

const WORKSPACE_COLUMNS = `id, name, currency, time_zone as "timeZone", cart_stacking as "cartStacking",
  product_stacking as "productStacking", active_promotions_max as "activePromotionsMax",
  promotions_version as "promotionsVersion", loyalty_version as "loyaltyVersion",
  created_at as "createdAt"`;

export async function insertWorkspace(
  q: Queryable,
  w: Omit<WorkspaceRow, "promotionsVersion" | "loyaltyVersion" | "createdAt">,
): Promise<WorkspaceRow> {
  const { rows } = await q.query<WorkspaceRow>(
    `insert into workspaces (id, name, currency, time_zone, cart_stacking, product_stacking, active_promotions_max)
     values ($1, $2, $3, $4, $5, $6, $7) returning ${WORKSPACE_COLUMNS}`,
    [w.id, w.name, w.currency, w.timeZone, w.cartStacking, w.productStacking, w.activePromotionsMax],
  );
  return rows[0]!;
}

export async function getWorkspace(q: Queryable, id: string): Promise<WorkspaceRow | null> {
  const { rows } = await q.query<WorkspaceRow>(`select ${WORKSPACE_COLUMNS} from workspaces where id = $1`, [
    id,
  ]);
  return rows[0] ?? null;
}

export async function countWorkspaces(q: Queryable): Promise<number> {
  const { rows } = await q.query<{ n: number }>("select count(*)::int as n from workspaces");
  return rows[0]!.n;
}

export type WorkspacePatch = Partial<
  Pick<
    WorkspaceRow,
    "name" | "currency" | "timeZone" | "cartStacking" | "productStacking" | "activePromotionsMax"
  >
>;

const PATCH_COLUMNS: Record<keyof WorkspacePatch, string> = {
  name: "name",
  currency: "currency",
  timeZone: "time_zone",
  cartStacking: "cart_stacking",
  productStacking: "product_stacking",
  activePromotionsMax: "active_promotions_max",
};

export async function updateWorkspace(
  q: Queryable,
  id: string,
  patch: WorkspacePatch,
): Promise<WorkspaceRow> {
  const sets: string[] = [];
  const values: unknown[] = [id];
  for (const [key, column] of Object.entries(PATCH_COLUMNS) as [keyof WorkspacePatch, string][]) {
    if (patch[key] === undefined) continue;
    values.push(patch[key]);
    sets.push(`${column} = $${values.length}`);
  }
  // Stacking switches change what the engine does: bump the version so caches recompile.
  sets.push("promotions_version = promotions_version + 1");
  const { rows } = await q.query<WorkspaceRow>(
    `update workspaces set ${sets.join(", ")} where id = $1 returning ${WORKSPACE_COLUMNS}`,
    values,
  );
  return rows[0]!;
}

export type Role = "admin" | "marketer" | "pos" | "app";

export interface ApiKeyRow {
  readonly workspaceId: string;
  readonly id: string;
  readonly name: string;
  readonly role: Role;
  readonly maySetPrices: boolean;
  readonly createdAt: Date;
  readonly revokedAt: Date | null;
}

const KEY_COLUMNS = `workspace_id as "workspaceId", id, name, role, may_set_prices as "maySetPrices",
  created_at as "createdAt", revoked_at as "revokedAt"`;

export async function insertApiKey(
  q: Queryable,
  key: Pick<ApiKeyRow, "workspaceId" | "id" | "name" | "role" | "maySetPrices">,
  secretHash: Buffer,
): Promise<ApiKeyRow> {
  const { rows } = await q.query<ApiKeyRow>(
    `insert into api_keys (workspace_id, id, name, role, may_set_prices, secret_hash)
     values ($1, $2, $3, $4, $5, $6) returning ${KEY_COLUMNS}`,
    [key.workspaceId, key.id, key.name, key.role, key.maySetPrices, secretHash],
  );
  return rows[0]!;
}

export async function findApiKeyByHash(q: Queryable, secretHash: Buffer): Promise<ApiKeyRow | null> {
  const { rows } = await q.query<ApiKeyRow>(
    `select ${KEY_COLUMNS} from api_keys where secret_hash = $1 and revoked_at is null`,
    [secretHash],
  );
  return rows[0] ?? null;
}

export async function listApiKeys(q: Queryable, workspaceId: string): Promise<ApiKeyRow[]> {
  const { rows } = await q.query<ApiKeyRow>(
    `select ${KEY_COLUMNS} from api_keys where workspace_id = $1 order by created_at, id`,
    [workspaceId],
  );
  return rows;
}

export async function revokeApiKey(q: Queryable, workspaceId: string, id: string): Promise<ApiKeyRow | null> {
  const { rows } = await q.query<ApiKeyRow>(
    `update api_keys set revoked_at = coalesce(revoked_at, now())
     where workspace_id = $1 and id = $2 returning ${KEY_COLUMNS}`,
    [workspaceId, id],
  );
  return rows[0] ?? null;
}
