// Proves bulk codes: exactly `count` unique codes with the entropy, alphabet, prefix and pattern asked;
// low entropy refused by field; codes always name a promotion of their workspace; roles and workspaces
// kept apart; the CSV export streams every code; a generated code with a limit of 1 holds under 50
// concurrent sales; a guessing key is throttled (429) while other keys are not.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { everyUnitAt, insertItems, insertPromotion } from "./fixtures.js";
import { expectProblem, startServer, type Reply, type TestServer } from "./harness.js";

interface Generation {
  id: string;
  promotionId: string;
  status: "running" | "done" | "failed";
  count: number;
  created: number;
  template: string;
  alphabet: string;
  bitsPerCode: number;
  error?: string;
}
interface Receipt {
  applied: { promotionId: string; code?: string }[];
  unusedCodes: string[];
  totals: { discountMinor: number };
  rejected: { promotionId: string; code: string; message: string }[];
}

const DEFAULT_CODE = /^[23456789ABCDEFGHJKMNPQRSTUVWXYZ]{13}$/;
let server: TestServer;
let pos: string;

beforeAll(async () => {
  server = await startServer({}, { poolMax: 24 });
  pos = await server.newKey("pos");
  await insertItems(server, [
    { sku: "TEA", priceMinor: 250, categories: ["tea"] },
    { sku: "CAKE", priceMinor: 400, categories: ["cake"] },
  ]);
  await insertPromotion(server, {
    id: "tea-once",
    name: "Free tea, once per code",
    type: "code",
    benefit: everyUnitAt("tea", 0),
    limits: [{ level: "code", measure: "transactions", max: 1, window: { kind: "lifetime" } }],
  });
  await insertPromotion(server, {
    id: "cake-codes",
    name: "Cheap cake with a code",
    type: "code",
    benefit: everyUnitAt("cake", 100),
    limits: [{ level: "code", measure: "transactions", max: 5, window: { kind: "lifetime" } }],
  });
  await insertPromotion(server, {
    id: "plain-pos",
    name: "Not a code promotion",
    benefit: everyUnitAt("cake", 300),
  });
});
afterAll(async () => server?.close());

function generate(
  promotionId: string,
  body: Record<string, unknown>,
  key?: string,
): Promise<Reply<Generation>> {
  return server.request<Generation>("POST", `/v1/promotions/${promotionId}/codes/generate`, {
    body,
    ...(key !== undefined ? { key } : {}),
  });
}

async function codesOf(generationId: string): Promise<string[]> {
  const { rows } = await server.db.query<{ code: string }>(
    `select code from promotion_codes where generation_id = $1`,
    [generationId],
  );
  return rows.map((r) => r.code);
}

