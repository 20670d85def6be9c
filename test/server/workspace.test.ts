// Workspace and API keys API: every key reads its own workspace, admins change its settings and issue, list and revoke keys (secrets shown once, revocation immediate, a key never revokes itself), bad input is a problem naming the field that changes nothing, and no key reaches another workspace.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startServer, type TestServer, expectProblem } from "./harness.js";

let server: TestServer;
beforeAll(async () => {
  server = await startServer();
});
afterAll(async () => server?.close());

interface Workspace {
  id: string;
  name: string;
  currency: string;
  timeZone: string;
  cartStacking: boolean;
  productStacking: boolean;
  activePromotionsMax: number;
  createdAt: string;
}
interface Key {
  id: string;
  name: string;
  role: string;
  maySetPrices: boolean;
  createdAt: string;
  revokedAt?: string;
  secret?: string;
}

/** Workspaces and keys of every workspace, to prove a refused request wrote nothing. */
async function snapshot(): Promise<string> {
  const workspaces = await server.db.query("select * from workspaces order by id");
  const keys = await server.db.query("select * from api_keys order by workspace_id, id");
  return JSON.stringify([workspaces.rows, keys.rows]);
}

function nested(levels: number): unknown {
  let value: unknown = "deep";
  for (let i = 0; i < levels; i++) value = { a: value };
  return value;
}

describe("workspace settings", () => {
  it("are readable by every role", async () => {
    for (const role of ["admin", "marketer", "pos", "app"] as const) {
      const reply = await server.request<Workspace>("GET", "/v1/workspace", {
        key: await server.newKey(role),
      });
      expect(reply.status).toBe(200);
      expect(reply.body).toMatchObject({
        id: server.workspaceId,
        name: "Test shop",
        currency: "EUR",
        timeZone: "Europe/Berlin",
        cartStacking: true,
        productStacking: true,
        activePromotionsMax: 250,
      });
      expect(new Date(reply.body.createdAt).toISOString()).toBe(reply.body.createdAt);
    }
  });

  it("change only in the fields an admin sends", async () => {
    const changed = await server.request<Workspace>("PATCH", "/v1/workspace", {
      body: { name: "Corner shop", currency: "CHF", timeZone: "Europe/Zurich", cartStacking: false },
    });
    expect(changed.status).toBe(200);
    expect(changed.body).toMatchObject({
      name: "Corner shop",
      currency: "CHF",
      timeZone: "Europe/Zurich",
      cartStacking: false,
      productStacking: true,
      activePromotionsMax: 250,
    });
    const more = await server.request<Workspace>("PATCH", "/v1/workspace", {
      body: { productStacking: false, activePromotionsMax: 10_000 },
    });
    expect(more.body).toMatchObject({
      name: "Corner shop",
      productStacking: false,
      activePromotionsMax: 10_000,
    });
    expect((await server.request("GET", "/v1/workspace")).body).toEqual(more.body);
    const least = await server.request<Workspace>("PATCH", "/v1/workspace", {
      body: { activePromotionsMax: 1 },
    });
    expect(least.body.activePromotionsMax).toBe(1);
    await server.request("PATCH", "/v1/workspace", { body: { activePromotionsMax: 250 } });
  });

  it("an empty PATCH changes nothing, not even the promotions version", async () => {
    const before = await snapshot();
    const reply = await server.request<Workspace>("PATCH", "/v1/workspace", { body: {} });
    expect(reply.status).toBe(200);
    expect(await snapshot()).toBe(before);
  });

  it.each<[string, unknown, number, string]>([
    ["a currency in lower case", { currency: "eur" }, 400, "/currency"],
    ["a currency that is not ISO 4217", { currency: "XYZ" }, 422, "/currency"],
    ["a currency that is a number", { currency: 978 }, 400, "/currency"],
    ["a time zone that is not IANA", { timeZone: "Mars/Olympus_Mons" }, 422, "/timeZone"],
    ["an empty time zone", { timeZone: "" }, 400, "/timeZone"],
    ["zero active promotions", { activePromotionsMax: 0 }, 400, "/activePromotionsMax"],
    ["negative active promotions", { activePromotionsMax: -5 }, 400, "/activePromotionsMax"],
    ["10,001 active promotions", { activePromotionsMax: 10_001 }, 400, "/activePromotionsMax"],
    ["fractional active promotions", { activePromotionsMax: 2.5 }, 400, "/activePromotionsMax"],
    ["an absurd number of active promotions", { activePromotionsMax: 1e300 }, 400, "/activePromotionsMax"],
    ["active promotions as a string", { activePromotionsMax: "12" }, 400, "/activePromotionsMax"],
    ["a stacking switch as a string", { cartStacking: "false" }, 400, "/cartStacking"],
    ["a stacking switch as a number", { productStacking: 0 }, 400, "/productStacking"],
    ["an empty name", { name: "" }, 400, "/name"],
    ["a name of 101 characters", { name: "n".repeat(101) }, 400, "/name"],
    ["a name nested 100 levels", { name: nested(100) }, 400, "/name"],
    ["a name with an unpaired surrogate", { name: "shop \ud83d" }, 400, "/name"],
    ["an unknown field", { name: "Shop", id: "ws_other" }, 400, "/id"],
    ["a body that is an array", [{ name: "Shop" }], 400, "/"],
  ])("refuses %s at the field and changes nothing", async (_what, body, status, path) => {
    const before = await snapshot();
    expectProblem(await server.request("PATCH", "/v1/workspace", { body }), status, path);
    expect(await snapshot()).toBe(before);
  });

  it("refuses an oversized body and non-admin keys", async () => {
    const before = await snapshot();
    expectProblem(
      await server.request("PATCH", "/v1/workspace", { body: { name: "n".repeat(1_100_000) } }),
      413,
    );
    expect(await snapshot()).toBe(before);
    for (const role of ["marketer", "pos", "app"] as const) {
      const key = await server.newKey(role);
      const withKey = await snapshot();
      expectProblem(await server.request("PATCH", "/v1/workspace", { key, body: { name: "Mine now" } }), 403);
      expect(await snapshot()).toBe(withKey);
    }
  });
});

