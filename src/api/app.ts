// The HTTP application: Fastify with TypeBox schemas, one error handler that answers RFC 9457
// problem details, API-key authentication with roles, the OpenAPI document generated from the
// route schemas, interactive docs, health, readiness and Prometheus metrics. Tests call it in-process
// through `app.inject`.
import swagger from "@fastify/swagger";
import swaggerUi from "@fastify/swagger-ui";
import type { TypeBoxTypeProvider } from "@fastify/type-provider-typebox";
import Fastify, {
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyServerOptions,
  type RawReplyDefaultExpression,
  type RawRequestDefaultExpression,
  type RawServerDefault,
} from "fastify";
import type { Db } from "../store/db.js";
import { authPlugin } from "./auth.js";
import { errorHandler } from "./errors.js";
import { createMetrics, metricsPlugin } from "./metrics.js";
import { attributes } from "./routes/attributes.js";
import { baskets } from "./routes/baskets.js";
import { catalog } from "./routes/catalog.js";
import { codes } from "./routes/codes.js";
import { customers } from "./routes/customers.js";
import { loyalty } from "./routes/loyalty.js";
import { loyaltyRecomputes } from "./routes/loyalty-recompute.js";
import { points } from "./routes/points.js";
import { pointsRules } from "./routes/points-rules.js";
import { productLists } from "./routes/product-lists.js";
import { promotionImports } from "./routes/promotion-imports.js";
import { promotions } from "./routes/promotions.js";
import { returns } from "./routes/returns.js";
import { rewards } from "./routes/rewards.js";
import { sales } from "./routes/sales.js";
import { stores } from "./routes/stores.js";
import { system } from "./routes/system.js";
import { usage } from "./routes/usage.js";
import { wallet } from "./routes/wallet.js";
import { workspace } from "./routes/workspace.js";
import { validatorCompiler } from "./validation.js";

export interface AppOptions {
  readonly db: Db;
  /** The clock, injectable so tests can stand at any instant. */
  readonly now?: () => number;
  readonly logger?: FastifyServerOptions["logger"];
  readonly version?: string;
}

export type App = FastifyInstance<
  RawServerDefault,
  RawRequestDefaultExpression,
  RawReplyDefaultExpression,
  FastifyBaseLogger,
  TypeBoxTypeProvider
>;

/** Per-route body limit default; the catalog's bulk upsert raises its own. */
export const BODY_LIMIT_BYTES = 1_048_576;

export async function buildApp(options: AppOptions): Promise<App> {
  const app = Fastify({
    logger: options.logger ?? false,
    bodyLimit: BODY_LIMIT_BYTES,
    // Refuse a body that tries to set __proto__ or constructor.prototype.
    onProtoPoisoning: "error",
    onConstructorPoisoning: "error",
    ajv: { customOptions: { strict: false } },
    genReqId: () => crypto.randomUUID(),
    // Ids are at most 100 characters by schema; a longer one must reach the schema to be named in a
    // problem, not be cut off by the router with a bare 414.
    routerOptions: { maxParamLength: 1_000 },
  }).withTypeProvider<TypeBoxTypeProvider>() as unknown as App;

  const deps = { db: options.db, now: options.now ?? Date.now, metrics: createMetrics() };
  app.decorate("deps", deps);
  app.setValidatorCompiler(validatorCompiler);
  app.setErrorHandler(errorHandler);
  app.setNotFoundHandler((request, reply) => {
    void reply
      .code(404)
      .type("application/problem+json")
      .send({
        type: "https://till.dev/problems/not_found",
        title: "Not found",
        status: 404,
        detail: `${request.method} ${request.url.split("?")[0]} is not a route of this API`,
      });
  });

  await app.register(swagger, {
    openapi: {
      openapi: "3.1.0",
      info: {
        title: "Till API",
        version: options.version ?? "0.1.0",
        description:
          "Price baskets with every promotion a customer is entitled to, commit sales exactly once, process returns. Errors are RFC 9457 problem details.",
      },
      components: {
        securitySchemes: {
          apiKey: { type: "http", scheme: "bearer", description: "A Till API key: till_…" },
        },
      },
      security: [{ apiKey: [] }],
    },
  });
  await app.register(swaggerUi, { routePrefix: "/docs" });
  await app.register(metricsPlugin);
  await app.register(system);
  await app.register(
    async (v1) => {
      await v1.register(authPlugin);
      await v1.register(workspace);
      await v1.register(stores);
      await v1.register(catalog);
      await v1.register(customers);
      await v1.register(attributes);
      await v1.register(promotions);
      await v1.register(promotionImports);
      await v1.register(codes);
      await v1.register(baskets);
      await v1.register(sales);
      await v1.register(returns);
      await v1.register(usage);
      await v1.register(wallet);
      await v1.register(points);
      await v1.register(pointsRules);
      await v1.register(rewards);
      await v1.register(productLists);
      await v1.register(loyalty);
      await v1.register(loyaltyRecomputes);
    },
    { prefix: "/v1" },
  );
  app.get("/openapi.json", { schema: { hide: true } }, async () => app.swagger());
  return app;
}

export type Deps = {
  readonly db: Db;
  readonly now: () => number;
  readonly metrics: ReturnType<typeof createMetrics>;
};

declare module "fastify" {
  interface FastifyInstance {
    deps: Deps;
  }
}