describe("generation", () => {
  it("creates exactly count unique codes with at least 60 bits from the unambiguous alphabet", async () => {
    const reply = await generate("cake-codes", { count: 2_000 });
    expect(reply.status, JSON.stringify(reply.body)).toBe(201);
    expect(reply.headers["location"]).toBe(`/v1/code-generations/${reply.body.id}`);
    expect(reply.body).toMatchObject({
      status: "done",
      count: 2_000,
      created: 2_000,
      promotionId: "cake-codes",
    });
    expect(reply.body.bitsPerCode).toBeGreaterThanOrEqual(60);
    const codes = await codesOf(reply.body.id);
    expect(codes).toHaveLength(2_000);
    expect(new Set(codes).size).toBe(2_000);
    for (const code of codes) expect(code).toMatch(DEFAULT_CODE);
  });

  it("refuses fewer than 60 bits, naming the field, unless allowLowEntropy", async () => {
    const short = await generate("cake-codes", { count: 10, length: 8 });
    expectProblem(short, 422, "/length");
    expect(JSON.stringify(short.body)).toContain("entropy_too_low");
    expectProblem(await generate("cake-codes", { count: 10, pattern: "CAKE-####-####" }), 422, "/pattern");
    const allowed = await generate("cake-codes", { count: 10, length: 8, allowLowEntropy: true });
    expect(allowed.status).toBe(201);
    expect(allowed.body.bitsPerCode).toBe(39.63); // 8 × log2(31)
  });

  it("honours prefix, length, alphabet and pattern, stored upper case", async () => {
    const prefixed = await generate("cake-codes", {
      count: 100,
      prefix: "spring-",
      length: 40,
      alphabet: "abc",
    });
    expect(prefixed.status, JSON.stringify(prefixed.body)).toBe(201);
    for (const code of await codesOf(prefixed.body.id)) expect(code).toMatch(/^SPRING-[ABC]{40}$/);
    const patterned = await generate("cake-codes", {
      count: 100,
      pattern: "x-####-####-####-####-####",
      alphabet: "0123456789",
    });
    expect(patterned.status, JSON.stringify(patterned.body)).toBe(201);
    expect(patterned.body.template).toBe("X-####-####-####-####-####");
    for (const code of await codesOf(patterned.body.id))
      expect(code).toMatch(/^X-\d{4}-\d{4}-\d{4}-\d{4}-\d{4}$/);
  });

  it("draws again what collides, so a nearly full template still gets exactly count", async () => {
    // 100 possible codes: the first 50 collide among themselves, the next 50 with those.
    const body = { count: 50, pattern: "Z##", alphabet: "0123456789", allowLowEntropy: true };
    const first = await generate("cake-codes", body);
    const second = await generate("cake-codes", body);
    expect([first.body.created, second.body.created]).toEqual([50, 50]);
    const all = [...(await codesOf(first.body.id)), ...(await codesOf(second.body.id))];
    expect(new Set(all).size).toBe(100);
    expectProblem(await generate("cake-codes", { ...body, count: 51 }), 422, "/count");
  });

  it("refuses bad combinations with every issue, and promotions that take no codes", async () => {
    const reply = await generate("cake-codes", { count: 5, pattern: "AB", prefix: "X", alphabet: "aA" });
    expectProblem(reply, 422, "/pattern");
    const codes = ((reply.body as unknown as { errors: { code: string }[] }).errors ?? []).map((e) => e.code);
    expect(codes).toEqual(
      expect.arrayContaining(["pattern_with_prefix", "pattern_without_random", "alphabet_repeats"]),
    );
    expectProblem(await generate("plain-pos", { count: 5 }), 422);
    expectProblem(await generate("cake-codes", { count: 1_000_001 }), 400, "/count");
  });

  it("runs a large generation as a job with progress, then exports it as streamed CSV", async () => {
    const started = await generate("tea-once", { count: 60_000 });
    expect(started.status, JSON.stringify(started.body)).toBe(202);
    expect(started.body.status).toBe("running");
    let generation = started.body;
    for (let i = 0; i < 600 && generation.status === "running"; i++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      generation = (await server.request<Generation>("GET", `/v1/code-generations/${started.body.id}`)).body;
    }
    expect(generation).toMatchObject({ status: "done", count: 60_000, created: 60_000 });

    const csv = await server.request<string>("GET", "/v1/promotions/tea-once/codes.csv");
    expect(csv.status).toBe(200);
    expect(String(csv.headers["content-type"])).toContain("text/csv");
    const lines = csv.body.trimEnd().split("\n");
    expect(lines[0]).toBe("code,promotion_id,created_at");
    expect(lines).toHaveLength(60_001);
    const exported = lines.slice(1).map((l) => l.split(","));
    expect(
      exported.every(([, promotionId, at]) => promotionId === "tea-once" && !Number.isNaN(Date.parse(at!))),
    ).toBe(true);
    const codes = exported.map(([code]) => code!);
    expect(codes).toEqual([...codes].sort());
    expect(new Set(codes)).toEqual(new Set(await codesOf(started.body.id)));
  });
});

describe("the promotion key, checked per statement", () => {
  it("refuses a code naming no promotion of its workspace, and deleting a promotion that has codes", async () => {
    const other = await server.newWorkspace();
    const orphan = server.db.query(
      `insert into promotion_codes (workspace_id, code, promotion_id) values ($1, 'ORPHAN1', 'cake-codes')`,
      [other.workspaceId],
    );
    await expect(orphan).rejects.toMatchObject({ code: "23503" });
    const deleting = server.db.query(`delete from promotions where workspace_id = $1 and id = 'cake-codes'`, [
      server.workspaceId,
    ]);
    await expect(deleting).rejects.toMatchObject({ code: "23503" });
  });
});

describe("roles and workspaces", () => {
  it("admits admin and marketer keys only, and answers 404 to another workspace", async () => {
    const marketer = await server.newKey("marketer");
    const made = await generate("cake-codes", { count: 3 }, marketer);
    expect(made.status).toBe(201);
    for (const key of [pos, await server.newKey("app")]) {
      expectProblem(await generate("cake-codes", { count: 3 }, key), 403);
      expectProblem(await server.request("GET", "/v1/promotions/cake-codes/codes.csv", { key }), 403);
      expectProblem(await server.request("GET", `/v1/code-generations/${made.body.id}`, { key }), 403);
    }
    const other = await server.newWorkspace();
    expectProblem(await generate("cake-codes", { count: 3 }, other.admin), 404);
    expectProblem(
      await server.request("GET", "/v1/promotions/cake-codes/codes.csv", { key: other.admin }),
      404,
    );
    expectProblem(
      await server.request("GET", `/v1/code-generations/${made.body.id}`, { key: other.admin }),
      404,
    );
  });
});

