// The full recompute (issue 4): after a definition changed it moves tiers and records the moves, its
// states equal rebuildState over all events under both ways of reading them (also with tied instants,
// a mistyped parameter and events older than the window), a profile written by someone else meanwhile
// is rebuilt under lock, one runs per workspace, the job resource (interrupted jobs read as failed)
// and the CLI.
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { runRecomputeCommand } from "../../src/cli/loyalty-command.js";
import { evaluateProfile, rebuildState } from "../../src/domain/loyalty/state.js";
import { loyaltyModel, tiersOf } from "../../src/services/loyalty.js";
import { startRecompute, type Recompute } from "../../src/services/loyalty-recompute.js";
import { loadEvents } from "../../src/store/loyalty.js";
import { expectProblem, startServer, type TestServer } from "./harness.js";

const DAY = 86_400_000;
const NOW = Date.parse("2026-03-02T10:00:00Z");
let server: TestServer;

/** Customers c00 … c39: most join, all buy and some return over the last 500 days. */
function history(): Record<string, unknown>[] {
  const events: Record<string, unknown>[] = [];
  let n = 0;
  const at = (daysAgo: number) => new Date(NOW - daysAgo * DAY).toISOString();
  for (let i = 0; i < 40; i++) {
    const customerId = `c${String(i).padStart(2, "0")}`;
    if (i % 7 !== 3)
      events.push({
        id: `e${n++}`,
        customerId,
        type: "loyaltyStatus",
        occurredAt: at(400 - i * 7),
        params: { status: "active" },
      });
    for (let k = 0; k < 6; k++) {
      const daysAgo = (i * 13 + k * 71) % 500;
      const params = { $totalAmount: 5_000 + ((i * 7_919 + k * 104_729) % 60_000), $storeId: `s${k % 3}` };
      events.push({ id: `e${n++}`, customerId, type: "transaction.charge", occurredAt: at(daysAgo), params });
    }
    if (i % 4 === 0)
      events.push({
        id: `e${n++}`,
        customerId,
        type: "product.return",
        occurredAt: at(i),
        params: { $totalAmount: 3_000 },
      });
  }
  // Two charges at one instant: which store is last depends on the event id.
  const tie = { customerId: "c01", type: "transaction.charge", occurredAt: at(2) };
  events.push({ ...tie, id: "z-tie-b", params: { $totalAmount: 1_000, $storeId: "tie-b" } });
  events.push({ ...tie, id: "z-tie-a", params: { $totalAmount: 2_000, $storeId: "tie-a" } });
  return events;
}

beforeAll(async () => {
  server = await startServer();
  server.clock.now = NOW;
  const template = await server.request("POST", "/v1/loyalty/templates/tiers", { body: { benefits: false } });
  expect(template.status, JSON.stringify(template.body)).toBe(200);
  const lastStore = await server.request("PUT", "/v1/aggregates/lastStore", {
    body: {
      name: "last store",
      fn: "last",
      event: "transaction.charge",
      param: "$storeId",
      period: { kind: "lifetime" },
    },
  });
  expect(lastStore.status, JSON.stringify(lastStore.body)).toBe(201);
  const batch = await server.request<{ accepted: number }>("POST", "/v1/events/batch", {
    body: { events: history() },
  });
  expect(batch.status, JSON.stringify(batch.body)).toBe(200);
  // What the API cannot send: a number parameter holding a string, a fraction, an instant between two
  // milliseconds (joining: its time is a value), and customers without events.
  const ws = server.workspaceId;
  await server.db.query(
    `insert into events (workspace_id, id, customer_id, type, occurred_at, params, source, received_at) values
       ($1, 'sql-1', 'c05', 'transaction.charge', '2026-02-27T00:00:00Z', '{"$totalAmount": "900000"}', 'api', now()),
       ($1, 'sql-2', 'c06', 'transaction.charge', '2026-02-01T00:00:00Z', '{"$totalAmount": 12345.5}', 'api', now()),
       ($1, 'sql-3', 'c10', 'loyaltyStatus', '2025-06-01T00:00:00.0005Z', '{"status": "active"}', 'api', now())`,
    [ws],
  );
  await server.db.query(`insert into customers (workspace_id, id) values ($1, 'quiet'), ($1, 'latecomer')`, [
    ws,
  ]);
}, 30_000);
afterAll(async () => server?.close());

