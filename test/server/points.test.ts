// Points through the API: earn in lots, burn oldest-expiring first, expiry at the exact instant, transfer keeping expiries, idempotent references, no overdraw under concurrency, roles, tenants, bad input; and balance(now) = sum(ledger) − expired-not-written-off after every step, also as a property.
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { expectProblem, startServer, type Reply, type TestServer } from "./harness.js";
import { expectPointsInvariant } from "./points-invariant.js";

interface Entry {
  id: string;
  customerId: string;
  kind: string;
  amount: number;
  lotId: string;
  reference: string | null;
  occurredAt: string;
}
interface Lot {
  id: string;
  earnedAt: string;
  expiresAt: string | null;
  amount: number;
  remaining: number;
}
interface Points {
  customerId: string;
  balance: number;
  nextExpiry: { at: string; amount: number } | null;
  lots: Lot[];
  entries: { items: Entry[]; next?: string };
}
interface Operation {
  operation: string;
  reference: string;
  customerId: string;
  amount: number;
  balance: number;
  toCustomerId?: string;
  toBalance?: number;
  entries: Entry[];
}

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;
let server: TestServer;
let pos: string;
let app: string;
let marketer: string;
let references = 0;
const ref = (): string => `ref-${++references}`;

beforeAll(async () => {
  server = await startServer();
  pos = await server.newKey("pos");
  app = await server.newKey("app");
  marketer = await server.newKey("marketer");
});
afterAll(async () => server?.close());

async function customer(id: string): Promise<string> {
  const reply = await server.request("PUT", `/v1/customers/${id}`, { body: {} });
  expect(reply.status, JSON.stringify(reply.body)).toBeLessThan(300);
  return id;
}

function post(
  customerId: string,
  action: "earn" | "burn" | "transfer",
  body: Record<string, unknown>,
  key?: string,
): Promise<Reply<Operation>> {
  return server.request<Operation>("POST", `/v1/customers/${customerId}/points/${action}`, {
    body,
    ...(key !== undefined ? { key } : {}),
  });
}

async function earn(
  customerId: string,
  amount: number,
  extra: Record<string, unknown> = {},
): Promise<Operation> {
  const reply = await post(customerId, "earn", { amount, reference: ref(), ...extra });
  expect(reply.status, JSON.stringify(reply.body)).toBe(200);
  return reply.body;
}

async function pointsOf(customerId: string, query = ""): Promise<Points> {
  const reply = await server.request<Points>("GET", `/v1/customers/${customerId}/points${query}`);
  expect(reply.status, JSON.stringify(reply.body)).toBe(200);
  return reply.body;
}

/** The ledger invariant (test/server/points-invariant.ts) for a customer; answers the balance. */
function expectLedgerInvariant(customerId: string): Promise<number> {
  return expectPointsInvariant(server, customerId);
}

/** Every row of the customer's points, to show that a refusal changed nothing. */
async function snapshot(customerId: string): Promise<string> {
  const lots = await server.db.query(`select * from points_lots where customer_id = $1 order by id`, [
    customerId,
  ]);
  const ledger = await server.db.query(`select * from points_ledger where customer_id = $1 order by seq`, [
    customerId,
  ]);
  return JSON.stringify([lots.rows, ledger.rows]);
}

