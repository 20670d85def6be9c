// Proves the promotions API: definitions validated with every problem at once, derived statuses that
// follow the clock, the lifecycle and its active cap under concurrency, frozen limits, If-Match, codes,
// roles and tenant isolation, and that pricing sees every change at once.
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { startServer, type Reply, type TestServer } from "./harness.js";

type Json = Record<string, unknown>;
interface Resource {
  id: string;
  status: string;
  revision: number;
  createdAt: string;
  updatedAt: string;
  publishedAt: string | null;
  definition: Json;
}
interface Issue {
  code: string;
  path: string;
}

const START = Date.parse("2026-03-02T10:00:00Z");
let server: TestServer;

beforeAll(async () => {
  server = await startServer();
});
afterAll(async () => server?.close());
afterEach(() => {
  server.clock.now = START;
});

/** A valid POS promotion: 10 % off LATTE in March 2026, at most 2 per cart. */
function definition(name: string, overrides: Json = {}): Json {
  return {
    name,
    type: "pos",
    tags: ["CHECKOUT"],
    schedule: { startsAt: "2026-03-01T00:00:00Z", endsAt: "2026-04-01T00:00:00Z" },
    conditions: [],
    benefit: {
      kind: "products",
      target: { kind: "sku", sku: "LATTE", quantity: { kind: "all" } },
      value: { kind: "percentage", bps: 1000 },
    },
    limits: [{ level: "cart", measure: "times", max: 2, window: { kind: "lifetime" } }],
    ...overrides,
  };
}

function codeDefinition(name: string, sku: string): Json {
  return definition(name, {
    type: "code",
    benefit: {
      kind: "products",
      target: { kind: "sku", sku, quantity: { kind: "all" } },
      value: { kind: "fixed_amount", amountMinor: 100 },
    },
    limits: [{ level: "code", measure: "times", max: 100, window: { kind: "lifetime" } }],
  });
}

async function create(body: Json, key?: string): Promise<Resource> {
  const reply = await server.request<Resource>("POST", "/v1/promotions", { body, ...(key ? { key } : {}) });
  expect(reply.status, JSON.stringify(reply.body)).toBe(201);
  return reply.body;
}

function act(id: string, action: string, key?: string): Promise<Reply<Json>> {
  return server.request("POST", `/v1/promotions/${id}/${action}`, key ? { key } : {});
}

function issues(reply: Reply<Json>): Issue[] {
  return (reply.body["errors"] ?? []) as Issue[];
}

async function state(workspaceId = server.workspaceId): Promise<{ rows: string; version: number }> {
  const rows = await server.db.query(
    `select id, status, revision, definition, (select count(*) from promotion_codes c
       where c.workspace_id = p.workspace_id and c.promotion_id = p.id) as codes
       from promotions p where workspace_id = $1 order by id`,
    [workspaceId],
  );
  const ws = await server.db.query<{ v: number }>(
    "select promotions_version as v from workspaces where id = $1",
    [workspaceId],
  );
  return { rows: JSON.stringify(rows.rows), version: ws.rows[0]!.v };
}

async function setCap(workspaceId: string, max: number): Promise<void> {
  await server.db.query("update workspaces set active_promotions_max = $2 where id = $1", [workspaceId, max]);
}

