// Profiles through the API: attribute declarations (CRUD, loyalty version, types enforced on profile writes, type changes only when stored values fit, no deletion while definitions use one), identifiers (normalised, unique per workspace, lookup, card hashes resolved to one profile even concurrently), consents, erasure of personal data that keeps the money figures and the ledgers, roles, tenants and bad input.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { resolveCardHash } from "../../src/services/customers.js";
import { attributeReferences } from "../../src/store/attributes.js";
import { transaction } from "../../src/store/db.js";
import { expectProblem, startServer, type Page, type Reply, type TestServer } from "./harness.js";

interface Customer {
  id: string;
  attributes: Record<string, string | number | boolean>;
  identifiers: { email?: string; phone?: string; cardHashes: string[] };
  consents: Record<string, boolean>;
  memberships: { programId: string; tierId?: string }[];
  segmentIds: string[];
  createdAt: string;
  updatedAt: string;
  erasedAt?: string;
}
interface Attribute {
  name: string;
  type: string;
  description?: string;
  personal: boolean;
  createdAt: string;
  updatedAt: string;
}

const MONEY_PARAMS = ["$totalAmount", "$discountAmount", "$units", "$currency"];
const HASH_A = "a".repeat(32) + "0123456789abcdef".repeat(2);
const HASH_B = "b".repeat(64);
const HASH_C = "c".repeat(40);

let server: TestServer;
beforeAll(async () => {
  server = await startServer();
});
afterAll(async () => server?.close());

async function loyaltyVersion(workspaceId = server.workspaceId): Promise<number> {
  const { rows } = await server.db.query<{ v: number }>(
    "select loyalty_version as v from workspaces where id = $1",
    [workspaceId],
  );
  return rows[0]!.v;
}

/** The rows a refused request must leave as they were. */
async function snapshot(): Promise<string> {
  const tables = ["customers", "customer_identifiers", "attribute_definitions", "workspaces"];
  const parts = [];
  for (const table of tables) {
    parts.push((await server.db.query(`select * from ${table} order by 1, 2`)).rows);
  }
  return JSON.stringify(parts);
}

async function put(id: string, body: unknown, key?: string) {
  return server.request<Customer>("PUT", `/v1/customers/${id}`, { body, ...(key ? { key } : {}) });
}

async function declare(name: string, body: unknown) {
  return server.request<Attribute>("PUT", `/v1/attributes/${encodeURIComponent(name)}`, { body });
}

async function ids(query: string): Promise<string[]> {
  const reply = await server.request<Page<Customer>>("GET", `/v1/customers?${query}`);
  expect(reply.status, JSON.stringify(reply.body)).toBe(200);
  return reply.body.items.map((c) => c.id);
}

/** The problem's type slug and detail. */
function problemOf(reply: Reply<unknown>): { slug: string; detail: string } {
  const body = reply.body as { type: string; detail: string };
  return { slug: body.type.replace("https://till.dev/problems/", ""), detail: body.detail };
}

async function defineLoyalty(kind: string, id: string, definition: unknown): Promise<void> {
  await server.db.query(
    `insert into loyalty_definitions (workspace_id, kind, id, name, definition, created_at, updated_at)
     values ($1, $2, $3, $3, $4, now(), now())`,
    [server.workspaceId, kind, id, JSON.stringify(definition)],
  );
}

