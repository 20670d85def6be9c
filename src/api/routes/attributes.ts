// Attribute declarations: the typed profile attributes loyalty expressions may use. Admin and
// marketer keys read and write them (they configure the loyalty model); tills and apps never need them.
import type { FastifyInstance } from "fastify";
import Type from "typebox";
import {
  AttributeBodySchema,
  AttributeJsonSchema,
  putAttribute,
  readAttribute,
  readAttributes,
  removeAttribute,
  type AttributeBody,
} from "../../services/attributes.js";
import { closed, Id } from "../../services/catalog.js";

const NameParams = Type.Object({ name: Id }, closed);
const ROLES = ["admin", "marketer"] as const;

export async function attributes(app: FastifyInstance): Promise<void> {
  const { db } = app.deps;

  app.get(
    "/attributes",
    {
      config: { roles: ROLES },
      schema: {
        tags: ["Customers"],
        summary: "The declared profile attributes, by name",
        response: { 200: Type.Object({ items: Type.Array(AttributeJsonSchema) }) },
      },
    },
    async (request) => readAttributes(db, request.principal.workspaceId),
  );

  app.get<{ Params: { name: string } }>(
    "/attributes/:name",
    {
      config: { roles: ROLES },
      schema: {
        tags: ["Customers"],
        summary: "One declared attribute",
        params: NameParams,
        response: { 200: AttributeJsonSchema },
      },
    },
    async (request) => readAttribute(db, request.principal.workspaceId, request.params.name),
  );

  app.put<{ Params: { name: string }; Body: AttributeBody }>(
    "/attributes/:name",
    {
      config: { roles: ROLES },
      schema: {
        tags: ["Customers"],
        summary: "Declare an attribute or replace its declaration (201 created, 200 replaced)",
        description:
          "Profiles must then give the attribute this type (422 type_mismatch otherwise). Declaring it, or changing its type, is refused (409 attribute_values_do_not_fit) while profiles hold values that do not fit. Moves the workspace's loyalty version.",
        params: NameParams,
        body: AttributeBodySchema,
        response: { 200: AttributeJsonSchema, 201: AttributeJsonSchema },
      },
    },
    async (request, reply) => {
      const { workspaceId } = request.principal;
      const put = await putAttribute(db, workspaceId, request.params.name, request.body, app.deps.now());
      return reply.code(put.created ? 201 : 200).send(put.json);
    },
  );

  app.delete<{ Params: { name: string } }>(
    "/attributes/:name",
    {
      config: { roles: ROLES },
      schema: {
        tags: ["Customers"],
        summary: "Withdraw a declaration (409 attribute_in_use while loyalty definitions use it)",
        description: "Profiles keep their values, as undeclared attributes.",
        params: NameParams,
        response: { 204: Type.Null({ description: "Deleted" }) },
      },
    },
    async (request, reply) => {
      await removeAttribute(db, request.principal.workspaceId, request.params.name);
      return reply.code(204).send();
    },
  );
}