describe("definitions", () => {
  it("creates a draft with a generated id and reads it back", async () => {
    const before = await state();
    const reply = await server.request<Resource>("POST", "/v1/promotions", { body: definition("Latte ten") });
    expect(reply.status).toBe(201);
    const created = reply.body;
    expect(created.id).toMatch(/^promo_[0-9a-f]{32}$/);
    expect(created).toMatchObject({
      status: "draft",
      revision: 1,
      publishedAt: null,
      createdAt: new Date(START).toISOString(),
      definition: { id: created.id, name: "Latte ten", type: "pos" },
    });
    expect(reply.headers["etag"]).toBe('"1"');
    expect(reply.headers["location"]).toBe(`/v1/promotions/${created.id}`);
    expect((await state()).version).toBe(before.version + 1);

    const read = await server.request<Resource>("GET", `/v1/promotions/${created.id}`);
    expect(read.status).toBe(200);
    expect(read.body).toEqual(created);
  });

  it("keeps a given id, refuses it twice, and keeps names unique ignoring case", async () => {
    await create({ id: "spring-latte", ...definition("Spring latte") });
    const before = await state();
    const sameId = await server.request("POST", "/v1/promotions", {
      body: { id: "spring-latte", ...definition("Another name") },
    });
    expect(sameId.status).toBe(409);
    expect(issues(sameId)).toMatchObject([{ path: "/id", code: "id_taken" }]);
    const sameName = await server.request("POST", "/v1/promotions", { body: definition("SPRING LATTE") });
    expect(sameName.status).toBe(409);
    expect(sameName.body["type"]).toBe("https://till.dev/problems/name_taken");
    expect(issues(sameName)).toMatchObject([{ path: "/name", code: "name_taken" }]);
    expect(await state()).toEqual(before);

    const other = await create(definition("Spring latte 2"));
    const rename = await server.request("PUT", `/v1/promotions/${other.id}`, {
      body: definition("spring Latte"),
    });
    expect(rename.status).toBe(409);
    expect(issues(rename)).toMatchObject([{ path: "/name", code: "name_taken" }]);
  });

  it("counts the name in user-perceived characters: 50 pass, 51 are a 422 that creates nothing", async () => {
    await create(definition("👍🏽".repeat(50)));
    const before = await state();
    const reply = await server.request("POST", "/v1/promotions", { body: definition("x".repeat(51)) });
    expect(reply.status).toBe(422);
    expect(issues(reply)).toMatchObject([{ path: "/name", code: "name_too_long" }]);
    expect(await state()).toEqual(before);
  });

  it("refuses bad bodies naming the field, and changes nothing", async () => {
    const draft = await create(definition("Bad body target"));
    const before = await state();
    const base = definition("Bad body");
    const nested: unknown = Array.from({ length: 40 }).reduce<unknown>((inner) => [inner], "deep");
    const cases: [string, unknown, string][] = [
      ["unknown field", { ...base, colour: "red" }, "/colour"],
      ["wrong type", { ...base, priority: "high" }, "/priority"],
      [
        "fractional",
        { ...base, benefit: { ...(base["benefit"] as Json), value: { kind: "percentage", bps: 10.5 } } },
        "/benefit/value/bps",
      ],
      [
        "negative",
        { ...base, limits: [{ level: "cart", measure: "times", max: -1, window: { kind: "lifetime" } }] },
        "/limits/0/max",
      ],
      ["missing", { ...base, benefit: undefined }, "/benefit"],
      ["unknown kind", { ...base, benefit: { kind: "teleport" } }, "/benefit/kind"],
      ["deep nesting", { ...base, scope: { storeIds: [nested] } }, "/scope/storeIds/0"],
      [
        "deep unknown",
        { ...base, schedule: { startsAt: "2026-03-01T00:00:00Z", x: { y: { z: nested } } } },
        "/schedule/x",
      ],
      ["not an instant", { ...base, schedule: { startsAt: "tomorrow" } }, "/schedule/startsAt"],
      ["not an object", [base], "/"],
    ];
    for (const [label, body, path] of cases) {
      for (const [method, url] of [
        ["POST", "/v1/promotions"],
        ["PUT", `/v1/promotions/${draft.id}`],
      ] as const) {
        const reply = await server.request(method, url, { body });
        expect(reply.status, `${label} ${method}`).toBeGreaterThanOrEqual(400);
        expect(reply.status, `${label} ${method}`).toBeLessThan(500);
        expect(
          issues(reply).map((i) => i.path),
          `${label} ${method}`,
        ).toContain(path);
      }
    }
    const raw = await server.app.inject({
      method: "POST",
      url: "/v1/promotions",
      headers: { authorization: `Bearer ${server.admin}`, "content-type": "application/json" },
      payload: "[".repeat(5_000) + "]".repeat(5_000),
    });
    expect(raw.statusCode).toBeGreaterThanOrEqual(400);
    expect(raw.statusCode).toBeLessThan(500);
    expect(await state()).toEqual(before);
  });

  it("lists every semantic problem at once", async () => {
    const before = await state();
    const reply = await server.request("POST", "/v1/promotions", {
      body: definition("Many problems", {
        schedule: { startsAt: "2026-03-01T00:00:00Z", endsAt: "2026-02-01T00:00:00Z" },
        limits: [
          { level: "issual", measure: "times", max: 1, window: { kind: "lifetime" } },
          { level: "cart", measure: "times", max: 2, window: { kind: "lifetime" } },
          { level: "cart", measure: "times", max: 3, window: { kind: "lifetime" } },
        ],
      }),
    });
    expect(reply.status).toBe(422);
    expect(issues(reply).map((i) => `${i.code} ${i.path}`)).toEqual(
      expect.arrayContaining([
        "limit_level_not_allowed /limits/0/level",
        "duplicate_limit /limits/2",
        "schedule_ends_before_start /schedule/endsAt",
      ]),
    );
    expect(await state()).toEqual(before);
  });

  it("replaces a definition, bumping the revision, and honours If-Match", async () => {
    const p = await create(definition("Replace me"));
    const mismatch = await server.request("PUT", `/v1/promotions/${p.id}`, {
      body: { ...definition("Replace me"), id: "someone-else" },
    });
    expect(mismatch.status).toBe(422);
    expect(issues(mismatch)).toMatchObject([{ path: "/id", code: "id_mismatch" }]);

    server.clock.now = START + 60_000;
    const v2 = await server.request<Resource>("PUT", `/v1/promotions/${p.id}`, {
      body: definition("Replaced", { headline: "Now 10 % off" }),
      headers: { "if-match": '"1"' },
    });
    expect(v2.status, JSON.stringify(v2.body)).toBe(200);
    expect(v2.body).toMatchObject({ id: p.id, revision: 2, status: "draft", createdAt: p.createdAt });
    expect(v2.body.updatedAt).toBe(new Date(START + 60_000).toISOString());
    expect(v2.body.definition).toMatchObject({ id: p.id, name: "Replaced", headline: "Now 10 % off" });
    expect(v2.headers["etag"]).toBe('"2"');

    const before = await state();
    const stale = await server.request("PUT", `/v1/promotions/${p.id}`, {
      body: definition("Stale write"),
      headers: { "if-match": '"1"' },
    });
    expect(stale.status).toBe(412);
    expect((await act(p.id, "publish")).status).toBe(200);
    const stalePause = await server.request("POST", `/v1/promotions/${p.id}/pause`, {
      headers: { "if-match": '"2"' },
    });
    expect(stalePause.status).toBe(412);
    expect((await server.request<Resource>("GET", `/v1/promotions/${p.id}`)).body).toMatchObject({
      revision: 3,
      status: "active",
    });
    expect((await state()).version).toBe(before.version + 1);

    // Two editors who read the same revision: one wins, the other is told to read again.
    const racing = await Promise.all(
      ["Editor one", "Editor two"].map((name) =>
        server.request("PUT", `/v1/promotions/${p.id}`, {
          body: definition(name),
          headers: { "if-match": '"3"' },
        }),
      ),
    );
    expect(racing.map((r) => r.status).sort()).toEqual([200, 412]);

    const missing = await server.request("PUT", "/v1/promotions/nope", { body: definition("Nope") });
    expect(missing.status).toBe(404);
  });

  it("freezes the limits once published, while other edits pass", async () => {
    const p = await create(definition("Frozen limits"));
    const before = await server.request("PUT", `/v1/promotions/${p.id}`, {
      body: definition("Frozen limits", {
        limits: [{ level: "cart", measure: "times", max: 5, window: { kind: "lifetime" } }],
      }),
    });
    expect(before.status, "a draft's limits may change").toBe(200);
    expect((await act(p.id, "publish")).status).toBe(200);

    const changed = await server.request("PUT", `/v1/promotions/${p.id}`, {
      body: definition("Frozen limits", {
        limits: [{ level: "cart", measure: "times", max: 6, window: { kind: "lifetime" } }],
      }),
    });
    expect(changed.status).toBe(409);
    expect(changed.body["type"]).toBe("https://till.dev/problems/limits_frozen");
    expect(issues(changed)).toMatchObject([{ path: "/limits" }]);
    const dropped = await server.request("PUT", `/v1/promotions/${p.id}`, {
      body: definition("Frozen limits", { limits: undefined }),
    });
    expect(dropped.status).toBe(409);

    const edited = await server.request<Resource>("PUT", `/v1/promotions/${p.id}`, {
      body: definition("Frozen limits, renamed", {
        headline: "Still on",
        limits: [{ window: { kind: "lifetime" }, max: 5, measure: "times", level: "cart" }],
      }),
    });
    expect(edited.status, JSON.stringify(edited.body)).toBe(200);
    expect(edited.body).toMatchObject({ status: "active", definition: { name: "Frozen limits, renamed" } });

    // Paused, it was still published once: the limits stay frozen.
    expect((await act(p.id, "pause")).status).toBe(200);
    const whilePaused = await server.request("PUT", `/v1/promotions/${p.id}`, {
      body: definition("Frozen limits, renamed", {
        limits: [{ level: "cart", measure: "times", max: 1, window: { kind: "lifetime" } }],
      }),
    });
    expect(whilePaused.status).toBe(409);
  });
});

