// A customer's wallet: staff (admin, marketer, pos) issue and revoke; the app and the till list and
// activate. Every route is scoped to the key's workspace: another workspace's customer or entry is a 404.
import type { FastifyInstance } from "fastify";
import Type from "typebox";
import { closed, Id } from "../../services/catalog.js";
import {
  activateEntry,
  IssueBodySchema,
  issueEntry,
  readWallet,
  revokeEntry,
  WalletEntryJsonSchema,
  WalletQuerySchema,
  type IssueBody,
  type WalletQuery,
} from "../../services/wallet.js";

const CustomerParams = Type.Object({ customerId: Id }, closed);
const EntryParams = Type.Object({ customerId: Id, entryId: Id }, closed);
type EntryParams = { customerId: string; entryId: string };
const STAFF = ["admin", "marketer", "pos"] as const;

export async function wallet(app: FastifyInstance): Promise<void> {
  const { db } = app.deps;

  app.post<{ Params: { customerId: string }; Body: IssueBody }>(
    "/customers/:customerId/wallet",
    {
      config: { roles: STAFF },
      schema: {
        tags: ["Wallet"],
        summary: "Issue a loyalty, loyalty earning or rewards promotion to a customer",
        description:
          "Issued deactivated when the promotion requires customer activation, active otherwise. The promotion's issual limit counts every entry the customer was ever issued (409 limit_reached). The expiry follows the promotion's expiry rule, unless expiresAt overrides it for this entry.",
        params: CustomerParams,
        body: IssueBodySchema,
        response: { 201: WalletEntryJsonSchema },
      },
    },
    async (request, reply) => {
      const { customerId } = request.params;
      const entry = await issueEntry(
        db,
        request.principal.workspaceId,
        customerId,
        request.body,
        app.deps.now(),
      );
      return reply.code(201).send(entry);
    },
  );

  app.get<{ Params: { customerId: string }; Querystring: WalletQuery }>(
    "/customers/:customerId/wallet",
    {
      schema: {
        tags: ["Wallet"],
        summary: "A customer's wallet, with each entry's state and expiry as of now",
        params: CustomerParams,
        querystring: WalletQuerySchema,
        response: {
          200: Type.Object({ items: Type.Array(WalletEntryJsonSchema), next: Type.Optional(Type.String()) }),
        },
      },
    },
    async (request) =>
      readWallet(db, request.principal.workspaceId, request.params.customerId, request.query, app.deps.now()),
  );

  app.post<{ Params: EntryParams }>(
    "/customers/:customerId/wallet/:entryId/activate",
    {
      config: { roles: ["admin", "pos", "app"] },
      schema: {
        tags: ["Wallet"],
        summary: "Activate an issued entry (client.activatePromotion); an active one answers unchanged",
        params: EntryParams,
        response: { 200: WalletEntryJsonSchema },
      },
    },
    async (request) => {
      const { customerId, entryId } = request.params;
      return activateEntry(db, request.principal.workspaceId, customerId, entryId, app.deps.now());
    },
  );

  app.delete<{ Params: EntryParams }>(
    "/customers/:customerId/wallet/:entryId",
    {
      config: { roles: STAFF },
      schema: {
        tags: ["Wallet"],
        summary: "Revoke an entry: it stops applying at once",
        params: EntryParams,
        response: { 200: WalletEntryJsonSchema },
      },
    },
    async (request) => {
      const { customerId, entryId } = request.params;
      return revokeEntry(db, request.principal.workspaceId, customerId, entryId, app.deps.now());
    },
  );
}
