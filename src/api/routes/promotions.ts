// Promotions: definitions, lifecycle and codes, always within the caller's workspace. Marketers and
// admins write; every role reads (tills and apps show what is on). Single-promotion answers carry the
// revision as ETag; writes accept If-Match with it (a stale one is a 412).
import type { FastifyInstance, FastifyReply } from "fastify";
import Type from "typebox";
import { PromotionTypeSchema } from "../../domain/promotion.js";
import {
  DERIVED_STATUSES,
  PromotionInputSchema,
  addCodes,
  changeStatus,
  createPromotion,
  readCodes,
  readPromotion,
  readPromotions,
  removeDraft,
  replacePromotion,
  type LifecycleAction,
  type PromotionInput,
  type PromotionResource,
} from "../../services/promotions.js";
import type { DerivedStatus } from "../../store/promotions.js";

const closed = { additionalProperties: false } as const;
const Id = Type.String({ minLength: 1, maxLength: 100 });
const PromotionParams = Type.Object({ id: Id }, closed);
type PromotionParams = { id: string };
const IfMatchHeaders = Type.Object({
  "if-match": Type.Optional(
    Type.String({
      maxLength: 200,
      description: 'The revision last read, as an entity tag: "3". Stale: 412.',
    }),
  ),
});
type IfMatchHeaders = { "if-match"?: string };

const ListQuery = Type.Object(
  {
    status: Type.Optional(Type.Union(DERIVED_STATUSES.map((s) => Type.Literal(s)))),
    type: Type.Optional(PromotionTypeSchema),
    tag: Type.Optional(Type.String({ minLength: 1, maxLength: 50 })),
    q: Type.Optional(
      Type.String({ minLength: 1, maxLength: 400, description: "name contains, ignoring case" }),
    ),
    limit: Type.Integer({ minimum: 1, maximum: 200, default: 50 }),
    after: Type.Optional(
      Type.String({ minLength: 1, maxLength: 100, description: "`next` of the previous page" }),
    ),
  },
  closed,
);
type ListQuery = {
  status?: DerivedStatus;
  type?: string;
  tag?: string;
  q?: string;
  limit: number;
  after?: string;
};

const CODE_BODY_BYTES_MAX = 8 * 1_048_576;
const CodesBody = Type.Object(
  {
    codes: Type.Array(Type.String({ minLength: 1, maxLength: 100 }), { minItems: 1, maxItems: 10_000 }),
  },
  closed,
);
const CodesQuery = Type.Object(
  {
    limit: Type.Integer({ minimum: 1, maximum: 1_000, default: 100 }),
    after: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
  },
  closed,
);

const WRITERS = ["admin", "marketer"] as const;
const READERS = ["admin", "marketer", "pos", "app"] as const;
const TAGS = ["Promotions"];

const LIFECYCLE: readonly { action: LifecycleAction; summary: string; description: string }[] = [
  {
    action: "publish",
    summary: "Publish a draft or paused promotion",
    description:
      "It becomes scheduled or active by its schedule. Refused (409 active_cap_reached) when the workspace already has its maximum of published promotions that have not ended.",
  },
  {
    action: "pause",
    summary: "Pause a scheduled or active promotion",
    description: "It stops applying at once.",
  },
  {
    action: "resume",
    summary: "Resume a paused promotion",
    description: "Publishes it again, under the same active cap as publish.",
  },
  {
    action: "end",
    summary: "End a promotion for good",
    description: "Final: an ended promotion cannot be published, edited or deleted.",
  },
];

function withETag(reply: FastifyReply, resource: PromotionResource): PromotionResource {
  void reply.header("etag", `"${resource.revision}"`);
  return resource;
}