describe("earn and burn", () => {
  it("earns a lot, with an expiry in days or at an instant, or none", async () => {
    const c = await customer("earner");
    const first = await earn(c, 100);
    expect(first).toMatchObject({ operation: "earn", customerId: c, amount: 100, balance: 100 });
    expect(first.entries).toEqual([
      expect.objectContaining({ kind: "earn", amount: 100, reference: first.reference }),
    ]);
    const at = new Date(server.clock.now + 5 * DAY_MS).toISOString();
    await earn(c, 30, { expiresAt: at });
    await earn(c, 20, { expiresInDays: 2 });
    const read = await pointsOf(c);
    expect(read.balance).toBe(150);
    // Burn order: the nearest expiry first, the never-expiring last.
    expect(read.lots.map((l) => [l.amount, l.expiresAt])).toEqual([
      [20, new Date(server.clock.now + 2 * DAY_MS).toISOString()],
      [30, at],
      [100, null],
    ]);
    expect(read.nextExpiry).toEqual({ at: read.lots[0]!.expiresAt, amount: 20 });
    expect(read.entries.items.map((e) => e.amount)).toEqual([20, 30, 100]);
    await expectLedgerInvariant(c);
  });

  it("burns from the oldest-expiring lot first, then the earliest earned", async () => {
    const c = await customer("fifo");
    const far = (await earn(c, 100, { expiresInDays: 30 })).entries[0]!.lotId;
    const never = (await earn(c, 70)).entries[0]!.lotId;
    const near = (await earn(c, 50, { expiresInDays: 10 })).entries[0]!.lotId;
    const burned = await post(c, "burn", { amount: 120, reference: ref() });
    expect(burned.status).toBe(200);
    expect(burned.body.balance).toBe(100);
    expect(burned.body.entries.map((e) => [e.kind, e.lotId, e.amount])).toEqual([
      ["burn", near, -50],
      ["burn", far, -70],
    ]);
    const read = await pointsOf(c);
    expect(read.lots.map((l) => [l.id, l.remaining])).toEqual([
      [far, 30],
      [never, 70],
    ]);
    // Same expiry: the earlier earned goes first.
    const d = await customer("fifo-tie");
    const at = new Date(server.clock.now + 3 * DAY_MS).toISOString();
    const early = (await earn(d, 10, { expiresAt: at })).entries[0]!.lotId;
    server.clock.now += 1_000;
    await earn(d, 10, { expiresAt: at });
    const tie = await post(d, "burn", { amount: 5, reference: ref() });
    expect(tie.body.entries.map((e) => e.lotId)).toEqual([early]);
    await expectLedgerInvariant(c);
    await expectLedgerInvariant(d);
  });

  it("stops counting a lot at its exact expiry, and writes it off on the next write", async () => {
    const c = await customer("expiring");
    const expiresAt = server.clock.now + 7 * DAY_MS;
    const lot = (await earn(c, 100, { expiresAt: new Date(expiresAt).toISOString() })).entries[0]!.lotId;
    await earn(c, 50);
    server.clock.now = expiresAt - 1;
    expect((await pointsOf(c)).balance).toBe(150);
    expect((await pointsOf(c)).nextExpiry).toEqual({ at: new Date(expiresAt).toISOString(), amount: 100 });
    expect(await expectLedgerInvariant(c)).toBe(150);
    server.clock.now = expiresAt;
    const read = await pointsOf(c);
    expect(read.balance).toBe(50);
    expect(read.nextExpiry).toBeNull();
    expect(read.entries.items.some((e) => e.kind === "expire")).toBe(false); // not written yet
    expect(await expectLedgerInvariant(c)).toBe(50);
    // The expired points cannot be burned; the burn writes them off first.
    expectProblem(await post(c, "burn", { amount: 60, reference: ref() }), 409, "/amount");
    const burned = await post(c, "burn", { amount: 10, reference: ref() });
    expect(burned.body.entries.map((e) => [e.kind, e.lotId, e.amount, e.occurredAt])).toEqual([
      ["expire", lot, -100, new Date(expiresAt).toISOString()],
      ["burn", expect.any(String), -10, new Date(expiresAt).toISOString()],
    ]);
    expect(await expectLedgerInvariant(c)).toBe(40);
  });
});

describe("transfer", () => {
  it("moves points in one transaction, the receiver's lots keeping the source's expiries", async () => {
    const from = await customer("giver");
    const to = await customer("receiver");
    const soon = new Date(server.clock.now + 2 * DAY_MS).toISOString();
    const later = new Date(server.clock.now + 9 * DAY_MS).toISOString();
    await earn(from, 40, { expiresAt: soon });
    await earn(from, 100, { expiresAt: later });
    await earn(to, 5);
    const moved = await post(from, "transfer", { toCustomerId: to, amount: 60, reference: ref() }, marketer);
    expect(moved.status, JSON.stringify(moved.body)).toBe(200);
    expect(moved.body).toMatchObject({ balance: 80, toCustomerId: to, toBalance: 65 });
    expect(moved.body.entries.map((e) => [e.customerId, e.kind, e.amount])).toEqual([
      [from, "transfer_out", -40],
      [from, "transfer_out", -20],
      [to, "transfer_in", 40],
      [to, "transfer_in", 20],
    ]);
    const received = await pointsOf(to);
    expect(received.lots.map((l) => [l.remaining, l.expiresAt])).toEqual([
      [40, soon],
      [20, later],
      [5, null],
    ]);
    expect(await expectLedgerInvariant(from)).toBe(80);
    expect(await expectLedgerInvariant(to)).toBe(65);
    // The transferred points expire when they would have.
    server.clock.now = Date.parse(soon);
    expect((await pointsOf(to)).balance).toBe(25);
    expect(await expectLedgerInvariant(to)).toBe(25);
  });

  it("refuses an unknown receiver, the owner itself, and more than the balance, changing nothing", async () => {
    const from = await customer("giver-2");
    const to = await customer("receiver-2");
    await earn(from, 10);
    const before = (await snapshot(from)) + (await snapshot(to));
    expectProblem(
      await post(from, "transfer", { toCustomerId: "nobody", amount: 1, reference: ref() }),
      422,
      "/toCustomerId",
    );
    expectProblem(
      await post(from, "transfer", { toCustomerId: from, amount: 1, reference: ref() }),
      422,
      "/toCustomerId",
    );
    expectProblem(
      await post(from, "transfer", { toCustomerId: to, amount: 11, reference: ref() }),
      409,
      "/amount",
    );
    expect((await snapshot(from)) + (await snapshot(to))).toBe(before);
  });
});