describe("API keys", () => {
  it("are issued with their secret once, work at once, and are listed without secrets", async () => {
    const created = await server.request<Key>("POST", "/v1/api-keys", {
      body: { name: "Till 3", role: "pos", maySetPrices: true },
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ name: "Till 3", role: "pos", maySetPrices: true });
    expect(created.body.id).toMatch(/^key_/);
    expect(created.body.secret).toMatch(/^till_/);
    expect((await server.request("GET", "/v1/workspace", { key: created.body.secret! })).status).toBe(200);

    for (const role of ["admin", "marketer", "app"] as const) {
      const other = await server.request<Key>("POST", "/v1/api-keys", {
        body: { name: `${role} key`, role },
      });
      expect(other.status).toBe(201);
      expect(other.body).toMatchObject({ role, maySetPrices: false });
    }

    const list = await server.request<{ items: Key[] }>("GET", "/v1/api-keys");
    expect(list.status).toBe(200);
    expect(list.body.items.map((k) => k.name)).toEqual(
      expect.arrayContaining(["admin", "Till 3", "admin key", "marketer key", "app key"]),
    );
    const raw = JSON.stringify(list.body);
    expect(raw).not.toContain(created.body.secret);
    for (const item of list.body.items) {
      expect(Object.keys(item).sort()).toEqual(
        ["createdAt", "id", "maySetPrices", "name", "role", ...(item.revokedAt ? ["revokedAt"] : [])].sort(),
      );
    }
  });

  it.each<[string, unknown, number, string]>([
    ["prices set by a non-pos key", { name: "k", role: "app", maySetPrices: true }, 422, "/maySetPrices"],
    ["prices set by an admin key", { name: "k", role: "admin", maySetPrices: true }, 422, "/maySetPrices"],
    ["an unknown role", { name: "k", role: "root" }, 400, "/role"],
    ["a missing role", { name: "k" }, 400, "/role"],
    ["a missing name", { role: "pos" }, 400, "/name"],
    ["an empty name", { name: "", role: "pos" }, 400, "/name"],
    ["a name of 101 characters", { name: "n".repeat(101), role: "pos" }, 400, "/name"],
    ["a name that is a number", { name: 1e300, role: "pos" }, 400, "/name"],
    ["maySetPrices as a string", { name: "k", role: "pos", maySetPrices: "true" }, 400, "/maySetPrices"],
    ["an unknown field", { name: "k", role: "pos", workspaceId: "ws_other" }, 400, "/workspaceId"],
    ["a name nested 100 levels", { name: nested(100), role: "pos" }, 400, "/name"],
  ])("refuses %s at the field and creates nothing", async (_what, body, status, path) => {
    const before = await snapshot();
    expectProblem(await server.request("POST", "/v1/api-keys", { body }), status, path);
    expect(await snapshot()).toBe(before);
  });

  it("are managed by admins only", async () => {
    const target = (await server.request<{ items: Key[] }>("GET", "/v1/api-keys")).body.items[0]!;
    for (const role of ["marketer", "pos", "app"] as const) {
      const key = await server.newKey(role);
      const after = await snapshot();
      expectProblem(await server.request("GET", "/v1/api-keys", { key }), 403);
      expectProblem(
        await server.request("POST", "/v1/api-keys", { key, body: { name: "x", role: "admin" } }),
        403,
      );
      expectProblem(await server.request("DELETE", `/v1/api-keys/${target.id}`, { key }), 403);
      expect(await snapshot()).toBe(after);
    }
  });

  it("are revoked at once (401 from then on), idempotently, and listed as revoked", async () => {
    const created = await server.request<Key>("POST", "/v1/api-keys", {
      body: { name: "Old till", role: "pos" },
    });
    const secret = created.body.secret!;
    expect((await server.request("GET", "/v1/workspace", { key: secret })).status).toBe(200);

    expect((await server.request("DELETE", `/v1/api-keys/${created.body.id}`)).status).toBe(204);
    expectProblem(await server.request("GET", "/v1/workspace", { key: secret }), 401);
    expectProblem(await server.request("GET", "/v1/catalog/items", { key: secret }), 401);
    expect((await server.request("DELETE", `/v1/api-keys/${created.body.id}`)).status).toBe(204);

    const listed = (await server.request<{ items: Key[] }>("GET", "/v1/api-keys")).body.items.find(
      (k) => k.id === created.body.id,
    );
    expect(listed?.revokedAt).toMatch(/^\d{4}-\d{2}-\d{2}T/);
  });

  it("cannot revoke the key that asks (409), so a workspace always keeps an admin key", async () => {
    const created = await server.request<Key>("POST", "/v1/api-keys", {
      body: { name: "Second admin", role: "admin" },
    });
    const second = created.body.secret!;
    const before = await snapshot();
    expectProblem(await server.request("DELETE", `/v1/api-keys/${created.body.id}`, { key: second }), 409);
    expect(await snapshot()).toBe(before);
    expect((await server.request("GET", "/v1/workspace", { key: second })).status).toBe(200);
    // Rotation: a newer admin key revokes the older one.
    const otherAdmin = await server.request<Key>("POST", "/v1/api-keys", {
      key: second,
      body: { name: "Third", role: "admin" },
    });
    expect(
      (await server.request("DELETE", `/v1/api-keys/${created.body.id}`, { key: otherAdmin.body.secret! }))
        .status,
    ).toBe(204);
    expectProblem(await server.request("GET", "/v1/workspace", { key: second }), 401);
  });

  it("answers 404 for a key that does not exist and 4xx for a malformed id, changing nothing", async () => {
    const before = await snapshot();
    expectProblem(await server.request("DELETE", "/v1/api-keys/key_nope"), 404);
    expectProblem(await server.request("DELETE", "/v1/api-keys/"), 400, "/params/keyId");
    const long = await server.request("DELETE", `/v1/api-keys/${"k".repeat(101)}`);
    expect(long.status).toBeGreaterThanOrEqual(400);
    expect(long.status).toBeLessThan(500);
    expect(await snapshot()).toBe(before);
  });

  it("answers 401 without a key or with a made-up one", async () => {
    expectProblem(await server.request("GET", "/v1/workspace", { headers: { authorization: "" } }), 401);
    expectProblem(
      await server.request("GET", "/v1/workspace", { headers: { authorization: "Bearer till_madeup" } }),
      401,
    );
    expectProblem(
      await server.request("GET", "/v1/workspace", { headers: { authorization: "Basic abc" } }),
      401,
    );
  });
});

