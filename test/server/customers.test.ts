// Customers API: profiles are created or replaced by PUT, merged by PATCH, listed by segment in keyset pages, written by admin, marketer and pos keys only, every bad input is a problem naming the field that changes nothing, and other workspaces cannot see or touch them.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startServer, type TestServer, expectProblem, type Page } from "./harness.js";

let server: TestServer;
beforeAll(async () => {
  server = await startServer();
});
afterAll(async () => server?.close());

interface Customer {
  id: string;
  attributes: Record<string, string | number | boolean>;
  memberships: { programId: string; tierId?: string; supplementaryIds?: string[] }[];
  segmentIds: string[];
  identifiers: { email?: string; phone?: string; cardHashes: string[] };
  consents: Record<string, boolean>;
  createdAt: string;
  updatedAt: string;
  erasedAt?: string;
}

/** Every customer row of every workspace, to prove a refused request wrote nothing. */
async function snapshot(): Promise<string> {
  const { rows } = await server.db.query("select * from customers order by workspace_id, id");
  return JSON.stringify(rows);
}

function nested(levels: number): unknown {
  let value: unknown = "deep";
  for (let i = 0; i < levels; i++) value = { a: value };
  return value;
}

const profile = {
  attributes: { loyaltyCard: "4711-0001", birthYear: 1985, newsletter: true },
  memberships: [{ programId: "club", tierId: "green", supplementaryIds: ["family"] }],
  segmentIds: ["coffee-lovers", "weekday"],
};

describe("profiles", () => {
  it("creates (201), reads, replaces (200, clearing what the body leaves out) and keeps createdAt", async () => {
    const created = await server.request<Customer>("PUT", "/v1/customers/anna", { body: profile });
    expect(created.status).toBe(201);
    expect(created.body).toEqual({
      id: "anna",
      ...profile,
      // Profiles without identifiers or consents answer them empty (docs/profiles.md).
      identifiers: { cardHashes: [] },
      consents: {},
      createdAt: "2026-03-02T10:00:00.000Z",
      updatedAt: "2026-03-02T10:00:00.000Z",
    });
    expect((await server.request("GET", "/v1/customers/anna")).body).toEqual(created.body);

    server.clock.now += 3_600_000;
    const replaced = await server.request<Customer>("PUT", "/v1/customers/anna", {
      body: { attributes: { vip: true } },
    });
    expect(replaced.status).toBe(200);
    expect(replaced.body).toEqual({
      id: "anna",
      attributes: { vip: true },
      identifiers: { cardHashes: [] },
      consents: {},
      memberships: [],
      segmentIds: [],
      createdAt: "2026-03-02T10:00:00.000Z",
      updatedAt: "2026-03-02T11:00:00.000Z",
    });
    const bare = await server.request<Customer>("PUT", "/v1/customers/bare", { body: {} });
    expect(bare.status).toBe(201);
    expect(bare.body).toMatchObject({ id: "bare", attributes: {}, memberships: [], segmentIds: [] });
  });

  it("merges attributes on PATCH (null removes one) and replaces memberships and segments when sent", async () => {
    await server.request("PUT", "/v1/customers/ben", { body: profile });
    const patched = await server.request<Customer>("PATCH", "/v1/customers/ben", {
      body: { attributes: { birthYear: 1986, newsletter: null, city: "Berlin" } },
    });
    expect(patched.status).toBe(200);
    expect(patched.body.attributes).toEqual({ loyaltyCard: "4711-0001", birthYear: 1986, city: "Berlin" });
    expect(patched.body.memberships).toEqual(profile.memberships);
    expect(patched.body.segmentIds).toEqual(profile.segmentIds);

    const moved = await server.request<Customer>("PATCH", "/v1/customers/ben", {
      body: { memberships: [{ programId: "club", tierId: "silver" }], segmentIds: [] },
    });
    expect(moved.body).toMatchObject({
      attributes: { loyaltyCard: "4711-0001", birthYear: 1986, city: "Berlin" },
      memberships: [{ programId: "club", tierId: "silver" }],
      segmentIds: [],
    });
    expect((await server.request("GET", "/v1/customers/ben")).body).toEqual(moved.body);
  });

  it("answers 404 for PATCH and GET of a customer that does not exist, and has no DELETE", async () => {
    const before = await snapshot();
    expectProblem(
      await server.request("PATCH", "/v1/customers/nobody", { body: { attributes: { a: 1 } } }),
      404,
    );
    expectProblem(await server.request("GET", "/v1/customers/nobody"), 404);
    // Erasure is its own use case: the sale ledger refers to customers.
    expectProblem(await server.request("DELETE", "/v1/customers/anna"), 404);
    expect(await snapshot()).toBe(before);
  });

  it("reads a customer that a sale created for a new card", async () => {
    await server.request("PUT", "/v1/catalog/items/TEA", { body: { name: "Tea", priceMinor: 250 } });
    const sale = await server.request("POST", "/v1/sales", {
      body: { transactionId: "t-card", customerId: "card-9", lines: [{ id: "1", sku: "TEA", quantity: 1 }] },
    });
    expect(sale.status, JSON.stringify(sale.body)).toBe(201);
    const read = await server.request<Customer>("GET", "/v1/customers/card-9");
    expect(read.status).toBe(200);
    expect(read.body).toMatchObject({ id: "card-9", attributes: {}, memberships: [], segmentIds: [] });
  });
});

