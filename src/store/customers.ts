// Customer profiles: attributes, loyalty memberships, segment ids, consents, and the identifiers that
// find a profile (customer_identifiers: one holder per workspace, kind and value). A sale may also
// create a bare profile (store/pricing.ts loadPricingFacts) for a card the server has not seen yet.
import type { Membership } from "../domain/basket.js";
import type { Queryable } from "./db.js";

export type AttributeValue = string | number | boolean;

export type IdentifierKind = "email" | "phone" | "cardHash";

export interface Identifier {
  readonly kind: IdentifierKind;
  /** Normalised: emails and card hashes lower-cased, phones in E.164. */
  readonly value: string;
}

/** Absent: the customer has not said. */
export type Consents = {
  readonly email?: boolean;
  readonly sms?: boolean;
  readonly push?: boolean;
  readonly doNotDisturb?: boolean;
};

export interface CustomerRecord {
  readonly id: string;
  readonly attributes: Readonly<Record<string, AttributeValue>>;
  readonly memberships: readonly Membership[];
  readonly segmentIds: readonly string[];
  readonly consents: Consents;
}

export interface CustomerRow extends CustomerRecord {
  /** In (kind, value) order. */
  readonly identifiers: readonly Identifier[];
  readonly createdAt: Date;
  readonly updatedAt: Date;
  /** When the personal data was last erased; null if never. */
  readonly erasedAt: Date | null;
}

const COLUMNS = `c.id, c.attributes, c.memberships, c.segment_ids as "segmentIds", c.consents,
  (select coalesce(jsonb_agg(jsonb_build_object('kind', i.kind, 'value', i.value) order by i.kind, i.value), '[]')
     from customer_identifiers i where i.workspace_id = c.workspace_id and i.customer_id = c.id) as identifiers,
  c.created_at as "createdAt", c.updated_at as "updatedAt", c.erased_at as "erasedAt"`;

/** Creates the profile or replaces all of its fields; created_at stays the first one's. */
export async function upsertCustomer(
  q: Queryable,
  workspaceId: string,
  customer: CustomerRecord,
  at: Date,
): Promise<{ created: boolean }> {
  // `existing` reads the snapshot before the insert, so it tells a creation from a replacement.
  const { rows } = await q.query<{ created: boolean }>(
    `with existing as (select 1 from customers where workspace_id = $1 and id = $2),
          up as (
            insert into customers
              (workspace_id, id, attributes, memberships, segment_ids, consents, created_at, updated_at)
            values ($1, $2, $3::jsonb, $4::jsonb, $5::text[], $6::jsonb, $7, $7)
            on conflict (workspace_id, id) do update
              set attributes = excluded.attributes, memberships = excluded.memberships,
                  segment_ids = excluded.segment_ids, consents = excluded.consents,
                  updated_at = excluded.updated_at
            returning 1)
     select not exists (select 1 from existing) as created from up`,
    [
      workspaceId,
      customer.id,
      JSON.stringify(customer.attributes),
      JSON.stringify(customer.memberships),
      customer.segmentIds,
      JSON.stringify(customer.consents),
      at,
    ],
  );
  return { created: rows[0]!.created };
}

/** Overwrites the profile's fields; false when it does not exist. */
export async function updateCustomer(
  q: Queryable,
  workspaceId: string,
  customer: CustomerRecord,
  at: Date,
): Promise<boolean> {
  const { rowCount } = await q.query(
    `update customers set attributes = $3::jsonb, memberships = $4::jsonb, segment_ids = $5::text[],
            consents = $6::jsonb, updated_at = $7
      where workspace_id = $1 and id = $2`,
    [
      workspaceId,
      customer.id,
      JSON.stringify(customer.attributes),
      JSON.stringify(customer.memberships),
      customer.segmentIds,
      JSON.stringify(customer.consents),
      at,
    ],
  );
  return rowCount === 1;
}

/**
 * Makes `identifiers` the profile's whole set: drops the others and claims the new ones. Answers the
 * ones another profile holds (the caller rolls back). A value claimed concurrently by another
 * transaction waits for it on the primary key, then shows up here as taken.
 */
export async function replaceIdentifiers(
  q: Queryable,
  workspaceId: string,
  customerId: string,
  identifiers: readonly Identifier[],
  at: Date,
): Promise<Identifier[]> {
  const kinds = identifiers.map((i) => i.kind);
  const values = identifiers.map((i) => i.value);
  await q.query(
    `delete from customer_identifiers
      where workspace_id = $1 and customer_id = $2
        and (kind, value) not in (select * from unnest($3::text[], $4::text[]))`,
    [workspaceId, customerId, kinds, values],
  );
  if (identifiers.length === 0) return [];
  await q.query(
    `insert into customer_identifiers (workspace_id, kind, value, customer_id, created_at)
     select $1, kind, value, $2, $5 from unnest($3::text[], $4::text[]) as t(kind, value)
     on conflict do nothing`,
    [workspaceId, customerId, kinds, values, at],
  );
  // A new statement: its snapshot sees what a concurrent claimant committed while we waited.
  const { rows } = await q.query<Identifier>(
    `select kind, value from customer_identifiers
      where workspace_id = $1 and customer_id <> $2
        and (kind, value) in (select * from unnest($3::text[], $4::text[]))
      order by kind, value`,
    [workspaceId, customerId, kinds, values],
  );
  return rows;
}

