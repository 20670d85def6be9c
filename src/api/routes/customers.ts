// Customer profiles. Writes: admin, marketer and pos (a till may register a new loyalty card); reads:
// every role. There is no DELETE: the sale ledger refers to customers, so erasing one (GDPR) is its
// own use case, still to come, that anonymises rather than deletes.
import type { FastifyInstance } from "fastify";
import Type from "typebox";
import { closed, Id } from "../../services/catalog.js";
import {
  CustomerBodySchema,
  CustomerJsonSchema,
  CustomerPatchSchema,
  CustomerQuerySchema,
  patchCustomer,
  putCustomer,
  readCustomer,
  readCustomers,
  type CustomerBody,
  type CustomerPatch,
  type CustomerQuery,
} from "../../services/customers.js";

const IdParams = Type.Object({ id: Id }, closed);
const WRITERS = ["admin", "marketer", "pos"] as const;
const READERS = ["admin", "marketer", "pos", "app"] as const;

export async function customers(app: FastifyInstance): Promise<void> {
  const { db } = app.deps;

  app.put<{ Params: { id: string }; Body: CustomerBody }>(
    "/customers/:id",
    {
      config: { roles: WRITERS },
      schema: {
        tags: ["Customers"],
        summary: "Create or replace a customer profile (201 created, 200 replaced)",
        description: "What the body leaves out (attributes, memberships, segmentIds) is cleared.",
        params: IdParams,
        body: CustomerBodySchema,
        response: { 200: CustomerJsonSchema, 201: CustomerJsonSchema },
      },
    },
    async (request, reply) => {
      const { workspaceId } = request.principal;
      const put = await putCustomer(db, workspaceId, request.params.id, request.body, app.deps.now());
      return reply.code(put.created ? 201 : 200).send(put.json);
    },
  );

  app.patch<{ Params: { id: string }; Body: CustomerPatch }>(
    "/customers/:id",
    {
      config: { roles: WRITERS },
      schema: {
        tags: ["Customers"],
        summary: "Change a customer profile",
        description:
          "Attributes are merged (a null value removes one); memberships and segmentIds, when sent, replace the stored ones.",
        params: IdParams,
        body: CustomerPatchSchema,
        response: { 200: CustomerJsonSchema },
      },
    },
    async (request) =>
      patchCustomer(db, request.principal.workspaceId, request.params.id, request.body, app.deps.now()),
  );

  app.get<{ Params: { id: string } }>(
    "/customers/:id",
    {
      config: { roles: READERS },
      schema: {
        tags: ["Customers"],
        summary: "A customer profile",
        params: IdParams,
        response: { 200: CustomerJsonSchema },
      },
    },
    async (request) => readCustomer(db, request.principal.workspaceId, request.params.id),
  );

  app.get<{ Querystring: CustomerQuery }>(
    "/customers",
    {
      config: { roles: READERS },
      schema: {
        tags: ["Customers"],
        summary: "List customer profiles by id, optionally the members of one segment",
        querystring: CustomerQuerySchema,
        response: {
          200: Type.Object({ items: Type.Array(CustomerJsonSchema), next: Type.Optional(Type.String()) }),
        },
      },
    },
    async (request) => readCustomers(db, request.principal.workspaceId, request.query),
  );
}
