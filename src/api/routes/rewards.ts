// Buying a rewards promotion with points (or claiming a free direct-trigger one): the app, the till
// and admins. Scoped to the key's workspace: another workspace's customer is a 404. The answer of a
// retried reference carries `idempotent-replayed: true`.
import type { FastifyInstance } from "fastify";
import Type from "typebox";
import { closed, Id } from "../../services/catalog.js";
import {
  purchaseReward,
  PurchaseBodySchema,
  PurchaseJsonSchema,
  type PurchaseBody,
} from "../../services/rewards.js";

const CustomerParams = Type.Object({ customerId: Id }, closed);

export async function rewards(app: FastifyInstance): Promise<void> {
  const { db } = app.deps;

  app.post<{ Params: { customerId: string }; Body: PurchaseBody }>(
    "/customers/:customerId/wallet/purchases",
    {
      config: { roles: ["admin", "pos", "app"] },
      schema: {
        tags: ["Wallet"],
        summary: "Buy a rewards promotion with points (client.removePoints), or claim a free one",
        description:
          "The promotion must be a running rewards promotion with a direct_trigger earning. Its pointsCost leaves the balance in the same transaction as the wallet entry is issued (source bought; earned for a free claim), idempotently by reference: a retry with the same body answers the first result with idempotent-replayed: true.",
        params: CustomerParams,
        body: PurchaseBodySchema,
        response: { 201: PurchaseJsonSchema },
      },
    },
    async (request, reply) => {
      const done = await purchaseReward(
        db,
        request.principal.workspaceId,
        request.params.customerId,
        request.body,
        app.deps.now(),
      );
      return reply.code(201).header("idempotent-replayed", String(done.replayed)).send(done.result);
    },
  );
}
