// The full recompute of profile states over HTTP (issue 4): start one (it runs on in this process)
// and follow it. Admin and marketer keys only.
import type { FastifyInstance } from "fastify";
import Type from "typebox";
import { RecomputeSchema, readRecompute, startRecompute } from "../../services/loyalty-recompute.js";

const ROLES = ["admin", "marketer"] as const;
const TAGS = ["Loyalty"];
const IdParams = Type.Object(
  { id: Type.String({ minLength: 1, maxLength: 100 }) },
  { additionalProperties: false },
);

export async function loyaltyRecomputes(app: FastifyInstance): Promise<void> {
  app.post(
    "/loyalty/recomputes",
    {
      config: { roles: ROLES },
      schema: {
        tags: TAGS,
        summary: "Recompute every profile's aggregates, segments and tiers from its events",
        description:
          "After a definition changed: every profile's state is rebuilt from all its events under the current model, its tiers and segments evaluated and stored, and tier moves recorded with cause `recompute`. Answers 202 with the running job: follow it at its Location. Sales and events go on meanwhile. One recompute per workspace at a time: another one running is a 409. Without it, a profile built under an older definition is rebuilt when it is next read.",
        response: { 202: RecomputeSchema },
      },
    },
    async (request, reply) => {
      const job = await startRecompute(app.deps.db, request.principal.workspaceId, app.deps.now);
      return reply.code(202).header("location", `/v1/loyalty/recomputes/${job.id}`).send(job);
    },
  );

  app.get<{ Params: { id: string } }>(
    "/loyalty/recomputes/:id",
    {
      config: { roles: ROLES },
      schema: {
        tags: TAGS,
        summary: "A recompute: status and progress (a job whose process stopped reads as failed)",
        params: IdParams,
        response: { 200: RecomputeSchema },
      },
    },
    async (request) =>
      readRecompute(app.deps.db, request.principal.workspaceId, request.params.id, app.deps.now()),
  );
}
