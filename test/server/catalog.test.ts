// Catalog API: items are written one at a time or 10,000 at once (all or nothing), read back with filters and keyset pages, every bad input is a problem naming the field that changes nothing, and other workspaces cannot see or touch them.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MINOR_MAX } from "../../src/domain/money.js";
import { startServer, type TestServer, expectProblem, type Page } from "./harness.js";

let server: TestServer;
beforeAll(async () => {
  server = await startServer();
});
afterAll(async () => server?.close());

interface Item {
  sku: string;
  name: string;
  priceMinor: number;
  categories: string[];
  brand?: string;
  attributes: Record<string, string>;
  updatedAt: string;
}

/** Every catalog row of every workspace, to prove a refused request wrote nothing. */
async function snapshot(): Promise<string> {
  const { rows } = await server.db.query("select * from catalog_items order by workspace_id, sku");
  return JSON.stringify(rows);
}

const put = (sku: string, body: unknown, key?: string) =>
  server.request<Item>("PUT", `/v1/catalog/items/${encodeURIComponent(sku)}`, { body, key });

function nested(levels: number): unknown {
  let value: unknown = "deep";
  for (let i = 0; i < levels; i++) value = { a: value };
  return value;
}

describe("one item", () => {
  it("creates (201), reads, replaces (200, clearing what the body leaves out), lists and deletes", async () => {
    const body = {
      name: "Espresso beans 1 kg",
      priceMinor: 1899,
      categories: ["coffee", "beans"],
      brand: "Lavazza",
      attributes: { roast: "dark", origin: "BR" },
    };
    const created = await put("BEANS-1", body);
    expect(created.status).toBe(201);
    expect(created.body).toEqual({ sku: "BEANS-1", ...body, updatedAt: "2026-03-02T10:00:00.000Z" });

    const read = await server.request<Item>("GET", "/v1/catalog/items/BEANS-1");
    expect(read.status).toBe(200);
    expect(read.body).toEqual(created.body);

    server.clock.now += 60_000;
    const replaced = await put("BEANS-1", { name: "Espresso beans", priceMinor: 1799 });
    expect(replaced.status).toBe(200);
    expect(replaced.body).toEqual({
      sku: "BEANS-1",
      name: "Espresso beans",
      priceMinor: 1799,
      categories: [],
      attributes: {},
      updatedAt: "2026-03-02T10:01:00.000Z",
    });
    expect((await server.request("GET", "/v1/catalog/items/BEANS-1")).body).toEqual(replaced.body);

    const gone = await server.request("DELETE", "/v1/catalog/items/BEANS-1");
    expect(gone.status).toBe(204);
    expectProblem(await server.request("GET", "/v1/catalog/items/BEANS-1"), 404);
    expectProblem(await server.request("DELETE", "/v1/catalog/items/BEANS-1"), 404);
  });

  it("stores the largest price and a SKU of 100 characters", async () => {
    const sku = "S".repeat(100);
    expect((await put(sku, { name: "Yacht", priceMinor: MINOR_MAX })).status).toBe(201);
    expect((await server.request<Item>("GET", `/v1/catalog/items/${sku}`)).body.priceMinor).toBe(MINOR_MAX);
    expect((await server.request("DELETE", `/v1/catalog/items/${sku}`)).status).toBe(204);
  });

  const valid = { name: "Tea", priceMinor: 250 };
  const badBodies: [string, unknown, string][] = [
    ["a negative price", { ...valid, priceMinor: -1 }, "/priceMinor"],
    ["a fractional price", { ...valid, priceMinor: 2.5 }, "/priceMinor"],
    ["an absurd price", { ...valid, priceMinor: 1e300 }, "/priceMinor"],
    ["a price above MINOR_MAX", { ...valid, priceMinor: MINOR_MAX + 1 }, "/priceMinor"],
    ["a price as a string", { ...valid, priceMinor: "12" }, "/priceMinor"],
    ["a missing price", { name: "Tea" }, "/priceMinor"],
    ["a missing name", { priceMinor: 250 }, "/name"],
    ["an empty name", { ...valid, name: "" }, "/name"],
    ["a name of 201 characters", { ...valid, name: "n".repeat(201) }, "/name"],
    ["a name that is a number", { ...valid, name: 5 }, "/name"],
    ["a name with NUL", { ...valid, name: "Te\u0000a" }, "/name"],
    ["a name with a newline", { ...valid, name: "Te\na" }, "/name"],
    ["a brand with an unpaired surrogate", { ...valid, brand: "B\ud800" }, "/brand"],
    ["an unknown field", { ...valid, colour: "green" }, "/colour"],
    ["categories that are a string", { ...valid, categories: "tea" }, "/categories"],
    ["an empty category", { ...valid, categories: ["tea", ""] }, "/categories/1"],
    ["51 categories", { ...valid, categories: Array.from({ length: 51 }, (_, i) => `c${i}`) }, "/categories"],
    ["an attribute that is a number", { ...valid, attributes: { weight: 100 } }, "/attributes/weight"],
    ["attributes nested 100 levels", { ...valid, attributes: nested(100) }, "/attributes/a"],
    [
      "an attribute name of 101 characters",
      { ...valid, attributes: { ["k".repeat(101)]: "v" } },
      `/attributes/${"k".repeat(101)}`,
    ],
    [
      "51 attributes",
      { ...valid, attributes: Object.fromEntries(Array.from({ length: 51 }, (_, i) => [`k${i}`, "v"])) },
      "/attributes",
    ],
    ["a body that is an array", [valid], "/"],
    ["a body that is null", null, "/"],
  ];

  it.each(badBodies)("refuses %s at the field and writes nothing", async (_what, body, path) => {
    const before = await snapshot();
    const reply = await put("TEA", body);
    expectProblem(reply, 400, path);
    expect(await snapshot()).toBe(before);
    expectProblem(await server.request("GET", "/v1/catalog/items/TEA"), 404);
  });

  it("refuses SKUs that are too long, empty or hold control characters", async () => {
    const before = await snapshot();
    expectProblem(await server.request("PUT", "/v1/catalog/items/", { body: valid }), 400, "/params/sku");
    expectProblem(await put("A\u0000B", valid), 400, "/params/sku");
    expectProblem(await put("A\tB", valid), 400, "/params/sku");
    // Over 100 characters Fastify's router refuses the path (414) before the schema sees it.
    for (const method of ["PUT", "GET", "DELETE"] as const) {
      const reply = await server.request(method, `/v1/catalog/items/${"S".repeat(101)}`, { body: valid });
      expect(reply.status).toBeGreaterThanOrEqual(400);
      expect(reply.status).toBeLessThan(500);
    }
    expect(await snapshot()).toBe(before);
  });

  it("refuses a body over 1 MiB (413), a body that is not JSON and one nested 100,000 levels", async () => {
    const before = await snapshot();
    expectProblem(await put("TEA", { ...valid, name: "x".repeat(1_100_000) }), 413);
    const raw = (payload: string) =>
      server.app.inject({
        method: "PUT",
        url: "/v1/catalog/items/TEA",
        headers: { authorization: `Bearer ${server.admin}`, "content-type": "application/json" },
        payload,
      });
    const notJson = await raw('{"name": "Tea", "priceMinor": ');
    expect(notJson.statusCode).toBe(400);
    expect(notJson.headers["content-type"]).toContain("application/problem+json");
    const deep = await raw(
      `{"name":"Tea","priceMinor":1,"attributes":{"a":${"[".repeat(100_000)}${"]".repeat(100_000)}}}`,
    );
    expect(deep.statusCode).toBe(400);
    expect(deep.headers["content-type"]).toContain("application/problem+json");
    expect(await snapshot()).toBe(before);
  });
});

