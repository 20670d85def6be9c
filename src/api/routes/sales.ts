// Sales: commit (idempotent on the caller's transaction id) and read.
import type { FastifyInstance } from "fastify";
import Type from "typebox";
import { SaleRequestSchema, type SaleRequest } from "../../services/requests.js";
import { commitSale } from "../../services/sales.js";
import { readSale, readSales } from "../../services/sale-reads.js";
import { guardGuesses } from "./codes.js";

const SaleParams = Type.Object({ saleId: Type.String({ minLength: 1, maxLength: 100 }) });
const SaleQuery = Type.Object(
  {
    customerId: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
    transactionId: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
    limit: Type.Integer({ minimum: 1, maximum: 500, default: 50 }),
    before: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
  },
  { additionalProperties: false },
);

function unusedCodesOf(receipt: string): readonly string[] {
  return (JSON.parse(receipt) as { unusedCodes?: string[] }).unusedCodes ?? [];
}

export async function sales(app: FastifyInstance): Promise<void> {
  app.post<{ Body: SaleRequest }>(
    "/sales",
    {
      config: { roles: ["admin", "pos"] },
      schema: {
        tags: ["Sales"],
        summary: "Commit a sale",
        description:
          "Prices the basket again with the limits locked, consumes them, writes the redemption ledger and answers the receipt. A retry with the same transactionId answers the first receipt (header Idempotent-Replayed: true); the same id with another body is a 409.",
        body: SaleRequestSchema,
      },
    },
    async (request, reply) => {
      const { workspaceId, maySetPrices } = request.principal;
      const guard = guardGuesses(app, request, reply);
      const committed = await commitSale(
        app.deps.db,
        { workspaceId, maySetPrices },
        request.body,
        app.deps.now(),
      );
      if (!committed.replayed && committed.summary) {
        const { metrics } = app.deps;
        metrics.sales.inc();
        if (committed.repriced) metrics.salesRepriced.inc();
        metrics.redemptions.inc(committed.summary.redemptions);
        metrics.discountMinor.inc(committed.summary.discountMinor);
      }
      // A replay counts nothing again: the till is retrying, not guessing.
      if (!committed.replayed) await guard.saw(() => unusedCodesOf(committed.receipt));
      return reply
        .code(201)
        .header("idempotent-replayed", String(committed.replayed))
        .type("application/json; charset=utf-8")
        .send(committed.receipt);
    },
  );

  app.get<{ Params: { saleId: string } }>(
    "/sales/:saleId",
    {
      config: { roles: ["admin", "marketer", "pos"] },
      schema: {
        tags: ["Sales"],
        summary: "A sale: receipt, lines, redemptions and returns",
        params: SaleParams,
      },
    },
    async (request) => readSale(app.deps.db, request.principal.workspaceId, request.params.saleId),
  );

  app.get<{ Querystring: { customerId?: string; transactionId?: string; limit: number; before?: string } }>(
    "/sales",
    {
      config: { roles: ["admin", "marketer", "pos"] },
      schema: { tags: ["Sales"], summary: "List sales, newest first", querystring: SaleQuery },
    },
    async (request) => readSales(app.deps.db, request.principal.workspaceId, request.query),
  );
}
