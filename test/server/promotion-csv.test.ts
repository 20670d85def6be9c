// Proves CSV import and export of promotions through the API: bad rows are reported by row and column
// while the good ones are imported, a dry run writes nothing, re-importing changes nothing, export then
// import is the identity, large files run as a job, and roles and workspaces are kept apart.
import { stringify } from "csv-stringify/sync";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { csvHeader } from "../../src/services/promotion-csv.js";
import { expectProblem, startServer, type TestServer } from "./harness.js";

interface Problem {
  row: number;
  column: string;
  code: string;
}
interface Import {
  id: string;
  status: string;
  error?: string;
  finishedAt?: string;
  rows: { total: number; processed: number };
  counts: { created: number; updated: number; unchanged: number; failed: number };
  report: Problem[];
}
interface Listed {
  items: { id: string; status: string; definition: Record<string, unknown> }[];
}

const HEADER = csvHeader(2);
let server: TestServer;

beforeAll(async () => {
  server = await startServer();
});
afterAll(async () => server?.close());

/** A seed 001 row: 10 % off two SKUs in March 2026, once per customer, tagged MOBILE. */
function row(externalId: string, overrides: Record<string, string> = {}): Record<string, string> {
  return {
    externalId,
    name: `Promo ${externalId}`,
    type: "personalized",
    headline: "Save now",
    description: "Ten percent off",
    discountType: "percent",
    discountValue: "10",
    catalogIndexItems: "SKU-1,SKU-2",
    redeemQuantityPerActivation: "2",
    redeemLimitPerClient: "1",
    storeIds: "warsaw-1",
    startAt: "2026-03-01T00:00:00Z",
    expireAt: "2026-04-01T00:00:00Z",
    priority: "5",
    displayFrom: "2026-02-25T00:00:00Z",
    displayTo: "2026-04-01T00:00:00Z",
    visibilityStatus: "VISIBLE",
    "tags.0.name": "MOBILE",
    "tags.1.name": "",
    ...overrides,
  };
}

function csv(rows: Record<string, string>[], header = HEADER): string {
  return stringify([header, ...rows.map((r) => header.map((h) => r[h] ?? ""))]);
}

async function upload(body: string, query = "", key?: string) {
  return server.request<Import>("POST", `/v1/promotions/imports${query}`, {
    body,
    headers: { "content-type": "text/csv" },
    ...(key ? { key } : {}),
  });
}

async function exported(admin?: string): Promise<string> {
  const reply = await server.request<string>("GET", "/v1/promotions/export.csv", admin ? { key: admin } : {});
  expect(reply.status).toBe(200);
  expect(String(reply.headers["content-type"])).toContain("text/csv");
  return reply.body;
}

async function definitions(key?: string): Promise<Record<string, unknown>[]> {
  const reply = await server.request<Listed>("GET", "/v1/promotions?limit=200", key ? { key } : {});
  return reply.body.items
    .map(({ definition: { id: _id, ...rest } }) => rest)
    .sort((a, b) => String(a["externalId"]).localeCompare(String(b["externalId"])));
}

const GOOD = [
  row("A-1"),
  row("A-2", {
    type: "pos",
    discountType: "amount",
    discountValue: "2.50",
    catalogIndexItems: "",
    redeemQuantityPerActivation: "",
    "tags.1.name": "CHECKOUT",
  }),
  row("A-3", { discountType: "price", discountValue: "0.99", type: "loyalty", priority: "-1" }),
];
const BAD = [
  row("B-1", { discountValue: "ten" }),
  row("B-2", { startAt: "", discountType: "gift" }),
  row("B-3", { expireAt: "2026-02-01T00:00:00Z" }),
  row("B-4", { name: "Promo A-1" }),
];