async function follow(id: string): Promise<Recompute> {
  for (let i = 0; i < 200; i++) {
    const reply = await server.request<Recompute>("GET", `/v1/loyalty/recomputes/${id}`);
    expect(reply.status, JSON.stringify(reply.body)).toBe(200);
    if (reply.body.status !== "running") return reply.body;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`recompute ${id} still running`);
}

/** Every stored profile against rebuildState over all its events at the recompute's instant. */
async function expectExact(nowMs: number): Promise<void> {
  const ws = server.workspaceId;
  const loaded = await loyaltyModel(server.db, ws);
  const { rows } = await server.db.query<{
    id: string;
    attributes: Record<string, never>;
    state: unknown;
    tiers: Record<string, string>;
    segmentIds: string[];
  }>(
    `select c.id, c.attributes, s.state, s.tiers, s.segment_ids as "segmentIds"
       from customers c join profile_states s on s.workspace_id = c.workspace_id and s.customer_id = c.id
      where c.workspace_id = $1 order by c.id`,
    [ws],
  );
  expect(rows.length).toBe(42);
  const events = await loadEvents(
    server.db,
    ws,
    rows.map((r) => r.id),
  );
  for (const row of rows) {
    const state = rebuildState(loaded.compiled, events.get(row.id)!, nowMs);
    const evaluation = evaluateProfile(loaded.compiled, { attributes: row.attributes, state }, nowMs);
    expect(row.state, row.id).toEqual(JSON.parse(JSON.stringify(state)));
    expect(row.tiers, row.id).toEqual(tiersOf(evaluation));
    expect(row.segmentIds, row.id).toEqual(evaluation.segmentIds);
  }
}

async function tierMoves(): Promise<
  { customerId: string; fromTier: string | null; toTier: string | null }[]
> {
  const { rows } = await server.db.query(
    `select customer_id as "customerId", from_tier as "fromTier", to_tier as "toTier"
       from tier_moves where workspace_id = $1 and cause = 'recompute' order by seq`,
    [server.workspaceId],
  );
  return rows;
}

describe("a definition changed", () => {
  it("moves tiers, records the moves with cause recompute, and stores what a rebuild from all events gives", async () => {
    const before = new Map(
      (
        await server.db.query<{ id: string; tier: string | null }>(
          `select customer_id as id, tiers ->> 'loyalty' as tier from profile_states where workspace_id = $1`,
          [server.workspaceId],
        )
      ).rows.map((r) => [r.id, r.tier]),
    );
    // The balance now counts the last 90 days instead of 365: most customers fall.
    const charges = await server.request("PUT", "/v1/aggregates/loyalty.charges", {
      body: {
        name: "loyalty: transactions since joining, last 90 days",
        fn: "sum",
        event: "transaction.charge",
        param: "$totalAmount",
        filters: [{ param: "$timestamp", op: "gt", value: { agg: "loyalty.joinedAt" } }],
        period: { kind: "last", amount: 90, unit: "days" },
      },
    });
    expect(charges.status, JSON.stringify(charges.body)).toBe(200);

    server.clock.now = NOW + 3_600_000;
    const started = await server.request<Recompute>("POST", "/v1/loyalty/recomputes", {
      key: await server.newKey("marketer"),
    });
    expect(started.status, JSON.stringify(started.body)).toBe(202);
    expect(started.headers["location"]).toBe(`/v1/loyalty/recomputes/${started.body.id}`);
    const done = await follow(started.body.id);
    expect(done).toMatchObject({ status: "done", profilesTotal: 42, profilesDone: 42 });
    expect(done.eventsRead).toBeGreaterThan(40);
    expect(done.finishedAt).toBeDefined();

    const moves = await tierMoves();
    expect(moves.length).toBe(done.moves);
    expect(moves.length).toBeGreaterThan(0);
    for (const m of moves) expect(m.fromTier, m.customerId).toBe(before.get(m.customerId) ?? null);
    await expectExact(server.clock.now);
    // What pricing reads now is the stored state: current, nothing rebuilt.
    const c00 = await server.request<{ tiers: { tierId: string }[]; moves: { cause: string }[] }>(
      "GET",
      "/v1/customers/c00/loyalty",
    );
    expect(c00.status).toBe(200);
  });

  it("reading the whole table or each chunk through the index gives the same, exact states", async () => {
    for (const strategy of ["scan", "index"] as const) {
      server.clock.now += 3_600_000;
      const job = await startRecompute(server.db, server.workspaceId, () => server.clock.now, {
        wait: true,
        strategy,
        chunkProfiles: 7,
      });
      expect(job, strategy).toMatchObject({ status: "done", profilesTotal: 42, profilesDone: 42, moves: 0 });
      await expectExact(server.clock.now);
    }
  });
});

