// POST /v1/baskets/evaluate: a quote. Prices the basket with every promotion the customer is entitled
// to and explains each one that did not apply; changes nothing.
import type { FastifyInstance } from "fastify";
import { BasketRequestSchema, type BasketRequest } from "../../services/requests.js";
import { quote } from "../../services/sales.js";
import { guardGuesses } from "./codes.js";

export async function baskets(app: FastifyInstance): Promise<void> {
  app.post<{ Body: BasketRequest }>(
    "/baskets/evaluate",
    {
      schema: {
        tags: ["Baskets"],
        summary: "Price a basket (a quote: no side effects)",
        body: BasketRequestSchema,
      },
    },
    async (request, reply) => {
      const { workspaceId, maySetPrices, role } = request.principal;
      const guard = guardGuesses(app, request, reply);
      const quoted = await quote(
        app.deps.db,
        { workspaceId, maySetPrices, outsider: role === "app" },
        request.body,
        app.deps.now(),
      );
      await guard.saw(() => quoted.unusedCodes);
      return quoted;
    },
  );
}
