// Concepts, zones and stores API: created and replaced by PUT, listed and filtered, a store names only what exists, a concept or zone in use cannot be deleted, bad input is a problem naming the field that changes nothing, and other workspaces cannot see or touch any of it.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startServer, type TestServer, expectProblem, type Page } from "./harness.js";

let server: TestServer;
beforeAll(async () => {
  server = await startServer();
});
afterAll(async () => server?.close());

interface Named {
  id: string;
  name: string;
}
interface Store {
  id: string;
  name: string;
  conceptId?: string;
  zoneIds: string[];
}

/** Concepts, zones and stores of every workspace, to prove a refused request wrote nothing. */
async function snapshot(): Promise<string> {
  const tables = await Promise.all(
    ["concepts", "zones", "stores"].map(
      async (table) => (await server.db.query(`select * from ${table} order by workspace_id, id`)).rows,
    ),
  );
  return JSON.stringify(tables);
}

function nested(levels: number): unknown {
  let value: unknown = "deep";
  for (let i = 0; i < levels; i++) value = { a: value };
  return value;
}

describe.each(["concepts", "zones"] as const)("/%s", (kind) => {
  const url = (id: string) => `/v1/${kind}/${encodeURIComponent(id)}`;

  it("creates (201), replaces (200), reads, lists in pages and deletes", async () => {
    const created = await server.request<Named>("PUT", url("north"), { body: { name: "North" } });
    expect(created.status).toBe(201);
    expect(created.body).toEqual({ id: "north", name: "North" });
    const replaced = await server.request<Named>("PUT", url("north"), { body: { name: "North & Baltic" } });
    expect(replaced.status).toBe(200);
    expect((await server.request("GET", url("north"))).body).toEqual({ id: "north", name: "North & Baltic" });

    await server.request("PUT", url("south"), { body: { name: "South" } });
    await server.request("PUT", url("west"), { body: { name: "West" } });
    const first = await server.request<Page<Named>>("GET", `/v1/${kind}?limit=2`);
    expect(first.body).toEqual({
      items: [
        { id: "north", name: "North & Baltic" },
        { id: "south", name: "South" },
      ],
      next: "south",
    });
    const second = await server.request<Page<Named>>("GET", `/v1/${kind}?limit=2&after=south`);
    expect(second.body).toEqual({ items: [{ id: "west", name: "West" }] });

    for (const id of ["north", "south", "west"])
      expect((await server.request("DELETE", url(id))).status).toBe(204);
    expectProblem(await server.request("GET", url("north")), 404);
    expectProblem(await server.request("DELETE", url("north")), 404);
    expect((await server.request<Page<Named>>("GET", `/v1/${kind}`)).body).toEqual({ items: [] });
  });

  it.each<[string, unknown, string]>([
    ["a missing name", {}, "/name"],
    ["an empty name", { name: "" }, "/name"],
    ["a name of 201 characters", { name: "n".repeat(201) }, "/name"],
    ["a name that is a number", { name: 12 }, "/name"],
    ["a name that is an absurd number", { name: 1e300 }, "/name"],
    ["a name nested 100 levels", { name: nested(100) }, "/name"],
    ["a name with NUL", { name: "a\u0000b" }, "/name"],
    ["a name with an unpaired surrogate", { name: "a\udc00b" }, "/name"],
    ["an unknown field", { name: "East", region: "EU" }, "/region"],
    ["a body that is an array", ["East"], "/"],
  ])("refuses %s at the field and writes nothing", async (_what, body, path) => {
    const before = await snapshot();
    expectProblem(await server.request("PUT", url("east"), { body }), 400, path);
    expect(await snapshot()).toBe(before);
  });

  it("refuses bad ids, bad pages and an oversized body, writing nothing", async () => {
    const before = await snapshot();
    expectProblem(await server.request("PUT", `/v1/${kind}/`, { body: { name: "x" } }), 400, "/params/id");
    expectProblem(await server.request("PUT", url("a\u0001"), { body: { name: "x" } }), 400, "/params/id");
    // Over 100 characters Fastify's router refuses the path (414) before the schema sees it.
    const long = await server.request("PUT", url("i".repeat(101)), { body: { name: "x" } });
    expect(long.status).toBeGreaterThanOrEqual(400);
    expect(long.status).toBeLessThan(500);
    expectProblem(await server.request("PUT", url("east"), { body: { name: "x".repeat(1_100_000) } }), 413);
    expectProblem(await server.request("GET", `/v1/${kind}?limit=0`), 400, "/query/limit");
    expectProblem(await server.request("GET", `/v1/${kind}?limit=2.5`), 400, "/query/limit");
    expectProblem(await server.request("GET", `/v1/${kind}?limit=1e300`), 400, "/query/limit");
    expectProblem(await server.request("GET", `/v1/${kind}?sort=name`), 400, "/query/sort");
    expect(await snapshot()).toBe(before);
  });
});

