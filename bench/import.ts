// CSV import benchmark (issue 5): a file of 100,000 promotion rows in seed 001's columns, generated
// here, imported through the path `till import promotions` and the API upload share (prepareImport,
// then runImport) into a fresh workspace, then imported again, which must change nothing. On the
// embedded PostgreSQL in a temporary folder, or on DATABASE_URL in a database of its own. Prints two
// JSON lines on stdout, progress on stderr, and exits 1 when a row failed or the re-import changed
// anything:
//
//   {"bench":"import","rows":100000,"seconds":…,"created":100000,"failed":0,…}
//   {"bench":"reimport","rows":100000,"seconds":…,"unchanged":100000,"failed":0,…}
//
//   npm run bench:import                  100,000 rows
//   npm run bench:import -- --rows 10000
import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { SingleBar, Presets } from "cli-progress";
import { stringify } from "csv-stringify/sync";
import { prepareImport, rowsTotal, runImport, type ImportTally } from "../src/services/promotion-imports.js";
import { csvHeader } from "../src/services/promotion-csv.js";
import { createWorkspace } from "../src/services/workspaces.js";
import { createPool, type Db } from "../src/store/db.js";
import { migrate } from "../src/store/migrate.js";
import { benchDatabase } from "./database.js";

const TARGET_SECONDS = 60;
const TAG_COLUMNS = 4;

function progress(message: string): void {
  process.stderr.write(`bench:import: ${message}\n`);
}

function rowsArg(argv: readonly string[]): number {
  const at = argv.indexOf("--rows");
  if (at < 0) return 100_000;
  const n = Number(argv[at + 1]);
  if (!Number.isInteger(n) || n < 1 || n > 1_000_000) throw new Error("--rows: 1 to 1000000");
  return n;
}

// ---- The file.

