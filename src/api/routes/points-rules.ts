// The workspace's points rules (earning on sales, burning at the till): every role reads them; admins
// and marketers write them. Scoped to the key's workspace; there is no way to name another.
import type { FastifyInstance } from "fastify";
import { PointsRulesSchema, readRules, writeRules, type PointsRules } from "../../services/points-rules.js";

export async function pointsRules(app: FastifyInstance): Promise<void> {
  const { db } = app.deps;

  app.get(
    "/points/rules",
    {
      schema: {
        tags: ["Points"],
        summary: "The workspace's points rules (disabled until set)",
        response: { 200: PointsRulesSchema },
      },
    },
    async (request) => readRules(db, request.principal.workspaceId),
  );

  app.put<{ Body: PointsRules }>(
    "/points/rules",
    {
      config: { roles: ["admin", "marketer"] },
      schema: {
        tags: ["Points"],
        summary: "Replace the workspace's points rules; the next sale uses them",
        body: PointsRulesSchema,
        response: { 200: PointsRulesSchema },
      },
    },
    async (request) => writeRules(db, request.principal.workspaceId, request.body, app.deps.now()),
  );
}