describe("bulk upsert", () => {
  const items = Array.from({ length: 10_000 }, (_, i) => ({
    sku: `BULK-${String(i).padStart(5, "0")}`,
    name: `Bulk item ${i}`,
    priceMinor: 100 + i,
    categories: [`cat-${i % 10}`],
    brand: `brand-${i % 7}`,
    attributes: { size: ["S", "M", "L"][i % 3]!, colour: "blue" },
  }));

  it("creates 10,000 items in one request, then updates them all", async () => {
    const started = performance.now();
    const first = await server.request("POST", "/v1/catalog/items/bulk", { body: { items } });
    expect(performance.now() - started).toBeLessThan(10_000);
    expect(first.status, JSON.stringify(first.body).slice(0, 500)).toBe(200);
    expect(first.body).toEqual({ created: 10_000, updated: 0 });

    const changed = items.map((item) => ({ ...item, priceMinor: item.priceMinor + 1 }));
    const second = await server.request("POST", "/v1/catalog/items/bulk", { body: { items: changed } });
    expect(second.body).toEqual({ created: 0, updated: 10_000 });

    const { rows } = await server.db.query<{ n: number }>(
      "select count(*)::int as n from catalog_items where workspace_id = $1 and sku like 'BULK-%'",
      [server.workspaceId],
    );
    expect(rows[0]!.n).toBe(10_000);
    const one = await server.request<Item>("GET", "/v1/catalog/items/BULK-01234");
    expect(one.body).toMatchObject({ ...changed[1234], priceMinor: 100 + 1234 + 1 });
  });

  it("mixes creations and updates and counts each", async () => {
    const reply = await server.request("POST", "/v1/catalog/items/bulk", {
      body: { items: [items[0], { sku: "BULK-NEW", name: "New", priceMinor: 1 }] },
    });
    expect(reply.body).toEqual({ created: 1, updated: 1 });
  });

  it("reports every bad item and writes none of the good ones", async () => {
    const before = await snapshot();
    const reply = await server.request("POST", "/v1/catalog/items/bulk", {
      body: {
        items: [
          { sku: "GOOD-1", name: "Good", priceMinor: 1 },
          { sku: "BAD-1", name: "Bad", priceMinor: -5 },
          { sku: "GOOD-2", name: "Good", priceMinor: 2 },
          { sku: "BAD-2", priceMinor: 1.5 },
          { sku: "BAD-3", name: "Bad", priceMinor: 1, size: "XL" },
          { name: "No SKU", priceMinor: 1 },
          { sku: "BAD-4", name: "Bad", priceMinor: 1, attributes: { ["k".repeat(101)]: "v" } },
        ],
      },
    });
    expectProblem(reply, 400, "/items/1/priceMinor");
    for (const path of ["/items/3/priceMinor", "/items/3/name", "/items/4/size", "/items/5/sku"]) {
      expectProblem(reply, 400, path);
    }
    expect(await snapshot()).toBe(before);
    // The attribute name is checked once the shape is right; still nothing written.
    const keyed = await server.request("POST", "/v1/catalog/items/bulk", {
      body: {
        items: [{ sku: "GOOD-1", name: "Good", priceMinor: 1, attributes: { ["k".repeat(101)]: "v" } }],
      },
    });
    expectProblem(keyed, 400, `/items/0/attributes/${"k".repeat(101)}`);
    expect(await snapshot()).toBe(before);
  });

  it("refuses a SKU sent twice, naming both indexes", async () => {
    const before = await snapshot();
    const reply = await server.request("POST", "/v1/catalog/items/bulk", {
      body: {
        items: [
          { sku: "DUP", name: "First", priceMinor: 1 },
          { sku: "OTHER", name: "Other", priceMinor: 1 },
          { sku: "DUP", name: "Second", priceMinor: 2 },
        ],
      },
    });
    expectProblem(reply, 422, "/items/2/sku");
    const errors = reply.body["errors"] as { path: string; message: string; code: string }[];
    expect(errors[0]!.code).toBe("duplicate_sku");
    expect(errors[0]!.message).toContain("/items/0");
    expect(await snapshot()).toBe(before);
  });

  it("refuses more than 10,000 items, none at all, a wrong shape and a body over 16 MiB", async () => {
    const before = await snapshot();
    const tooMany = [...items, { sku: "ONE-MORE", name: "x", priceMinor: 1 }];
    expectProblem(
      await server.request("POST", "/v1/catalog/items/bulk", { body: { items: tooMany } }),
      400,
      "/items",
    );
    expectProblem(
      await server.request("POST", "/v1/catalog/items/bulk", { body: { items: [] } }),
      400,
      "/items",
    );
    expectProblem(
      await server.request("POST", "/v1/catalog/items/bulk", { body: { items: "all" } }),
      400,
      "/items",
    );
    expectProblem(await server.request("POST", "/v1/catalog/items/bulk", { body: {} }), 400, "/items");
    expectProblem(
      await server.request("POST", "/v1/catalog/items/bulk", { body: { items: [], replace: true } }),
      400,
      "/replace",
    );
    // Over the route's 16 MiB (the default 1 MiB does not apply here: 10,000 items need more).
    const oversized = JSON.stringify({
      items: [{ sku: "BIG", name: "n".repeat(17 * 1_048_576), priceMinor: 1 }],
    });
    const tooLarge = await server.request("POST", "/v1/catalog/items/bulk", {
      body: oversized,
      headers: { "content-type": "application/json" },
    });
    expectProblem(tooLarge, 413);
    const large = JSON.stringify({ items: [{ sku: "BIG", name: "n".repeat(2 * 1_048_576), priceMinor: 1 }] });
    const accepted = await server.request("POST", "/v1/catalog/items/bulk", {
      body: large,
      headers: { "content-type": "application/json" },
    });
    expectProblem(accepted, 400, "/items/0/name"); // past the body limit, refused by the schema instead
    expect(await snapshot()).toBe(before);
  });
});

