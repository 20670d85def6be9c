// The loyalty model over HTTP (issue 4): event types, events, aggregates, expressions, segmentations,
// tier programs (with seed 003 as a template and a report), and a customer's values now. Marketers
// and admins define; tills and apps send events and read a customer's tiers.
import type { FastifyInstance } from "fastify";
import Type from "typebox";
import {
  DefinitionId,
  EventTypeBodySchema,
  type DefinitionKind,
  type EventTypeBody,
} from "../../domain/loyalty/definitions.js";
import { closed, Id } from "../../services/catalog.js";
import {
  EventBatchResultSchema,
  EventBatchSchema,
  EventJsonSchema,
  EventResultSchema,
  EventSchema,
  ingestBatch,
  ingestEvent,
  readCustomerEvents,
  type EventBatch,
  type EventInput,
} from "../../services/events.js";
import {
  BODY_SCHEMAS,
  DefinitionJsonSchema,
  EVENT_TYPE_NAME,
  EventTypeJsonSchema,
  putDefinition,
  putEventType,
  readDefinition,
  readDefinitions,
  readEventType,
  readEventTypes,
  removeDefinition,
  removeEventType,
  type DefinitionBody,
} from "../../services/loyalty-definitions.js";
import {
  CustomerLoyaltySchema,
  TierReportQuerySchema,
  TierReportSchema,
  readCustomerLoyalty,
  readTierReport,
  type TierReportQuery,
} from "../../services/loyalty-reports.js";
import {
  TierTemplateResultSchema,
  TierTemplateSchema,
  applyTierTemplate,
  type TierTemplate,
} from "../../services/loyalty-template.js";

const DEFINERS = ["admin", "marketer"] as const;
const EVERYONE = ["admin", "marketer", "pos", "app"] as const;
const SENDERS = ["admin", "marketer", "pos", "app"] as const;
const TAGS = ["Loyalty"];

const DefinitionParams = Type.Object({ id: DefinitionId }, closed);
const EventTypeParams = Type.Object(
  { name: Type.String({ minLength: 1, maxLength: 100, pattern: EVENT_TYPE_NAME }) },
  closed,
);
const CustomerParams = Type.Object({ id: Id }, closed);
const EventsQuery = Type.Object(
  {
    type: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
    limit: Type.Integer({ minimum: 1, maximum: 500, default: 100 }),
    before: Type.Optional(
      Type.String({ minLength: 1, maxLength: 300, description: "`next` of the previous page" }),
    ),
  },
  closed,
);

const RESOURCES: { kind: DefinitionKind; path: string; noun: string; about: string }[] = [
  {
    kind: "aggregate",
    path: "aggregates",
    noun: "aggregate",
    about:
      "first, last, count, sum, min, max or avg of an event parameter, with filters, over the lifetime or the last N days or hours",
  },
  {
    kind: "expression",
    path: "expressions",
    noun: "expression",
    about: "a formula over attributes, aggregates and other expressions; may yield an error value",
  },
  {
    kind: "segmentation",
    path: "segmentations",
    noun: "segmentation",
    about: "named segments, each a condition; promotions target the segment ids",
  },
  {
    kind: "tierProgram",
    path: "tier-programs",
    noun: "tier program",
    about: "tiers as thresholds over an expression; promotions target {programId, tierIds}",
  },
];