describe("refusals and retries", () => {
  it("answers 409 insufficient_points naming /amount with the balance, and changes nothing", async () => {
    const c = await customer("short");
    await earn(c, 25, { expiresInDays: 5 });
    const before = await snapshot(c);
    const reply = await post(c, "burn", { amount: 26, reference: ref() }, pos);
    expectProblem(reply, 409, "/amount");
    const body = reply.body as unknown as { type: string; detail: string; errors: { message: string }[] };
    expect(body.type).toContain("insufficient_points");
    expect(body.errors[0]!.message).toContain("25");
    expect(await snapshot(c)).toBe(before);
    // The refused reference was not used up.
    expect(await expectLedgerInvariant(c)).toBe(25);
  });

  it("answers a retry with the same reference and body with the first result, another body 409", async () => {
    const c = await customer("retrier");
    const earnBody = { amount: 40, reference: "earn-once" };
    const first = await post(c, "earn", earnBody);
    const again = await post(c, "earn", earnBody);
    expect(first.headers["idempotent-replayed"]).toBe("false");
    expect(again.headers["idempotent-replayed"]).toBe("true");
    expect(again.body).toEqual(first.body);
    expectProblem(await post(c, "earn", { amount: 41, reference: "earn-once" }), 409);
    expectProblem(await post(c, "burn", { amount: 40, reference: "earn-once" }), 409);
    const burnBody = { amount: 15, reference: "burn-once" };
    const burned = await Promise.all([post(c, "burn", burnBody, pos), post(c, "burn", burnBody, app)]);
    expect(burned.map((r) => r.status)).toEqual([200, 200]);
    expect(burned[0]!.body).toEqual(burned[1]!.body);
    expect(await expectLedgerInvariant(c)).toBe(25);
    const reused = await post(c, "burn", { amount: 16, reference: "burn-once" });
    expect((reused.body as unknown as { type: string }).type).toContain("reference_reused");
  });

  it("never overdraws under 50 concurrent burns", async () => {
    const c = await customer("crowd");
    for (const days of [3, 1, 2, 4]) await earn(c, 250, { expiresInDays: days });
    const replies = await Promise.all(
      Array.from({ length: 50 }, (_, i) => post(c, "burn", { amount: 30, reference: `crowd-${i}` }, pos)),
    );
    const statuses = replies.map((r) => r.status).sort();
    expect(statuses.filter((s) => s === 200)).toHaveLength(33);
    expect(statuses.filter((s) => s === 409)).toHaveLength(17);
    expect(await expectLedgerInvariant(c)).toBe(10);
  });
});