describe("while sales go on", () => {
  it("a profile written meanwhile is rebuilt under its lock; a second recompute is a 409", async () => {
    const ws = server.workspaceId;
    server.clock.now += 3_600_000;
    const versions = async () =>
      new Map(
        (
          await server.db.query<{ id: string; version: number }>(
            `select customer_id as id, version from profile_states where workspace_id = $1 and customer_id in ('c07', 'latecomer')`,
            [ws],
          )
        ).rows.map((r) => [r.id, r.version]),
      );
    await server.db.query(
      `delete from profile_states where workspace_id = $1 and customer_id = 'latecomer'`,
      [ws],
    );
    const c07 = (await versions()).get("c07")!;
    // Another writer holds c07 (moved on a version) and creates latecomer's row, uncommitted.
    const other = await server.db.connect();
    try {
      await other.query("begin");
      await other.query(
        `update profile_states set version = version + 1 where workspace_id = $1 and customer_id = 'c07'`,
        [ws],
      );
      await other.query(
        `insert into profile_states (workspace_id, customer_id, state, evaluated_at) values ($1, 'latecomer', '{"aggregates": {}}', now())`,
        [ws],
      );
      const started = await server.request<Recompute>("POST", "/v1/loyalty/recomputes");
      expect(started.status, JSON.stringify(started.body)).toBe(202);
      await waitForLockWait();
      expect(
        (await server.request<Recompute>("GET", `/v1/loyalty/recomputes/${started.body.id}`)).body.status,
      ).toBe("running");
      const second = await server.request("POST", "/v1/loyalty/recomputes");
      expectProblem(second, 409);
      await other.query("commit");
      expect(await follow(started.body.id)).toMatchObject({ status: "done", profilesDone: 42 });
    } finally {
      other.release();
    }
    // Both were written after the other writer, on top of its versions.
    expect(await versions()).toEqual(
      new Map([
        ["c07", c07 + 2],
        ["latecomer", 2],
      ]),
    );
    await expectExact(server.clock.now);
  });
});

async function waitForLockWait(): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const { rows } = await server.db.query<{ n: number }>(
      `select count(*)::int as n from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock'`,
    );
    if (rows[0]!.n > 0) return;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error("the recompute never waited for the other writer");
}

describe("the job", () => {
  it("is for admins and marketers; an unknown one is a 404; one whose process died reads as failed", async () => {
    expectProblem(
      await server.request("POST", "/v1/loyalty/recomputes", { key: await server.newKey("pos") }),
      403,
    );
    expectProblem(await server.request("GET", "/v1/loyalty/recomputes/nope"), 404);
    await server.db.query(
      `insert into loyalty_recomputes (workspace_id, id, status, started_at) values ($1, 'recompute_dead', 'running', now())`,
      [server.workspaceId],
    );
    const dead = await server.request<Recompute>("GET", "/v1/loyalty/recomputes/recompute_dead");
    expect(dead.status).toBe(200);
    expect(dead.body.status).toBe("failed");
    expect(dead.body.error).toMatch(/^interrupted/);
  });

  it("runs from the command line, printing a summary", async () => {
    const lines: string[] = [];
    const log = vi.spyOn(console, "log").mockImplementation((line: string) => void lines.push(line));
    const error = vi.spyOn(console, "error").mockImplementation(() => undefined);
    const previous = process.env["DATABASE_URL"];
    process.env["DATABASE_URL"] = server.url;
    try {
      const code = await runRecomputeCommand({ dataDir: "./unused", workspace: server.workspaceId });
      expect(code).toBe(0);
    } finally {
      if (previous === undefined) delete process.env["DATABASE_URL"];
      else process.env["DATABASE_URL"] = previous;
      log.mockRestore();
      error.mockRestore();
    }
    expect(lines.join("\n")).toMatch(
      /^recomputed 42 of 42 profiles from \d+ events in [\d.]+ s: \d+ tier moves/,
    );
  });
});