describe("import", () => {
  it("reports every bad row by row and column while importing the good rows", async () => {
    const reply = await upload(csv([GOOD[0]!, BAD[0]!, GOOD[1]!, BAD[1]!, BAD[2]!, GOOD[2]!, BAD[3]!]));
    expect(reply.status, JSON.stringify(reply.body)).toBe(201);
    expect(reply.headers["location"]).toBe(`/v1/promotions/imports/${reply.body.id}`);
    expect(reply.body.status).toBe("done");
    expect(reply.body.rows).toEqual({ total: 7, processed: 7 });
    expect(reply.body.counts).toEqual({ created: 3, updated: 0, unchanged: 0, failed: 4 });
    const found = reply.body.report.map((p) => `${p.row} ${p.column} ${p.code}`);
    expect(found).toEqual([
      "3 discountValue not_a_percentage",
      "5 discountType unknown_discount_type",
      "5 startAt required",
      "6 expireAt schedule_ends_before_start",
      "8 name duplicate_name",
    ]);
    const status = await server.request<Import>("GET", `/v1/promotions/imports/${reply.body.id}`);
    expect(status.body).toEqual(reply.body);

    const defs = await definitions();
    expect(defs.map((d) => d["externalId"])).toEqual(["A-1", "A-2", "A-3"]);
    expect(defs[0]).toMatchObject({
      type: "loyalty",
      activationRequired: true,
      scope: { storeIds: ["warsaw-1"] },
      limits: [{ level: "customer", measure: "times", max: 1, window: { kind: "lifetime" } }],
      benefit: {
        kind: "products",
        target: {
          kind: "selector",
          scope: { include: [{ kind: "skus", skus: ["SKU-1", "SKU-2"] }] },
          quantity: { kind: "custom", units: 2 },
        },
        value: { kind: "percentage", bps: 1000 },
      },
      customFields: { displayFrom: "2026-02-25T00:00:00Z", visibilityStatus: "VISIBLE" },
    });
    expect(defs[1]).toMatchObject({
      benefit: { kind: "cart", value: { kind: "fixed_amount", amountMinor: 250 } },
    });
  });

  it("re-importing the same file changes nothing; a changed row updates its promotion", async () => {
    const before = await server.db.query("select id, revision from promotions order by id");
    const again = await upload(csv(GOOD));
    expect(again.body.counts).toEqual({ created: 0, updated: 0, unchanged: 3, failed: 0 });
    expect((await server.db.query("select id, revision from promotions order by id")).rows).toEqual(
      before.rows,
    );

    const changed = await upload(csv([GOOD[0]!, { ...GOOD[1]!, discountValue: "3.00" }]));
    expect(changed.body.counts).toEqual({ created: 0, updated: 1, unchanged: 1, failed: 0 });
    const defs = await definitions();
    expect(defs[1]).toMatchObject({ benefit: { value: { amountMinor: 300 } } });
    await upload(csv([GOOD[1]!]));
  });

  it("a dry run counts and reports, and writes nothing", async () => {
    const before = await server.db.query(
      "select (select promotions_version from workspaces where id = $1) as v, (select count(*) from promotions) as n",
      [server.workspaceId],
    );
    const reply = await upload(
      csv([row("D-1"), { ...GOOD[0]!, discountValue: "15" }, BAD[0]!]),
      "?dryRun=true",
    );
    expect(reply.body.counts).toEqual({ created: 1, updated: 1, unchanged: 0, failed: 1 });
    const after = await server.db.query(
      "select (select promotions_version from workspaces where id = $1) as v, (select count(*) from promotions) as n",
      [server.workspaceId],
    );
    expect(after.rows).toEqual(before.rows);
  });

  it("refuses a file it cannot read, naming the column", async () => {
    const reply = await upload("name,discountType,bogus\nx,percent,1\n");
    expectProblem(reply, 422, "/1/bogus");
    const paths = ((reply.body as unknown as { errors: { path: string }[] }).errors ?? []).map((e) => e.path);
    expect(paths).toContain("/1/startAt");
  });

  it("publishes what it creates when asked", async () => {
    const reply = await upload(csv([row("P-1")]), "?publish=true");
    expect(reply.body.counts.created).toBe(1);
    const listed = await server.request<Listed>("GET", "/v1/promotions?q=Promo%20P-1");
    expect(listed.body.items[0]!.status).toBe("active");
  });

  it("runs a large file as a job: 202, then done at its status resource", async () => {
    const rows = Array.from({ length: 1_500 }, (_, i) => row(`J-${i}`, { "tags.0.name": "BULK" }));
    const reply = await upload(csv(rows));
    expect(reply.status).toBe(202);
    let status = reply.body;
    for (let i = 0; i < 200 && status.status === "running"; i++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      status = (await server.request<Import>("GET", `/v1/promotions/imports/${reply.body.id}`)).body;
    }
    expect(status.status).toBe("done");
    expect(status.rows).toEqual({ total: 1_500, processed: 1_500 });
    expect(status.counts.created).toBe(1_500);
  });
});