describe("attribute declarations", () => {
  it("creates (201), reads, replaces (200), deletes (204), and every change moves the loyalty version", async () => {
    expect((await server.request("GET", "/v1/attributes")).body).toEqual({ items: [] });
    const v0 = await loyaltyVersion();

    const created = await declare("signupDate", { type: "date", description: "First visit" });
    expect(created.status).toBe(201);
    expect(created.body).toEqual({
      name: "signupDate",
      type: "date",
      description: "First visit",
      personal: true,
      createdAt: "2026-03-02T10:00:00.000Z",
      updatedAt: "2026-03-02T10:00:00.000Z",
    });
    expect(await loyaltyVersion()).toBe(v0 + 1);

    // The same declaration again changes nothing, not even the version.
    server.clock.now += 60_000;
    const same = await declare("signupDate", { type: "date", description: "First visit" });
    expect(same.status).toBe(200);
    expect(same.body).toEqual(created.body);
    expect(await loyaltyVersion()).toBe(v0 + 1);

    const replaced = await declare("signupDate", { type: "date", personal: false });
    expect(replaced.status).toBe(200);
    expect(replaced.body).toEqual({
      name: "signupDate",
      type: "date",
      personal: false,
      createdAt: "2026-03-02T10:00:00.000Z",
      updatedAt: "2026-03-02T10:01:00.000Z",
    });
    expect(await loyaltyVersion()).toBe(v0 + 2);

    expect((await declare("a region", { type: "string" })).status).toBe(201);
    expect((await server.request("GET", "/v1/attributes/a%20region")).body).toMatchObject({
      name: "a region",
      type: "string",
      personal: true,
    });
    const list = await server.request<{ items: Attribute[] }>("GET", "/v1/attributes");
    expect(list.body.items.map((a) => a.name)).toEqual(["a region", "signupDate"]);

    const deleted = await server.request("DELETE", "/v1/attributes/signupDate");
    expect(deleted.status).toBe(204);
    expect(await loyaltyVersion()).toBe(v0 + 4);
    expectProblem(await server.request("GET", "/v1/attributes/signupDate"), 404);
    expectProblem(await server.request("DELETE", "/v1/attributes/signupDate"), 404);
    expect(await loyaltyVersion()).toBe(v0 + 4);
  });

  it("refuses to delete an attribute that loyalty definitions use, naming them", async () => {
    await declare("birthYear", { type: "number" });
    await defineLoyalty("expression", "age", { value: { fn: "sub", args: [2026, { attr: "birthYear" }] } });
    await defineLoyalty("segmentation", "ages", {
      segments: [{ id: "young", when: { fn: "gt", args: [{ attr: "birthYear" }, 2000] } }],
    });
    await defineLoyalty("expression", "other", { value: { attr: "birthYearX" }, note: "birthYear" });
    const before = await snapshot();
    const refused = await server.request("DELETE", "/v1/attributes/birthYear");
    expectProblem(refused, 409);
    expect(problemOf(refused).slug).toBe("attribute_in_use");
    expect(problemOf(refused).detail).toContain("expression age, segmentation ages");
    expect(problemOf(refused).detail).not.toContain("other");
    expect(await snapshot()).toBe(before);

    await server.db.query(
      "delete from loyalty_definitions where workspace_id = $1 and id in ('age', 'ages')",
      [server.workspaceId],
    );
    expect((await server.request("DELETE", "/v1/attributes/birthYear")).status).toBe(204);
    await server.db.query("delete from loyalty_definitions where workspace_id = $1", [server.workspaceId]);
  });

  it("finds references anywhere in a definition, and only objects whose attr is the name", async () => {
    await defineLoyalty("aggregate", "filtered", {
      event: "transaction.charge",
      filters: [{ param: "$storeId", op: "eq", value: { fn: "if", args: [true, { attr: "home" }, "x"] } }],
    });
    await defineLoyalty("tierProgram", "club", { value: [[{ attr: "home" }]], tiers: [{ id: "t" }] });
    await defineLoyalty("expression", "decoys", {
      value: { agg: "home" },
      list: ["home", { attr: ["home"] }, { attr: "homely" }],
    });
    expect(await attributeReferences(server.db, server.workspaceId, "home")).toEqual([
      "aggregate filtered",
      "tierProgram club",
    ]);
    expect(await attributeReferences(server.db, server.workspaceId, "nothing")).toEqual([]);
    const other = await server.newWorkspace();
    expect(await attributeReferences(server.db, other.workspaceId, "home")).toEqual([]);
    await server.db.query("delete from loyalty_definitions where workspace_id = $1", [server.workspaceId]);
  });
});