/** mulberry32: the same file on every run. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const PRODUCTS = [
  "Latte",
  "Flat white",
  "Espresso",
  "Croissant",
  "Bagietka",
  "Masło",
  "Mleko 3,2%",
  "Jogurt grecki",
  "Ser żółty",
  "Jabłka",
  "Banany",
  "Pomidory",
  "Chipsy",
  "Czekolada",
  "Woda mineralna",
  "Sok pomarańczowy",
  "Piwo",
  "Płyn do naczyń",
  "Proszek do prania",
  "Szampon",
  "Pasta do zębów",
  "Pieluchy",
  "Karma dla kota",
  "Kawa ziarnista",
];
const OCCASIONS = [
  "Spring",
  "Summer",
  "Back to school",
  "Black Week",
  "Weekend",
  "Happy hour",
  "Club",
  "App",
];
const CITIES = ["warsaw", "krakow", "gdansk", "poznan", "wroclaw", "lodz", "katowice", "lublin"];
const TAGS = ["CHECKOUT", "MOBILE", "WEEKEND", "NEWSLETTER", "APP_ONLY", "LEAFLET", "SUMMER", "CLUB"];
const HEADLINES = [
  "Save on your favourites",
  "Only this week",
  "Members save more",
  "Two for less",
  'The "best price" in town',
];
const TYPES: readonly [string, number][] = [
  ["Personalized promotion", 25],
  ["pos", 25],
  ["general", 10],
  ["loyalty", 15],
  ["members_only", 5],
  ["handbill", 10],
  ["custom", 5],
  ["POS", 5],
];
const SKU_COUNT = 20_000;
const STORE_COUNT = 400;
const DAY_MS = 86_400_000;
const FIRST_START_MS = Date.parse("2025-06-01T00:00:00Z");

function promotionRows(count: number, header: readonly string[]): string[][] {
  const next = random(5);
  const int = (min: number, max: number) => min + Math.floor(next() * (max - min + 1));
  const pick = <T>(values: readonly T[]) => values[Math.floor(next() * values.length)]!;
  const weighted = (values: readonly [string, number][]) => {
    let left = next() * values.reduce((sum, [, w]) => sum + w, 0);
    for (const [value, w] of values) if ((left -= w) < 0) return value;
    return values[0]![0];
  };
  const distinct = (n: number, draw: () => string) => {
    const set = new Set<string>();
    while (set.size < n) set.add(draw());
    return [...set];
  };
  const sku = () =>
    next() < 0.1
      ? String(5_900_000_000_000 + int(0, SKU_COUNT))
      : `SKU-${String(int(1, SKU_COUNT)).padStart(6, "0")}`;
  const store = () => `${pick(CITIES)}-${int(1, STORE_COUNT / CITIES.length)}`;
  /** The four forms of docs/csv.md: UTC instant, instant with offset, local date, local time. */
  const instant = (ms: number, form: number) => {
    const iso = new Date(ms).toISOString();
    if (form < 0.5) return `${iso.slice(0, 19)}Z`;
    if (form < 0.65) return `${iso.slice(0, 19)}+02:00`;
    if (form < 0.9) return iso.slice(0, 10);
    return iso.slice(0, 19);
  };

  const rows: string[][] = [];
  for (let i = 1; i <= count; i++) {
    const externalId = `SYN-${String(i).padStart(7, "0")}`;
    const discountType = weighted([
      ["percent", 50],
      ["amount", 25],
      ["price", 15],
      ["percentage", 5],
      ["fixed_amount", 5],
    ]);
    const percent = discountType.startsWith("percent");
    const whole = int(0, discountType === "price" ? 49 : 20);
    const discountValue = percent
      ? pick(["5", "10", "12.5", "15", "20", "25", "30", "33.33", "40", "50"])
      : `${whole}.${pick(whole === 0 ? ["49", "50", "99"] : ["00", "49", "50", "99"])}`;
    const cart = discountType !== "price" && next() < 0.15;
    const skus = cart ? [] : distinct(next() < 0.7 ? int(1, 3) : int(4, 40), sku);
    const catalogIndexItems = next() < 0.05 ? JSON.stringify(skus) : skus.join(",");
    const product = pick(PRODUCTS);
    const label = percent
      ? `-${discountValue}%`
      : discountType === "price"
        ? `za ${discountValue}`
        : `-${discountValue} zł`;
    const name = `${cart ? "Koszyk" : product} ${label} ${pick(OCCASIONS)} ${i}`;
    const form = next();
    const startMs = FIRST_START_MS + int(0, 730) * DAY_MS + (form >= 0.9 ? int(6, 20) * 3_600_000 : 0);
    const endMs = next() < 0.8 ? startMs + int(1, 90) * DAY_MS : undefined;
    const display = next() < 0.5;
    const cells: Record<string, string> = {
      externalId,
      name,
      type: weighted(TYPES),
      headline: next() < 0.6 ? pick(HEADLINES) : "",
      description:
        next() < 0.4 ? `${product}, ${label}: in every store of the chain, while stocks last (${i})` : "",
      discountType,
      discountValue,
      catalogIndexItems,
      redeemQuantityPerActivation: !cart && next() < 0.4 ? String(int(1, 3)) : "",
      redeemLimitPerClient: next() < 0.5 ? String(int(1, 5)) : "",
      storeIds: next() < 0.4 ? "" : distinct(next() < 0.8 ? int(1, 5) : int(6, 60), store).join(","),
      startAt: instant(startMs, form),
      expireAt: endMs === undefined ? "" : instant(endMs, form),
      priority: next() < 0.6 ? String(int(-10, 100)) : "",
      displayFrom: display ? new Date(startMs - 3 * DAY_MS).toISOString().slice(0, 10) : "",
      displayTo: display && endMs !== undefined ? new Date(endMs).toISOString().slice(0, 10) : "",
      visibilityStatus: next() < 0.7 ? pick(["VISIBLE", "VISIBLE", "HIDDEN"]) : "",
      catalogItemType: cart ? "" : "SKU",
      catalog: next() < 0.3 ? pick(["products-pl", "products-online"]) : "",
      storeCatalog: next() < 0.1 ? "stores-pl" : "",
      storeItemType: next() < 0.1 ? "STORE" : "",
      headerName: next() < 0.2 ? pick(["Promocje tygodnia", "Dla Ciebie", "Gazetka"]) : "",
      redeemType: next() < 0.5 ? pick(["AUTOMATIC", "MANUAL"]) : "",
    };
    const tags = distinct(next() < 0.3 ? 0 : int(1, TAG_COLUMNS), () => pick(TAGS));
    tags.forEach((tag, t) => (cells[`tags.${t}.name`] = tag));
    rows.push(header.map((column) => cells[column] ?? ""));
  }
  return rows;
}

// ---- The import.

interface Progress {
  update(tally: ImportTally): void;
  stop(): void;
}

/** A bar on a terminal, a line every tenth of the file otherwise (as the CLI, less often). */
function startProgress(label: string, total: number): Progress {
  if (process.stderr.isTTY) {
    const bar = new SingleBar(
      {
        stream: process.stderr,
        format: `${label} [{bar}] {percentage}% | {value}/{total} rows | {eta}s left`,
      },
      Presets.shades_classic,
    );
    bar.start(total, 0);
    return { update: (t) => bar.update(t.rowsProcessed), stop: () => bar.stop() };
  }
  const step = Math.max(1, Math.ceil(total / 10));
  let shown = 0;
  const started = process.hrtime.bigint();
  return {
    update: (t) => {
      if (t.rowsProcessed < shown + step && t.rowsProcessed < total) return;
      shown = t.rowsProcessed;
      const s = (Number(process.hrtime.bigint() - started) / 1e9).toFixed(1);
      progress(`${label} ${t.rowsProcessed}/${total} rows, ${s} s`);
    },
    stop: () => undefined,
  };
}