export async function loyalty(app: FastifyInstance): Promise<void> {
  const { db } = app.deps;

  for (const r of RESOURCES) {
    app.get(
      `/${r.path}`,
      {
        config: { roles: DEFINERS },
        schema: {
          tags: TAGS,
          summary: `The workspace's ${r.noun}s`,
          response: { 200: Type.Object({ items: Type.Array(DefinitionJsonSchema) }) },
        },
      },
      async (request) => readDefinitions(db, request.principal.workspaceId, r.kind),
    );
    app.get<{ Params: { id: string } }>(
      `/${r.path}/:id`,
      {
        config: { roles: DEFINERS },
        schema: {
          tags: TAGS,
          summary: `A ${r.noun}, with its readable text form`,
          params: DefinitionParams,
          response: { 200: DefinitionJsonSchema },
        },
      },
      async (request) => readDefinition(db, request.principal.workspaceId, r.kind, request.params.id),
    );
    app.put<{ Params: { id: string }; Body: DefinitionBody }>(
      `/${r.path}/:id`,
      {
        config: { roles: DEFINERS },
        schema: {
          tags: TAGS,
          summary: `Create or replace a ${r.noun} (201 created, 200 replaced)`,
          description: `A ${r.noun}: ${r.about}. Checked against the whole model: every problem listed with its path; a change that would break another definition is a 409 naming it. The next basket uses it.`,
          params: DefinitionParams,
          body: BODY_SCHEMAS[r.kind],
          response: { 200: DefinitionJsonSchema, 201: DefinitionJsonSchema },
        },
      },
      async (request, reply) => {
        const put = await putDefinition(
          db,
          request.principal.workspaceId,
          r.kind,
          request.params.id,
          request.body,
          app.deps.now(),
        );
        return reply.code(put.created ? 201 : 200).send(put.json);
      },
    );
    app.delete<{ Params: { id: string } }>(
      `/${r.path}/:id`,
      {
        config: { roles: DEFINERS },
        schema: {
          tags: TAGS,
          summary: `Delete a ${r.noun} no other definition uses (409 names the users)`,
          params: DefinitionParams,
          response: { 204: Type.Null() },
        },
      },
      async (request, reply) => {
        await removeDefinition(db, request.principal.workspaceId, r.kind, request.params.id);
        return reply.code(204).send();
      },
    );
  }

  app.get<{ Params: { id: string }; Querystring: TierReportQuery }>(
    "/tier-programs/:id/report",
    {
      config: { roles: DEFINERS },
      schema: {
        tags: TAGS,
        summary: "Customers per tier, and tier moves per day",
        params: DefinitionParams,
        querystring: TierReportQuerySchema,
        response: { 200: TierReportSchema },
      },
    },
    async (request) =>
      readTierReport(db, request.principal.workspaceId, request.params.id, request.query, app.deps.now()),
  );

  app.post<{ Body: TierTemplate }>(
    "/loyalty/templates/tiers",
    {
      config: { roles: DEFINERS },
      schema: {
        tags: TAGS,
        summary:
          "Seed 003 in one call: a four-tier program over the balance of the last 365 days since joining",
        description:
          "Creates (or replaces) the aggregates {p}.joinedAt, {p}.charges, {p}.returns, the expressions {p}.balance and {p}.tierNumber, the segmentation {p}.tiers and the tier program {p} (White, Green ≥ 300, Silver ≥ 1000, Golden ≥ 2000 by default), and publishes the tier discounts {p}-green/-silver/-golden (5/8/10 % off the basket) unless `benefits` is false.",
        body: TierTemplateSchema,
        response: { 200: TierTemplateResultSchema },
      },
    },
    async (request) => applyTierTemplate(db, request.principal.workspaceId, request.body, app.deps.now()),
  );

  app.get(
    "/event-types",
    {
      config: { roles: EVERYONE },
      schema: {
        tags: TAGS,
        summary: "The built-in event types and the workspace's declared ones, with their parameters",
        response: { 200: Type.Object({ items: Type.Array(EventTypeJsonSchema) }) },
      },
    },
    async (request) => readEventTypes(db, request.principal.workspaceId),
  );
  app.get<{ Params: { name: string } }>(
    "/event-types/:name",
    {
      config: { roles: EVERYONE },
      schema: {
        tags: TAGS,
        summary: "An event type",
        params: EventTypeParams,
        response: { 200: EventTypeJsonSchema },
      },
    },
    async (request) => readEventType(db, request.principal.workspaceId, request.params.name),
  );
  app.put<{ Params: { name: string }; Body: EventTypeBody }>(
    "/event-types/:name",
    {
      config: { roles: DEFINERS },
      schema: {
        tags: TAGS,
        summary: "Declare a custom event type and its parameters' types (201 created, 200 replaced)",
        params: EventTypeParams,
        body: EventTypeBodySchema,
        response: { 200: EventTypeJsonSchema, 201: EventTypeJsonSchema },
      },
    },
    async (request, reply) => {
      const put = await putEventType(
        db,
        request.principal.workspaceId,
        request.params.name,
        request.body,
        app.deps.now(),
      );
      return reply.code(put.created ? 201 : 200).send(put.json);
    },
  );
  app.delete<{ Params: { name: string } }>(
    "/event-types/:name",
    {
      config: { roles: DEFINERS },
      schema: {
        tags: TAGS,
        summary: "Delete a custom event type no aggregate uses (stored events stay)",
        params: EventTypeParams,
        response: { 204: Type.Null() },
      },
    },
    async (request, reply) => {
      await removeEventType(db, request.principal.workspaceId, request.params.name);
      return reply.code(204).send();
    },
  );

  app.post<{ Body: EventInput }>(
    "/events",
    {
      config: { roles: SENDERS },
      schema: {
        tags: TAGS,
        summary: "Send one event of a customer (a resent id is answered duplicate and counts once)",
        description:
          "Sales and returns produce transaction.charge, sale.processed and product.return themselves: send those only for sales Till did not commit.",
        body: EventSchema,
        response: { 200: EventResultSchema },
      },
    },
    async (request) => ingestEvent(db, request.principal.workspaceId, request.body, app.deps.now()),
  );
  app.post<{ Body: EventBatch }>(
    "/events/batch",
    {
      config: { roles: SENDERS },
      schema: {
        tags: TAGS,
        summary: "Send up to 1,000 events; each is checked on its own, bad ones refused with their problems",
        body: EventBatchSchema,
        response: { 200: EventBatchResultSchema },
      },
    },
    async (request) => ingestBatch(db, request.principal.workspaceId, request.body, app.deps.now()),
  );

  app.get<{ Params: { id: string }; Querystring: { type?: string; limit: number; before?: string } }>(
    "/customers/:id/events",
    {
      config: { roles: DEFINERS },
      schema: {
        tags: TAGS,
        summary: "A customer's events, newest first",
        params: CustomerParams,
        querystring: EventsQuery,
        response: {
          200: Type.Object({
            items: Type.Array(EventJsonSchema),
            next: Type.Union([Type.String(), Type.Null()]),
          }),
        },
      },
    },
    async (request) => {
      const page = await readCustomerEvents(
        db,
        request.principal.workspaceId,
        request.params.id,
        request.query,
      );
      return {
        items: page.items.map((e) => ({
          ...e,
          occurredAt: e.occurredAt.toISOString(),
          receivedAt: e.receivedAt.toISOString(),
        })),
        next: page.next,
      };
    },
  );

  app.get<{ Params: { id: string } }>(
    "/customers/:id/loyalty",
    {
      config: { roles: EVERYONE },
      schema: {
        tags: TAGS,
        summary: "A customer's aggregates, expressions, segments and tiers now, and their latest tier moves",
        params: CustomerParams,
        response: { 200: CustomerLoyaltySchema },
      },
    },
    async (request) =>
      readCustomerLoyalty(db, request.principal.workspaceId, request.params.id, app.deps.now()),
  );
}
