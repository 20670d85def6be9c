// Workspaces and API keys: creating a workspace gives its first admin key, shown once.
import { IANAZone } from "luxon";
import { invalid } from "./problem.js";
import type { Issue } from "../domain/check.js";
import { transaction, type Db, type Queryable } from "../store/db.js";
import {
  findApiKeyByHash,
  insertApiKey,
  insertWorkspace,
  type ApiKeyRow,
  type Role,
  type WorkspacePatch,
  type WorkspaceRow,
} from "../store/workspaces.js";
import { newId, newSecret, sha256 } from "./ids.js";

export interface WorkspaceInput {
  readonly name: string;
  readonly currency: string;
  readonly timeZone: string;
  readonly cartStacking?: boolean;
  readonly productStacking?: boolean;
  readonly activePromotionsMax?: number;
}

const CURRENCIES = new Set(Intl.supportedValuesOf("currency"));

/** The checks a schema cannot express: a real ISO 4217 code and a real IANA zone. */
export function checkWorkspaceSettings(patch: WorkspacePatch): Issue[] {
  const issues: Issue[] = [];
  if (patch.currency !== undefined && !CURRENCIES.has(patch.currency))
    issues.push({
      code: "unknown_currency",
      path: "/currency",
      message: "must be an ISO 4217 currency code",
    });
  if (patch.timeZone !== undefined && !IANAZone.isValidZone(patch.timeZone))
    issues.push({
      code: "unknown_time_zone",
      path: "/timeZone",
      message: "must be an IANA time zone, e.g. Europe/Berlin",
    });
  return issues;
}

export interface CreatedKey {
  readonly key: ApiKeyRow;
  /** The secret: shown once, never stored. */
  readonly secret: string;
}

export async function createWorkspace(
  db: Db,
  input: WorkspaceInput,
): Promise<{ workspace: WorkspaceRow; admin: CreatedKey }> {
  const issues = checkWorkspaceSettings(input);
  if (issues.length > 0) throw invalid(issues, 422);
  return transaction(db, async (tx) => {
    const workspace = await insertWorkspace(tx, {
      id: newId("ws"),
      name: input.name,
      currency: input.currency,
      timeZone: input.timeZone,
      cartStacking: input.cartStacking ?? true,
      productStacking: input.productStacking ?? true,
      activePromotionsMax: input.activePromotionsMax ?? 250,
    });
    const admin = await createApiKey(tx, workspace.id, { name: "admin", role: "admin", maySetPrices: false });
    return { workspace, admin };
  });
}

export async function createApiKey(
  q: Queryable,
  workspaceId: string,
  input: { name: string; role: Role; maySetPrices: boolean },
): Promise<CreatedKey> {
  const secret = newSecret();
  const key = await insertApiKey(q, { workspaceId, id: newId("key"), ...input }, sha256(secret));
  return { key, secret };
}

/**
 * Who a secret belongs to. Answers are cached for a few seconds per process, because every request
 * needs one; a revocation takes effect at once in the process that made it and within
 * KEY_CACHE_MS elsewhere.
 */
const KEY_CACHE_MS = 5_000;
const KEY_CACHE_MAX = 10_000;
const keyCache = new Map<string, { key: ApiKeyRow | null; until: number }>();

export async function authenticate(db: Db, secret: string, nowMs: number): Promise<ApiKeyRow | null> {
  const hash = sha256(secret);
  const cacheKey = hash.toString("base64");
  const hit = keyCache.get(cacheKey);
  if (hit && hit.until > nowMs) return hit.key;
  const key = await findApiKeyByHash(db, hash);
  if (keyCache.size >= KEY_CACHE_MAX) keyCache.clear();
  keyCache.set(cacheKey, { key, until: nowMs + KEY_CACHE_MS });
  return key;
}

export function forgetCachedKeys(): void {
  keyCache.clear();
}