describe("lifecycle", () => {
  it("derives scheduled, active and ended from the clock", async () => {
    const p = await create(
      definition("Easter latte", {
        schedule: { startsAt: "2026-04-03T00:00:00Z", endsAt: "2026-04-07T00:00:00Z" },
      }),
    );
    const published = await act(p.id, "publish");
    expect(published.body).toMatchObject({ status: "scheduled", publishedAt: new Date(START).toISOString() });
    const statusAt = async (iso: string) => {
      server.clock.now = Date.parse(iso);
      return (await server.request<Resource>("GET", `/v1/promotions/${p.id}`)).body.status;
    };
    expect(await statusAt("2026-04-02T23:59:59.999Z")).toBe("scheduled");
    expect(await statusAt("2026-04-03T00:00:00Z")).toBe("active");
    expect(await statusAt("2026-04-06T23:59:59.999Z")).toBe("active");
    expect(await statusAt("2026-04-07T00:00:00Z")).toBe("ended");

    const edit = await server.request("PUT", `/v1/promotions/${p.id}`, { body: definition("Easter latte") });
    expect(edit.status).toBe(409);
    const pause = await act(p.id, "pause");
    expect(pause.status).toBe(409);
    expect(pause.body).toMatchObject({ type: "https://till.dev/problems/invalid_transition", from: "ended" });
  });

  it("moves draft → published → paused → published → ended and refuses the rest", async () => {
    const p = await create(definition("Lifecycle latte"));
    const refused = async (action: string, from: string, to: string) => {
      const reply = await act(p.id, action);
      expect(reply.status, `${action} from ${from}`).toBe(409);
      expect(reply.body).toMatchObject({ type: "https://till.dev/problems/invalid_transition", from, to });
    };
    await refused("pause", "draft", "paused");
    await refused("resume", "draft", "published");
    await refused("end", "draft", "ended");

    const published = await act(p.id, "publish");
    expect(published.body).toMatchObject({ status: "active", revision: 2 });
    await refused("publish", "active", "published");
    await refused("resume", "active", "published");
    const deleteLive = await server.request("DELETE", `/v1/promotions/${p.id}`);
    expect(deleteLive.status).toBe(409);

    expect((await act(p.id, "pause")).body).toMatchObject({ status: "paused" });
    await refused("pause", "paused", "paused");
    server.clock.now = START + 3_600_000;
    const resumed = await act(p.id, "resume");
    expect(resumed.body).toMatchObject({ status: "active", publishedAt: new Date(START).toISOString() });

    expect((await act(p.id, "end")).body).toMatchObject({ status: "ended", revision: 5 });
    await refused("end", "ended", "ended");
    await refused("publish", "ended", "published");
    await refused("resume", "ended", "published");
    expect(
      (await server.request("PUT", `/v1/promotions/${p.id}`, { body: definition("Lifecycle latte") })).status,
    ).toBe(409);
  });

  it("deletes a draft, with its codes, and only a draft", async () => {
    const p = await create(codeDefinition("Deletable", "LATTE"));
    expect(
      (await server.request("POST", `/v1/promotions/${p.id}/codes`, { body: { codes: ["GONE1"] } })).status,
    ).toBe(201);
    const stale = await server.request("DELETE", `/v1/promotions/${p.id}`, {
      headers: { "if-match": '"7"' },
    });
    expect(stale.status).toBe(412);
    const deleted = await server.request("DELETE", `/v1/promotions/${p.id}`);
    expect(deleted.status).toBe(204);
    expect((await server.request("GET", `/v1/promotions/${p.id}`)).status).toBe(404);
    expect((await server.request("DELETE", `/v1/promotions/${p.id}`)).status).toBe(404);
    const reused = await create(codeDefinition("Deletable", "LATTE"));
    expect(
      (await server.request("POST", `/v1/promotions/${reused.id}/codes`, { body: { codes: ["gone1"] } }))
        .status,
    ).toBe(201);
  });

  it("refuses to publish a promotion whose schedule already ended", async () => {
    const p = await create(
      definition("Too late", {
        schedule: { startsAt: "2026-01-01T00:00:00Z", endsAt: "2026-02-01T00:00:00Z" },
      }),
    );
    const reply = await act(p.id, "publish");
    expect(reply.status).toBe(409);
    expect(issues(reply)).toMatchObject([{ path: "/schedule/endsAt", code: "schedule_ended" }]);
  });
});