describe("typed attributes", () => {
  beforeAll(async () => {
    for (const [name, type] of [
      ["points", "number"],
      ["vip", "boolean"],
      ["joined", "date"],
      ["city", "string"],
    ]) {
      expect((await declare(name!, { type })).status).toBeLessThan(300);
    }
  });

  it("accepts declared attributes of their type and undeclared ones of any type", async () => {
    const body = {
      attributes: {
        points: 12.5,
        vip: false,
        joined: "2024-02-29T23:30:00.5+01:00",
        city: "2024-01-01T00:00:00Z",
        free: "anything",
      },
    };
    const reply = await put("typed-1", body);
    expect(reply.status, JSON.stringify(reply.body)).toBe(201);
    expect(reply.body.attributes).toEqual(body.attributes);
    const patched = await server.request<Customer>("PATCH", "/v1/customers/typed-1", {
      body: { attributes: { joined: "2026-03-01T08:00:00Z", free: 5, vip: null } },
    });
    expect(patched.status).toBe(200);
    expect(patched.body.attributes).toEqual({
      points: 12.5,
      joined: "2026-03-01T08:00:00Z",
      city: "2024-01-01T00:00:00Z",
      free: 5,
    });
  });

  it.each([
    ["a number as text", { points: "12" }, ["/attributes/points"]],
    ["a boolean as text", { vip: "yes" }, ["/attributes/vip"]],
    ["a date without an offset", { joined: "2026-03-01T08:00:00" }, ["/attributes/joined"]],
    ["a date that is only a day", { joined: "2026-03-01" }, ["/attributes/joined"]],
    ["a date in month 13", { joined: "2026-13-01T08:00:00Z" }, ["/attributes/joined"]],
    ["a date as a number", { joined: 1_767_225_600_000 }, ["/attributes/joined"]],
    ["a string as a boolean", { city: true }, ["/attributes/city"]],
    ["two at once", { points: true, city: 3, free: 1 }, ["/attributes/points", "/attributes/city"]],
  ])(
    "refuses %s with 422 type_mismatch at the attribute and writes nothing",
    async (_what, attributes, paths) => {
      await put("typed-2", { attributes: { points: 1 } });
      const before = await snapshot();
      for (const [method, url] of [
        ["PUT", "/v1/customers/typed-2"],
        ["PATCH", "/v1/customers/typed-2"],
        ["PUT", "/v1/customers/typed-new"],
      ] as const) {
        const reply = await server.request(method, url, { body: { attributes } });
        for (const path of paths) expectProblem(reply, 422, path);
        const errors = reply.body["errors"] as { code: string; path: string }[];
        expect(errors.map((e) => e.path).sort()).toEqual([...paths].sort());
        expect(errors.every((e) => e.code === "type_mismatch")).toBe(true);
      }
      expect(await snapshot()).toBe(before);
    },
  );

  it("refuses declaring or changing a type while profiles hold values that do not fit, saying how many", async () => {
    await put("fit-1", { attributes: { level: "3", since: "2025-01-01T00:00:00Z", points: 7 } });
    await put("fit-2", { attributes: { level: 4, since: "last year" } });
    await put("fit-3", { attributes: { level: "five" } });
    const before = await snapshot();

    // Undeclared values must fit a first declaration too.
    const level = await declare("level", { type: "number" });
    expectProblem(level, 409, "/type");
    expect(problemOf(level).slug).toBe("attribute_values_do_not_fit");
    expect(problemOf(level).detail).toContain("2 profiles hold");
    const since = await declare("since", { type: "date" });
    expectProblem(since, 409, "/type");
    expect(problemOf(since).detail).toContain("1 profile holds");
    // points is a number on typed-1 (12.5), typed-2 and fit-1: none is a string.
    const points = await declare("points", { type: "string" });
    expectProblem(points, 409, "/type");
    expect(problemOf(points).detail).toContain("3 profiles hold");
    expect(await snapshot()).toBe(before);

    // Once the values fit, the change goes through.
    await put("fit-2", { attributes: { level: 4, since: "2025-06-01T12:00:00+02:00" } });
    expect((await declare("since", { type: "string" })).status).toBe(201);
    const v = await loyaltyVersion();
    expect((await declare("since", { type: "date" })).status).toBe(200);
    expect(await loyaltyVersion()).toBe(v + 1);
    expect((await server.request("GET", "/v1/attributes/since")).body).toMatchObject({ type: "date" });
  });
});

describe("declarations racing profile writes", () => {
  it("never end with a declared type that a stored value does not have", async () => {
    for (let round = 0; round < 6; round++) {
      const name = `race${round}`;
      const [declared, ...writes] = await Promise.all([
        declare(name, { type: "number" }),
        ...Array.from({ length: 8 }, (_, i) => put(`rw-${round}-${i}`, { attributes: { [name]: "text" } })),
      ]);
      const { rows } = await server.db.query<{ n: number }>(
        "select count(*)::int as n from customers where workspace_id = $1 and attributes ? $2",
        [server.workspaceId, name],
      );
      // Either the declaration came first (every write refused) or after the writes (it is refused).
      if (declared!.status === 201) {
        expect(rows[0]!.n).toBe(0);
        expect(writes.every((w) => w.status === 422)).toBe(true);
      } else {
        expectProblem(declared!, 409);
        expect(rows[0]!.n).toBeGreaterThan(0);
      }
    }
  });
});

