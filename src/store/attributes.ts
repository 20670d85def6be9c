// Attribute declarations: the typed profile attributes expressions may use. Changes serialise on the
// workspace row (lockDeclarations) and move loyalty_version, which keys the compiled loyalty model.
// Profile writes that carry attributes take the same row in share mode (shareDeclarations), so a
// declaration never changes type under a profile write that checked against the old one.
import type { Queryable } from "./db.js";

export type AttributeType = "string" | "number" | "boolean" | "date";

export interface AttributeRecord {
  readonly name: string;
  readonly type: AttributeType;
  readonly description: string | null;
  /** Erasure removes a personal attribute's values and keeps the others. */
  readonly personal: boolean;
}

export interface AttributeRow extends AttributeRecord {
  readonly createdAt: Date;
  readonly updatedAt: Date;
}

const COLUMNS = `name, type, description, personal, created_at as "createdAt", updated_at as "updatedAt"`;

/**
 * Serialises declaration changes with each other, with loyalty model changes (which lock the row
 * for update) and with profile writes (share mode). NO KEY UPDATE: rows that merely reference the
 * workspace (sales, events) can still be inserted meanwhile.
 */
export async function lockDeclarations(q: Queryable, workspaceId: string): Promise<void> {
  await q.query(`select 1 from workspaces where id = $1 for no key update`, [workspaceId]);
}

/** Held by a profile write while it checks attribute values against the declarations. */
export async function shareDeclarations(q: Queryable, workspaceId: string): Promise<void> {
  await q.query(`select 1 from workspaces where id = $1 for share`, [workspaceId]);
}

export async function bumpLoyaltyVersion(q: Queryable, workspaceId: string): Promise<void> {
  await q.query(`update workspaces set loyalty_version = loyalty_version + 1 where id = $1`, [workspaceId]);
}

/** By name; only `names` when given. */
export async function listAttributes(
  q: Queryable,
  workspaceId: string,
  names?: readonly string[],
): Promise<AttributeRow[]> {
  const { rows } = await q.query<AttributeRow>(
    `select ${COLUMNS} from attribute_definitions
      where workspace_id = $1 and ($2::text[] is null or name = any($2::text[])) order by name`,
    [workspaceId, names ?? null],
  );
  return rows;
}

export async function getAttribute(
  q: Queryable,
  workspaceId: string,
  name: string,
): Promise<AttributeRow | null> {
  const { rows } = await q.query<AttributeRow>(
    `select ${COLUMNS} from attribute_definitions where workspace_id = $1 and name = $2`,
    [workspaceId, name],
  );
  return rows[0] ?? null;
}

export async function countAttributes(q: Queryable, workspaceId: string): Promise<number> {
  const { rows } = await q.query<{ count: number }>(
    `select count(*)::int as count from attribute_definitions where workspace_id = $1`,
    [workspaceId],
  );
  return rows[0]!.count;
}

/** Creates or replaces; created_at stays the first one's. */
export async function upsertAttribute(
  q: Queryable,
  workspaceId: string,
  attribute: AttributeRecord,
  at: Date,
): Promise<AttributeRow> {
  const { rows } = await q.query<AttributeRow>(
    `insert into attribute_definitions (workspace_id, name, type, description, personal, created_at, updated_at)
     values ($1, $2, $3, $4, $5, $6, $6)
     on conflict (workspace_id, name) do update
       set type = excluded.type, description = excluded.description, personal = excluded.personal,
           updated_at = excluded.updated_at
     returning ${COLUMNS}`,
    [workspaceId, attribute.name, attribute.type, attribute.description, attribute.personal, at],
  );
  return rows[0]!;
}

export async function deleteAttribute(q: Queryable, workspaceId: string, name: string): Promise<boolean> {
  const { rowCount } = await q.query(
    `delete from attribute_definitions where workspace_id = $1 and name = $2`,
    [workspaceId, name],
  );
  return rowCount === 1;
}

/**
 * How many profiles hold a value of the attribute that is not of `type`. A date is a string that
 * matches `datePattern` (a POSIX regular expression, the same one the API checks writes with).
 */
export async function countMisfits(
  q: Queryable,
  workspaceId: string,
  name: string,
  type: AttributeType,
  datePattern: string,
): Promise<number> {
  const { rows } = await q.query<{ count: number }>(
    `select count(*)::int as count from customers
      where workspace_id = $1 and attributes ? $2
        and not case $3::text
              when 'date' then jsonb_typeof(attributes -> $2) = 'string' and attributes ->> $2 ~ $4
              else jsonb_typeof(attributes -> $2) = $3::text end`,
    [workspaceId, name, type, datePattern],
  );
  return rows[0]!.count;
}

/**
 * The loyalty definitions that use the attribute: those holding, anywhere, an object whose `attr`
 * is `name` (an expression's attribute reference). Answers "<kind> <id>" in kind and id order.
 */
export async function attributeReferences(
  q: Queryable,
  workspaceId: string,
  name: string,
): Promise<string[]> {
  const { rows } = await q.query<{ ref: string }>(
    `select kind || ' ' || id as ref from loyalty_definitions
      where workspace_id = $1
        and jsonb_path_exists(definition, 'strict $.**.attr ? (@ == $n)', jsonb_build_object('n', $2::text))
      order by kind, id`,
    [workspaceId, name],
  );
  return rows.map((r) => r.ref);
}