describe("tenant isolation", () => {
  it("gives another workspace's admin its own workspace and keys only", async () => {
    const other = await server.newWorkspace({
      name: "Other shop",
      currency: "USD",
      timeZone: "America/New_York",
    });
    const key = other.admin;
    const ownKeys = (await server.request<{ items: Key[] }>("GET", "/v1/api-keys")).body.items;
    const mine = await snapshotOf(server.workspaceId);

    const theirs = await server.request<Workspace>("GET", "/v1/workspace", { key });
    expect(theirs.body).toMatchObject({ id: other.workspaceId, name: "Other shop", currency: "USD" });
    const theirKeys = (await server.request<{ items: Key[] }>("GET", "/v1/api-keys", { key })).body.items;
    expect(theirKeys).toHaveLength(1);
    expect(theirKeys.map((k) => k.id)).not.toContain(ownKeys[0]!.id);

    for (const k of ownKeys)
      expectProblem(await server.request("DELETE", `/v1/api-keys/${k.id}`, { key }), 404);
    expect(
      (
        await server.request("PATCH", "/v1/workspace", {
          key,
          body: { name: "Renamed", cartStacking: false },
        })
      ).status,
    ).toBe(200);
    expect(
      (await server.request("POST", "/v1/api-keys", { key, body: { name: "theirs", role: "pos" } })).status,
    ).toBe(201);

    expect(await snapshotOf(server.workspaceId)).toBe(mine);
    expect((await server.request("GET", "/v1/workspace")).status).toBe(200);
  });
});

async function snapshotOf(workspaceId: string): Promise<string> {
  const workspace = await server.db.query("select * from workspaces where id = $1", [workspaceId]);
  const keys = await server.db.query("select * from api_keys where workspace_id = $1 order by id", [
    workspaceId,
  ]);
  return JSON.stringify([workspace.rows, keys.rows]);
}