describe("access", () => {
  it("admits each route's roles only", async () => {
    const c = await customer("roles");
    await earn(c, 100);
    expect((await post(c, "earn", { amount: 1, reference: ref() }, marketer)).status).toBe(200);
    expect((await post(c, "earn", { amount: 1, reference: ref() }, pos)).status).toBe(200);
    expectProblem(await post(c, "earn", { amount: 1, reference: ref() }, app), 403);
    expect((await post(c, "burn", { amount: 1, reference: ref() }, app)).status).toBe(200);
    expectProblem(await post(c, "burn", { amount: 1, reference: ref() }, marketer), 403);
    const other = await customer("roles-2");
    expectProblem(await post(c, "transfer", { toCustomerId: other, amount: 1, reference: ref() }, pos), 403);
    expectProblem(await post(c, "transfer", { toCustomerId: other, amount: 1, reference: ref() }, app), 403);
    for (const key of [pos, app, marketer])
      expect((await server.request("GET", `/v1/customers/${c}/points`, { key })).status).toBe(200);
    expect(await expectLedgerInvariant(c)).toBe(101);
  });

  it("keeps another workspace out: 404 for our customer, nothing changed", async () => {
    const c = await customer("ours");
    await earn(c, 50);
    const before = await snapshot(c);
    const other = await server.newWorkspace();
    const key = other.admin;
    expectProblem(await server.request("GET", `/v1/customers/${c}/points`, { key }), 404);
    expectProblem(await post(c, "earn", { amount: 1, reference: ref() }, key), 404);
    expectProblem(await post(c, "burn", { amount: 1, reference: ref() }, key), 404);
    // Their own customer cannot send to ours either: the receiver is looked up in their workspace.
    await server.request("PUT", `/v1/customers/theirs`, { key, body: {} });
    await server.request("POST", `/v1/customers/theirs/points/earn`, {
      key,
      body: { amount: 5, reference: "t" },
    });
    const sent = await server.request("POST", `/v1/customers/theirs/points/transfer`, {
      key,
      body: { toCustomerId: c, amount: 5, reference: "t2" },
    });
    expectProblem(sent, 422, "/toCustomerId");
    expect(await snapshot(c)).toBe(before);
    expectProblem(await server.request("GET", `/v1/customers/nobody/points`), 404);
  });

  it("refuses bad input with 400 naming the path", async () => {
    const c = await customer("bad-input");
    const cases: [string, Record<string, unknown>, string][] = [
      ["earn", { amount: 0, reference: "x" }, "/amount"],
      ["earn", { amount: 1.5, reference: "x" }, "/amount"],
      ["earn", { amount: 1_000_000_001, reference: "x" }, "/amount"],
      ["earn", { amount: 1 }, "/reference"],
      ["earn", { amount: 1, reference: "" }, "/reference"],
      ["earn", { amount: 1, reference: "x", expiresInDays: 0 }, "/expiresInDays"],
      ["earn", { amount: 1, reference: "x", expiresAt: "soon" }, "/expiresAt"],
      ["earn", { amount: 1, reference: "x", extra: true }, "/extra"],
      ["burn", { amount: -3, reference: "x" }, "/amount"],
      ["transfer", { amount: 1, reference: "x" }, "/toCustomerId"],
    ];
    for (const [action, body, path] of cases) expectProblem(await post(c, action as "earn", body), 400, path);
    const past = new Date(server.clock.now - 1).toISOString();
    expectProblem(await post(c, "earn", { amount: 1, reference: ref(), expiresAt: past }), 422, "/expiresAt");
    const both = {
      amount: 1,
      reference: ref(),
      expiresAt: new Date(server.clock.now + DAY_MS).toISOString(),
      expiresInDays: 1,
    };
    expectProblem(await post(c, "earn", both), 422, "/expiresAt");
    expect((await pointsOf(c)).entries.items).toEqual([]);
  });

  it("pages the ledger newest first", async () => {
    const c = await customer("pager");
    for (const amount of [1, 2, 3, 4, 5]) await earn(c, amount);
    const first = await pointsOf(c, "?limit=2");
    expect(first.entries.items.map((e) => e.amount)).toEqual([5, 4]);
    const second = await pointsOf(c, `?limit=2&after=${first.entries.next}`);
    expect(second.entries.items.map((e) => e.amount)).toEqual([3, 2]);
    const third = await pointsOf(c, `?limit=2&after=${second.entries.next}`);
    expect(third.entries.items.map((e) => e.amount)).toEqual([1]);
    expect(third.entries.next).toBeUndefined();
  });
});

// ---- Property: random sequences against a model of lots by expiry.

type Command =
  | { op: "earn"; who: 0 | 1; amount: number; hours: number | null }
  | { op: "burn"; who: 0 | 1; amount: number }
  | { op: "transfer"; who: 0 | 1; amount: number }
  | { op: "tick"; hours: number }
  | { op: "tick_to_expiry"; who: 0 | 1 };