describe("identifiers", () => {
  it("stores them normalised, answers them in the profile and finds the profile by each kind", async () => {
    const reply = await put("ida", {
      identifiers: { email: "Ida@Example.COM", phone: "+4915112345678", cardHashes: [HASH_A.toUpperCase()] },
    });
    expect(reply.status, JSON.stringify(reply.body)).toBe(201);
    expect(reply.body.identifiers).toEqual({
      email: "ida@example.com",
      phone: "+4915112345678",
      cardHashes: [HASH_A],
    });
    await put("ivo", { identifiers: { cardHashes: [HASH_B, HASH_C] } });
    expect((await server.request("GET", "/v1/customers/ivo")).body["identifiers"]).toEqual({
      cardHashes: [HASH_B, HASH_C],
    });

    expect(await ids("email=IDA%40example.com")).toEqual(["ida"]);
    expect(await ids("phone=%2B4915112345678")).toEqual(["ida"]);
    expect(await ids(`cardHash=${HASH_A.toUpperCase()}`)).toEqual(["ida"]);
    expect(await ids(`cardHash=${HASH_C}`)).toEqual(["ivo"]);
    expect(await ids("email=nobody%40example.com")).toEqual([]);
    expect(await ids(`email=ida%40example.com&cardHash=${HASH_B}`)).toEqual([]);
  });

  it("refuses an identifier another profile holds (409 at the field, holder unnamed) and writes nothing", async () => {
    await put("jo", { identifiers: { email: "jo@example.com" }, attributes: { free: 1 } });
    const before = await snapshot();
    const email = await put("jo", { identifiers: { email: "IDA@example.com" } });
    expectProblem(email, 409, "/identifiers/email");
    expect(problemOf(email).slug).toBe("identifier_taken");
    expect(JSON.stringify(email.body)).not.toContain('ida"');
    const card = await server.request("PATCH", "/v1/customers/jo", {
      body: { identifiers: { cardHashes: [HASH_C.slice(0, 32), HASH_C] } },
    });
    expectProblem(card, 409, "/identifiers/cardHashes/1");
    const phone = await put("new-one", { identifiers: { phone: "+4915112345678" } });
    expectProblem(phone, 409, "/identifiers/phone");
    expect(await snapshot()).toBe(before);
    expectProblem(await server.request("GET", "/v1/customers/new-one"), 404);
  });

  it("replaces them on PUT and merges them on PATCH, freeing what a profile gives up", async () => {
    await put("kai", { identifiers: { email: "kai@example.com", cardHashes: [HASH_B.replace(/b/g, "d")] } });
    const patched = await server.request<Customer>("PATCH", "/v1/customers/kai", {
      body: { identifiers: { phone: "+12025550123", email: null } },
    });
    expect(patched.body.identifiers).toEqual({ phone: "+12025550123", cardHashes: ["d".repeat(64)] });
    const cards = await server.request<Customer>("PATCH", "/v1/customers/kai", {
      body: { identifiers: { cardHashes: [] }, attributes: { free: true } },
    });
    expect(cards.body.identifiers).toEqual({ phone: "+12025550123", cardHashes: [] });
    expect((await put("kai", { attributes: {} })).body.identifiers).toEqual({ cardHashes: [] });
    // The freed email and phone can now be someone else's.
    expect(
      (await put("lea", { identifiers: { email: "kai@example.com", phone: "+12025550123" } })).status,
    ).toBe(201);
    expect(await ids("email=kai%40example.com")).toEqual(["lea"]);
  });

  it("gives a contested identifier to exactly one of two concurrent writers", async () => {
    const replies = await Promise.all(
      ["race-1", "race-2", "race-3"].map((id) => put(id, { identifiers: { email: "race@example.com" } })),
    );
    expect(replies.map((r) => r.status).sort()).toEqual([201, 409, 409]);
    expect(await ids("email=race%40example.com")).toHaveLength(1);
  });

  it("keeps identifiers unique per workspace only", async () => {
    const other = await server.newWorkspace();
    const reply = await put("ida-too", { identifiers: { email: "ida@example.com" } }, other.admin);
    expect(reply.status).toBe(201);
    const theirs = await server.request<Page<Customer>>("GET", "/v1/customers?email=ida%40example.com", {
      key: other.admin,
    });
    expect(theirs.body.items.map((c) => c.id)).toEqual(["ida-too"]);
    expect(await ids("email=ida%40example.com")).toEqual(["ida"]);
  });
});