describe("listing", () => {
  beforeAll(async () => {
    for (const [id, segmentIds] of [
      ["l-1", ["gold-buyers"]],
      ["l-2", []],
      ["l-3", ["gold-buyers", "new"]],
      ["l-4", ["gold-buyers"]],
    ] as const) {
      expect((await server.request("PUT", `/v1/customers/${id}`, { body: { segmentIds } })).status).toBe(201);
    }
  });

  it("filters by segment and pages by id", async () => {
    const first = await server.request<Page<Customer>>("GET", "/v1/customers?segmentId=gold-buyers&limit=2");
    expect(first.body.items.map((c) => c.id)).toEqual(["l-1", "l-3"]);
    expect(first.body.next).toBe("l-3");
    const second = await server.request<Page<Customer>>(
      "GET",
      `/v1/customers?segmentId=gold-buyers&limit=2&after=l-3`,
    );
    expect(second.body.items.map((c) => c.id)).toEqual(["l-4"]);
    expect(second.body.next).toBeUndefined();
    const news = await server.request<Page<Customer>>("GET", "/v1/customers?segmentId=new");
    expect(news.body.items.map((c) => c.id)).toEqual(["l-3"]);
    const all = await server.request<Page<Customer>>("GET", "/v1/customers?after=l-&limit=500");
    expect(all.body.items.map((c) => c.id)).toEqual(["l-1", "l-2", "l-3", "l-4"]);
  });

  it.each([
    ["limit=0", "/query/limit"],
    ["limit=501", "/query/limit"],
    ["limit=2.5", "/query/limit"],
    ["limit=1e300", "/query/limit"],
    ["limit=many", "/query/limit"],
    ["segmentId=", "/query/segmentId"],
    [`segmentId=${"s".repeat(101)}`, "/query/segmentId"],
    ["tier=gold", "/query/tier"],
  ])("refuses %s", async (query, path) => {
    expectProblem(await server.request("GET", `/v1/customers?${query}`), 400, path);
  });
});

