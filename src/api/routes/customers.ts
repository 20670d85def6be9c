// Customer profiles. Writes: admin, marketer and pos (a till may register a new loyalty card); reads:
// every role. There is no DELETE: the sale ledger refers to customers, so erasure (GDPR, admin only)
// removes the personal data and keeps the profile's id and its ledgers (docs/profiles.md).
import type { FastifyInstance } from "fastify";
import Type from "typebox";
import { closed, Id } from "../../services/catalog.js";
import {
  CustomerBodySchema,
  CustomerJsonSchema,
  CustomerPatchSchema,
  CustomerQuerySchema,
  eraseCustomer,
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
        description:
          "What the body leaves out (attributes, identifiers, consents, memberships, segmentIds) is cleared. Declared attributes must have their declared type (422 type_mismatch); an identifier another profile holds is a 409 identifier_taken naming the field.",
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
          "Attributes, consents and identifiers.email/phone are merged (a null value removes one); identifiers.cardHashes, memberships and segmentIds, when sent, replace the stored ones.",
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
        summary:
          "List customer profiles by id, optionally the members of one segment or the holder of an email, phone or card hash",
        querystring: CustomerQuerySchema,
        response: {
          200: Type.Object({ items: Type.Array(CustomerJsonSchema), next: Type.Optional(Type.String()) }),
        },
      },
    },
    async (request) => readCustomers(db, request.principal.workspaceId, request.query),
  );

  app.post<{ Params: { id: string } }>(
    "/customers/:id/erase",
    {
      config: { roles: ["admin"] },
      schema: {
        tags: ["Customers"],
        summary: "Erase a customer's personal data (idempotent)",
        description:
          "In one transaction: attributes (but declared non-personal ones), identifiers, consents, and the params of the customer's events (but the money figures of transaction.charge, product.return and sale.processed). Sales, returns, redemptions, points and limits stay. Answers the erased profile with erasedAt.",
        params: IdParams,
        response: { 200: CustomerJsonSchema },
      },
    },
    async (request) => eraseCustomer(db, request.principal.workspaceId, request.params.id, app.deps.now()),
  );
}
