// API keys: `Authorization: Bearer till_…`. A key belongs to one workspace and has one role; every
// handler reads the workspace from the key, never from the request, so a key cannot reach another
// workspace's data. A route lists the roles it admits in its config.
import type { FastifyInstance } from "fastify";
import fp from "fastify-plugin";
import { Problem } from "../services/problem.js";
import { authenticate } from "../services/workspaces.js";
import type { Role } from "../store/workspaces.js";

export interface Principal {
  readonly workspaceId: string;
  readonly keyId: string;
  readonly role: Role;
  readonly maySetPrices: boolean;
}

declare module "fastify" {
  interface FastifyRequest {
    principal: Principal;
  }
  interface FastifyContextConfig {
    /** Roles admitted; absent means every role. */
    roles?: readonly Role[];
  }
}

const BEARER = /^Bearer\s+(\S+)$/i;

export const authPlugin = fp(async (app: FastifyInstance) => {
  app.decorateRequest("principal", null as unknown as Principal);
  app.addHook("onRequest", async (request) => {
    const header = request.headers.authorization;
    const secret = header === undefined ? undefined : BEARER.exec(header)?.[1];
    if (secret === undefined) {
      throw new Problem(401, "unauthorized", "Unauthorized", "send an API key: Authorization: Bearer till_…");
    }
    const key = await authenticate(app.deps.db, secret, app.deps.now());
    if (key === null)
      throw new Problem(401, "unauthorized", "Unauthorized", "the API key is not valid or was revoked");
    const roles = request.routeOptions.config.roles;
    if (roles !== undefined && !roles.includes(key.role)) {
      throw new Problem(
        403,
        "forbidden",
        "Forbidden",
        `a ${key.role} key may not do this; it needs ${roles.join(" or ")}`,
      );
    }
    request.principal = {
      workspaceId: key.workspaceId,
      keyId: key.id,
      role: key.role,
      maySetPrices: key.maySetPrices,
    };
  });
});