describe("resolveCardHash", () => {
  it("creates a bare profile for a new card, then finds it, in any case", async () => {
    const hash = "e".repeat(32) + "f".repeat(32);
    const first = await transaction(server.db, (tx) =>
      resolveCardHash(tx, server.workspaceId, hash, server.clock.now),
    );
    expect(first).toBe(`card-${"e".repeat(32)}`);
    const read = await server.request<Customer>("GET", `/v1/customers/${first}`);
    expect(read.body).toMatchObject({ attributes: {}, identifiers: { cardHashes: [hash] }, consents: {} });
    expect(await resolveCardHash(server.db, server.workspaceId, hash.toUpperCase(), server.clock.now)).toBe(
      first,
    );
    // A card a profile already holds resolves to that profile.
    expect(await resolveCardHash(server.db, server.workspaceId, HASH_A, server.clock.now)).toBe("ida");
    await expect(resolveCardHash(server.db, server.workspaceId, "xyz", server.clock.now)).rejects.toThrow();
  });

  it("gives concurrent calls for one new card one profile", async () => {
    const hash = "12345678".repeat(8);
    const results = await Promise.all(
      Array.from({ length: 10 }, () =>
        transaction(server.db, (tx) => resolveCardHash(tx, server.workspaceId, hash, server.clock.now)),
      ),
    );
    expect(new Set(results)).toEqual(new Set([`card-${hash.slice(0, 32)}`]));
    const { rows } = await server.db.query(
      "select customer_id from customer_identifiers where workspace_id = $1 and value = $2",
      [server.workspaceId, hash],
    );
    expect(rows).toHaveLength(1);
  });
});

describe("consents", () => {
  it("replaces them on PUT and merges them on PATCH (null forgets one)", async () => {
    const created = await put("mo", { consents: { email: true, sms: false } });
    expect(created.body.consents).toEqual({ email: true, sms: false });
    const patched = await server.request<Customer>("PATCH", "/v1/customers/mo", {
      body: { consents: { push: true, sms: null, doNotDisturb: false } },
    });
    expect(patched.body.consents).toEqual({ email: true, push: true, doNotDisturb: false });
    expect((await server.request("GET", "/v1/customers/mo")).body["consents"]).toEqual(patched.body.consents);
    expect((await put("mo", {})).body.consents).toEqual({});
  });
});

