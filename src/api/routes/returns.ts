// Returns: process one (idempotent on the caller's return id) and read it back.
import type { FastifyInstance } from "fastify";
import Type from "typebox";
import { ReturnRequestSchema, type ReturnRequest } from "../../services/requests.js";
import { processReturn, readReturn } from "../../services/returns.js";

const ReturnParams = Type.Object({ returnId: Type.String({ minLength: 1, maxLength: 200 }) });
const JSON_TYPE = "application/json; charset=utf-8";

export async function returns(app: FastifyInstance): Promise<void> {
  app.post<{ Body: ReturnRequest }>(
    "/returns",
    {
      config: { roles: ["admin", "pos"] },
      schema: {
        tags: ["Returns"],
        summary: "Return units of a sale",
        description:
          "Finds the sale by transactionId, takes back the lines and quantities given (all that is left when lines is absent), reverses the discount the returned units carried (proportionally, so returning units one at a time reverses what returning them together does), and restores the limits the sale consumed unless the promotion's returns.restoreLimits is false. A retry with the same returnId answers the first result (header Idempotent-Replayed: true); the same id with another body is a 409.",
        body: ReturnRequestSchema,
      },
    },
    async (request, reply) => {
      const returned = await processReturn(
        app.deps.db,
        request.principal.workspaceId,
        request.body,
        app.deps.now(),
      );
      if (!returned.replayed) app.deps.metrics.returns.inc();
      return reply
        .code(201)
        .header("idempotent-replayed", String(returned.replayed))
        .type(JSON_TYPE)
        .send(returned.receipt);
    },
  );

  app.get<{ Params: { returnId: string } }>(
    "/returns/:returnId",
    {
      config: { roles: ["admin", "marketer", "pos"] },
      schema: { tags: ["Returns"], summary: "A return, as it was answered", params: ReturnParams },
    },
    async (request, reply) => {
      const receipt = await readReturn(app.deps.db, request.principal.workspaceId, request.params.returnId);
      return reply.type(JSON_TYPE).send(receipt);
    },
  );
}
