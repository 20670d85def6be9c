// Events sent by shops and apps (issue 4): one, or a batch whose events are checked one by one (a bad
// event is refused with its problems, the rest are kept). Each event has the sender's id: a resent
// event is answered "duplicate" and is not counted again. Accepted events are folded into their
// profiles' aggregate state in the same transaction (services/loyalty.ts).
import Type, { type Static } from "typebox";
import { checkSchema, type Issue } from "../domain/check.js";
import { ParamName } from "../domain/loyalty/definitions.js";
import { checkEvent } from "../domain/loyalty/model.js";
import { transaction, type Db } from "../store/db.js";
import { insertEvents, listCustomerEvents, type EventJson, type EventRecord } from "../store/loyalty.js";
import { closed, Id, Instant } from "./catalog.js";
import { earnFromActivities } from "./earning.js";
import { foldLocked, loyaltyModel } from "./loyalty.js";
import { invalid } from "./problem.js";

export const EVENTS_BATCH_MAX = 1_000;
/** A clock that runs ahead of ours by more than this is refused: events are facts, not plans. */
const FUTURE_SKEW_MS = 5 * 60_000;

export const EventSchema = Type.Object(
  {
    /** The sender's id for this event, unique in the workspace: a resent event counts once. */
    id: Type.String({ minLength: 1, maxLength: 200, pattern: "^[^\\u0000-\\u001f\\u007f]*$" }),
    customerId: Id,
    /** A built-in type (transaction.charge, loyaltyStatus, …) or a declared custom one. */
    type: Type.String({ minLength: 1, maxLength: 100 }),
    /** When it happened; default: when it arrives. */
    occurredAt: Type.Optional(Instant),
    params: Type.Optional(
      Type.Record(ParamName, Type.Union([Type.String({ maxLength: 1_000 }), Type.Number(), Type.Boolean()]), {
        maxProperties: 100,
      }),
    ),
  },
  closed,
);
export type EventInput = Static<typeof EventSchema>;

export const EventBatchSchema = Type.Object(
  {
    events: Type.Array(
      Type.Unsafe<unknown>({
        description: "An event as POST /v1/events takes it; each is checked on its own",
      }),
      { minItems: 1, maxItems: EVENTS_BATCH_MAX },
    ),
  },
  closed,
);
export type EventBatch = Static<typeof EventBatchSchema>;

const IssueJson = Type.Object({ code: Type.String(), path: Type.String(), message: Type.String() });
export const EventResultSchema = Type.Object({
  id: Type.Union([Type.String(), Type.Null()]),
  /** accepted: stored and counted; duplicate: an event with this id was already stored; rejected: not stored. */
  status: Type.Union([Type.Literal("accepted"), Type.Literal("duplicate"), Type.Literal("rejected")]),
  errors: Type.Optional(Type.Array(IssueJson)),
  /** The wallet entries this event earned (a registration or profile.update); absent when none. */
  earned: Type.Optional(Type.Array(Type.Object({ promotionId: Type.String(), entryId: Type.String() }))),
});
export type EventResult = Static<typeof EventResultSchema>;

export const EventBatchResultSchema = Type.Object({
  accepted: Type.Integer(),
  duplicates: Type.Integer(),
  rejected: Type.Integer(),
  results: Type.Array(EventResultSchema),
});
export type EventBatchResult = Static<typeof EventBatchResultSchema>;

export const EventJsonSchema = Type.Object({
  id: Type.String(),
  customerId: Type.String(),
  type: Type.String(),
  occurredAt: Instant,
  params: Type.Record(Type.String(), Type.Union([Type.String(), Type.Number(), Type.Boolean()])),
  source: Type.String(),
  receivedAt: Instant,
});

/** One event: any problem refuses it (400/422), as any other body. */
export async function ingestEvent(
  db: Db,
  workspaceId: string,
  event: EventInput,
  nowMs: number,
): Promise<EventResult> {
  const result = await ingest(db, workspaceId, [event], nowMs);
  const only = result.results[0]!;
  if (only.status === "rejected") throw invalid(only.errors ?? [], 422);
  return only;
}