const who = fc.constantFrom<0 | 1>(0, 1);
const command: fc.Arbitrary<Command> = fc.oneof(
  fc.record({
    op: fc.constant("earn" as const),
    who,
    amount: fc.integer({ min: 1, max: 500 }),
    hours: fc.option(fc.integer({ min: 1, max: 24 * 20 })),
  }),
  fc.record({ op: fc.constant("burn" as const), who, amount: fc.integer({ min: 1, max: 600 }) }),
  fc.record({ op: fc.constant("transfer" as const), who, amount: fc.integer({ min: 1, max: 400 }) }),
  fc.record({ op: fc.constant("tick" as const), hours: fc.integer({ min: 1, max: 24 * 10 }) }),
  // To the exact instant the customer's nearest points expire: the boundary is where bugs hide.
  fc.record({ op: fc.constant("tick_to_expiry" as const), who }),
);

/** A customer's points as the model sees them: remaining points by expiry instant (null: never). */
type Model = Map<number | null, number>;

function modelBalance(model: Model, nowMs: number): number {
  let sum = 0;
  for (const [expires, points] of model) if (expires === null || expires > nowMs) sum += points;
  return sum;
}

/** Takes `amount` from the live expiries, nearest first; answers what it took by expiry. */
function modelTake(model: Model, amount: number, nowMs: number): [number | null, number][] {
  const live = [...model.keys()]
    .filter((e) => e === null || e > nowMs)
    .sort((a, b) => (a === null ? 1 : b === null ? -1 : a - b));
  const taken: [number | null, number][] = [];
  let left = amount;
  for (const e of live) {
    const t = Math.min(left, model.get(e)!);
    if (t > 0) taken.push([e, t]);
    model.set(e, model.get(e)! - t);
    left -= t;
  }
  return taken;
}

function byExpiry(lots: readonly Lot[]): Record<string, number> {
  const sums: Record<string, number> = {};
  for (const l of lots) {
    const key = l.expiresAt === null ? "never" : String(Date.parse(l.expiresAt));
    sums[key] = (sums[key] ?? 0) + l.remaining;
  }
  return sums;
}

function liveOf(model: Model, nowMs: number): Record<string, number> {
  const sums: Record<string, number> = {};
  for (const [e, points] of model)
    if (points > 0 && (e === null || e > nowMs)) sums[e === null ? "never" : String(e)] = points;
  return sums;
}

describe("property", () => {
  let run = 0;
  it("keeps the balance equal to the ledger invariant and the model, never negative", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(command, { minLength: 1, maxLength: 15 }), async (commands) => {
        run += 1;
        const ids = [await customer(`prop-${run}-a`), await customer(`prop-${run}-b`)] as const;
        const models: [Model, Model] = [new Map(), new Map()];
        for (const cmd of commands) {
          const now = server.clock.now;
          if (cmd.op === "tick") {
            server.clock.now += cmd.hours * HOUR_MS;
          } else if (cmd.op === "tick_to_expiry") {
            const ahead = [...models[cmd.who].keys()].filter((e): e is number => e !== null && e > now);
            if (ahead.length > 0) server.clock.now = Math.min(...ahead);
          } else if (cmd.op === "earn") {
            const expires = cmd.hours === null ? null : now + cmd.hours * HOUR_MS;
            const body = {
              amount: cmd.amount,
              reference: ref(),
              ...(expires !== null ? { expiresAt: new Date(expires).toISOString() } : {}),
            };
            expect((await post(ids[cmd.who], "earn", body)).status).toBe(200);
            const m = models[cmd.who];
            m.set(expires, (m.get(expires) ?? 0) + cmd.amount);
          } else {
            const m = models[cmd.who];
            const enough = modelBalance(m, now) >= cmd.amount;
            const reply =
              cmd.op === "burn"
                ? await post(ids[cmd.who], "burn", { amount: cmd.amount, reference: ref() })
                : await post(ids[cmd.who], "transfer", {
                    toCustomerId: ids[1 - cmd.who]!,
                    amount: cmd.amount,
                    reference: ref(),
                  });
            expect(reply.status, JSON.stringify(reply.body)).toBe(enough ? 200 : 409);
            if (enough) {
              const taken = modelTake(m, cmd.amount, now);
              if (cmd.op === "transfer") {
                const to = models[1 - cmd.who]!;
                for (const [e, t] of taken) to.set(e, (to.get(e) ?? 0) + t);
              }
            }
          }
          for (const i of [0, 1] as const) {
            expect(await expectLedgerInvariant(ids[i])).toBe(modelBalance(models[i], server.clock.now));
            // Which points are left, by expiry: a burn that took the wrong lot shows here at once.
            expect(byExpiry((await pointsOf(ids[i])).lots)).toEqual(liveOf(models[i], server.clock.now));
          }
        }
      }),
      { numRuns: 40 },
    );
  });
});
