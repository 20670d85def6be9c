// A customer's points: every role reads the balance, lots and ledger; staff and tills earn; tills and
// the app burn (rewards); staff transfer. Every route is scoped to the key's workspace: another
// workspace's customer is a 404. Writes answer `idempotent-replayed: true` when the reference was
// already used with the same body.
import type { FastifyInstance } from "fastify";
import Type from "typebox";
import { closed, Id } from "../../services/catalog.js";
import {
  burnPoints,
  BurnBodySchema,
  earnPoints,
  EarnBodySchema,
  OperationJsonSchema,
  PointsJsonSchema,
  PointsQuerySchema,
  readPoints,
  transferPoints,
  TransferBodySchema,
  type Answered,
  type BurnBody,
  type EarnBody,
  type PointsQuery,
  type TransferBody,
} from "../../services/points.js";

const CustomerParams = Type.Object({ customerId: Id }, closed);
type CustomerParams = { customerId: string };

export async function points(app: FastifyInstance): Promise<void> {
  const { db } = app.deps;
  const answer = (answered: Answered) => answered.result;

  app.get<{ Params: CustomerParams; Querystring: PointsQuery }>(
    "/customers/:customerId/points",
    {
      schema: {
        tags: ["Points"],
        summary: "The balance as of now, the lots that count, the next expiry and the ledger (newest first)",
        params: CustomerParams,
        querystring: PointsQuerySchema,
        response: { 200: PointsJsonSchema },
      },
    },
    async (request) =>
      readPoints(db, request.principal.workspaceId, request.params.customerId, request.query, app.deps.now()),
  );

  app.post<{ Params: CustomerParams; Body: EarnBody }>(
    "/customers/:customerId/points/earn",
    {
      config: { roles: ["admin", "marketer", "pos"] },
      schema: {
        tags: ["Points"],
        summary: "Add a lot of points, expiring at expiresAt, after expiresInDays, or never",
        params: CustomerParams,
        body: EarnBodySchema,
        response: { 200: OperationJsonSchema },
      },
    },
    async (request, reply) => {
      const { workspaceId } = request.principal;
      const done = await earnPoints(db, workspaceId, request.params.customerId, request.body, app.deps.now());
      return reply.header("idempotent-replayed", String(done.replayed)).send(answer(done));
    },
  );

  app.post<{ Params: CustomerParams; Body: BurnBody }>(
    "/customers/:customerId/points/burn",
    {
      config: { roles: ["admin", "pos", "app"] },
      schema: {
        tags: ["Points"],
        summary: "Take points, from the oldest-expiring lot first; 409 insufficient_points when short",
        params: CustomerParams,
        body: BurnBodySchema,
        response: { 200: OperationJsonSchema },
      },
    },
    async (request, reply) => {
      const { workspaceId } = request.principal;
      const done = await burnPoints(db, workspaceId, request.params.customerId, request.body, app.deps.now());
      return reply.header("idempotent-replayed", String(done.replayed)).send(answer(done));
    },
  );

  app.post<{ Params: CustomerParams; Body: TransferBody }>(
    "/customers/:customerId/points/transfer",
    {
      config: { roles: ["admin", "marketer"] },
      schema: {
        tags: ["Points"],
        summary: "Move points to another customer of the workspace, keeping their expiries",
        params: CustomerParams,
        body: TransferBodySchema,
        response: { 200: OperationJsonSchema },
      },
    },
    async (request, reply) => {
      const { workspaceId } = request.principal;
      const done = await transferPoints(
        db,
        workspaceId,
        request.params.customerId,
        request.body,
        app.deps.now(),
      );
      return reply.header("idempotent-replayed", String(done.replayed)).send(answer(done));
    },
  );
}
