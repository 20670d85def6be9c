// The loyalty model's rows (event types, definitions), events, profile states, tier moves and
// recompute jobs. Every statement is keyed by workspace; batch writes are one statement each.
import type { ProfileState } from "../domain/loyalty/state.js";
import type { DefinitionKind, ParamType, ProfileEvent, ScalarValue } from "../domain/loyalty/definitions.js";
import type { Queryable } from "./db.js";

// ---- Event types and definitions --------------------------------------------------------------

export interface EventTypeRow {
  readonly name: string;
  readonly description: string | null;
  readonly params: Record<string, ParamType>;
  readonly createdAt: Date;
  readonly updatedAt: Date;
}

const EVENT_TYPE_COLUMNS = `name, description, params, created_at as "createdAt", updated_at as "updatedAt"`;

export async function listEventTypes(q: Queryable, workspaceId: string): Promise<EventTypeRow[]> {
  const { rows } = await q.query<EventTypeRow>(
    `select ${EVENT_TYPE_COLUMNS} from event_types where workspace_id = $1 order by name`,
    [workspaceId],
  );
  return rows;
}

export async function getEventType(
  q: Queryable,
  workspaceId: string,
  name: string,
): Promise<EventTypeRow | null> {
  const { rows } = await q.query<EventTypeRow>(
    `select ${EVENT_TYPE_COLUMNS} from event_types where workspace_id = $1 and name = $2`,
    [workspaceId, name],
  );
  return rows[0] ?? null;
}

export async function upsertEventType(
  q: Queryable,
  workspaceId: string,
  name: string,
  body: { description?: string; params: Record<string, ParamType> },
  now: Date,
): Promise<{ row: EventTypeRow; created: boolean }> {
  const { rows } = await q.query<EventTypeRow & { created: boolean }>(
    `insert into event_types (workspace_id, name, description, params, created_at, updated_at)
     values ($1, $2, $3, $4, $5, $5)
     on conflict (workspace_id, name) do update
       set description = excluded.description, params = excluded.params, updated_at = excluded.updated_at
     returning ${EVENT_TYPE_COLUMNS}, (xmax = 0) as created`,
    [workspaceId, name, body.description ?? null, JSON.stringify(body.params), now],
  );
  const { created, ...row } = rows[0]!;
  return { row, created };
}

export async function deleteEventType(q: Queryable, workspaceId: string, name: string): Promise<boolean> {
  const { rowCount } = await q.query(`delete from event_types where workspace_id = $1 and name = $2`, [
    workspaceId,
    name,
  ]);
  return rowCount === 1;
}

export interface DefinitionRow {
  readonly kind: DefinitionKind;
  readonly id: string;
  readonly name: string;
  readonly definition: Record<string, unknown>;
  readonly revision: number;
  readonly createdAt: Date;
  readonly updatedAt: Date;
}

const DEFINITION_COLUMNS = `kind, id, name, definition, revision, created_at as "createdAt", updated_at as "updatedAt"`;

export async function listDefinitions(
  q: Queryable,
  workspaceId: string,
  kind?: DefinitionKind,
): Promise<DefinitionRow[]> {
  const { rows } = await q.query<DefinitionRow>(
    `select ${DEFINITION_COLUMNS} from loyalty_definitions
      where workspace_id = $1 and ($2::text is null or kind = $2) order by kind, id`,
    [workspaceId, kind ?? null],
  );
  return rows;
}

export async function getDefinition(
  q: Queryable,
  workspaceId: string,
  kind: DefinitionKind,
  id: string,
): Promise<DefinitionRow | null> {
  const { rows } = await q.query<DefinitionRow>(
    `select ${DEFINITION_COLUMNS} from loyalty_definitions where workspace_id = $1 and kind = $2 and id = $3`,
    [workspaceId, kind, id],
  );
  return rows[0] ?? null;
}

