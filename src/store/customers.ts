// Customer profiles: attributes, loyalty memberships and segment ids. A sale may also create a bare
// profile (store/pricing.ts loadPricingFacts) for a card the server has not seen yet.
import type { Membership } from "../domain/basket.js";
import type { Queryable } from "./db.js";

export type AttributeValue = string | number | boolean;

export interface CustomerRecord {
  readonly id: string;
  readonly attributes: Readonly<Record<string, AttributeValue>>;
  readonly memberships: readonly Membership[];
  readonly segmentIds: readonly string[];
}

export interface CustomerRow extends CustomerRecord {
  readonly createdAt: Date;
  readonly updatedAt: Date;
}

const COLUMNS = `id, attributes, memberships, segment_ids as "segmentIds", created_at as "createdAt",
  updated_at as "updatedAt"`;

/** Creates the profile or replaces all of its fields; created_at stays the first one's. */
export async function upsertCustomer(
  q: Queryable,
  workspaceId: string,
  customer: CustomerRecord,
  at: Date,
): Promise<{ row: CustomerRow; created: boolean }> {
  // `existing` reads the snapshot before the insert, so it tells a creation from a replacement.
  const { rows } = await q.query<CustomerRow & { created: boolean }>(
    `with existing as (select 1 from customers where workspace_id = $1 and id = $2),
          up as (
            insert into customers (workspace_id, id, attributes, memberships, segment_ids, created_at, updated_at)
            values ($1, $2, $3::jsonb, $4::jsonb, $5::text[], $6, $6)
            on conflict (workspace_id, id) do update
              set attributes = excluded.attributes, memberships = excluded.memberships,
                  segment_ids = excluded.segment_ids, updated_at = excluded.updated_at
            returning ${COLUMNS})
     select up.*, not exists (select 1 from existing) as created from up`,
    [
      workspaceId,
      customer.id,
      JSON.stringify(customer.attributes),
      JSON.stringify(customer.memberships),
      customer.segmentIds,
      at,
    ],
  );
  const { created, ...row } = rows[0]!;
  return { row, created };
}

/** Overwrites the profile's fields; null when it does not exist. */
export async function updateCustomer(
  q: Queryable,
  workspaceId: string,
  customer: CustomerRecord,
  at: Date,
): Promise<CustomerRow | null> {
  const { rows } = await q.query<CustomerRow>(
    `update customers set attributes = $3::jsonb, memberships = $4::jsonb, segment_ids = $5::text[], updated_at = $6
      where workspace_id = $1 and id = $2 returning ${COLUMNS}`,
    [
      workspaceId,
      customer.id,
      JSON.stringify(customer.attributes),
      JSON.stringify(customer.memberships),
      customer.segmentIds,
      at,
    ],
  );
  return rows[0] ?? null;
}

export async function getCustomer(
  q: Queryable,
  workspaceId: string,
  id: string,
  options: { forUpdate?: boolean } = {},
): Promise<CustomerRow | null> {
  const { rows } = await q.query<CustomerRow>(
    `select ${COLUMNS} from customers where workspace_id = $1 and id = $2${options.forUpdate ? " for update" : ""}`,
    [workspaceId, id],
  );
  return rows[0] ?? null;
}

/** Profiles in id order, keyset-paged, optionally only the members of one segment. */
export async function listCustomers(
  q: Queryable,
  workspaceId: string,
  filter: { segmentId?: string; after?: string; limit: number },
): Promise<CustomerRow[]> {
  const values: unknown[] = [workspaceId];
  const where = ["workspace_id = $1"];
  if (filter.segmentId !== undefined) {
    values.push(filter.segmentId);
    where.push(`segment_ids @> array[$${values.length}]::text[]`);
  }
  if (filter.after !== undefined) {
    values.push(filter.after);
    where.push(`id > $${values.length}`);
  }
  values.push(filter.limit);
  const { rows } = await q.query<CustomerRow>(
    `select ${COLUMNS} from customers where ${where.join(" and ")} order by id limit $${values.length}`,
    values,
  );
  return rows;
}
