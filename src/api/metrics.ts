// Prometheus metrics, one registry per app (tests build many apps in one process).
import type { FastifyInstance } from "fastify";
import fp from "fastify-plugin";
import { Counter, Histogram, Registry, collectDefaultMetrics } from "prom-client";

export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  return {
    registry,
    requests: new Histogram({
      name: "till_http_request_duration_seconds",
      help: "HTTP requests by route, method and status",
      labelNames: ["route", "method", "status"] as const,
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [registry],
    }),
    sales: new Counter({
      name: "till_sales_total",
      help: "Sales committed (replays of a committed sale not counted)",
      registers: [registry],
    }),
    salesRepriced: new Counter({
      name: "till_sales_repriced_total",
      help: "Committed sales whose optimistic attempt rolled back (a concurrent sale moved a limit or the customer's loyalty state) and that were priced again under lock",
      registers: [registry],
    }),
    redemptions: new Counter({
      name: "till_redemptions_total",
      help: "Promotions applied in committed sales",
      registers: [registry],
    }),
    discountMinor: new Counter({
      name: "till_discount_minor_total",
      help: "Discount given in committed sales, in minor units of each workspace's currency",
      registers: [registry],
    }),
    returns: new Counter({ name: "till_returns_total", help: "Returns processed", registers: [registry] }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;

export const metricsPlugin = fp(async (app: FastifyInstance) => {
  app.addHook("onResponse", async (request, reply) => {
    const route = request.routeOptions.url ?? "unmatched";
    app.deps.metrics.requests
      .labels(route, request.method, String(reply.statusCode))
      .observe(reply.elapsedTime / 1000);
  });
});