/** Creates or replaces; a name held by another definition of the kind violates loyalty_definitions_name. */
export async function upsertDefinition(
  q: Queryable,
  workspaceId: string,
  kind: DefinitionKind,
  id: string,
  definition: { name: string },
  now: Date,
): Promise<{ row: DefinitionRow; created: boolean }> {
  const { rows } = await q.query<DefinitionRow & { created: boolean }>(
    `insert into loyalty_definitions (workspace_id, kind, id, name, definition, created_at, updated_at)
     values ($1, $2, $3, $4, $5, $6, $6)
     on conflict (workspace_id, kind, id) do update
       set name = excluded.name, definition = excluded.definition, updated_at = excluded.updated_at,
           revision = loyalty_definitions.revision + 1
     returning ${DEFINITION_COLUMNS}, (xmax = 0) as created`,
    [workspaceId, kind, id, definition.name, JSON.stringify(definition), now],
  );
  const { created, ...row } = rows[0]!;
  return { row, created };
}

export async function deleteDefinition(
  q: Queryable,
  workspaceId: string,
  kind: DefinitionKind,
  id: string,
): Promise<boolean> {
  const { rowCount } = await q.query(
    `delete from loyalty_definitions where workspace_id = $1 and kind = $2 and id = $3`,
    [workspaceId, kind, id],
  );
  return rowCount === 1;
}

/**
 * Serialises model changes per workspace (a definition is checked against the model as it is under
 * this lock); bumpLoyaltyVersion then moves loyalty_version so every process recompiles.
 */
export async function lockModel(q: Queryable, workspaceId: string): Promise<void> {
  // "no key update": sales insert rows that reference the workspace; they must not wait on this.
  await q.query(`select 1 from workspaces where id = $1 for no key update`, [workspaceId]);
}

export async function bumpLoyaltyVersion(q: Queryable, workspaceId: string): Promise<number> {
  const { rows } = await q.query<{ version: number }>(
    `update workspaces set loyalty_version = loyalty_version + 1 where id = $1 returning loyalty_version as version`,
    [workspaceId],
  );
  return rows[0]!.version;
}

export interface ModelRows {
  readonly version: number;
  readonly attributes: { name: string; type: ParamType }[];
  readonly eventTypes: { name: string; params: Record<string, ParamType> }[];
  readonly definitions: { kind: DefinitionKind; id: string; definition: Record<string, unknown> }[];
}

/** The whole model in one statement, with the version it belongs to. */
export async function loadModelRows(q: Queryable, workspaceId: string): Promise<ModelRows | null> {
  const { rows } = await q.query<ModelRows>(
    `select w.loyalty_version as version,
       (select coalesce(json_agg(json_build_object('name', name, 'type', type)), '[]')
          from attribute_definitions where workspace_id = $1) as attributes,
       (select coalesce(json_agg(json_build_object('name', name, 'params', params)), '[]')
          from event_types where workspace_id = $1) as "eventTypes",
       (select coalesce(json_agg(json_build_object('kind', kind, 'id', id, 'definition', definition)), '[]')
          from loyalty_definitions where workspace_id = $1) as definitions
     from workspaces w where w.id = $1`,
    [workspaceId],
  );
  return rows[0] ?? null;
}

// ---- Events -----------------------------------------------------------------------------------

export interface EventRecord extends ProfileEvent {
  readonly customerId: string;
  readonly source: "api" | "sale" | "return";
}

/**
 * Inserts the events (bare profiles created for unknown customers) and answers the ids that were
 * new: a resent event is not inserted twice and is not folded twice.
 */