describe("the active cap", () => {
  it("refuses a publish over the cap, counting published promotions that have not ended", async () => {
    const ws = await server.newWorkspace();
    await setCap(ws.workspaceId, 2);
    const make = (name: string, overrides: Json = {}) => create(definition(name, overrides), ws.admin);
    const a = await make("A");
    const b = await make("B", { schedule: { startsAt: "2026-06-01T00:00:00Z" } }); // scheduled still counts
    const c = await make("C");
    const shortLived = await make("Short", {
      schedule: { startsAt: "2026-03-01T00:00:00Z", endsAt: "2026-03-02T11:00:00Z" },
    });
    expect((await act(shortLived.id, "publish", ws.admin)).status).toBe(200);
    expect((await act(a.id, "publish", ws.admin)).status).toBe(200);
    const full = await act(b.id, "publish", ws.admin);
    expect(full.status).toBe(409);
    expect(full.body["type"]).toBe("https://till.dev/problems/active_cap_reached");

    server.clock.now = Date.parse("2026-03-02T11:00:00Z"); // the short one has ended
    expect((await act(b.id, "publish", ws.admin)).body).toMatchObject({ status: "scheduled" });
    expect((await act(c.id, "publish", ws.admin)).status).toBe(409);
    expect((await act(a.id, "pause", ws.admin)).status).toBe(200);
    expect((await act(c.id, "publish", ws.admin)).status).toBe(200);
    const resume = await act(a.id, "resume", ws.admin);
    expect(resume.status).toBe(409);
    expect(resume.body["type"]).toBe("https://till.dev/problems/active_cap_reached");
    expect((await act(c.id, "end", ws.admin)).status).toBe(200);
    expect((await act(a.id, "resume", ws.admin)).status).toBe(200);
  });

  it("publishes exactly as many as the cap allows when 10 publish at once", async () => {
    const ws = await server.newWorkspace();
    await setCap(ws.workspaceId, 5);
    const drafts: Resource[] = [];
    for (let i = 0; i < 10; i++) drafts.push(await create(definition(`Race ${i}`), ws.admin));
    const before = await state(ws.workspaceId);
    const replies = await Promise.all(drafts.map((d) => act(d.id, "publish", ws.admin)));
    const statuses = replies.map((r) => r.status).sort();
    expect(statuses).toEqual([200, 200, 200, 200, 200, 409, 409, 409, 409, 409]);
    const { rows } = await server.db.query<{ n: number }>(
      "select count(*)::int as n from promotions where workspace_id = $1 and status = 'published'",
      [ws.workspaceId],
    );
    expect(rows[0]!.n).toBe(5);
    expect((await state(ws.workspaceId)).version, "refused publishes roll back their bump").toBe(
      before.version + 5,
    );
  });
});