describe("bad input", () => {
  const bad: [string, unknown, string][] = [
    [
      "an attribute that is an object",
      { attributes: { address: { city: "Berlin" } } },
      "/attributes/address",
    ],
    ["attributes nested 100 levels", { attributes: nested(100) }, "/attributes/a"],
    ["an attribute that is an array", { attributes: { tags: ["a"] } }, "/attributes/tags"],
    ["an attribute that is null on PUT", { attributes: { a: null } }, "/attributes/a"],
    ["an absurd number", { attributes: { points: 1e300 } }, "/attributes/points"],
    ["a number beyond exact doubles", { attributes: { points: -(2 ** 53) } }, "/attributes/points"],
    ["an attribute of 1001 characters", { attributes: { note: "n".repeat(1001) } }, "/attributes/note"],
    ["an attribute with NUL", { attributes: { note: "a\u0000b" } }, "/attributes/note"],
    [
      "an attribute name of 101 characters",
      { attributes: { ["k".repeat(101)]: 1 } },
      `/attributes/${"k".repeat(101)}`,
    ],
    [
      "101 attributes",
      { attributes: Object.fromEntries(Array.from({ length: 101 }, (_, i) => [`k${i}`, i])) },
      "/attributes",
    ],
    ["attributes that are an array", { attributes: [1] }, "/attributes"],
    ["memberships that are an object", { memberships: { programId: "club" } }, "/memberships"],
    ["a membership without a program", { memberships: [{ tierId: "gold" }] }, "/memberships/0/programId"],
    ["a program id that is a number", { memberships: [{ programId: 12 }] }, "/memberships/0/programId"],
    ["an empty tier id", { memberships: [{ programId: "club", tierId: "" }] }, "/memberships/0/tierId"],
    [
      "a tier id of 101 characters",
      { memberships: [{ programId: "club", tierId: "t".repeat(101) }] },
      "/memberships/0/tierId",
    ],
    ["a program id with NUL", { memberships: [{ programId: "cl\u0000ub" }] }, "/memberships/0/programId"],
    [
      "an unknown membership field",
      { memberships: [{ programId: "club", points: 5 }] },
      "/memberships/0/points",
    ],
    [
      "21 memberships",
      { memberships: Array.from({ length: 21 }, (_, i) => ({ programId: `p${i}` })) },
      "/memberships",
    ],
    ["segment ids that are a string", { segmentIds: "vip" }, "/segmentIds"],
    ["a segment id that is a number", { segmentIds: [7] }, "/segmentIds/0"],
    ["an empty segment id", { segmentIds: [""] }, "/segmentIds/0"],
    ["an unknown field", { attributes: {}, email: "a@example.com" }, "/email"],
    ["a body that is an array", [profile], "/"],
  ];

  it.each(bad)("refuses %s on PUT at the field and writes nothing", async (_what, body, path) => {
    const before = await snapshot();
    expectProblem(await server.request("PUT", "/v1/customers/carla", { body }), 400, path);
    expect(await snapshot()).toBe(before);
  });

  it.each(bad.filter(([what]) => what !== "an attribute that is null on PUT"))(
    "refuses %s on PATCH at the field and writes nothing",
    async (_what, body, path) => {
      await server.request("PUT", "/v1/customers/dora", { body: profile });
      const before = await snapshot();
      expectProblem(await server.request("PATCH", "/v1/customers/dora", { body }), 400, path);
      expect(await snapshot()).toBe(before);
    },
  );

  it("refuses a program or segment named twice (422) and a PATCH that would exceed 100 attributes", async () => {
    await server.request("PUT", "/v1/customers/dora", { body: profile });
    const before = await snapshot();
    const programs = await server.request("PUT", "/v1/customers/dora", {
      body: { memberships: [{ programId: "club" }, { programId: "club", tierId: "gold" }] },
    });
    expectProblem(programs, 422, "/memberships/1/programId");
    const segments = await server.request("PATCH", "/v1/customers/dora", {
      body: { segmentIds: ["a", "b", "a"] },
    });
    expectProblem(segments, 422, "/segmentIds/2");
    const many = Object.fromEntries(Array.from({ length: 98 }, (_, i) => [`extra${i}`, i]));
    expectProblem(
      await server.request("PATCH", "/v1/customers/dora", { body: { attributes: many } }),
      400,
      "/attributes",
    );
    expect(await snapshot()).toBe(before);
  });

  it("refuses bad ids, an oversized body and a body that is not JSON, writing nothing", async () => {
    const before = await snapshot();
    expectProblem(await server.request("PUT", "/v1/customers/", { body: profile }), 400, "/params/id");
    expectProblem(await server.request("PUT", "/v1/customers/a%0Ab", { body: profile }), 400, "/params/id");
    // Over 100 characters Fastify's router refuses the path (414) before the schema sees it.
    const long = await server.request("PUT", `/v1/customers/${"c".repeat(101)}`, { body: profile });
    expect(long.status).toBeGreaterThanOrEqual(400);
    expect(long.status).toBeLessThan(500);
    const huge = { attributes: { note: "n".repeat(1_100_000) } };
    expectProblem(await server.request("PUT", "/v1/customers/erik", { body: huge }), 413);
    expectProblem(await server.request("PATCH", "/v1/customers/anna", { body: huge }), 413);
    const notJson = await server.request("PUT", "/v1/customers/erik", {
      body: "{not json",
      headers: { "content-type": "application/json" },
    });
    expectProblem(notJson, 400);
    expect(await snapshot()).toBe(before);
  });
});

