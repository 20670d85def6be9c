// Reads of limit usage: what a customer has left, and a promotion's limits with their next cycles.
import type { FastifyInstance } from "fastify";
import Type from "typebox";
import { customerUsage, promotionLimits } from "../../services/usage.js";

const Id = Type.String({ minLength: 1, maxLength: 100 });

export async function usage(app: FastifyInstance): Promise<void> {
  app.get<{ Params: { customerId: string } }>(
    "/customers/:customerId/usage",
    {
      schema: {
        tags: ["Limits"],
        summary: 'A customer\'s usage and remaining capacity per promotion ("3 of 5 free coffees left")',
        params: Type.Object({ customerId: Id }),
      },
    },
    async (request) =>
      customerUsage(app.deps.db, request.principal.workspaceId, request.params.customerId, app.deps.now()),
  );

  app.get<{ Params: { id: string }; Querystring: { cycles: number } }>(
    "/promotions/:id/limits",
    {
      config: { roles: ["admin", "marketer", "pos"] },
      schema: {
        tags: ["Limits"],
        summary:
          "A promotion's limit rules: global usage, and when each windowed rule resets (preview cycle)",
        params: Type.Object({ id: Id }),
        querystring: Type.Object(
          { cycles: Type.Integer({ minimum: 1, maximum: 24, default: 3 }) },
          { additionalProperties: false },
        ),
      },
    },
    async (request) =>
      promotionLimits(
        app.deps.db,
        request.principal.workspaceId,
        request.params.id,
        app.deps.now(),
        request.query.cycles,
      ),
  );
}
