// A crash never loses or doubles a sale: the server process is killed (SIGKILL) again and again during
// a stream of sales; after each restart every acknowledged sale exists exactly once with the receipt
// that was acknowledged, retries of unacknowledged sales commit at most once, and every limit counter
// equals its ledger.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, inject, it } from "vitest";
import { createPool } from "../../src/store/db.js";
import { startEmbedded } from "../../src/store/embedded.js";
import { createDatabase } from "./harness.js";

const KILLS = 4;
const WRITERS = 4;
const ROOT = new URL("../../", import.meta.url).pathname;

interface Running {
  readonly child: ChildProcess;
  readonly address: string;
  readonly adminKey?: string;
}

let dataDir: string;
let databaseUrl: string | undefined;
let dropDatabase: (() => Promise<void>) | undefined;

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), "till-crash-"));
  if (inject("databaseKind") === "server") {
    const database = await createDatabase();
    databaseUrl = database.url;
    dropDatabase = database.drop;
  }
});

afterAll(async () => {
  await rm(dataDir, { recursive: true, force: true });
  await dropDatabase?.();
});

function start(): Promise<Running> {
  const env: NodeJS.ProcessEnv = { ...process.env, LOG_LEVEL: "warn", TILL_TIME_ZONE: "Europe/Warsaw" };
  delete env["DATABASE_URL"];
  if (databaseUrl !== undefined) env["DATABASE_URL"] = databaseUrl;
  const child = spawn(
    process.execPath,
    ["bin/till.js", "serve", "--demo", "--port", "0", "--data-dir", dataDir],
    {
      cwd: ROOT,
      env,
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  return new Promise((resolve, reject) => {
    let out = "";
    let err = "";
    const timer = setTimeout(() => reject(new Error(`server did not start: ${out}\n${err}`)), 60_000);
    child.stderr!.on("data", (chunk: Buffer) => (err += chunk.toString()));
    child.stdout!.on("data", (chunk: Buffer) => {
      out += chunk.toString();
      const address = /serving on (http:\/\/\S+)/.exec(out)?.[1];
      if (address === undefined) return;
      clearTimeout(timer);
      const adminKey = /^ {2}(till_\S+)$/m.exec(out)?.[1];
      resolve({ child, address, ...(adminKey ? { adminKey } : {}) });
    });
    child.on("exit", (code) => reject(new Error(`server exited with ${code}: ${out}\n${err}`)));
  });
}

function killed(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    child.once("exit", () => resolve());
    child.kill("SIGKILL");
  });
}

interface Ack {
  readonly status: number;
  readonly body: string;
}

it("keeps every acknowledged sale exactly once across SIGKILLs", { timeout: 240_000 }, async () => {
  let server = await start();
  const key = server.adminKey!;
  expect(key).toMatch(/^till_/);
  const acknowledged = new Map<string, string>();
  const pending = new Map<string, object>();
  let next = 0;

  const post = async (address: string, body: object): Promise<Ack> => {
    const response = await fetch(`${address}/v1/sales`, {
      method: "POST",
      headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    return { status: response.status, body: await response.text() };
  };
  const newSale = (): { transactionId: string; [field: string]: unknown } => {
    const n = next++;
    return {
      transactionId: `crash-${n}`,
      customerId: n % 3 === 0 ? "c-1001" : `walk-in-${n}`,
      lines: [
        { id: "1", sku: "LATTE", quantity: 1 + (n % 2) },
        { id: "2", sku: "SANDWICH", quantity: 1 },
      ],
    };
  };
  /** Sends sales until the server dies; a sale whose answer never came stays pending, to be retried. */
  const writer = async (address: string, alive: () => boolean): Promise<void> => {
    while (alive()) {
      const [retry] = pending.entries();
      const body = retry ? retry[1] : newSale();
      const id = (body as { transactionId: string }).transactionId;
      pending.set(id, body);
      try {
        const ack = await post(address, body);
        expect(ack.status, ack.body).toBe(201);
        const first = acknowledged.get(id);
        if (first !== undefined) expect(ack.body).toBe(first); // a retry answers the same bytes
        acknowledged.set(id, ack.body);
        pending.delete(id);
      } catch (error) {
        if (alive()) throw error;
        return; // the server was killed under this request: it stays pending
      }
    }
  };

  for (let kill = 0; kill <= KILLS; kill++) {
    let alive = true;
    const writers = Array.from({ length: WRITERS }, () => writer(server.address, () => alive));
    await new Promise((resolve) => setTimeout(resolve, 300 + Math.random() * 500));
    if (kill < KILLS) {
      alive = false;
      await killed(server.child);
      await Promise.all(writers);
      server = await start();
    } else {
      // The last round: drain the pending retries against a live server, then stop it cleanly.
      alive = false;
      await Promise.all(writers);
      while (pending.size > 0) {
        const [id, body] = pending.entries().next().value!;
        const ack = await post(server.address, body);
        expect(ack.status, ack.body).toBe(201);
        acknowledged.set(id, ack.body);
        pending.delete(id);
      }
      await new Promise<void>((resolve) => {
        server.child.once("exit", () => resolve());
        server.child.kill("SIGTERM");
      });
    }
  }
  expect(acknowledged.size).toBeGreaterThan(20);

  const embedded = databaseUrl === undefined ? await startEmbedded({ dataDir }) : undefined;
  const db = createPool({ url: databaseUrl ?? embedded!.url, max: 2 });
  try {
    const { rows } = await db.query<{ transaction_id: string; n: number; receipt: string }>(
      `select transaction_id, count(*)::int as n, min(receipt::text) as receipt from sales group by transaction_id`,
    );
    const stored = new Map(rows.map((r) => [r.transaction_id, r]));
    for (const [id, body] of acknowledged) {
      expect(stored.get(id)?.n, id).toBe(1);
      expect(stored.get(id)?.receipt, id).toBe(body);
    }
    // Nothing was committed that nobody asked for, and no sale row was left half-written.
    expect(rows.every((r) => r.receipt !== null)).toBe(true);
    const mismatches = await db.query(
      `select c.promotion_id, c.subject, c.used, coalesce(sum(l.amount), 0)::bigint as ledger
         from limit_counters c left join limit_ledger l using (workspace_id, promotion_id, rule, subject, cycle_start)
        group by c.workspace_id, c.promotion_id, c.rule, c.subject, c.used having c.used <> coalesce(sum(l.amount), 0)`,
    );
    expect(mismatches.rows).toEqual([]);
    const coffee = await db.query<{ used: number }>(
      `select used from limit_counters where promotion_id = 'free-coffee' and subject = 'c-1001'`,
    );
    expect(coffee.rows[0]?.used).toBe(5);
  } finally {
    await db.end();
    await embedded?.stop();
  }
});