describe("roles", () => {
  it("lets admin, marketer and pos keys write and every key read", async () => {
    for (const role of ["marketer", "pos"] as const) {
      const key = await server.newKey(role);
      const id = `by-${role}`;
      expect((await server.request("PUT", `/v1/customers/${id}`, { key, body: profile })).status).toBe(201);
      expect(
        (await server.request("PATCH", `/v1/customers/${id}`, { key, body: { attributes: { x: 1 } } }))
          .status,
      ).toBe(200);
      expect((await server.request("GET", `/v1/customers/${id}`, { key })).status).toBe(200);
    }
    const app = await server.newKey("app");
    const before = await snapshot();
    expectProblem(await server.request("PUT", "/v1/customers/by-app", { key: app, body: profile }), 403);
    expectProblem(await server.request("PUT", "/v1/customers/by-pos", { key: app, body: {} }), 403);
    expectProblem(
      await server.request("PATCH", "/v1/customers/by-pos", { key: app, body: { attributes: { x: 2 } } }),
      403,
    );
    expect(await snapshot()).toBe(before);
    expect((await server.request("GET", "/v1/customers/by-pos", { key: app })).status).toBe(200);
    expect((await server.request("GET", "/v1/customers", { key: app })).status).toBe(200);
  });
});

describe("tenant isolation", () => {
  it("hides this workspace's customers from another workspace's key, which writes only its own", async () => {
    await server.request("PUT", "/v1/customers/iso", { body: { ...profile, segmentIds: ["iso-segment"] } });
    const other = await server.newWorkspace();
    const key = other.admin;
    const mine = await snapshotOf(server.workspaceId);

    expectProblem(await server.request("GET", "/v1/customers/iso", { key }), 404);
    expectProblem(
      await server.request("PATCH", "/v1/customers/iso", { key, body: { attributes: { hacked: true } } }),
      404,
    );
    expect((await server.request<Page<Customer>>("GET", "/v1/customers", { key })).body.items).toEqual([]);
    expect(
      (await server.request<Page<Customer>>("GET", "/v1/customers?segmentId=iso-segment", { key })).body
        .items,
    ).toEqual([]);
    // The same id over there is another customer.
    const theirs = await server.request<Customer>("PUT", "/v1/customers/iso", {
      key,
      body: { attributes: { theirs: true } },
    });
    expect(theirs.status).toBe(201);

    expect(await snapshotOf(server.workspaceId)).toBe(mine);
    expect((await server.request<Customer>("GET", "/v1/customers/iso")).body.attributes).toEqual(
      profile.attributes,
    );
  });
});

async function snapshotOf(workspaceId: string): Promise<string> {
  const { rows } = await server.db.query("select * from customers where workspace_id = $1 order by id", [
    workspaceId,
  ]);
  return JSON.stringify(rows);
}