export async function insertEvents(
  q: Queryable,
  workspaceId: string,
  events: readonly EventRecord[],
  nowMs: number,
): Promise<Set<string>> {
  if (events.length === 0) return new Set();
  const { rows } = await q.query<{ id: string }>(
    `with e as (
       select * from unnest($2::text[], $3::text[], $4::text[], $5::timestamptz[], $6::jsonb[], $7::text[])
         as t(id, customer_id, type, occurred_at, params, source)
     ), profiles as (
       insert into customers (workspace_id, id, created_at, updated_at)
       select distinct $1, customer_id, $8::timestamptz, $8::timestamptz from e
       on conflict do nothing
     )
     insert into events (workspace_id, id, customer_id, type, occurred_at, params, source, received_at)
     select $1, id, customer_id, type, occurred_at, params, source, $8 from e
     on conflict (workspace_id, id) do nothing
     returning id`,
    [
      workspaceId,
      events.map((e) => e.id),
      events.map((e) => e.customerId),
      events.map((e) => e.type),
      events.map((e) => new Date(e.atMs)),
      events.map((e) => JSON.stringify(e.params)),
      events.map((e) => e.source),
      new Date(nowMs),
    ],
  );
  return new Set(rows.map((r) => r.id));
}

/** All events of these profiles, oldest first. */
export async function loadEvents(
  q: Queryable,
  workspaceId: string,
  customerIds: readonly string[],
): Promise<Map<string, ProfileEvent[]>> {
  const { rows } = await q.query<{
    customerId: string;
    id: string;
    type: string;
    atMs: string;
    params: Record<string, ScalarValue>;
  }>(
    `select customer_id as "customerId", id, type,
            (extract(epoch from occurred_at) * 1000)::bigint as "atMs", params
       from events where workspace_id = $1 and customer_id = any($2::text[])
      order by customer_id, occurred_at, id`,
    [workspaceId, customerIds],
  );
  const byCustomer = new Map<string, ProfileEvent[]>(customerIds.map((id) => [id, []]));
  for (const r of rows) {
    byCustomer.get(r.customerId)!.push({ id: r.id, type: r.type, atMs: Number(r.atMs), params: r.params });
  }
  return byCustomer;
}

export interface EventJson {
  readonly id: string;
  readonly customerId: string;
  readonly type: string;
  readonly occurredAt: Date;
  readonly params: Record<string, ScalarValue>;
  readonly source: string;
  readonly receivedAt: Date;
}

export async function listCustomerEvents(
  q: Queryable,
  workspaceId: string,
  customerId: string,
  page: { limit: number; type?: string; before?: { atMs: number; id: string } },
): Promise<EventJson[]> {
  const { rows } = await q.query<EventJson>(
    `select id, customer_id as "customerId", type, occurred_at as "occurredAt", params, source,
            received_at as "receivedAt"
       from events
      where workspace_id = $1 and customer_id = $2 and ($3::text is null or type = $3)
        and ($4::timestamptz is null or (occurred_at, id) < ($4, $5))
      order by occurred_at desc, id desc limit $6`,
    [
      workspaceId,
      customerId,
      page.type ?? null,
      page.before ? new Date(page.before.atMs) : null,
      page.before?.id ?? null,
      page.limit,
    ],
  );
  return rows;
}

// ---- Profile states ---------------------------------------------------------------------------

export interface StateRow {
  readonly customerId: string;
  readonly attributes: Record<string, ScalarValue>;
  readonly state: ProfileState | null;
  readonly tiers: Record<string, string>;
  readonly segmentIds: string[];
  /** 0: no row yet. */
  readonly version: number;
}

/**
 * Locks the profiles' states in key order (creating the missing rows first, so there is a row to
 * lock) and reads them with the profiles' attributes.
 */
export async function lockStates(
  q: Queryable,
  workspaceId: string,
  customerIds: readonly string[],
  emptyState: ProfileState,
  nowMs: number,
): Promise<Map<string, StateRow>> {
  const sorted = [...new Set(customerIds)].sort();
  await q.query(
    `insert into profile_states (workspace_id, customer_id, state, evaluated_at)
     select $1, id, $3, $4 from unnest($2::text[]) as t(id) order by id
     on conflict do nothing`,
    [workspaceId, sorted, JSON.stringify(emptyState), new Date(nowMs)],
  );
  const { rows } = await q.query<StateRow>(
    `select s.customer_id as "customerId", c.attributes, s.state, s.tiers, s.segment_ids as "segmentIds",
            s.version::int as version
       from profile_states s join customers c on c.workspace_id = s.workspace_id and c.id = s.customer_id
      where s.workspace_id = $1 and s.customer_id = any($2::text[])
      order by s.customer_id for update of s`,
    [workspaceId, sorted],
  );
  return new Map(rows.map((r) => [r.customerId, r]));
}