describe("erasure", () => {
  const LEDGERS = [
    "sales",
    "sale_lines",
    "redemptions",
    "limit_counters",
    "limit_ledger",
    "returns",
    "return_lines",
    "points_lots",
    "points_ledger",
    "sale_points",
    "wallet_entries",
    "customer_product_lists",
  ];
  async function ledgers(): Promise<string> {
    const parts = [];
    for (const table of LEDGERS)
      parts.push((await server.db.query(`select * from ${table} order by 1, 2`)).rows);
    return JSON.stringify(parts);
  }
  async function events(customerId: string): Promise<Record<string, unknown>> {
    const { rows } = await server.db.query<{ id: string; params: unknown }>(
      "select id, params from events where workspace_id = $1 and customer_id = $2 order by id",
      [server.workspaceId, customerId],
    );
    return Object.fromEntries(rows.map((r) => [r.id, r.params]));
  }
  async function event(id: string, customerId: string, type: string, params: unknown): Promise<void> {
    await server.db.query(
      `insert into events (workspace_id, id, customer_id, type, occurred_at, params, source, received_at)
       values ($1, $2, $3, $4, now(), $5, 'api', now())`,
      [server.workspaceId, id, customerId, type, JSON.stringify(params)],
    );
  }

  beforeAll(async () => {
    expect((await declare("region", { type: "string", personal: false })).status).toBe(201);
    expect((await declare("birthYear", { type: "number" })).status).toBe(201);
    const eve = await put("eve", {
      attributes: { region: "north", birthYear: 1990, nickname: "evie" },
      identifiers: { email: "eve@example.com", phone: "+33612345678", cardHashes: ["9".repeat(64)] },
      consents: { email: true, push: false },
      memberships: [{ programId: "club", tierId: "green" }],
      segmentIds: ["regulars"],
    });
    expect(eve.status, JSON.stringify(eve.body)).toBe(201);
    await put("frank", { attributes: { nickname: "frankie" }, identifiers: { email: "frank@example.com" } });
    await server.request("PUT", "/v1/catalog/items/TEA", { body: { name: "Tea", priceMinor: 250 } });
    const sale = await server.request("POST", "/v1/sales", {
      body: { transactionId: "t-eve", customerId: "eve", lines: [{ id: "1", sku: "TEA", quantity: 2 }] },
    });
    expect(sale.status, JSON.stringify(sale.body)).toBe(201);
    const earn = await server.request("POST", "/v1/customers/eve/points/earn", {
      body: { amount: 40, reference: "welcome" },
    });
    expect(earn.status, JSON.stringify(earn.body)).toBe(200);

    const money = { $totalAmount: 500, $discountAmount: 50, $units: 2, $currency: "EUR" };
    await event("e1", "eve", "transaction.charge", { ...money, $saleId: "s1", $storeId: "berlin-1" });
    await event("e2", "eve", "product.return", {
      $totalAmount: 250,
      $units: 1,
      $currency: "EUR",
      $returnId: "r1",
    });
    await event("e3", "eve", "sale.processed", { $saleId: "s1", $redemptions: 1, $discountAmount: 50 });
    await event("e4", "eve", "app.open", { screen: "home", $totalAmount: 3 });
    await event("e5", "eve", "loyaltyStatus", { status: "green", programId: "club" });
    await event("f1", "frank", "app.open", { screen: "home" });
  });

  it("removes personal attributes, identifiers, consents and event params; keeps money figures and ledgers", async () => {
    const before = await ledgers();
    server.clock.now = Date.parse("2026-04-01T09:00:00Z");
    const erased = await server.request<Customer>("POST", "/v1/customers/eve/erase");
    expect(erased.status, JSON.stringify(erased.body)).toBe(200);
    expect(erased.body).toMatchObject({
      id: "eve",
      attributes: { region: "north" },
      identifiers: { cardHashes: [] },
      consents: {},
      memberships: [{ programId: "club", tierId: "green" }],
      segmentIds: ["regulars"],
      updatedAt: "2026-04-01T09:00:00.000Z",
      erasedAt: "2026-04-01T09:00:00.000Z",
    });
    expect(Object.keys(erased.body.attributes)).toEqual(["region"]);
    expect(erased.body.identifiers).toEqual({ cardHashes: [] });
    expect((await server.request("GET", "/v1/customers/eve")).body).toEqual(erased.body);

    const stripped = await events("eve");
    expect(stripped).toMatchObject({
      e1: { $totalAmount: 500, $discountAmount: 50, $units: 2, $currency: "EUR" },
      e2: { $totalAmount: 250, $units: 1, $currency: "EUR" },
      e3: { $discountAmount: 50 },
      e4: {},
      e5: {},
    });
    // Exactly those keys, and nothing but money figures on any event (sales may have produced more).
    expect(Object.keys(stripped["e1"] as object).sort()).toEqual([
      "$currency",
      "$discountAmount",
      "$totalAmount",
      "$units",
    ]);
    expect(Object.keys(stripped["e3"] as object)).toEqual(["$discountAmount"]);
    for (const params of Object.values(stripped)) {
      for (const key of Object.keys(params as object)) expect(MONEY_PARAMS).toContain(key);
    }
    expect(await events("frank")).toEqual({ f1: { screen: "home" } });
    expect((await server.request<Customer>("GET", "/v1/customers/frank")).body.identifiers.email).toBe(
      "frank@example.com",
    );
    expect(await ledgers()).toBe(before);
    const points = await server.request<{ balance: number }>("GET", "/v1/customers/eve/points");
    expect(points.body.balance).toBe(40);
    expect(await ids("email=eve%40example.com")).toEqual([]);
    expect(await ids(`cardHash=${"9".repeat(64)}`)).toEqual([]);
  });

  it("answers an erased profile unchanged when erased again", async () => {
    const first = await server.request<Customer>("GET", "/v1/customers/eve");
    const before = await snapshot();
    server.clock.now += 3_600_000;
    const again = await server.request<Customer>("POST", "/v1/customers/eve/erase");
    expect(again.status).toBe(200);
    expect(again.body).toEqual(first.body);
    expect(await snapshot()).toBe(before);
  });

  it("lets a later PUT fill the profile again, and erases that too", async () => {
    server.clock.now = Date.parse("2026-05-01T09:00:00Z");
    const refilled = await put("eve", {
      attributes: { nickname: "eve again" },
      identifiers: { email: "eve@example.com" },
      consents: { sms: true },
    });
    expect(refilled.status).toBe(200);
    expect(refilled.body).toMatchObject({
      attributes: { nickname: "eve again" },
      identifiers: { email: "eve@example.com", cardHashes: [] },
      consents: { sms: true },
      updatedAt: "2026-05-01T09:00:00.000Z",
      erasedAt: "2026-04-01T09:00:00.000Z",
    });
    server.clock.now = Date.parse("2026-05-02T09:00:00Z");
    const erased = await server.request<Customer>("POST", "/v1/customers/eve/erase");
    expect(erased.body).toMatchObject({
      attributes: {},
      identifiers: { cardHashes: [] },
      consents: {},
      erasedAt: "2026-05-02T09:00:00.000Z",
    });
  });

  it("answers 404 for a customer that does not exist, here or in this workspace", async () => {
    expectProblem(await server.request("POST", "/v1/customers/nobody/erase"), 404);
    const other = await server.newWorkspace();
    const before = await snapshot();
    expectProblem(await server.request("POST", "/v1/customers/frank/erase", { key: other.admin }), 404);
    expect(await snapshot()).toBe(before);
  });
});

