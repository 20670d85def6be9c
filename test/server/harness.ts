// What every server test stands on: a database of its own (created on the PostgreSQL the project
// runs against, migrated), the app in-process, a workspace with an admin key, and a clock the test
// can move.
import { randomBytes } from "node:crypto";
import { expect, inject } from "vitest";
import { buildApp, type App } from "../../src/api/app.js";
import { migrate } from "../../src/store/migrate.js";
import { createPool, type Db } from "../../src/store/db.js";
import { createApiKey, createWorkspace, type WorkspaceInput } from "../../src/services/workspaces.js";
import type { Role } from "../../src/store/workspaces.js";

export interface Reply<T = Record<string, unknown>> {
  readonly status: number;
  readonly body: T;
  readonly headers: Record<string, unknown>;
}

export interface TestServer {
  readonly app: App;
  readonly db: Db;
  readonly url: string;
  readonly kind: "embedded" | "server";
  readonly workspaceId: string;
  /** The admin key of the first workspace. */
  readonly admin: string;
  /** The instant the app reads as "now"; tests set it. */
  clock: { now: number };
  request<T = Record<string, unknown>>(
    method: "GET" | "POST" | "PUT" | "PATCH" | "DELETE",
    url: string,
    options?: { key?: string; body?: unknown; headers?: Record<string, string> },
  ): Promise<Reply<T>>;
  newKey(role: Role, options?: { workspaceId?: string; maySetPrices?: boolean }): Promise<string>;
  newWorkspace(input?: Partial<WorkspaceInput>): Promise<{ workspaceId: string; admin: string }>;
  close(): Promise<void>;
}

export async function createDatabase(): Promise<{ url: string; drop: () => Promise<void> }> {
  const adminUrl = inject("adminDatabaseUrl");
  const name = `till_t_${randomBytes(6).toString("hex")}`;
  const admin = createPool({ url: adminUrl, max: 1 });
  await admin.query(`create database ${name}`);
  await admin.end();
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: async () => {
      const pool = createPool({ url: adminUrl, max: 1 });
      await pool.query(`drop database if exists ${name} with (force)`);
      await pool.end();
    },
  };
}

export async function startServer(
  settings: Partial<WorkspaceInput> = {},
  options: { poolMax?: number } = {},
): Promise<TestServer> {
  const database = await createDatabase();
  const db = createPool({ url: database.url, max: options.poolMax ?? 20 });
  await migrate(db);
  const clock = { now: Date.parse("2026-03-02T10:00:00Z") };
  const app = await buildApp({
    db,
    now: () => clock.now,
    logger: process.env["TILL_TEST_LOG"] ? { level: "error" } : false,
  });
  const first = await createWorkspace(db, {
    name: "Test shop",
    currency: "EUR",
    timeZone: "Europe/Berlin",
    ...settings,
  });
  const server: TestServer = {
    app,
    db,
    url: database.url,
    kind: inject("databaseKind"),
    workspaceId: first.workspace.id,
    admin: first.admin.secret,
    clock,
    async request(method, url, { key, body, headers } = {}) {
      const response = await app.inject({
        method,
        url,
        headers: {
          ...(key === null ? {} : { authorization: `Bearer ${key ?? first.admin.secret}` }),
          ...headers,
        },
        ...(body !== undefined ? { payload: body as object } : {}),
      });
      const text = response.body;
      const type = String(response.headers["content-type"] ?? "");
      const parsed = type.includes("json") && text.length > 0 ? (JSON.parse(text) as never) : (text as never);
      return { status: response.statusCode, body: parsed, headers: response.headers };
    },
    async newKey(role, { workspaceId, maySetPrices } = {}) {
      const created = await createApiKey(db, workspaceId ?? first.workspace.id, {
        name: `${role} key`,
        role,
        maySetPrices: maySetPrices ?? false,
      });
      return created.secret;
    },
    async newWorkspace(input = {}) {
      const made = await createWorkspace(db, {
        name: "Other shop",
        currency: "EUR",
        timeZone: "Europe/Berlin",
        ...input,
      });
      return { workspaceId: made.workspace.id, admin: made.admin.secret };
    },
    async close() {
      await app.close();
      await db.end();
      await database.drop();
    },
  };
  return server;
}

/** A page of a list endpoint. */
export interface Page<T> {
  items: T[];
  next?: string;
}

/** The reply is an RFC 9457 problem with this status, naming `path` among its errors when given. */
export function expectProblem(reply: Reply<unknown>, status: number, path?: string): void {
  const body = reply.body as Record<string, unknown>;
  expect(reply.status, JSON.stringify(body)).toBe(status);
  expect(String(reply.headers["content-type"])).toContain("application/problem+json");
  expect(body["status"]).toBe(status);
  if (path !== undefined) {
    const paths = ((body["errors"] ?? []) as { path: string }[]).map((e) => e.path);
    expect(paths, JSON.stringify(body)).toContain(path);
  }
}

/** How a promotion fares in a quote of one unit of a SKU: its discount, or its rejection code. */
export async function promotionFate(
  server: TestServer,
  key: string,
  customerId: string,
  sku: string,
  promotionId: string,
): Promise<number | string> {
  const reply = await server.request<{
    applied: { promotionId: string; discountMinor: number }[];
    rejected: { promotionId: string; code: string }[];
  }>("POST", "/v1/baskets/evaluate", { key, body: { customerId, lines: [{ id: "1", sku, quantity: 1 }] } });
  expect(reply.status, JSON.stringify(reply.body)).toBe(200);
  const applied = reply.body.applied.find((a) => a.promotionId === promotionId);
  if (applied) return applied.discountMinor;
  return reply.body.rejected.find((r) => r.promotionId === promotionId)?.code ?? "not_looked_at";
}