/** Reads the file and imports it as `till import promotions FILE` does (drafts, not a dry run). */
async function importFile(
  db: Db,
  workspaceId: string,
  file: string,
  label: string,
): Promise<{ tally: ImportTally; seconds: number; parseSeconds: number; nodeCpuSeconds: number }> {
  const started = process.hrtime.bigint();
  const cpu = process.cpuUsage();
  const text = await readFile(file, "utf8");
  const prepared = await prepareImport(db, workspaceId, text);
  const parseSeconds = Number(process.hrtime.bigint() - started) / 1e9;
  const bar = startProgress(label, rowsTotal(prepared));
  const tally = await runImport(db, workspaceId, prepared, { dryRun: false, publish: false }, Date.now, (t) =>
    bar.update(t),
  ).finally(() => bar.stop());
  const { user, system } = process.cpuUsage(cpu);
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  return { tally, seconds, parseSeconds, nodeCpuSeconds: (user + system) / 1e6 };
}

const round = (s: number) => Math.round(s * 100) / 100;

function firstProblems(tally: ImportTally): string[] {
  return tally.report.slice(0, 5).map((p) => `row ${p.row} ${p.column}: ${p.message} [${p.code}]`);
}

/** What the workspace holds: a re-import that changes nothing leaves all three as they were. */
async function snapshot(db: Db, workspaceId: string) {
  const { rows } = await db.query<{ n: number; revisions: number; lastUpdate: string }>(
    `select count(*)::int as n, coalesce(max(revision), 0)::int as revisions,
            coalesce(max(updated_at), 'epoch')::text as "lastUpdate"
       from promotions where workspace_id = $1`,
    [workspaceId],
  );
  return rows[0]!;
}

/** Generates the file, imports it twice, prints both lines; true when both went as they must. */
async function run(db: Db, kind: string, folder: string, rows: number): Promise<boolean> {
  await migrate(db);
  const { workspace } = await createWorkspace(db, {
    name: "Bench",
    currency: "PLN",
    timeZone: "Europe/Warsaw",
  });
  const file = path.join(folder, "promotions.csv");
  const header = csvHeader(TAG_COLUMNS);
  await writeFile(file, stringify([header, ...promotionRows(rows, header)]));
  const bytes = (await stat(file)).size;
  progress(`${kind}: ${rows} rows, ${(bytes / 1e6).toFixed(1)} MB in ${file}`);

  const first = await importFile(db, workspace.id, file, "import");
  const counted = await snapshot(db, workspace.id);
  const firstOk = first.tally.failed === 0 && first.tally.created === rows && counted.n === rows;
  process.stdout.write(
    `${JSON.stringify({
      bench: "import",
      rows: first.tally.rowsTotal,
      seconds: round(first.seconds),
      parse_seconds: round(first.parseSeconds),
      node_cpu_seconds: round(first.nodeCpuSeconds),
      created: first.tally.created,
      updated: first.tally.updated,
      unchanged: first.tally.unchanged,
      failed: first.tally.failed,
      promotions: counted.n,
      rows_per_s: Math.round(rows / first.seconds),
      mb: round(bytes / 1e6),
      db: kind,
      target_seconds: TARGET_SECONDS,
      met: first.seconds <= TARGET_SECONDS,
      ok: firstOk,
    })}\n`,
  );
  if (!firstOk) progress(`the import failed rows: ${firstProblems(first.tally).join("; ")}`);

  const again = await importFile(db, workspace.id, file, "reimport");
  const after = await snapshot(db, workspace.id);
  const againOk =
    again.tally.unchanged === rows &&
    again.tally.created + again.tally.updated + again.tally.failed === 0 &&
    after.n === counted.n &&
    after.revisions === counted.revisions &&
    after.lastUpdate === counted.lastUpdate;
  process.stdout.write(
    `${JSON.stringify({
      bench: "reimport",
      rows: again.tally.rowsTotal,
      seconds: round(again.seconds),
      parse_seconds: round(again.parseSeconds),
      node_cpu_seconds: round(again.nodeCpuSeconds),
      unchanged: again.tally.unchanged,
      created: again.tally.created,
      updated: again.tally.updated,
      failed: again.tally.failed,
      max_revision: after.revisions,
      rows_per_s: Math.round(rows / again.seconds),
      db: kind,
      ok: againOk,
    })}\n`,
  );
  if (!againOk) {
    const { created, updated, failed } = again.tally;
    const problems = firstProblems(again.tally).join("; ");
    progress(
      `the re-import was not a no-op: ${created} created, ${updated} updated, ${failed} failed ${problems}`,
    );
  }
  return firstOk && againOk;
}

async function main(): Promise<void> {
  const rows = rowsArg(process.argv.slice(2));
  const target = await benchDatabase("import");
  const db = createPool({ url: target.url, max: 4 });
  const folder = await mkdtemp(path.join(tmpdir(), "till-bench-import-file-"));
  try {
    if (!(await run(db, target.kind, folder, rows))) process.exitCode = 1;
  } finally {
    await db.end();
    await target.dispose();
    await rm(folder, { recursive: true, force: true });
  }
}

await main();