describe("/stores", () => {
  beforeAll(async () => {
    await server.request("PUT", "/v1/concepts/hyper", { body: { name: "Hypermarkets" } });
    await server.request("PUT", "/v1/concepts/express", { body: { name: "Express" } });
    await server.request("PUT", "/v1/zones/berlin", { body: { name: "Berlin" } });
    await server.request("PUT", "/v1/zones/airports", { body: { name: "Airports" } });
  });

  it("creates (201), replaces (200), reads, filters and deletes", async () => {
    const created = await server.request<Store>("PUT", "/v1/stores/ber-1", {
      body: { name: "Berlin Mitte", conceptId: "hyper", zoneIds: ["berlin"] },
    });
    expect(created.status).toBe(201);
    expect(created.body).toEqual({
      id: "ber-1",
      name: "Berlin Mitte",
      conceptId: "hyper",
      zoneIds: ["berlin"],
    });
    const replaced = await server.request<Store>("PUT", "/v1/stores/ber-1", {
      body: { name: "Berlin Mitte", conceptId: "express", zoneIds: ["berlin", "airports"] },
    });
    expect(replaced.status).toBe(200);
    expect((await server.request("GET", "/v1/stores/ber-1")).body).toEqual(replaced.body);
    await server.request("PUT", "/v1/stores/ber-2", {
      body: { name: "Berlin Ost", conceptId: "hyper", zoneIds: ["berlin"] },
    });
    await server.request("PUT", "/v1/stores/online", { body: { name: "Web shop" } });
    expect((await server.request("GET", "/v1/stores/online")).body).toEqual({
      id: "online",
      name: "Web shop",
      zoneIds: [],
    });

    const ids = async (query: string) =>
      (await server.request<Page<Store>>("GET", `/v1/stores?${query}`)).body.items.map((s) => s.id);
    expect(await ids("")).toEqual(["ber-1", "ber-2", "online"]);
    expect(await ids("conceptId=hyper")).toEqual(["ber-2"]);
    expect(await ids("zoneId=berlin")).toEqual(["ber-1", "ber-2"]);
    expect(await ids("zoneId=airports&conceptId=express")).toEqual(["ber-1"]);
    expect(await ids("zoneId=nowhere")).toEqual([]);
    const page = await server.request<Page<Store>>("GET", "/v1/stores?limit=1&after=ber-1");
    expect(page.body.items.map((s) => s.id)).toEqual(["ber-2"]);
    expect(page.body.next).toBe("ber-2");

    expect((await server.request("DELETE", "/v1/stores/online")).status).toBe(204);
    expectProblem(await server.request("GET", "/v1/stores/online"), 404);
    expectProblem(await server.request("DELETE", "/v1/stores/online"), 404);
  });

  it("refuses a concept or zone that does not exist (422 at the field) and a zone named twice", async () => {
    const before = await snapshot();
    const missing = await server.request("PUT", "/v1/stores/ghost", {
      body: { name: "Ghost", conceptId: "nope", zoneIds: ["berlin", "atlantis"] },
    });
    expectProblem(missing, 422, "/conceptId");
    expectProblem(missing, 422, "/zoneIds/1");
    const twice = await server.request("PUT", "/v1/stores/ghost", {
      body: { name: "Ghost", zoneIds: ["berlin", "airports", "berlin"] },
    });
    expectProblem(twice, 422, "/zoneIds/2");
    expect(await snapshot()).toBe(before);
    expectProblem(await server.request("GET", "/v1/stores/ghost"), 404);
  });

  it.each<[string, unknown, string]>([
    ["a missing name", { conceptId: "hyper" }, "/name"],
    ["a concept id that is a number", { name: "S", conceptId: 5 }, "/conceptId"],
    ["an empty concept id", { name: "S", conceptId: "" }, "/conceptId"],
    ["a concept id of 101 characters", { name: "S", conceptId: "c".repeat(101) }, "/conceptId"],
    ["zone ids that are a string", { name: "S", zoneIds: "berlin" }, "/zoneIds"],
    ["a zone id that is a number", { name: "S", zoneIds: [1] }, "/zoneIds/0"],
    ["a zone id of 101 characters", { name: "S", zoneIds: ["z".repeat(101)] }, "/zoneIds/0"],
    ["51 zone ids", { name: "S", zoneIds: Array.from({ length: 51 }, (_, i) => `z${i}`) }, "/zoneIds"],
    ["zone ids nested 100 levels", { name: "S", zoneIds: [nested(100)] }, "/zoneIds/0"],
    ["an unknown field", { name: "S", address: "Main St" }, "/address"],
  ])("refuses %s at the field and writes nothing", async (_what, body, path) => {
    const before = await snapshot();
    expectProblem(await server.request("PUT", "/v1/stores/bad", { body }), 400, path);
    expect(await snapshot()).toBe(before);
  });

  it("keeps a concept or zone while a store names it (409), and lets it go once none does", async () => {
    await server.request("PUT", "/v1/concepts/outlet", { body: { name: "Outlet" } });
    await server.request("PUT", "/v1/zones/harbour", { body: { name: "Harbour" } });
    await server.request("PUT", "/v1/stores/out-1", {
      body: { name: "Outlet 1", conceptId: "outlet", zoneIds: ["harbour"] },
    });
    const before = await snapshot();
    expectProblem(await server.request("DELETE", "/v1/concepts/outlet"), 409);
    expectProblem(await server.request("DELETE", "/v1/zones/harbour"), 409);
    expect(await snapshot()).toBe(before);

    await server.request("PUT", "/v1/stores/out-1", { body: { name: "Outlet 1" } });
    expect((await server.request("DELETE", "/v1/concepts/outlet")).status).toBe(204);
    expect((await server.request("DELETE", "/v1/zones/harbour")).status).toBe(204);
  });

  it("refuses bad filters", async () => {
    expectProblem(await server.request("GET", "/v1/stores?conceptId="), 400, "/query/conceptId");
    expectProblem(await server.request("GET", `/v1/stores?zoneId=${"z".repeat(101)}`), 400, "/query/zoneId");
    expectProblem(await server.request("GET", "/v1/stores?limit=501"), 400, "/query/limit");
    expectProblem(await server.request("GET", "/v1/stores?city=Berlin"), 400, "/query/city");
  });
});