describe("roles", () => {
  it("lets only an admin key erase", async () => {
    await put("gus", { attributes: { nickname: "g" } });
    const before = await snapshot();
    for (const role of ["marketer", "pos", "app"] as const) {
      const key = await server.newKey(role);
      expectProblem(await server.request("POST", "/v1/customers/gus/erase", { key }), 403);
    }
    expect(await snapshot()).toBe(before);
  });

  it("lets admin and marketer keys read and write declarations, and no other key", async () => {
    const marketer = await server.newKey("marketer");
    expect(
      (await server.request("PUT", "/v1/attributes/byMarketer", { key: marketer, body: { type: "boolean" } }))
        .status,
    ).toBe(201);
    expect((await server.request("GET", "/v1/attributes", { key: marketer })).status).toBe(200);
    expect((await server.request("DELETE", "/v1/attributes/byMarketer", { key: marketer })).status).toBe(204);
    const before = await snapshot();
    for (const role of ["pos", "app"] as const) {
      const key = await server.newKey(role);
      expectProblem(await server.request("GET", "/v1/attributes", { key }), 403);
      expectProblem(await server.request("GET", "/v1/attributes/city", { key }), 403);
      expectProblem(await server.request("PUT", "/v1/attributes/x", { key, body: { type: "string" } }), 403);
      expectProblem(await server.request("DELETE", "/v1/attributes/city", { key }), 403);
    }
    expect(await snapshot()).toBe(before);
  });

  it("keeps declarations per workspace", async () => {
    const other = await server.newWorkspace();
    const list = await server.request<{ items: Attribute[] }>("GET", "/v1/attributes", { key: other.admin });
    expect(list.body.items).toEqual([]);
    expectProblem(await server.request("GET", "/v1/attributes/city", { key: other.admin }), 404);
    // city is a string here, not over there.
    expect((await put("typed-there", { attributes: { city: 5 } }, other.admin)).status).toBe(201);
    const v = await loyaltyVersion();
    expect(
      (await server.request("PUT", "/v1/attributes/city", { key: other.admin, body: { type: "number" } }))
        .status,
    ).toBe(201);
    expect(await loyaltyVersion()).toBe(v);
    expect(await loyaltyVersion(other.workspaceId)).toBe(1);
  });
});