export async function readState(
  q: Queryable,
  workspaceId: string,
  customerId: string,
): Promise<(StateRow & { hasEvents: boolean }) | null> {
  const { rows } = await q.query<StateRow & { hasEvents: boolean }>(
    `select c.id as "customerId", c.attributes, s.state, coalesce(s.tiers, '{}') as tiers,
            coalesce(s.segment_ids, '{}') as "segmentIds", coalesce(s.version, 0)::int as version,
            s.customer_id is not null or exists (
              select 1 from events e where e.workspace_id = c.workspace_id and e.customer_id = c.id
            ) as "hasEvents"
       from customers c left join profile_states s on s.workspace_id = c.workspace_id and s.customer_id = c.id
      where c.workspace_id = $1 and c.id = $2`,
    [workspaceId, customerId],
  );
  return rows[0] ?? null;
}

export interface StateWrite {
  readonly customerId: string;
  readonly state: ProfileState;
  readonly tiers: Record<string, string>;
  readonly segmentIds: readonly string[];
}

export interface TierMove {
  readonly customerId: string;
  readonly programId: string;
  readonly fromTier: string | null;
  readonly toTier: string | null;
  readonly cause: string;
}

/** Writes locked states (rows exist) and the tier moves they caused, in one statement. */
export async function writeStates(
  q: Queryable,
  workspaceId: string,
  writes: readonly StateWrite[],
  moves: readonly TierMove[],
  nowMs: number,
): Promise<void> {
  if (writes.length === 0 && moves.length === 0) return;
  await q.query(
    `with w as (
       update profile_states s
          set state = t.state, tiers = t.tiers, segment_ids = array(select jsonb_array_elements_text(t.segments)),
              version = s.version + 1, evaluated_at = $5
         from unnest($2::text[], $3::jsonb[], $4::jsonb[], $6::jsonb[]) as t(customer_id, state, tiers, segments)
        where s.workspace_id = $1 and s.customer_id = t.customer_id
     )
     insert into tier_moves (workspace_id, customer_id, program_id, from_tier, to_tier, moved_at, cause)
     select $1, m.customer_id, m.program_id, m.from_tier, m.to_tier, $5, m.cause
       from jsonb_to_recordset($7::jsonb)
         as m(customer_id text, program_id text, from_tier text, to_tier text, cause text)`,
    [
      workspaceId,
      writes.map((w) => w.customerId),
      writes.map((w) => JSON.stringify(w.state)),
      writes.map((w) => JSON.stringify(w.tiers)),
      new Date(nowMs),
      writes.map((w) => JSON.stringify(w.segmentIds)),
      JSON.stringify(
        moves.map((m) => ({
          customer_id: m.customerId,
          program_id: m.programId,
          from_tier: m.fromTier,
          to_tier: m.toTier,
          cause: m.cause,
        })),
      ),
    ],
  );
}

/**
 * The sale path in one statement: inserts the sale's events, writes the profile's new state only if
 * it is still the version pricing read (0: no row yet), and records the tier moves with it. Answers
 * false when another writer moved the state meanwhile: the caller locks, folds again and writes.
 */