/** A batch: every event checked on its own; the good ones stored and folded in one transaction. */
export async function ingestBatch(
  db: Db,
  workspaceId: string,
  batch: EventBatch,
  nowMs: number,
): Promise<EventBatchResult> {
  return ingest(db, workspaceId, batch.events, nowMs);
}

async function ingest(
  db: Db,
  workspaceId: string,
  events: readonly unknown[],
  nowMs: number,
): Promise<EventBatchResult> {
  return transaction(db, async (tx) => {
    const loaded = await loyaltyModel(tx, workspaceId);
    const results: EventResult[] = [];
    const good: EventRecord[] = [];
    const seen = new Set<string>();
    events.forEach((raw) => {
      const issues: Issue[] = [];
      const checked = checkSchema<EventInput>(EventSchema, raw);
      if (!checked.ok) issues.push(...checked.issues);
      const id = typeof (raw as { id?: unknown })?.id === "string" ? (raw as { id: string }).id : null;
      let record: EventRecord | null = null;
      if (checked.ok) {
        const e = checked.value;
        issues.push(...checkEvent(loaded.model, { type: e.type, params: e.params ?? {} }, ""));
        const atMs = e.occurredAt !== undefined ? Date.parse(e.occurredAt) : nowMs;
        if (atMs > nowMs + FUTURE_SKEW_MS)
          issues.push({ code: "in_future", path: "/occurredAt", message: "is later than now" });
        if (seen.has(e.id))
          issues.push({ code: "duplicate", path: "/id", message: "is repeated in this batch" });
        record = {
          id: e.id,
          customerId: e.customerId,
          type: e.type,
          atMs,
          params: e.params ?? {},
          source: "api",
        };
      }
      if (issues.length > 0 || record === null) {
        results.push({ id, status: "rejected", errors: issues });
        return;
      }
      seen.add(record.id);
      good.push(record);
      results.push({ id, status: "accepted" });
    });
    const fresh = await insertEvents(tx, workspaceId, good, nowMs);
    const byCustomer = new Map<string, EventRecord[]>();
    for (const e of good) {
      if (!fresh.has(e.id)) continue;
      const list = byCustomer.get(e.customerId);
      if (list === undefined) byCustomer.set(e.customerId, [e]);
      else list.push(e);
    }
    // Issue 5: new registration and profile.update events earn their entries, locking the customers'
    // rows before foldLocked locks their states (the sale path's order); the handbill.assign events
    // that writes are folded with the rest.
    const activity = await earnFromActivities(tx, workspaceId, [...byCustomer.values()].flat(), nowMs);
    for (const e of activity.assigned) byCustomer.get(e.customerId)!.push(e);
    await foldLocked(tx, workspaceId, loaded, byCustomer, nowMs);
    for (const r of results) {
      if (r.status !== "accepted") continue;
      if (!fresh.has(r.id!)) r.status = "duplicate";
      const earned = activity.earned.get(r.id!);
      if (earned !== undefined) r.earned = [...earned];
    }
    const count = (s: EventResult["status"]) => results.filter((r) => r.status === s).length;
    return {
      accepted: count("accepted"),
      duplicates: count("duplicate"),
      rejected: count("rejected"),
      results,
    };
  });
}

export async function readCustomerEvents(
  db: Db,
  workspaceId: string,
  customerId: string,
  query: { limit: number; type?: string; before?: string },
): Promise<{ items: EventJson[]; next: string | null }> {
  let before: { atMs: number; id: string } | undefined;
  if (query.before !== undefined) {
    const cut = query.before.indexOf("|");
    const atMs = Number(query.before.slice(0, cut));
    if (cut < 0 || !Number.isFinite(atMs))
      throw invalid([{ code: "invalid_value", path: "/query/before", message: "is not a page cursor" }]);
    before = { atMs, id: query.before.slice(cut + 1) };
  }
  const rows = await listCustomerEvents(db, workspaceId, customerId, {
    limit: query.limit + 1,
    ...(query.type !== undefined ? { type: query.type } : {}),
    ...(before !== undefined ? { before } : {}),
  });
  const items = rows.slice(0, query.limit);
  const last = items[items.length - 1];
  return {
    items,
    next: rows.length > query.limit && last ? `${last.occurredAt.getTime()}|${last.id}` : null,
  };
}
