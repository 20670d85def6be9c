// POST /v1/baskets/evaluate: a quote. Prices the basket with every promotion the customer is entitled
// to and explains each one that did not apply; changes nothing.
import type { FastifyInstance } from "fastify";
import { BasketRequestSchema, type BasketRequest } from "../../services/requests.js";
import { quote } from "../../services/sales.js";

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
    async (request) => {
      const { workspaceId, maySetPrices } = request.principal;
      return quote(app.deps.db, { workspaceId, maySetPrices }, request.body, app.deps.now());
    },
  );
}