export async function writeSaleProfile(
  q: Queryable,
  workspaceId: string,
  events: readonly EventRecord[],
  write: StateWrite,
  readVersion: number,
  moves: readonly TierMove[],
  nowMs: number,
): Promise<boolean> {
  const { rows } = await q.query<{ written: number }>({
    name: "till_sale_profile",
    text: `with ev as (
       insert into events (workspace_id, id, customer_id, type, occurred_at, params, source, received_at)
       select $1, e.id, $2, e.type, e.occurred_at, e.params, e.source, $3
         from jsonb_to_recordset($4::jsonb) as e(id text, type text, occurred_at timestamptz, params jsonb, source text)
       on conflict (workspace_id, id) do nothing
     ), st as (
       insert into profile_states (workspace_id, customer_id, state, tiers, segment_ids, version, evaluated_at)
       values ($1, $2, $5, $6, $7, 1, $3)
       on conflict (workspace_id, customer_id) do update
         set state = excluded.state, tiers = excluded.tiers, segment_ids = excluded.segment_ids,
             version = profile_states.version + 1, evaluated_at = excluded.evaluated_at
       where profile_states.version = $8
       returning 1
     ), mv as (
       insert into tier_moves (workspace_id, customer_id, program_id, from_tier, to_tier, moved_at, cause)
       select $1, $2, m.program_id, m.from_tier, m.to_tier, $3, m.cause
         from jsonb_to_recordset($9::jsonb) as m(program_id text, from_tier text, to_tier text, cause text)
        where exists (select 1 from st)
     )
     select count(*)::int as written from st`,
    values: [
      workspaceId,
      write.customerId,
      new Date(nowMs),
      JSON.stringify(
        events.map((e) => ({
          id: e.id,
          type: e.type,
          occurred_at: new Date(e.atMs).toISOString(),
          params: e.params,
          source: e.source,
        })),
      ),
      JSON.stringify(write.state),
      JSON.stringify(write.tiers),
      write.segmentIds,
      readVersion,
      JSON.stringify(
        moves.map((m) => ({
          program_id: m.programId,
          from_tier: m.fromTier,
          to_tier: m.toTier,
          cause: m.cause,
        })),
      ),
    ],
  });
  return rows[0]!.written === 1;
}

// ---- Reports ----------------------------------------------------------------------------------

export async function customersPerTier(
  q: Queryable,
  workspaceId: string,
  programId: string,
): Promise<{ tierId: string | null; customers: number }[]> {
  const { rows } = await q.query<{ tierId: string | null; customers: number }>(
    `select tiers ->> $2 as "tierId", count(*)::int as customers
       from profile_states where workspace_id = $1 group by 1`,
    [workspaceId, programId],
  );
  return rows;
}

export async function movesPerDay(
  q: Queryable,
  workspaceId: string,
  programId: string,
  range: { fromMs: number; toMs: number; timeZone: string },
): Promise<{ day: string; fromTier: string | null; toTier: string | null; moves: number }[]> {
  const { rows } = await q.query<{
    day: string;
    fromTier: string | null;
    toTier: string | null;
    moves: number;
  }>(
    `select to_char(moved_at at time zone $5, 'YYYY-MM-DD') as day, from_tier as "fromTier",
            to_tier as "toTier", count(*)::int as moves
       from tier_moves
      where workspace_id = $1 and program_id = $2 and moved_at >= $3 and moved_at < $4
      group by 1, 2, 3 order by 1, 2 nulls first, 3 nulls first`,
    [workspaceId, programId, new Date(range.fromMs), new Date(range.toMs), range.timeZone],
  );
  return rows;
}

export async function customerTierMoves(
  q: Queryable,
  workspaceId: string,
  customerId: string,
  limit: number,
): Promise<(TierMove & { movedAt: Date })[]> {
  const { rows } = await q.query<TierMove & { movedAt: Date }>(
    `select customer_id as "customerId", program_id as "programId", from_tier as "fromTier",
            to_tier as "toTier", cause, moved_at as "movedAt"
       from tier_moves where workspace_id = $1 and customer_id = $2 order by seq desc limit $3`,
    [workspaceId, customerId, limit],
  );
  return rows;
}