describe("an interrupted import", () => {
  /** A running import row as a process that died mid-file leaves it: 1,000 of 2,500 rows done. */
  async function leftRunning(id: string): Promise<void> {
    await server.db.query(
      `insert into promotion_imports
         (workspace_id, id, status, dry_run, publish, rows_total, rows_processed, created, failed, report, created_at)
       values ($1, $2, 'running', false, false, 2500, 1000, 998, 2, $3, $4)`,
      [
        server.workspaceId,
        id,
        JSON.stringify([{ row: 7, column: "discountValue", code: "not_a_percentage", message: "x" }]),
        new Date("2026-03-02T09:00:00Z"),
      ],
    );
  }

  it("is failed/interrupted once no connection holds its lock, keeping what its batches recorded", async () => {
    await leftRunning("import_dead");
    const reply = await server.request<Import>("GET", "/v1/promotions/imports/import_dead");
    expect(reply.status).toBe(200);
    expect(reply.body).toMatchObject({
      status: "failed",
      rows: { total: 2500, processed: 1000 },
      counts: { created: 998, updated: 0, unchanged: 0, failed: 2 },
      report: [{ row: 7, column: "discountValue", code: "not_a_percentage" }],
      finishedAt: new Date(server.clock.now).toISOString(),
    });
    expect(reply.body.error).toMatch(/^interrupted/);
    // Stored so, not only answered so.
    const { rows } = await server.db.query<{ status: string }>(
      "select status from promotion_imports where workspace_id = $1 and id = 'import_dead'",
      [server.workspaceId],
    );
    expect(rows[0]!.status).toBe("failed");
    expect((await server.request<Import>("GET", "/v1/promotions/imports/import_dead")).body).toEqual(
      reply.body,
    );
  });

  it("stays running while a connection holds its lock", async () => {
    await leftRunning("import_alive");
    const holder = await server.db.connect();
    const key = `till_import:${server.workspaceId}:import_alive`;
    try {
      await holder.query("select pg_advisory_lock(hashtextextended($1, 0))", [key]);
      const alive = await server.request<Import>("GET", "/v1/promotions/imports/import_alive");
      expect(alive.body.status).toBe("running");
      expect(alive.body.error).toBeUndefined();
      await holder.query("select pg_advisory_unlock(hashtextextended($1, 0))", [key]);
    } finally {
      holder.release();
    }
    const dead = await server.request<Import>("GET", "/v1/promotions/imports/import_alive");
    expect(dead.body.status).toBe("failed");
    expect(dead.body.error).toMatch(/^interrupted/);
  });

  it("a finished import let go of its lock", async () => {
    const reply = await upload(csv([row("L-1")]));
    expect(reply.body.status).toBe("done");
    const { rows } = await server.db.query<{ held: number }>(
      `select count(*)::int as held from pg_locks l
        where l.locktype = 'advisory' and l.granted
          and ((l.classid::bigint << 32) | l.objid::bigint) = hashtextextended($1, 0)`,
      [`till_import:${server.workspaceId}:${reply.body.id}`],
    );
    expect(rows[0]!.held).toBe(0);
  });
});

describe("export", () => {
  it("export then import is the identity, byte for byte and definition for definition", async () => {
    const other = await server.newWorkspace();
    const file = csv(GOOD);
    expect((await upload(file, "", other.admin)).body.counts.created).toBe(3);
    expect(await exported(other.admin)).toBe(file);

    const fresh = await server.newWorkspace();
    const reply = await upload(await exported(other.admin), "", fresh.admin);
    expect(reply.body.counts).toEqual({ created: 3, updated: 0, unchanged: 0, failed: 0 });
    expect(await definitions(fresh.admin)).toEqual(await definitions(other.admin));
    expect(await exported(fresh.admin)).toBe(file);
  });

  it("filters by tag", async () => {
    const reply = await server.request<string>("GET", "/v1/promotions/export.csv?tag=CHECKOUT");
    const lines = reply.body.trim().split("\n");
    expect(lines).toHaveLength(2);
    expect(lines[1]).toContain("A-2");
  });
});

describe("access", () => {
  it("refuses pos keys, and another workspace's import is not found", async () => {
    const pos = await server.newKey("pos");
    expectProblem(await upload(csv([row("X-1")]), "", pos), 403);
    expectProblem(await server.request("GET", "/v1/promotions/export.csv", { key: pos }), 403);
    const mine = await upload(csv([row("X-2")]));
    const other = await server.newWorkspace();
    expectProblem(
      await server.request("GET", `/v1/promotions/imports/${mine.body.id}`, { key: other.admin }),
      404,
    );
  });
});