describe("listing", () => {
  beforeAll(async () => {
    const items = [
      { sku: "L-APPLE", name: "Green Apple", priceMinor: 50, categories: ["fruit"], brand: "Orchard" },
      { sku: "L-BANANA", name: "Banana", priceMinor: 30, categories: ["fruit"], brand: "Tropic" },
      { sku: "L-COLA", name: "Cola 100% sugar", priceMinor: 120, categories: ["drinks"], brand: "Fizz" },
      { sku: "L-PEAR", name: "Pear", priceMinor: 60, categories: ["fruit", "seasonal"], brand: "Orchard" },
    ];
    expect((await server.request("POST", "/v1/catalog/items/bulk", { body: { items } })).status).toBe(200);
  });
  const skus = async (query: string) => {
    const reply = await server.request<Page<Item>>("GET", `/v1/catalog/items?${query}`);
    expect(reply.status, JSON.stringify(reply.body)).toBe(200);
    return reply.body.items.map((i) => i.sku);
  };

  it("filters by category, brand and text (name or SKU, any case)", async () => {
    expect(await skus("category=fruit&q=l-")).toEqual(["L-APPLE", "L-BANANA", "L-PEAR"]);
    expect(await skus("category=seasonal")).toEqual(["L-PEAR"]);
    expect(await skus("brand=Orchard&q=L-")).toEqual(["L-APPLE", "L-PEAR"]);
    expect(await skus("q=green")).toEqual(["L-APPLE"]);
    expect(await skus("q=l-ban")).toEqual(["L-BANANA"]);
    expect(await skus(`q=${encodeURIComponent("100%")}`)).toEqual(["L-COLA"]);
    expect(await skus("q=_")).toEqual([]);
    expect(await skus("category=fruit&brand=Tropic")).toEqual(["L-BANANA"]);
    expect(await skus("category=none")).toEqual([]);
  });

  it("pages by SKU with `after`", async () => {
    const first = await server.request<Page<Item>>("GET", "/v1/catalog/items?q=L-&limit=3");
    expect(first.body.items.map((i) => i.sku)).toEqual(["L-APPLE", "L-BANANA", "L-COLA"]);
    expect(first.body.next).toBe("L-COLA");
    const second = await server.request<Page<Item>>(
      "GET",
      `/v1/catalog/items?q=L-&limit=3&after=${first.body.next}`,
    );
    expect(second.body.items.map((i) => i.sku)).toEqual(["L-PEAR"]);
    expect(second.body.next).toBeUndefined();
    const exact = await server.request<Page<Item>>("GET", "/v1/catalog/items?q=L-&limit=4");
    expect(exact.body.next).toBeUndefined();
  });

  it.each([
    ["limit=0", "/query/limit"],
    ["limit=501", "/query/limit"],
    ["limit=1.5", "/query/limit"],
    ["limit=1e300", "/query/limit"],
    ["limit=-1", "/query/limit"],
    ["limit=ten", "/query/limit"],
    ["colour=red", "/query/colour"],
    [`after=${"s".repeat(101)}`, "/query/after"],
    ["q=", "/query/q"],
    [`q=${"q".repeat(101)}`, "/query/q"],
  ])("refuses %s", async (query, path) => {
    expectProblem(await server.request("GET", `/v1/catalog/items?${query}`), 400, path);
  });
});

