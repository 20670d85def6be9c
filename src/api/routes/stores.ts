// Concepts, zones and stores: where promotions apply. Writes: admin or marketer; reads: any key.
import type { FastifyInstance } from "fastify";
import Type from "typebox";
import { closed, Id } from "../../services/catalog.js";
import {
  NamedBodySchema,
  NamedJsonSchema,
  PageQuerySchema,
  putNamed,
  putStore,
  readNamed,
  readNamedPage,
  readStore,
  readStores,
  removeNamed,
  removeStore,
  StoreBodySchema,
  StoreJsonSchema,
  StoreQuerySchema,
  type Grouping,
  type NamedBody,
  type PageQuery,
  type StoreBody,
  type StoreQuery,
} from "../../services/stores.js";

const IdParams = Type.Object({ id: Id }, closed);
const Deleted = Type.Null({ description: "Deleted" });
const WRITERS = ["admin", "marketer"] as const;
const pageSchema = <T extends Parameters<typeof Type.Array>[0]>(item: T) =>
  Type.Object({ items: Type.Array(item), next: Type.Optional(Type.String()) });

export async function stores(app: FastifyInstance): Promise<void> {
  const { db } = app.deps;

  // Concepts (banners, chains) and zones (regions) are the same shape: an id and a name.
  for (const [grouping, noun] of [
    ["concepts", "concept"],
    ["zones", "zone"],
  ] as const satisfies readonly (readonly [Grouping, string])[]) {
    app.put<{ Params: { id: string }; Body: NamedBody }>(
      `/${grouping}/:id`,
      {
        config: { roles: WRITERS },
        schema: {
          tags: ["Stores"],
          summary: `Create or replace a ${noun} (201 created, 200 replaced)`,
          params: IdParams,
          body: NamedBodySchema,
          response: { 200: NamedJsonSchema, 201: NamedJsonSchema },
        },
      },
      async (request, reply) => {
        const put = await putNamed(
          db,
          grouping,
          request.principal.workspaceId,
          request.params.id,
          request.body,
        );
        return reply.code(put.created ? 201 : 200).send(put.json);
      },
    );

    app.get<{ Querystring: PageQuery }>(
      `/${grouping}`,
      {
        schema: {
          tags: ["Stores"],
          summary: `List ${grouping} by id`,
          querystring: PageQuerySchema,
          response: { 200: pageSchema(NamedJsonSchema) },
        },
      },
      async (request) => readNamedPage(db, grouping, request.principal.workspaceId, request.query),
    );

    app.get<{ Params: { id: string } }>(
      `/${grouping}/:id`,
      {
        schema: {
          tags: ["Stores"],
          summary: `A ${noun}`,
          params: IdParams,
          response: { 200: NamedJsonSchema },
        },
      },
      async (request) => readNamed(db, grouping, request.principal.workspaceId, request.params.id),
    );

    app.delete<{ Params: { id: string } }>(
      `/${grouping}/:id`,
      {
        config: { roles: WRITERS },
        schema: {
          tags: ["Stores"],
          summary: `Delete a ${noun} (409 while a store uses it)`,
          params: IdParams,
          response: { 204: Deleted },
        },
      },
      async (request, reply) => {
        await removeNamed(db, grouping, request.principal.workspaceId, request.params.id);
        return reply.code(204).send();
      },
    );
  }

  app.put<{ Params: { id: string }; Body: StoreBody }>(
    "/stores/:id",
    {
      config: { roles: WRITERS },
      schema: {
        tags: ["Stores"],
        summary: "Create or replace a store (201 created, 200 replaced)",
        description:
          "The concept and the zones it names must exist in the workspace (422 at the field otherwise).",
        params: IdParams,
        body: StoreBodySchema,
        response: { 200: StoreJsonSchema, 201: StoreJsonSchema },
      },
    },
    async (request, reply) => {
      const put = await putStore(db, request.principal.workspaceId, request.params.id, request.body);
      return reply.code(put.created ? 201 : 200).send(put.json);
    },
  );

  app.get<{ Querystring: StoreQuery }>(
    "/stores",
    {
      schema: {
        tags: ["Stores"],
        summary: "List stores by id, optionally of one concept or zone",
        querystring: StoreQuerySchema,
        response: { 200: pageSchema(StoreJsonSchema) },
      },
    },
    async (request) => readStores(db, request.principal.workspaceId, request.query),
  );

  app.get<{ Params: { id: string } }>(
    "/stores/:id",
    {
      schema: { tags: ["Stores"], summary: "A store", params: IdParams, response: { 200: StoreJsonSchema } },
    },
    async (request) => readStore(db, request.principal.workspaceId, request.params.id),
  );

  app.delete<{ Params: { id: string } }>(
    "/stores/:id",
    {
      config: { roles: WRITERS },
      schema: { tags: ["Stores"], summary: "Delete a store", params: IdParams, response: { 204: Deleted } },
    },
    async (request, reply) => {
      await removeStore(db, request.principal.workspaceId, request.params.id);
      return reply.code(204).send();
    },
  );
}