describe("listing", () => {
  it("filters by derived status, type, tag and name, and pages by id", async () => {
    const ws = await server.newWorkspace();
    const make = (id: string, name: string, overrides: Json = {}) =>
      create({ id, ...definition(name, overrides) }, ws.admin);
    await make("p1-draft", "Weekend latte", { tags: ["MOBILE"] });
    await make("p2-active", "Weekday LATTE");
    await make("p3-scheduled", "Summer", { schedule: { startsAt: "2026-06-01T00:00:00Z" } });
    await make("p4-paused", "Paused one", { tags: ["MOBILE", "CHECKOUT"] });
    await make("p5-ended", "Ended by hand");
    await make("p6-expiring", "Ends today", {
      schedule: { startsAt: "2026-03-01T00:00:00Z", endsAt: "2026-03-02T12:00:00Z" },
    });
    await create({ id: "p7-code", ...codeDefinition("Code latte", "LATTE") }, ws.admin);
    for (const id of ["p2-active", "p3-scheduled", "p4-paused", "p5-ended", "p6-expiring"]) {
      expect((await act(id, "publish", ws.admin)).status).toBe(200);
    }
    await act("p4-paused", "pause", ws.admin);
    await act("p5-ended", "end", ws.admin);

    const ids = async (query: string) => {
      const reply = await server.request<{ items: Resource[]; next?: string }>(
        "GET",
        `/v1/promotions?${query}`,
        {
          key: ws.admin,
        },
      );
      expect(reply.status, JSON.stringify(reply.body)).toBe(200);
      return reply.body.items.map((p) => p.id);
    };
    expect(await ids("")).toEqual([
      "p1-draft",
      "p2-active",
      "p3-scheduled",
      "p4-paused",
      "p5-ended",
      "p6-expiring",
      "p7-code",
    ]);
    expect(await ids("status=draft")).toEqual(["p1-draft", "p7-code"]);
    expect(await ids("status=active")).toEqual(["p2-active", "p6-expiring"]);
    expect(await ids("status=scheduled")).toEqual(["p3-scheduled"]);
    expect(await ids("status=paused")).toEqual(["p4-paused"]);
    expect(await ids("status=ended")).toEqual(["p5-ended"]);
    server.clock.now = Date.parse("2026-03-02T12:00:00Z");
    expect(await ids("status=ended")).toEqual(["p5-ended", "p6-expiring"]);
    expect(await ids("status=active")).toEqual(["p2-active"]);
    expect(await ids("type=code")).toEqual(["p7-code"]);
    expect(await ids("tag=MOBILE")).toEqual(["p1-draft", "p4-paused"]);
    expect(await ids("q=latte")).toEqual(["p1-draft", "p2-active", "p7-code"]);
    expect(await ids("q=latte&status=draft&tag=MOBILE")).toEqual(["p1-draft"]);
    expect(await ids("q=%25")).toEqual([]);

    const seen: string[] = [];
    let after: string | undefined;
    for (let pages = 0; pages < 10; pages++) {
      const reply = await server.request<{ items: Resource[]; next?: string }>(
        "GET",
        `/v1/promotions?limit=3${after ? `&after=${after}` : ""}`,
        { key: ws.admin },
      );
      seen.push(...reply.body.items.map((p) => p.id));
      after = reply.body.next;
      if (after === undefined) break;
    }
    expect(seen).toHaveLength(7);
    expect(new Set(seen).size).toBe(7);

    for (const bad of ["status=live", "limit=0", "limit=201", "type=coupon", "sort=name"]) {
      const reply = await server.request("GET", `/v1/promotions?${bad}`, { key: ws.admin });
      expect(reply.status, bad).toBe(400);
    }
  });
});

