// Loyalty benchmark (issue 4): events ingested per second, what the loyalty update adds to a sale, and
// the full recompute of every profile. Prints one JSON line per bench on stdout (progress on stderr):
//
//   {"bench":"events","per_s":…}                          POST /v1/events/batch, 1,000 events a batch
//   {"bench":"sale_loyalty_overhead","p50_ms":…,"p99_ms":…} POST /v1/sales with the seed 003 model minus without
//   {"bench":"recompute","profiles":…,"events":…,"seconds":…} 1,000,000 profiles, 20,000,000 events
//
//   npm run bench:loyalty                                         everything (~10 min)
//   npm run bench:loyalty -- --quick                              20,000 profiles, short HTTP runs
//   npm run bench:loyalty -- --cases recompute --profiles 200000 --events-per-profile 20
//
// The database: a fresh one on DATABASE_URL's server when set, else the embedded PostgreSQL in a
// temporary folder; events and sales go through `till serve` in a child process (its own CPU, as in
// production); the recompute runs in this process through the service the CLI and the API run.
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { closeSync, openSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { applyTierTemplate } from "../src/services/loyalty-template.js";
import { startRecompute } from "../src/services/loyalty-recompute.js";
import { createApiKey, createWorkspace } from "../src/services/workspaces.js";
import { createPool, type Db } from "../src/store/db.js";
import { migrate } from "../src/store/migrate.js";
import { benchDatabase } from "./database.js";
import { basketMaker, makeCatalog, makePromotions, seed, type BasketBody } from "./api-seed.js";
import { mulberry32 } from "./generate.js";

type Case = "events" | "sales" | "recompute";
const CASES: readonly Case[] = ["events", "sales", "recompute"];
const TARGET_SECONDS = 60;

interface Options {
  readonly cases: ReadonlySet<Case>;
  readonly profiles: number;
  readonly eventsPerProfile: number;
  readonly quick: boolean;
}

function parseArgs(argv: readonly string[]): Options {
  const quick = argv.includes("--quick");
  let profiles = quick ? 20_000 : 1_000_000;
  let eventsPerProfile = 20;
  let cases = new Set<Case>(CASES);
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const value = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${arg} needs a value`);
      return v;
    };
    if (arg === "--quick") continue;
    else if (arg === "--profiles") profiles = Number(value());
    else if (arg === "--events-per-profile") eventsPerProfile = Number(value());
    else if (arg === "--cases") {
      cases = new Set(value().split(",") as Case[]);
      for (const c of cases) if (!CASES.includes(c)) throw new Error(`--cases: ${CASES.join(", ")}`);
    } else throw new Error(`unknown option ${arg}`);
  }
  if (!Number.isInteger(profiles) || profiles < 1 || profiles > 10_000_000)
    throw new Error("--profiles: 1 to 10000000");
  if (!(eventsPerProfile >= 1 && eventsPerProfile <= 200)) throw new Error("--events-per-profile: 1 to 200");
  return { cases, profiles, eventsPerProfile, quick };
}

const emit = (line: Record<string, unknown>): void => console.log(JSON.stringify(line));
const progress = (text: string): void => void process.stderr.write(`bench:loyalty: ${text}\n`);
const round = (x: number, digits = 2): number => Math.round(x * 10 ** digits) / 10 ** digits;

// ---- Cleanup, in reverse order, also on failure and on Ctrl-C.
const cleanups: { name: string; run: () => Promise<void> }[] = [];
async function releaseAll(): Promise<void> {
  while (cleanups.length > 0) {
    const { name, run } = cleanups.pop()!;
    await run().catch((error: unknown) => progress(`cleanup (${name}) failed: ${String(error)}`));
  }
}
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    progress(`${signal}: cleaning up`);
    void releaseAll().finally(() => process.exit(130));
  });
}

// ---- The server child ---------------------------------------------------------------------------

const MAIN = fileURLToPath(new URL("../src/cli/main.js", import.meta.url));

/** The running server's log, shown on failure. */
let serverLog: string | undefined;

async function startServer(databaseUrl: string): Promise<string> {
  const folder = await mkdtemp(path.join(tmpdir(), "till-bench-loyalty-server-"));
  cleanups.push({ name: "server folder", run: () => rm(folder, { recursive: true, force: true }) });
  const log = path.join(folder, "server.log");
  serverLog = log;
  const fd = openSync(log, "a");
  let child: ChildProcess;
  try {
    // Warnings only: a request log line per event batch or sale would be the bench's main work.
    const env = { ...process.env, DATABASE_URL: databaseUrl, LOG_LEVEL: "warn" };
    child = spawn(process.execPath, [MAIN, "serve", "--port", "0", "--host", "127.0.0.1"], {
      env,
      stdio: ["ignore", fd, fd],
    });
  } finally {
    closeSync(fd);
  }
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  cleanups.push({
    name: "server",
    run: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
      await Promise.race([exited, sleep(30_000).then(() => child.kill("SIGKILL"))]);
    },
  });
  for (const deadline = Date.now() + 120_000; Date.now() < deadline; await sleep(100)) {
    const text = await readFile(log, "utf8");
    const address = /Till is serving on (http:\/\/\S+)/.exec(text)?.[1];
    if (address !== undefined) return address;
    if (child.exitCode !== null) throw new Error(`the server exited before serving:\n${text}`);
  }
  throw new Error(`the server did not start:\n${await readFile(log, "utf8")}`);
}

async function post(base: string, key: string, route: string, body: unknown): Promise<Response> {
  return fetch(`${base}${route}`, {
    method: "POST",
    headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
    body: JSON.stringify(body),
  });
}

// ---- Events -----------------------------------------------------------------------------------

const BATCH = 1_000;
const EVENT_CONCURRENCY = 4;

/**
 * `batches` batches of 1,000 events by EVENT_CONCURRENCY senders: sales, returns and joins of 100,000
 * customers over the last two years. Each sender has its own customers: batches sharing customers
 * can deadlock in insertEvents, which creates a batch's unknown customers in no particular order.
 */
async function eventsBench(base: string, key: string, batches: number): Promise<void> {
  const rng = mulberry32(3);
  const tag = randomBytes(3).toString("hex");
  const customers = 100_000 / EVENT_CONCURRENCY;
  let sent = 0;
  let next = 0;
  const body = (sender: number, b: number) => ({
    events: Array.from({ length: BATCH }, (_, i) => {
      const n = b * BATCH + i;
      const customerId = `e-${sender}-${Math.floor(rng() * customers)}`;
      const occurredAt = new Date(Date.now() - Math.floor(rng() * 700 * 86_400_000)).toISOString();
      const id = `${tag}-${n}`;
      if (n % 20 === 0)
        return { id, customerId, type: "loyaltyStatus", occurredAt, params: { status: "active" } };
      const type = n % 16 === 1 ? "product.return" : "transaction.charge";
      return { id, customerId, type, occurredAt, params: { $totalAmount: 100 + Math.floor(rng() * 20_000) } };
    }),
  });
  const started = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: EVENT_CONCURRENCY }, async (_, sender) => {
      for (let b = next++; b < batches; b = next++) {
        const reply = await post(base, key, "/v1/events/batch", body(sender, b));
        const result = (await reply.json()) as { accepted?: number };
        if (reply.status !== 200 || result.accepted !== BATCH)
          throw new Error(`events batch: ${reply.status} ${JSON.stringify(result).slice(0, 300)}`);
        sent += BATCH;
      }
    }),
  );
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  emit({
    bench: "events",
    per_s: Math.round(sent / seconds),
    events: sent,
    seconds: round(seconds),
    batch: BATCH,
    concurrency: EVENT_CONCURRENCY,
    via: "HTTP, till serve in a child process",
    model: "seed 003",
  });
}

// ---- What the loyalty update adds to a sale -----------------------------------------------------

const SALE_CONCURRENCY = 8;

/** Sales for `seconds` at SALE_CONCURRENCY; answers each sale's latency in ms. */
async function sell(base: string, key: string, next: () => BasketBody, seconds: number): Promise<number[]> {
  const latencies: number[] = [];
  const tag = randomBytes(4).toString("hex");
  let n = 0;
  const until = Date.now() + seconds * 1_000;
  await Promise.all(
    Array.from({ length: SALE_CONCURRENCY }, async () => {
      while (Date.now() < until) {
        const body = { transactionId: `s-${tag}-${++n}`, ...next() };
        const started = process.hrtime.bigint();
        const reply = await post(base, key, "/v1/sales", body);
        await reply.arrayBuffer();
        if (reply.status !== 201) throw new Error(`sale: ${reply.status}`);
        latencies.push(Number(process.hrtime.bigint() - started) / 1e6);
      }
    }),
  );
  return latencies;
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))]!;
}

/**
 * The same baskets sold in a workspace without a loyalty model and in one with seed 003's, in
 * interleaved rounds (the order alternating), so that a noisy machine weighs on both alike.
 */
async function salesBench(
  base: string,
  keys: { plain: string; loyalty: string },
  quick: boolean,
): Promise<void> {
  const catalog = makeCatalog();
  const makers = {
    plain: basketMaker(catalog, mulberry32(11)),
    loyalty: basketMaker(catalog, mulberry32(11)),
  };
  const rounds = quick ? 2 : 6;
  const seconds = quick ? 2 : 5;
  for (const arm of ["plain", "loyalty"] as const) await sell(base, keys[arm], makers[arm], 1); // warm-up
  const all = { plain: [] as number[], loyalty: [] as number[] };
  for (let r = 0; r < rounds; r++) {
    const order = r % 2 === 0 ? (["plain", "loyalty"] as const) : (["loyalty", "plain"] as const);
    for (const arm of order) all[arm].push(...(await sell(base, keys[arm], makers[arm], seconds)));
    progress(`sales: round ${r + 1}/${rounds}`);
  }
  const stats = (latencies: number[]) => {
    const sorted = [...latencies].sort((a, b) => a - b);
    return {
      p50_ms: round(percentile(sorted, 0.5)),
      p99_ms: round(percentile(sorted, 0.99)),
      sales: sorted.length,
    };
  };
  const plain = stats(all.plain);
  const loyalty = stats(all.loyalty);
  emit({
    bench: "sale_loyalty_overhead",
    p50_ms: round(loyalty.p50_ms - plain.p50_ms),
    p99_ms: round(loyalty.p99_ms - plain.p99_ms),
    without_model: plain,
    with_model: loyalty,
    concurrency: SALE_CONCURRENCY,
    rounds,
    round_seconds: seconds,
  });
}

// ---- The recompute ------------------------------------------------------------------------------

/**
 * Profiles and their events straight in SQL: 85 % of the customers join (a loyaltyStatus event in
 * the first 18 months), the other events are sales (transaction.charge) and one in sixteen a return
 * (product.return), each of a random customer, in time order over the last two years (so a
 * customer's events lie all over the table, as they would). The events table's indexes are built
 * after the load, as for any bulk load: the same indexes, far sooner.
 */
async function generate(db: Db, workspaceId: string, profiles: number, perProfile: number): Promise<number> {
  const client = await db.connect();
  try {
    await client.query(`set statement_timeout = 0; set maintenance_work_mem = '1GB'; set jit = off`);
    const { rows: indexes } = await client.query<{ drop: string; create: string }>(
      `select format('alter table events drop constraint %I', conname) as drop,
              format('alter table events add constraint %I %s', conname, pg_get_constraintdef(oid)) as create
         from pg_constraint where conrelid = 'events'::regclass and contype = 'p'
       union all
       select format('drop index %I', c.relname), pg_get_indexdef(i.indexrelid)
         from pg_index i join pg_class c on c.oid = i.indexrelid
        where i.indrelid = 'events'::regclass and not i.indisprimary`,
    );
    for (const index of indexes) await client.query(index.drop);
    const at = Date.now();
    await client.query(
      `insert into customers (workspace_id, id, created_at, updated_at)
       select $1, 'c' || lpad(g::text, 8, '0'), $2, $2 from generate_series(1, $3::int) g`,
      [workspaceId, new Date(at), profiles],
    );
    const joins = await client.query(
      `insert into events (workspace_id, id, customer_id, type, occurred_at, params, source, received_at)
       select $1, 'j' || g, 'c' || lpad(g::text, 8, '0'), 'loyaltyStatus', t, '{"status": "active"}', 'api', t
         from generate_series(1, $3::int) g,
              lateral (select $2::timestamptz - interval '730 days'
                              + (hashint4(g) & 2147483647)::float8 / 2147483648 * interval '540 days' as t) x
        where (hashint4(g * 7 + 1) & 1023) < 870`,
      [workspaceId, new Date(at), profiles],
    );
    const others = Math.max(0, Math.round(profiles * perProfile) - joins.rowCount!);
    await client.query(
      `insert into events (workspace_id, id, customer_id, type, occurred_at, params, source, received_at)
       select $1, 'e' || g, 'c' || lpad((1 + (hashint8(g) & 2147483647) % $3::int)::text, 8, '0'),
              case when r then 'product.return' else 'transaction.charge' end, t,
              case when r then jsonb_build_object('$totalAmount', 100 + (hashint8(g * 5) & 4095), '$units', 1,
                                                  '$currency', 'EUR')
                   else jsonb_build_object('$totalAmount', 100 + (hashint8(g * 5) & 16383),
                                           '$units', 1 + (hashint8(g * 11) & 7),
                                           '$storeId', 's-' || (hashint8(g * 13) & 31), '$currency', 'EUR') end,
              case when r then 'return' else 'sale' end, t
         from (select g, (hashint8(g * 3) & 15) = 0 as r,
                      $2::timestamptz - interval '730 days' + (g::float8 / $4::float8) * interval '729 days' as t
                 from generate_series(1, $4::int8) g) s`,
      [workspaceId, new Date(at), profiles, others],
    );
    for (const index of indexes) await client.query(index.create);
    await client.query(`analyze customers; analyze events`);
    return joins.rowCount! + others;
  } finally {
    client.release();
  }
}

async function recomputeBench(db: Db, kind: string, options: Options): Promise<void> {
  const { workspace } = await createWorkspace(db, { name: "Recompute", currency: "EUR", timeZone: "UTC" });
  await applyTierTemplate(db, workspace.id, { benefits: false }, Date.now());
  progress(`recompute: generating ${options.profiles} profiles, ${options.eventsPerProfile} events each`);
  const generated = Date.now();
  const events = await generate(db, workspace.id, options.profiles, options.eventsPerProfile);
  progress(`recompute: ${events} events generated in ${((Date.now() - generated) / 1_000).toFixed(0)} s`);

  const timed = async (label: string) => {
    let last = 0;
    const started = process.hrtime.bigint();
    const job = await startRecompute(db, workspace.id, Date.now, {
      wait: true,
      onProgress: (p) => {
        const tenth = Math.floor((10 * p.profilesDone) / Math.max(1, p.profilesTotal));
        if (tenth !== last) progress(`recompute (${label}): ${p.profilesDone}/${p.profilesTotal} profiles`);
        last = tenth;
      },
    });
    return { job, seconds: Number(process.hrtime.bigint() - started) / 1e9 };
  };
  // First every profile's state is built (none exists yet); then a definition changes (the tier
  // thresholds) and the recompute the issue times runs over the states as they are.
  const initial = await timed("initial");
  progress(`recompute: initial build in ${initial.seconds.toFixed(1)} s; vacuum, then the thresholds change`);
  await db.query(`vacuum analyze profile_states`);
  await applyTierTemplate(
    db,
    workspace.id,
    { benefits: false, thresholdsMinor: { green: 20_000, silver: 80_000, golden: 150_000 } },
    Date.now(),
  );
  const { job, seconds } = await timed("after a definition changed");
  emit({
    bench: "recompute",
    profiles: job.profilesDone,
    events,
    seconds: round(seconds),
    events_read: job.eventsRead,
    moves: job.moves,
    initial_seconds: round(initial.seconds),
    initial_moves: initial.job.moves,
    db: kind,
    target_seconds: TARGET_SECONDS,
    met: seconds <= TARGET_SECONDS && initial.seconds <= TARGET_SECONDS,
  });
}

// ---- Main -----------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const options = parseArgs(process.argv.slice(2));
  const target = await benchDatabase("loyalty");
  cleanups.push({ name: `${target.kind} database`, run: () => target.dispose() });
  const db = createPool({ url: target.url, max: 6 });
  cleanups.push({ name: "pool", run: () => db.end() });
  await migrate(db);
  progress(`${target.kind} database ready`);

  if (options.cases.has("events") || options.cases.has("sales")) {
    const nowMs = Date.now();
    const arms: Record<string, { workspaceId: string; pos: string }> = {};
    for (const [name, model] of [
      ["plain", false],
      ["loyalty", true],
      ["events", true],
    ] as const) {
      const { workspace } = await createWorkspace(db, { name, currency: "EUR", timeZone: "Europe/Paris" });
      const catalog = makeCatalog();
      if (name !== "events") await seed(db, workspace.id, catalog, makePromotions(catalog));
      if (model) await applyTierTemplate(db, workspace.id, { benefits: false }, nowMs);
      const pos = await createApiKey(db, workspace.id, { name: "bench", role: "pos", maySetPrices: false });
      arms[name] = { workspaceId: workspace.id, pos: pos.secret };
    }
    const base = await startServer(target.url);
    progress(`serving on ${base}`);
    if (options.cases.has("events")) await eventsBench(base, arms["events"]!.pos, options.quick ? 20 : 200);
    if (options.cases.has("sales"))
      await salesBench(base, { plain: arms["plain"]!.pos, loyalty: arms["loyalty"]!.pos }, options.quick);
    // Stop the server: the recompute has the machine to itself.
    const server = cleanups.findIndex((c) => c.name === "server");
    if (server >= 0) await cleanups.splice(server, 1)[0]!.run();
  }
  if (options.cases.has("recompute")) await recomputeBench(db, target.kind, options);
}

try {
  await main();
} catch (error) {
  if (serverLog !== undefined) {
    const text = await readFile(serverLog, "utf8").catch(() => "");
    progress(`the server's log ends:\n${text.split("\n").slice(-40).join("\n")}`);
  }
  throw error;
} finally {
  await releaseAll();
}
