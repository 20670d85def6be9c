// Code generation benchmark: 1,000,000 codes for one promotion through the service that
// POST /v1/promotions/{id}/codes/generate runs, on the embedded PostgreSQL in a temporary folder (or on
// DATABASE_URL, in a database of its own), then uniqueness checked in SQL. Prints one JSON line:
//
//   {"bench":"codes","count":1000000,"seconds":…,"unique":true,…}
//
//   npm run bench:codes                 1,000,000 codes
//   npm run bench:codes -- --count 100000
import { requestGeneration } from "../src/services/codes.js";
import { createPromotion } from "../src/services/promotions.js";
import { createWorkspace } from "../src/services/workspaces.js";
import { createPool, type Db } from "../src/store/db.js";
import { migrate } from "../src/store/migrate.js";
import { benchDatabase } from "./database.js";

const TARGET_SECONDS = 10;

function progress(message: string): void {
  process.stderr.write(`bench:codes: ${message}\n`);
}

function countArg(argv: readonly string[]): number {
  const at = argv.indexOf("--count");
  if (at < 0) return 1_000_000;
  const n = Number(argv[at + 1]);
  if (!Number.isInteger(n) || n < 1 || n > 1_000_000) throw new Error("--count: 1 to 1000000");
  return n;
}

async function codePromotion(db: Db, workspaceId: string, nowMs: number): Promise<string> {
  const promotion = await createPromotion(
    db,
    workspaceId,
    {
      name: "Bench codes",
      type: "code",
      schedule: { startsAt: "2026-01-01T00:00:00Z" },
      conditions: [],
      benefit: {
        kind: "products",
        target: { kind: "sku", sku: "COFFEE", quantity: { kind: "all" } },
        value: { kind: "fixed_amount", amountMinor: 100 },
      },
      limits: [{ level: "code", measure: "times", max: 1, window: { kind: "lifetime" } }],
    },
    nowMs,
  );
  return promotion.id;
}

async function main(): Promise<void> {
  const count = countArg(process.argv.slice(2));
  const target = await benchDatabase("codes");
  const db = createPool({ url: target.url, max: 4 });
  try {
    await migrate(db);
    const nowMs = Date.now();
    const { workspace } = await createWorkspace(db, { name: "Bench", currency: "EUR", timeZone: "UTC" });
    const promotionId = await codePromotion(db, workspace.id, nowMs);
    progress(`${target.kind}: generating ${count} codes`);
    const started = process.hrtime.bigint();
    const generation = await requestGeneration(db, workspace.id, promotionId, { count }, Date.now, {
      waitCountMax: Number.POSITIVE_INFINITY,
    });
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const { rows } = await db.query<{ total: number; distinct: number }>(
      `select count(*)::int as total, count(distinct code)::int as distinct
         from promotion_codes where workspace_id = $1 and promotion_id = $2`,
      [workspace.id, promotionId],
    );
    const { total, distinct } = rows[0]!;
    const line = {
      bench: "codes",
      count: total,
      seconds: Math.round(seconds * 100) / 100,
      unique: distinct === total && total === count,
      db: target.kind,
      status: generation.status,
      bits_per_code: generation.bitsPerCode,
      codes_per_s: Math.round(total / seconds),
      target_seconds: TARGET_SECONDS,
      met: seconds <= TARGET_SECONDS,
    };
    process.stdout.write(`${JSON.stringify(line)}\n`);
  } finally {
    await db.end();
    await target.dispose();
  }
}

await main();