describe("roles", () => {
  it("lets marketers write, and pos and app keys only read", async () => {
    const marketer = await server.newKey("marketer");
    const pos = await server.newKey("pos", { maySetPrices: true });
    const app = await server.newKey("app");
    expect((await put("ROLE-1", { name: "Role", priceMinor: 1 }, marketer)).status).toBe(201);
    const before = await snapshot();
    for (const key of [pos, app]) {
      expectProblem(await put("ROLE-1", { name: "Changed", priceMinor: 2 }, key), 403);
      expectProblem(await put("ROLE-2", { name: "New", priceMinor: 2 }, key), 403);
      expectProblem(
        await server.request("POST", "/v1/catalog/items/bulk", {
          key,
          body: { items: [{ sku: "ROLE-3", name: "x", priceMinor: 1 }] },
        }),
        403,
      );
      expectProblem(await server.request("DELETE", "/v1/catalog/items/ROLE-1", { key }), 403);
      expect((await server.request("GET", "/v1/catalog/items/ROLE-1", { key })).status).toBe(200);
      expect((await server.request("GET", "/v1/catalog/items?q=ROLE", { key })).status).toBe(200);
    }
    expect(await snapshot()).toBe(before);
    expect((await server.request("DELETE", "/v1/catalog/items/ROLE-1", { key: marketer })).status).toBe(204);
  });

  it("answers 401 without a valid key", async () => {
    const reply = await server.request("GET", "/v1/catalog/items", {
      headers: { authorization: "Bearer till_nope" },
    });
    expectProblem(reply, 401);
  });
});