describe("pricing sees every change", () => {
  it("prices with a published promotion, and not once it is paused", async () => {
    await server.db.query(
      `insert into catalog_items (workspace_id, sku, name, price_minor, categories) values ($1, 'TEA', 'Tea', 400, '{drinks}')`,
      [server.workspaceId],
    );
    const p = await create(
      definition("Quarter off tea", {
        benefit: {
          kind: "products",
          target: { kind: "sku", sku: "TEA", quantity: { kind: "all" } },
          value: { kind: "percentage", bps: 2500 },
        },
      }),
    );
    const discount = async () => {
      const reply = await server.request<{
        totals: { discountMinor: number };
        applied: { promotionId: string }[];
      }>("POST", "/v1/baskets/evaluate", { body: { lines: [{ id: "1", sku: "TEA", quantity: 2 }] } });
      expect(reply.status, JSON.stringify(reply.body)).toBe(200);
      return [reply.body.totals.discountMinor, reply.body.applied.map((a) => a.promotionId)];
    };
    expect(await discount()).toEqual([0, []]);
    await act(p.id, "publish");
    expect(await discount()).toEqual([200, [p.id]]);
    await act(p.id, "pause");
    expect(await discount()).toEqual([0, []]);
    await act(p.id, "resume");
    const edited = await server.request("PUT", `/v1/promotions/${p.id}`, {
      body: definition("Quarter off tea", {
        benefit: {
          kind: "products",
          target: { kind: "sku", sku: "TEA", quantity: { kind: "all" } },
          value: { kind: "percentage", bps: 5000 },
        },
      }),
    });
    expect(edited.status).toBe(200);
    expect(await discount()).toEqual([400, [p.id]]);
    await act(p.id, "end");
    expect(await discount()).toEqual([0, []]);
  });
});