/** The profile that holds the identifier, or null. */
export async function findByIdentifier(
  q: Queryable,
  workspaceId: string,
  identifier: Identifier,
): Promise<string | null> {
  const { rows } = await q.query<{ customerId: string }>(
    `select customer_id as "customerId" from customer_identifiers
      where workspace_id = $1 and kind = $2 and value = $3`,
    [workspaceId, identifier.kind, identifier.value],
  );
  return rows[0]?.customerId ?? null;
}

/**
 * Creates an empty profile unless the id exists, then gives it the identifier unless another profile
 * holds it. Answers the identifier's holder: this profile, or the one that claimed it first; null in
 * the rare case that the holder let go of it between the claim and the read (the caller tries again).
 */
export async function claimBareProfile(
  q: Queryable,
  workspaceId: string,
  customerId: string,
  identifier: Identifier,
  at: Date,
): Promise<string | null> {
  await q.query(
    `insert into customers (workspace_id, id, created_at, updated_at) values ($1, $2, $3, $3)
     on conflict do nothing`,
    [workspaceId, customerId, at],
  );
  const claimed = await q.query(
    `insert into customer_identifiers (workspace_id, kind, value, customer_id, created_at)
     values ($1, $2, $3, $4, $5) on conflict do nothing`,
    [workspaceId, identifier.kind, identifier.value, customerId, at],
  );
  if (claimed.rowCount === 1) return customerId;
  return findByIdentifier(q, workspaceId, identifier);
}

export async function getCustomer(
  q: Queryable,
  workspaceId: string,
  id: string,
  options: { forUpdate?: boolean } = {},
): Promise<CustomerRow | null> {
  const { rows } = await q.query<CustomerRow>(
    `select ${COLUMNS} from customers c where c.workspace_id = $1 and c.id = $2${options.forUpdate ? " for update of c" : ""}`,
    [workspaceId, id],
  );
  return rows[0] ?? null;
}

/**
 * Profiles in id order, keyset-paged, optionally only the members of one segment or the holders of
 * identifiers (all of them).
 */
export async function listCustomers(
  q: Queryable,
  workspaceId: string,
  filter: { segmentId?: string; identifiers?: readonly Identifier[]; after?: string; limit: number },
): Promise<CustomerRow[]> {
  const values: unknown[] = [workspaceId];
  const where = ["c.workspace_id = $1"];
  if (filter.segmentId !== undefined) {
    values.push(filter.segmentId);
    where.push(`c.segment_ids @> array[$${values.length}]::text[]`);
  }
  for (const identifier of filter.identifiers ?? []) {
    values.push(identifier.kind, identifier.value);
    where.push(
      `c.id in (select customer_id from customer_identifiers
                 where workspace_id = $1 and kind = $${values.length - 1} and value = $${values.length})`,
    );
  }
  if (filter.after !== undefined) {
    values.push(filter.after);
    where.push(`c.id > $${values.length}`);
  }
  values.push(filter.limit);
  const { rows } = await q.query<CustomerRow>(
    `select ${COLUMNS} from customers c where ${where.join(" and ")} order by c.id limit $${values.length}`,
    values,
  );
  return rows;
}

/** What erasure leaves in place. */
export interface ErasureKeeps {
  /** Declared attributes that are not personal. */
  readonly attributes: readonly string[];
  /** Event types whose `params` keep the money figures, and which of their params those are. */
  readonly moneyEventTypes: readonly string[];
  readonly moneyParams: readonly string[];
}

/**
 * Removes the profile's personal data: attributes but `keeps.attributes`, identifiers, consents, and
 * event params but the money figures of `keeps.moneyEventTypes`. erased_at (and updated_at) move only
 * when something was removed or the profile was never erased, so a repeated erasure changes nothing.
 * The caller holds the profile's row lock.
 */
export async function eraseCustomerData(
  q: Queryable,
  workspaceId: string,
  current: CustomerRow,
  keeps: ErasureKeeps,
  at: Date,
): Promise<void> {
  const identifiers = await q.query(
    `delete from customer_identifiers where workspace_id = $1 and customer_id = $2`,
    [workspaceId, current.id],
  );
  const events = await q.query(
    `with stripped as (
       select id, case when type = any($3::text[])
                  then params - array(select k from jsonb_object_keys(params) as k where k <> all($4::text[]))
                  else '{}'::jsonb end as params
         from events where workspace_id = $1 and customer_id = $2)
     update events e set params = s.params from stripped s
      where e.workspace_id = $1 and e.id = s.id and e.params <> s.params`,
    [workspaceId, current.id, keeps.moneyEventTypes, keeps.moneyParams],
  );
  // The loyalty state was folded from the params just removed: empty it, so it is rebuilt from the
  // stripped events when next read (services/loyalty.ts), keeping what the money figures count.
  if ((events.rowCount ?? 0) > 0) {
    await q.query(
      `update profile_states set state = '{"aggregates":{}}', version = version + 1
        where workspace_id = $1 and customer_id = $2`,
      [workspaceId, current.id],
    );
  }
  const kept = Object.fromEntries(
    Object.entries(current.attributes).filter(([name]) => keeps.attributes.includes(name)),
  );
  const changed =
    (identifiers.rowCount ?? 0) > 0 ||
    (events.rowCount ?? 0) > 0 ||
    Object.keys(kept).length !== Object.keys(current.attributes).length ||
    Object.keys(current.consents).length > 0;
  if (!changed && current.erasedAt !== null) return;
  await q.query(
    `update customers set attributes = $3::jsonb, consents = '{}', erased_at = $4, updated_at = $4
      where workspace_id = $1 and id = $2`,
    [workspaceId, current.id, JSON.stringify(kept), at],
  );
}