describe("tenant isolation", () => {
  it("hides this workspace's items from another workspace's key, which writes only its own", async () => {
    expect((await put("MINE", { name: "Mine", priceMinor: 500, brand: "Own" })).status).toBe(201);
    const other = await server.newWorkspace();
    const mine = await snapshotOf(server.workspaceId);

    expectProblem(await server.request("GET", "/v1/catalog/items/MINE", { key: other.admin }), 404);
    expectProblem(await server.request("DELETE", "/v1/catalog/items/MINE", { key: other.admin }), 404);
    const list = await server.request<Page<Item>>("GET", "/v1/catalog/items?brand=Own", { key: other.admin });
    expect(list.body.items).toEqual([]);
    // The same SKU in another workspace is another item: creating it touches nothing here.
    expect((await put("MINE", { name: "Theirs", priceMinor: 1 }, other.admin)).status).toBe(201);
    const bulk = await server.request("POST", "/v1/catalog/items/bulk", {
      key: other.admin,
      body: { items: [{ sku: "MINE", name: "Theirs again", priceMinor: 2 }] },
    });
    expect(bulk.body).toEqual({ created: 0, updated: 1 });

    expect(await snapshotOf(server.workspaceId)).toBe(mine);
    expect((await server.request<Item>("GET", "/v1/catalog/items/MINE")).body.name).toBe("Mine");
    expect(
      (await server.request<Item>("GET", "/v1/catalog/items/MINE", { key: other.admin })).body.name,
    ).toBe("Theirs again");
  });
});

async function snapshotOf(workspaceId: string): Promise<string> {
  const { rows } = await server.db.query("select * from catalog_items where workspace_id = $1 order by sku", [
    workspaceId,
  ]);
  return JSON.stringify(rows);
}
