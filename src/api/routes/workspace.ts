// The caller's workspace: its settings and its API keys. Everything is the workspace of the key that
// calls; there is no way to name another one.
import type { FastifyInstance } from "fastify";
import Type, { type Static } from "typebox";
import type { Issue } from "../../domain/check.js";
import { closed, Id, Instant, PLAIN_TEXT, textIssues } from "../../services/catalog.js";
import { conflict, invalid, notFound } from "../../services/problem.js";
import { checkWorkspaceSettings, createApiKey, forgetCachedKeys } from "../../services/workspaces.js";
import type { Db } from "../../store/db.js";
import {
  getWorkspace,
  listApiKeys,
  revokeApiKey,
  updateWorkspace,
  type ApiKeyRow,
  type WorkspaceRow,
} from "../../store/workspaces.js";

const Name = Type.String({ minLength: 1, maxLength: 100, pattern: PLAIN_TEXT });
const RoleSchema = Type.Union([
  Type.Literal("admin"),
  Type.Literal("marketer"),
  Type.Literal("pos"),
  Type.Literal("app"),
]);

const WorkspacePatchSchema = Type.Object(
  {
    name: Type.Optional(Name),
    /** ISO 4217, e.g. EUR. Prices are stored in minor units: changing it does not convert them. */
    currency: Type.Optional(Type.String({ pattern: "^[A-Z]{3}$" })),
    /** IANA, e.g. Europe/Berlin: schedules are evaluated in it. */
    timeZone: Type.Optional(Type.String({ minLength: 1, maxLength: 100, pattern: PLAIN_TEXT })),
    cartStacking: Type.Optional(Type.Boolean()),
    productStacking: Type.Optional(Type.Boolean()),
    activePromotionsMax: Type.Optional(Type.Integer({ minimum: 1, maximum: 10_000 })),
  },
  closed,
);
type WorkspacePatchBody = Static<typeof WorkspacePatchSchema>;

const WorkspaceJsonSchema = Type.Object({
  id: Type.String(),
  name: Type.String(),
  currency: Type.String(),
  timeZone: Type.String(),
  cartStacking: Type.Boolean(),
  productStacking: Type.Boolean(),
  activePromotionsMax: Type.Integer(),
  createdAt: Instant,
});

const KeyBodySchema = Type.Object(
  {
    name: Name,
    role: RoleSchema,
    /** Only a pos key may send its own shelf prices. */
    maySetPrices: Type.Optional(Type.Boolean()),
  },
  closed,
);
type KeyBody = Static<typeof KeyBodySchema>;

const keyJsonFields = {
  id: Type.String(),
  name: Type.String(),
  role: RoleSchema,
  maySetPrices: Type.Boolean(),
  createdAt: Instant,
  revokedAt: Type.Optional(Instant),
};
const KeyJsonSchema = Type.Object(keyJsonFields);
const CreatedKeyJsonSchema = Type.Object({
  ...keyJsonFields,
  /** Shown once: only its hash is stored. */
  secret: Type.String(),
});
const KeyParams = Type.Object({ keyId: Id }, closed);

export async function workspace(app: FastifyInstance): Promise<void> {
  const { db } = app.deps;

  app.get(
    "/workspace",
    {
      schema: {
        tags: ["Workspace"],
        summary: "The caller's workspace and its settings",
        response: { 200: WorkspaceJsonSchema },
      },
    },
    async (request) => readWorkspace(db, request.principal.workspaceId),
  );

  app.patch<{ Body: WorkspacePatchBody }>(
    "/workspace",
    {
      config: { roles: ["admin"] },
      schema: {
        tags: ["Workspace"],
        summary: "Change the workspace's settings",
        description: "Only the fields sent change. Currency must be ISO 4217, the time zone IANA.",
        body: WorkspacePatchSchema,
        response: { 200: WorkspaceJsonSchema },
      },
    },
    async (request) => patchWorkspace(db, request.principal.workspaceId, request.body),
  );

  app.post<{ Body: KeyBody }>(
    "/api-keys",
    {
      config: { roles: ["admin"] },
      schema: {
        tags: ["Workspace"],
        summary: "Create an API key (its secret is shown once)",
        body: KeyBodySchema,
        response: { 201: CreatedKeyJsonSchema },
      },
    },
    async (request, reply) =>
      reply.code(201).send(await issueKey(db, request.principal.workspaceId, request.body)),
  );

  app.get(
    "/api-keys",
    {
      config: { roles: ["admin"] },
      schema: {
        tags: ["Workspace"],
        summary: "List the workspace's API keys, revoked ones included (never their secrets)",
        response: { 200: Type.Object({ items: Type.Array(KeyJsonSchema) }) },
      },
    },
    async (request) => ({ items: (await listApiKeys(db, request.principal.workspaceId)).map(keyJson) }),
  );

  app.delete<{ Params: { keyId: string } }>(
    "/api-keys/:keyId",
    {
      config: { roles: ["admin"] },
      schema: {
        tags: ["Workspace"],
        summary: "Revoke an API key",
        description:
          "Takes effect at once in this process and within seconds in others. A key cannot revoke itself: create the new admin key first, then revoke the old one with it.",
        params: KeyParams,
        response: { 204: Type.Null({ description: "Revoked (also when it already was)" }) },
      },
    },
    async (request, reply) => {
      await revokeKey(db, request.principal, request.params.keyId);
      return reply.code(204).send();
    },
  );
}