describe("roles", () => {
  it("lets admins and marketers write, every key read", async () => {
    const marketer = await server.newKey("marketer");
    expect(
      (await server.request("PUT", "/v1/zones/roles", { key: marketer, body: { name: "Roles" } })).status,
    ).toBe(201);
    expect(
      (await server.request("PUT", "/v1/concepts/roles", { key: marketer, body: { name: "Roles" } })).status,
    ).toBe(201);
    const store = { name: "Roles", conceptId: "roles", zoneIds: ["roles"] };
    expect((await server.request("PUT", "/v1/stores/roles", { key: marketer, body: store })).status).toBe(
      201,
    );
    const before = await snapshot();
    for (const role of ["pos", "app"] as const) {
      const key = await server.newKey(role);
      for (const path of ["/v1/concepts/roles", "/v1/zones/roles"]) {
        expectProblem(await server.request("PUT", path, { key, body: { name: "Changed" } }), 403);
        expectProblem(await server.request("DELETE", path, { key }), 403);
        expect((await server.request("GET", path, { key })).status).toBe(200);
      }
      expectProblem(await server.request("PUT", "/v1/stores/roles", { key, body: { name: "Changed" } }), 403);
      expectProblem(await server.request("PUT", "/v1/stores/new", { key, body: { name: "New" } }), 403);
      expectProblem(await server.request("DELETE", "/v1/stores/roles", { key }), 403);
      expect((await server.request("GET", "/v1/stores/roles", { key })).status).toBe(200);
      for (const list of ["/v1/stores", "/v1/concepts", "/v1/zones"]) {
        expect((await server.request("GET", list, { key })).status).toBe(200);
      }
    }
    expect(await snapshot()).toBe(before);
  });
});