describe("codes", () => {
  it("adds normalized codes to a code promotion, all or nothing, and lists them", async () => {
    await server.db.query(
      `insert into catalog_items (workspace_id, sku, name, price_minor, categories) values ($1, 'MUFFIN', 'Muffin', 300, '{}')`,
      [server.workspaceId],
    );
    const p = await create(codeDefinition("Muffin code", "MUFFIN"));
    const added = await server.request("POST", `/v1/promotions/${p.id}/codes`, {
      body: { codes: [" muffin-1 ", "Muffin-2", "MUFFIN-3"] },
    });
    expect(added.status, JSON.stringify(added.body)).toBe(201);
    expect(added.body).toEqual({ promotionId: p.id, added: 3 });

    const list = await server.request<{ items: { code: string }[]; next?: string }>(
      "GET",
      `/v1/promotions/${p.id}/codes?limit=2`,
    );
    expect(list.body.items.map((c) => c.code)).toEqual(["MUFFIN-1", "MUFFIN-2"]);
    expect(list.body.next).toBe("MUFFIN-2");
    const rest = await server.request<{ items: { code: string }[]; next?: string }>(
      "GET",
      `/v1/promotions/${p.id}/codes?limit=2&after=MUFFIN-2`,
    );
    expect(rest.body).toEqual({ items: [expect.objectContaining({ code: "MUFFIN-3" })] });

    const before = await state();
    const other = await create(codeDefinition("Other muffin code", "MUFFIN"));
    const notCode = await create(definition("Not a code promotion"));
    const afterCreate = await state();
    const taken = await server.request("POST", `/v1/promotions/${other.id}/codes`, {
      body: { codes: ["NEW-1", "muffin-2"] },
    });
    expect(taken.status).toBe(409);
    expect(issues(taken)).toMatchObject([{ path: "/codes/1", code: "code_taken" }]);
    const again = await server.request("POST", `/v1/promotions/${p.id}/codes`, {
      body: { codes: ["MUFFIN-1"] },
    });
    expect(again.status).toBe(409);
    const twice = await server.request("POST", `/v1/promotions/${other.id}/codes`, {
      body: { codes: ["dup", " DUP", "  "] },
    });
    expect(twice.status).toBe(422);
    expect(issues(twice).map((i) => `${i.code} ${i.path}`)).toEqual([
      "duplicate_code /codes/1",
      "code_blank /codes/2",
    ]);
    for (const codes of [[], ["x".repeat(101)], [7]]) {
      const bad = await server.request("POST", `/v1/promotions/${other.id}/codes`, { body: { codes } });
      expect(bad.status, JSON.stringify(codes)).toBe(400);
    }
    const wrongType = await server.request("POST", `/v1/promotions/${notCode.id}/codes`, {
      body: { codes: ["NOPE"] },
    });
    expect(wrongType.status).toBe(422);
    expect(issues(wrongType)).toMatchObject([{ path: "/codes", code: "not_a_code_promotion" }]);
    expect(await state()).toEqual(afterCreate);
    expect(afterCreate.version).toBe(before.version + 2); // the two creates, nothing else

    await act(p.id, "publish");
    const priced = await server.request<{ totals: { discountMinor: number } }>(
      "POST",
      "/v1/baskets/evaluate",
      {
        body: { lines: [{ id: "1", sku: "MUFFIN", quantity: 1 }], codes: ["muffin-3"] },
      },
    );
    expect(priced.body.totals.discountMinor).toBe(100);
  });

  it("takes 10,000 codes of 100 characters in one request", async () => {
    const p = await create(codeDefinition("Bulk codes", "LATTE"));
    // Two bytes a character: the body is well over the default 1 MiB limit.
    const codes = Array.from(
      { length: 10_000 },
      (_, i) => `bulk-${String(i).padStart(5, "0")}-${"é".repeat(89)}`,
    );
    const reply = await server.request("POST", `/v1/promotions/${p.id}/codes`, { body: { codes } });
    expect(reply.status, JSON.stringify(reply.body).slice(0, 300)).toBe(201);
    expect(reply.body["added"]).toBe(10_000);
    const tooMany = await server.request("POST", `/v1/promotions/${p.id}/codes`, {
      body: { codes: [...codes, "one-more"] },
    });
    expect(tooMany.status).toBe(400);
  });
});