describe("sales with generated codes", () => {
  it("a per-code limit of 1 holds under 50 concurrent sales presenting the same generated code", async () => {
    const made = await generate("tea-once", { count: 10 });
    const code = (await codesOf(made.body.id))[0]!.toLowerCase();
    const receipts = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        server.request<Receipt>("POST", "/v1/sales", {
          key: pos,
          body: { transactionId: `once-${i}`, codes: [code], lines: [{ id: "1", sku: "TEA", quantity: 1 }] },
        }),
      ),
    );
    expect(receipts.map((r) => r.status)).toEqual(Array(50).fill(201));
    const discounted = receipts.filter((r) => r.body.applied.some((a) => a.promotionId === "tea-once"));
    expect(discounted).toHaveLength(1);
    expect(discounted[0]!.body.totals.discountMinor).toBe(250);
    const { rows } = await server.db.query<{ used: number }>(
      `select used::int from limit_counters where promotion_id = 'tea-once' and subject = $1`,
      [code.toUpperCase()],
    );
    expect(rows).toEqual([{ used: 1 }]);
  });
});

describe("guessing", () => {
  const basket = (codes: string[]) => ({ codes, lines: [{ id: "1", sku: "TEA", quantity: 1 }] });

  it("answers unknown and exhausted codes alike, and throttles only the key that guesses", async () => {
    const guesser = await server.newKey("pos");
    const bystander = await server.newKey("pos");
    const made = await generate("tea-once", { count: 1 });
    const [exhausted] = await codesOf(made.body.id);
    const used = await server.request<Receipt>("POST", "/v1/sales", {
      key: pos,
      body: { transactionId: "use-it-up", ...basket([exhausted!]) },
    });
    expect(used.body.applied).toHaveLength(1);

    const unknown = await server.request<Receipt>("POST", "/v1/baskets/evaluate", {
      key: guesser,
      body: basket(["NOSUCHCODE00"]),
    });
    const spent = await server.request<Receipt>("POST", "/v1/baskets/evaluate", {
      key: bystander,
      body: basket([exhausted!]),
    });
    expect(unknown.status).toBe(200);
    expect(spent.status).toBe(200);
    // The unused code is listed the same way and nothing applies. Staff keys see why (the code's limit
    // is used up); a customer-facing app key sees an exhausted code exactly as an unknown one.
    expect(spent.body.rejected.find((r) => r.promotionId === "tea-once")?.code).toBe("limit_reached");
    const app = await server.newKey("app");
    const [appUnknown, appSpent] = await Promise.all(
      [["NOSUCHCODE01"], [exhausted!]].map((codes) =>
        server.request<Receipt>("POST", "/v1/baskets/evaluate", { key: app, body: basket(codes) }),
      ),
    );
    expect(appSpent!.body.rejected).toEqual(appUnknown!.body.rejected);
    expect(appSpent!.body.rejected.find((r) => r.promotionId === "tea-once")?.code).toBe("code_required");
    const shape = (r: Reply<Receipt>) => ({
      unusedCodes: r.body.unusedCodes.length,
      applied: r.body.applied,
      totals: r.body.totals,
    });
    expect(shape(unknown)).toEqual(shape(spent));

    // 20 unknown codes per 5 minutes are answered (one above, 19 more here, some in sales) …
    for (let i = 1; i < 20; i++) {
      const reply =
        i % 2 === 0
          ? await server.request("POST", "/v1/baskets/evaluate", {
              key: guesser,
              body: basket([`GUESS${i}`]),
            })
          : await server.request("POST", "/v1/sales", {
              key: guesser,
              body: { transactionId: `guess-${i}`, ...basket([`GUESS${i}`]) },
            });
      expect(reply.status, JSON.stringify(reply.body)).toBeLessThan(300);
    }
    // … then requests with codes from that key are refused, with Retry-After.
    const refused = await server.request("POST", "/v1/baskets/evaluate", {
      key: guesser,
      body: basket(["GUESS20"]),
    });
    expectProblem(refused, 429);
    expect(Number(refused.headers["retry-after"])).toBeGreaterThan(0);
    expect(Number(refused.headers["retry-after"])).toBeLessThanOrEqual(300);
    const sale = await server.request("POST", "/v1/sales", {
      key: guesser,
      body: { transactionId: "guess-blocked", ...basket(["GUESS21"]) },
    });
    expectProblem(sale, 429);
    // Without codes the guesser still sells; other keys are unaffected; exhausted codes never counted.
    const noCodes = await server.request("POST", "/v1/baskets/evaluate", { key: guesser, body: basket([]) });
    expect(noCodes.status).toBe(200);
    const other = await server.request("POST", "/v1/baskets/evaluate", {
      key: bystander,
      body: basket(["GUESS22"]),
    });
    expect(other.status).toBe(200);

    // Once the window has passed, the guesser may present codes again.
    server.clock.now += 5 * 60_000;
    const later = await server.request("POST", "/v1/baskets/evaluate", {
      key: guesser,
      body: basket(["GUESS23"]),
    });
    expect(later.status).toBe(200);
  });
});