// The use cases below live beside their routes only because src/services/workspaces.ts is not part of
// this change; they belong there. They call only service and store functions.

function workspaceJson(w: WorkspaceRow): Static<typeof WorkspaceJsonSchema> {
  return {
    id: w.id,
    name: w.name,
    currency: w.currency,
    timeZone: w.timeZone,
    cartStacking: w.cartStacking,
    productStacking: w.productStacking,
    activePromotionsMax: w.activePromotionsMax,
    createdAt: w.createdAt.toISOString(),
  };
}

function keyJson(k: ApiKeyRow): Static<typeof KeyJsonSchema> {
  return {
    id: k.id,
    name: k.name,
    role: k.role,
    maySetPrices: k.maySetPrices,
    createdAt: k.createdAt.toISOString(),
    ...(k.revokedAt !== null ? { revokedAt: k.revokedAt.toISOString() } : {}),
  };
}

async function readWorkspace(db: Db, workspaceId: string) {
  const row = await getWorkspace(db, workspaceId);
  if (row === null) throw notFound(`workspace ${workspaceId}`);
  return workspaceJson(row);
}

async function patchWorkspace(db: Db, workspaceId: string, patch: WorkspacePatchBody) {
  const text = textIssues(patch);
  if (text.length > 0) throw invalid(text);
  const issues = checkWorkspaceSettings(patch);
  if (issues.length > 0) throw invalid(issues, 422);
  // Nothing to change: do not bump the promotions version (every process would recompile).
  if (Object.keys(patch).length === 0) return readWorkspace(db, workspaceId);
  return workspaceJson(await updateWorkspace(db, workspaceId, patch));
}

async function issueKey(db: Db, workspaceId: string, body: KeyBody) {
  const text = textIssues(body);
  if (text.length > 0) throw invalid(text);
  // `maySetPrices: false` is what every non-pos key has anyway, so only `true` is refused.
  if (body.maySetPrices === true && body.role !== "pos") {
    const issue: Issue = {
      code: "pos_only",
      path: "/maySetPrices",
      message: "only a pos key may set prices",
    };
    throw invalid([issue], 422);
  }
  const created = await createApiKey(db, workspaceId, {
    name: body.name,
    role: body.role,
    maySetPrices: body.maySetPrices ?? false,
  });
  return { ...keyJson(created.key), secret: created.secret };
}

/**
 * A key may not revoke itself. Only admin keys revoke, so with this rule the caller, an admin, stays
 * active after every revocation and a workspace can never lock itself out through the API. Rotation
 * is: create the new key, switch, revoke the old one with the new one. (Two admin keys revoking each
 * other at the same instant could both go; closing that needs a row lock in src/store/workspaces.ts.)
 */
async function revokeKey(
  db: Db,
  caller: { workspaceId: string; keyId: string },
  keyId: string,
): Promise<void> {
  if (keyId === caller.keyId) {
    throw conflict("cannot_revoke_own_key", "a key cannot revoke itself: revoke it with another admin key");
  }
  const revoked = await revokeApiKey(db, caller.workspaceId, keyId);
  if (revoked === null) throw notFound(`API key ${keyId}`);
  forgetCachedKeys();
}