describe("access", () => {
  it("lets admins and marketers write, and every role read", async () => {
    const pos = await server.newKey("pos");
    const app = await server.newKey("app");
    const marketer = await server.newKey("marketer");
    const before = await state();
    const denied = await server.request("POST", "/v1/promotions", {
      key: pos,
      body: definition("By the till"),
    });
    expect(denied.status).toBe(403);
    expect(await state()).toEqual(before);

    const p = await create(definition("By marketing"), marketer);
    expect((await act(p.id, "publish", marketer)).status).toBe(200);
    for (const key of [pos, app]) {
      expect((await act(p.id, "pause", key)).status).toBe(403);
      expect(
        (await server.request("PUT", `/v1/promotions/${p.id}`, { key, body: definition("X") })).status,
      ).toBe(403);
      expect((await server.request("GET", `/v1/promotions/${p.id}`, { key })).status).toBe(200);
      expect((await server.request("GET", "/v1/promotions?status=active", { key })).status).toBe(200);
      expect((await server.request("GET", `/v1/promotions/${p.id}/codes`, { key })).status).toBe(403);
    }
    expect((await server.request("GET", `/v1/promotions/${p.id}`, { key: "till_nope" })).status).toBe(401);
  });

  it("documents every route under the Promotions tag", async () => {
    const doc = await server.request<{
      paths: Record<string, Record<string, { tags?: string[]; summary?: string }>>;
    }>("GET", "/openapi.json");
    const operations = Object.entries(doc.body.paths)
      // Limits are documented under Usage, bulk codes under Codes (test/server/codes.test.ts), CSV
      // import and export in test/server/promotion-csv.test.ts.
      .filter(
        ([path]) =>
          path.startsWith("/v1/promotions") &&
          !/\/(limits|codes\/generate|codes\.csv|imports|imports\/\{id\}|export\.csv)$/.test(path),
      )
      .flatMap(([path, ops]) =>
        Object.entries(ops).map(([method, op]) => ({ route: `${method} ${path}`, ...op })),
      );
    expect(operations.map((o) => o.route).sort()).toEqual([
      "delete /v1/promotions/{id}",
      "get /v1/promotions",
      "get /v1/promotions/{id}",
      "get /v1/promotions/{id}/codes",
      "post /v1/promotions",
      "post /v1/promotions/{id}/codes",
      "post /v1/promotions/{id}/end",
      "post /v1/promotions/{id}/pause",
      "post /v1/promotions/{id}/publish",
      "post /v1/promotions/{id}/resume",
      "put /v1/promotions/{id}",
    ]);
    for (const op of operations) {
      expect(op.tags, op.route).toEqual(["Promotions"]);
      expect(op.summary, op.route).toBeTruthy();
    }
  });

  it("keeps every endpoint inside the caller's workspace", async () => {
    const p = await create(codeDefinition("Mine only", "LATTE"));
    await server.request("POST", `/v1/promotions/${p.id}/codes`, { body: { codes: ["MINE-1"] } });
    const draft = await create(definition("My draft"));
    const other = await server.newWorkspace();
    const before = await state();
    const otherBefore = await state(other.workspaceId);

    const attempts: [string, "GET" | "POST" | "PUT" | "DELETE", string, unknown?][] = [
      ["read", "GET", `/v1/promotions/${p.id}`],
      ["replace", "PUT", `/v1/promotions/${p.id}`, codeDefinition("Hijacked", "LATTE")],
      ["delete", "DELETE", `/v1/promotions/${draft.id}`],
      ["publish", "POST", `/v1/promotions/${p.id}/publish`],
      ["pause", "POST", `/v1/promotions/${p.id}/pause`],
      ["resume", "POST", `/v1/promotions/${p.id}/resume`],
      ["end", "POST", `/v1/promotions/${p.id}/end`],
      ["add codes", "POST", `/v1/promotions/${p.id}/codes`, { codes: ["THEIRS-1"] }],
      ["list codes", "GET", `/v1/promotions/${p.id}/codes`],
    ];
    for (const [label, method, url, body] of attempts) {
      const reply = await server.request(method, url, { key: other.admin, ...(body ? { body } : {}) });
      expect(reply.status, label).toBe(404);
    }
    const list = await server.request<{ items: Resource[] }>("GET", "/v1/promotions", { key: other.admin });
    expect(list.body.items).toEqual([]);
    expect(await state()).toEqual(before);
    expect(await state(other.workspaceId)).toEqual(otherBefore);

    // The same id and name in another workspace are that workspace's own.
    const theirs = await create({ id: p.id, ...definition("Mine only") }, other.admin);
    expect(theirs.id).toBe(p.id);
    expect((await server.request<Resource>("GET", `/v1/promotions/${p.id}`)).body.definition["type"]).toBe(
      "code",
    );
  });
});