describe("bad input", () => {
  it.each([
    ["an unknown type", { type: "integer" }, "/type"],
    ["no type", { description: "x" }, "/type"],
    ["personal as text", { type: "string", personal: "yes" }, "/personal"],
    ["a description of 1001 characters", { type: "string", description: "d".repeat(1001) }, "/description"],
    ["a description with NUL", { type: "string", description: "a\u0000b" }, "/description"],
    ["an unknown field", { type: "string", unit: "kg" }, "/unit"],
    ["a body that is an array", [{ type: "string" }], "/"],
  ])("refuses a declaration with %s at the field and writes nothing", async (_what, body, path) => {
    const before = await snapshot();
    expectProblem(await declare("fresh", body), 400, path);
    expect(await snapshot()).toBe(before);
  });

  it("refuses bad attribute names", async () => {
    const before = await snapshot();
    expectProblem(await declare("k".repeat(101), { type: "string" }), 400, "/params/name");
    expectProblem(await declare("a\nb", { type: "string" }), 400, "/params/name");
    expect(await snapshot()).toBe(before);
  });

  const bad: [string, unknown, string][] = [
    ["an email without @", { identifiers: { email: "ida.example.com" } }, "/identifiers/email"],
    ["an email with a space", { identifiers: { email: "i da@example.com" } }, "/identifiers/email"],
    [
      "an email of 255 characters",
      { identifiers: { email: `${"i".repeat(243)}@example.com` } },
      "/identifiers/email",
    ],
    ["a phone that is not E.164", { identifiers: { phone: "0151 1234567" } }, "/identifiers/phone"],
    ["a phone starting with +0", { identifiers: { phone: "+0151123456" } }, "/identifiers/phone"],
    ["a phone of 16 digits", { identifiers: { phone: "+1234567890123456" } }, "/identifiers/phone"],
    [
      "a card hash of 31 hex digits",
      { identifiers: { cardHashes: ["a".repeat(31)] } },
      "/identifiers/cardHashes/0",
    ],
    [
      "a card hash of 129 hex digits",
      { identifiers: { cardHashes: ["a".repeat(129)] } },
      "/identifiers/cardHashes/0",
    ],
    [
      "a card hash that is not hex",
      { identifiers: { cardHashes: [HASH_B, "g".repeat(32)] } },
      "/identifiers/cardHashes/1",
    ],
    [
      "21 card hashes",
      { identifiers: { cardHashes: Array.from({ length: 21 }, (_, i) => `${i}`.padStart(32, "0")) } },
      "/identifiers/cardHashes",
    ],
    ["card hashes that are a string", { identifiers: { cardHashes: HASH_B } }, "/identifiers/cardHashes"],
    ["an unknown identifier", { identifiers: { loyaltyId: "x" } }, "/identifiers/loyaltyId"],
    ["identifiers that are an array", { identifiers: [] }, "/identifiers"],
    ["an unknown consent", { consents: { fax: true } }, "/consents/fax"],
    ["a consent as text", { consents: { email: "yes" } }, "/consents/email"],
    ["consents that are a boolean", { consents: true }, "/consents"],
  ];

  it.each(bad)("refuses %s on PUT and PATCH at the field and writes nothing", async (_what, body, path) => {
    await put("nora", {});
    const before = await snapshot();
    expectProblem(await put("nora", body), 400, path);
    expectProblem(await server.request("PATCH", "/v1/customers/nora", { body }), 400, path);
    expect(await snapshot()).toBe(before);
  });

  it("refuses null identifiers and consents on PUT, and a card hash sent twice in any case (422)", async () => {
    const before = await snapshot();
    expectProblem(await put("nora", { identifiers: { email: null } }), 400, "/identifiers/email");
    expectProblem(await put("nora", { consents: { sms: null } }), 400, "/consents/sms");
    const twice = await put("nora", { identifiers: { cardHashes: [HASH_B, HASH_B.toUpperCase()] } });
    expectProblem(twice, 422, "/identifiers/cardHashes/1");
    expect(await snapshot()).toBe(before);
  });

  it.each([
    ["email=ida", "/query/email"],
    ["phone=12345", "/query/phone"],
    ["cardHash=abc", "/query/cardHash"],
  ])("refuses the lookup %s", async (query, path) => {
    expectProblem(await server.request("GET", `/v1/customers?${query}`), 400, path);
  });
});

describe("OpenAPI", () => {
  it("documents the new routes and fields", async () => {
    const doc = await server.request<{ paths: Record<string, Record<string, unknown>> }>(
      "GET",
      "/openapi.json",
    );
    expect(Object.keys(doc.body.paths["/v1/attributes/{name}"]!).sort()).toEqual(["delete", "get", "put"]);
    expect(doc.body.paths["/v1/attributes"]).toHaveProperty("get");
    expect(doc.body.paths["/v1/customers/{id}/erase"]).toHaveProperty("post");
    expect(JSON.stringify(doc.body.paths["/v1/customers/{id}"])).toContain("cardHashes");
  });
});