export async function promotions(app: FastifyInstance): Promise<void> {
  app.post<{ Body: PromotionInput }>(
    "/promotions",
    {
      config: { roles: WRITERS },
      schema: {
        tags: TAGS,
        summary: "Create a promotion (as a draft)",
        description:
          "Every problem with the definition is listed at once (422). The id is generated (promo_…) when left out. Names are unique in the workspace, ignoring case (409 name_taken).",
        body: PromotionInputSchema,
      },
    },
    async (request, reply) => {
      const { deps } = app;
      const created = await createPromotion(deps.db, request.principal.workspaceId, request.body, deps.now());
      return withETag(
        reply.code(201).header("location", `/v1/promotions/${encodeURIComponent(created.id)}`),
        created,
      );
    },
  );

  app.get<{ Querystring: ListQuery }>(
    "/promotions",
    {
      config: { roles: READERS },
      schema: {
        tags: TAGS,
        summary: "List promotions, by id",
        description:
          "Filters combine. status is as read now: draft, scheduled, active, paused or ended. Pages: pass `next` as `after`.",
        querystring: ListQuery,
      },
    },
    async (request) =>
      readPromotions(app.deps.db, request.principal.workspaceId, request.query, app.deps.now()),
  );

  app.get<{ Params: PromotionParams }>(
    "/promotions/:id",
    { config: { roles: READERS }, schema: { tags: TAGS, summary: "A promotion", params: PromotionParams } },
    async (request, reply) =>
      withETag(
        reply,
        await readPromotion(app.deps.db, request.principal.workspaceId, request.params.id, app.deps.now()),
      ),
  );

  app.put<{ Params: PromotionParams; Body: PromotionInput; Headers: IfMatchHeaders }>(
    "/promotions/:id",
    {
      config: { roles: WRITERS },
      schema: {
        tags: TAGS,
        summary: "Replace a promotion's definition",
        description:
          "Allowed until the promotion ends. Once it has been published its limits are frozen (409 limits_frozen). The body's id, if any, must be the path's.",
        params: PromotionParams,
        headers: IfMatchHeaders,
        body: PromotionInputSchema,
      },
    },
    async (request, reply) => {
      const { deps } = app;
      const replaced = await replacePromotion(
        deps.db,
        request.principal.workspaceId,
        request.params.id,
        request.body,
        { ifMatch: request.headers["if-match"] },
        deps.now(),
      );
      return withETag(reply, replaced);
    },
  );

  app.delete<{ Params: PromotionParams; Headers: IfMatchHeaders }>(
    "/promotions/:id",
    {
      config: { roles: WRITERS },
      schema: {
        tags: TAGS,
        summary: "Delete a draft",
        description: "Only a draft can be deleted, with its codes; end a published promotion instead.",
        params: PromotionParams,
        headers: IfMatchHeaders,
      },
    },
    async (request, reply) => {
      const { deps } = app;
      const { workspaceId } = request.principal;
      await removeDraft(
        deps.db,
        workspaceId,
        request.params.id,
        { ifMatch: request.headers["if-match"] },
        deps.now(),
      );
      return reply.code(204).send();
    },
  );

  for (const { action, summary, description } of LIFECYCLE) {
    app.post<{ Params: PromotionParams; Headers: IfMatchHeaders }>(
      `/promotions/:id/${action}`,
      {
        config: { roles: WRITERS },
        schema: { tags: TAGS, summary, description, params: PromotionParams, headers: IfMatchHeaders },
      },
      async (request, reply) => {
        const { deps } = app;
        const preconditions = { ifMatch: request.headers["if-match"] };
        const { workspaceId } = request.principal;
        return withETag(
          reply,
          await changeStatus(deps.db, workspaceId, request.params.id, action, preconditions, deps.now()),
        );
      },
    );
  }

  app.post<{ Params: PromotionParams; Body: { codes: string[] } }>(
    "/promotions/:id/codes",
    {
      config: { roles: WRITERS },
      bodyLimit: CODE_BODY_BYTES_MAX,
      schema: {
        tags: TAGS,
        summary: "Add codes to a code promotion",
        description:
          "Up to 10,000 codes at once, stored trimmed and upper case (codes match ignoring case). All or nothing: a code another promotion of the workspace (or this one) already has is a 409 naming it.",
        params: PromotionParams,
        body: CodesBody,
      },
    },
    async (request, reply) => {
      const { deps } = app;
      const { workspaceId } = request.principal;
      const added = await addCodes(deps.db, workspaceId, request.params.id, request.body.codes, deps.now());
      return reply.code(201).send(added);
    },
  );

  app.get<{ Params: PromotionParams; Querystring: { limit: number; after?: string } }>(
    "/promotions/:id/codes",
    {
      // Codes are what a customer types to get a discount: tills and apps match them, never list them.
      config: { roles: WRITERS },
      schema: {
        tags: TAGS,
        summary: "List a promotion's codes, in code order",
        params: PromotionParams,
        querystring: CodesQuery,
      },
    },
    async (request) =>
      readCodes(app.deps.db, request.principal.workspaceId, request.params.id, request.query),
  );
}
