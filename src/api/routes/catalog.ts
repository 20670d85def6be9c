// The catalog: prices and the facts promotions match on. Writes: admin or marketer; reads: any key.
import type { FastifyInstance } from "fastify";
import Type from "typebox";
import {
  CatalogBulkSchema,
  CatalogItemBodySchema,
  CatalogItemJsonSchema,
  CatalogQuerySchema,
  closed,
  Id,
  putItem,
  readItem,
  readItems,
  removeItem,
  upsertCatalog,
  type CatalogBulk,
  type CatalogItemBody,
  type CatalogQuery,
} from "../../services/catalog.js";

/** 10,000 items with a few attributes each fit well inside; the default limit stays 1 MiB elsewhere. */
export const BULK_BODY_LIMIT_BYTES = 16 * 1_048_576;

const SkuParams = Type.Object({ sku: Id }, closed);
const Deleted = Type.Null({ description: "Deleted" });
const WRITERS = ["admin", "marketer"] as const;

export async function catalog(app: FastifyInstance): Promise<void> {
  const { db } = app.deps;

  app.put<{ Params: { sku: string }; Body: CatalogItemBody }>(
    "/catalog/items/:sku",
    {
      config: { roles: WRITERS },
      schema: {
        tags: ["Catalog"],
        summary: "Create or replace a catalog item (201 created, 200 replaced)",
        description: "What the body leaves out (categories, brand, attributes) is cleared.",
        params: SkuParams,
        body: CatalogItemBodySchema,
        response: { 200: CatalogItemJsonSchema, 201: CatalogItemJsonSchema },
      },
    },
    async (request, reply) => {
      const { workspaceId } = request.principal;
      const put = await putItem(db, workspaceId, request.params.sku, request.body, app.deps.now());
      return reply.code(put.created ? 201 : 200).send(put.item);
    },
  );

  app.post<{ Body: CatalogBulk }>(
    "/catalog/items/bulk",
    {
      config: { roles: WRITERS },
      bodyLimit: BULK_BODY_LIMIT_BYTES,
      schema: {
        tags: ["Catalog"],
        summary: "Create or replace up to 10,000 items at once (all or nothing)",
        description:
          "Every bad item is reported at /items/N/…, and then nothing is written. A SKU may appear once per request. The body may be up to 16 MiB.",
        body: CatalogBulkSchema,
        response: { 200: Type.Object({ created: Type.Integer(), updated: Type.Integer() }) },
      },
    },
    async (request) => upsertCatalog(db, request.principal.workspaceId, request.body, app.deps.now()),
  );

  app.get<{ Querystring: CatalogQuery }>(
    "/catalog/items",
    {
      schema: {
        tags: ["Catalog"],
        summary: "List catalog items by SKU, filtered by category, brand or text",
        description: "Pages of at most 500: pass the answer's `next` as `after` for the next page.",
        querystring: CatalogQuerySchema,
        response: {
          200: Type.Object({ items: Type.Array(CatalogItemJsonSchema), next: Type.Optional(Type.String()) }),
        },
      },
    },
    async (request) => readItems(db, request.principal.workspaceId, request.query),
  );

  app.get<{ Params: { sku: string } }>(
    "/catalog/items/:sku",
    {
      schema: {
        tags: ["Catalog"],
        summary: "A catalog item",
        params: SkuParams,
        response: { 200: CatalogItemJsonSchema },
      },
    },
    async (request) => readItem(db, request.principal.workspaceId, request.params.sku),
  );

  app.delete<{ Params: { sku: string } }>(
    "/catalog/items/:sku",
    {
      config: { roles: WRITERS },
      schema: {
        tags: ["Catalog"],
        summary: "Delete a catalog item",
        params: SkuParams,
        response: { 204: Deleted },
      },
    },
    async (request, reply) => {
      await removeItem(db, request.principal.workspaceId, request.params.sku);
      return reply.code(204).send();
    },
  );
}
