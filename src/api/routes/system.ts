// Liveness, readiness and metrics: unauthenticated, for load balancers and Prometheus.
import type { FastifyInstance } from "fastify";

export async function system(app: FastifyInstance): Promise<void> {
  app.get("/healthz", { schema: { hide: true } }, async () => ({ status: "ok" }));
  app.get("/readyz", { schema: { hide: true } }, async (_request, reply) => {
    try {
      await app.deps.db.query("select 1");
      return { status: "ready" };
    } catch {
      return reply.code(503).type("application/problem+json").send({
        type: "https://till.dev/problems/not_ready",
        title: "Not ready",
        status: 503,
        detail: "the database does not answer",
      });
    }
  });
  app.get("/metrics", { schema: { hide: true } }, async (_request, reply) => {
    const { registry } = app.deps.metrics;
    return reply.type(registry.contentType).send(await registry.metrics());
  });
}
