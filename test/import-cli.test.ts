// `till import promotions` and `till export promotions` from the command line, on an embedded data
// folder: plain progress lines when stderr is not a terminal, the report naming the bad row, a dry
// run, an idempotent re-import, and an export that reads back as the file imported.
import { spawnSync } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { createWorkspace } from "../src/services/workspaces.js";
import { createPool } from "../src/store/db.js";
import { startEmbedded } from "../src/store/embedded.js";
import { migrate } from "../src/store/migrate.js";

const ROOT = new URL("../", import.meta.url).pathname;
let dir: string;
let dataDir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "till-import-"));
  dataDir = await mkdtemp(join(tmpdir(), "till-import-data-"));
  const embedded = await startEmbedded({ dataDir });
  const db = createPool({ url: embedded.url, max: 2 });
  try {
    await migrate(db);
    await createWorkspace(db, { name: "Shop", currency: "EUR", timeZone: "Europe/Warsaw" });
  } finally {
    await db.end();
    await embedded.stop();
  }
}, 120_000);
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
  await rm(dataDir, { recursive: true, force: true });
});

function till(...args: string[]) {
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env["DATABASE_URL"];
  return spawnSync(process.execPath, ["bin/till.js", ...args, "--data-dir", dataDir], {
    cwd: ROOT,
    env,
    encoding: "utf8",
    timeout: 90_000,
  });
}

const FILE = [
  "externalId,name,type,headline,description,discountType,discountValue,catalogIndexItems,redeemQuantityPerActivation,redeemLimitPerClient,storeIds,startAt,expireAt,priority,displayFrom,displayTo,visibilityStatus,catalogItemType,catalog,storeCatalog,storeItemType,headerName,redeemType,tags.0.name",
  "E-1,Coffee 10%,personalized,,,percent,10,LATTE,,1,,2026-03-01T00:00:00Z,2026-04-01T00:00:00Z,,,,,,,,,,,MOBILE",
  "E-2,Cart 5,pos,,,amount,5.00,,,,,2026-03-01T00:00:00Z,,,,,,,,,,,,CHECKOUT",
  "",
].join("\n");

it(
  "imports with progress and a report, dry-runs, re-imports idempotently and exports the same file",
  { timeout: 300_000 },
  async () => {
    const file = join(dir, "promotions.csv");
    await writeFile(file, FILE + "E-3,Broken,pos,,,percent,abc,,,,,2026-03-01T00:00:00Z,,,,,,,,,,,,\n");

    const dry = till("import", "promotions", file, "--dry-run");
    expect(dry.stdout).toContain(
      "dry run, nothing written: 3 rows: 2 created, 0 updated, 0 unchanged, 1 failed",
    );

    const first = till("import", "promotions", file);
    expect(first.status, first.stderr).toBe(1);
    expect(first.stderr).toContain("imported 3/3 rows");
    expect(first.stdout).toContain("3 rows: 2 created, 0 updated, 0 unchanged, 1 failed");
    expect(first.stdout).toContain("row 4, discountValue:");

    await writeFile(file, FILE);
    const again = till("import", "promotions", file);
    expect(again.status, again.stderr).toBe(0);
    expect(again.stdout).toContain("2 rows: 0 created, 0 updated, 2 unchanged, 0 failed");

    const out = join(dir, "export.csv");
    const exported = till("export", "promotions", "--out", out);
    expect(exported.status, exported.stderr).toBe(0);
    expect(await readFile(out, "utf8")).toBe(FILE);
  },
);