describe("tenant isolation", () => {
  it("hides this workspace's concepts, zones and stores from another workspace's key", async () => {
    await server.request("PUT", "/v1/concepts/iso", { body: { name: "Isolated" } });
    await server.request("PUT", "/v1/zones/iso", { body: { name: "Isolated" } });
    await server.request("PUT", "/v1/stores/iso", {
      body: { name: "Isolated", conceptId: "iso", zoneIds: ["iso"] },
    });
    const other = await server.newWorkspace();
    const key = other.admin;
    const mine = await snapshotOf(server.workspaceId);

    for (const path of ["/v1/concepts/iso", "/v1/zones/iso", "/v1/stores/iso"]) {
      expectProblem(await server.request("GET", path, { key }), 404);
      expectProblem(await server.request("DELETE", path, { key }), 404);
    }
    for (const list of [
      "/v1/concepts",
      "/v1/zones",
      "/v1/stores",
      "/v1/stores?conceptId=iso",
      "/v1/stores?zoneId=iso",
    ]) {
      expect((await server.request<Page<unknown>>("GET", list, { key })).body.items).toEqual([]);
    }
    // This workspace's concept and zone do not exist over there.
    const borrowed = await server.request("PUT", "/v1/stores/theirs", {
      key,
      body: { name: "Theirs", conceptId: "iso", zoneIds: ["iso"] },
    });
    expectProblem(borrowed, 422, "/conceptId");
    expectProblem(borrowed, 422, "/zoneIds/0");
    // The same ids over there are other rows: writing them changes nothing here.
    expect((await server.request("PUT", "/v1/concepts/iso", { key, body: { name: "Theirs" } })).status).toBe(
      201,
    );
    expect((await server.request("PUT", "/v1/zones/iso", { key, body: { name: "Theirs" } })).status).toBe(
      201,
    );
    expect((await server.request("PUT", "/v1/stores/iso", { key, body: { name: "Theirs" } })).status).toBe(
      201,
    );
    expect((await server.request("DELETE", "/v1/concepts/iso", { key })).status).toBe(204);

    expect(await snapshotOf(server.workspaceId)).toBe(mine);
    expect((await server.request<Store>("GET", "/v1/stores/iso")).body.name).toBe("Isolated");
  });
});

async function snapshotOf(workspaceId: string): Promise<string> {
  const tables = await Promise.all(
    ["concepts", "zones", "stores"].map(
      async (table) =>
        (await server.db.query(`select * from ${table} where workspace_id = $1 order by id`, [workspaceId]))
          .rows,
    ),
  );
  return JSON.stringify(tables);
}
