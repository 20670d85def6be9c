// The full recompute (issue 4): every profile's state rebuilt from its events under the current model,
// its tiers and segments evaluated and written, tier moves recorded with cause "recompute". It is the
// tool for "a definition changed": without it, a state built under an older definition is rebuilt
// only when its profile is next read (services/loyalty.ts).
//
// How it stays exact while sales go on. Profiles (each with the version of its state row) and their
// events are read in one snapshot. A chunk of profiles is written in one transaction that replaces a
// state only if its row is still at the version read (or creates it when there was none, unless one
// appeared), as the sale path does. Every writer that folds events into a profile moves its version in
// the same transaction, so a profile a sale touched after the snapshot is left alone by the chunk and
// rebuilt at the end under its row lock from all its events (rebuildExactly); so are the profiles two
// of whose events share an instant when read in heap order (their order is the event ids', which the
// scan does not read).
//
// How it is fast (bench/README.md has the numbers):
// - It reads only what rebuildState reads: the event types that feed an aggregate, of a type that
//   feeds only windowed aggregates only the events since the longest window's start, and only the
//   parameters aggregates read; as binary COPY, decoded without an object per event
//   (store/loyalty-recompute.ts).
// - A workspace holding a good share of the events table is scanned once, in heap order, by two
//   connections sharing the snapshot, and its events are grouped per profile in memory; a smaller one
//   reads each chunk's events through the index.
// - Chunks of 10,000 profiles: one is folded while two connections write the two before it.
//
// One recompute per workspace at a time: its writer connection holds an advisory lock for the whole
// job; a running job whose lock is free belongs to a process that died and reads as failed.
import { setImmediate as yieldToIo } from "node:timers/promises";
import Type, { type Static } from "typebox";
import { TIMESTAMP, type ProfileEvent, type ScalarValue } from "../domain/loyalty/definitions.js";
import { eventParamsOf, type CompiledModel } from "../domain/loyalty/model.js";
import { emptyState, evaluateProfile, floorToHour, rebuildState } from "../domain/loyalty/state.js";
import { transaction, type Db, type Tx } from "../store/db.js";
import { loadEvents, lockStates, writeStates, type StateWrite, type TierMove } from "../store/loyalty.js";
import {
  ChunkRows,
  EventTable,
  addProgress,
  countProfiles,
  estimateEvents,
  failRunning,
  findRecompute,
  finishRecompute,
  insertRecompute,
  openSnapshot,
  prepareWriter,
  readProfiles,
  readRangeEvents,
  recomputeLockIsFree,
  recordTotal,
  releaseRecomputeLock,
  releaseWriter,
  scanEvents,
  tryHoldRecomputeLock,
  writeChunk,
  type EventPlan,
  type ProfileIndex,
  type RecomputeRow,
} from "../store/loyalty-recompute.js";
import { getWorkspace } from "../store/workspaces.js";
import { newId } from "./ids.js";
import { loyaltyModel, movesBetween, tiersOf, type LoadedModel } from "./loyalty.js";
import { Problem, conflict, notFound } from "./problem.js";

/** Profiles per chunk: one write statement, one transaction. */
export const CHUNK_PROFILES = 10_000;
/** Events held in memory by a scan; a bigger workspace is scanned in several runs of profiles. */
const SCAN_EVENTS_MAX = 25_000_000;
/**
 * A scan reads the whole events table; the index reads a workspace's events at random places, ~8 µs
 * each: a workspace holding this share of the table, and this many events, is scanned.
 */
const SCAN_SHARE_MIN = 0.05;
const SCAN_EVENTS_MIN = 50_000;
/** Profiles rebuilt per transaction on the exact path. */
const EXACT_BATCH = 500;
/** Profiles folded between two yields to I/O, so the previous chunk's write goes on meanwhile. */
const FOLD_SLICE = 1_000;

export type RecomputeStrategy = "scan" | "index";

export interface RecomputeOptions {
  /** How events are read; default: chosen from the planner's estimates. */
  readonly strategy?: RecomputeStrategy;
  readonly chunkProfiles?: number;
  /** Answer when the job has finished (the CLI) instead of when it has started. */
  readonly wait?: boolean;
  readonly onProgress?: (progress: RecomputeProgress) => void;
}

export interface RecomputeProgress {
  readonly phase: "reading" | "writing";
  readonly profilesTotal: number;
  readonly profilesDone: number;
  readonly eventsRead: number;
  readonly moves: number;
}

export const RecomputeSchema = Type.Object({
  id: Type.String(),
  status: Type.Union([Type.Literal("running"), Type.Literal("done"), Type.Literal("failed")]),
  /** Profiles of the workspace when the job read them. */
  profilesTotal: Type.Integer(),
  profilesDone: Type.Integer(),
  /** Events folded into the profiles written so far. */
  eventsRead: Type.Integer(),
  /** Tier moves recorded (cause "recompute"). */
  moves: Type.Integer(),
  startedAt: Type.String({ format: "date-time" }),
  finishedAt: Type.Optional(Type.String({ format: "date-time" })),
  error: Type.Optional(Type.String()),
});
export type Recompute = Static<typeof RecomputeSchema>;

function toResource(row: RecomputeRow): Recompute {
  return {
    id: row.id,
    status: row.status,
    profilesTotal: row.profilesTotal,
    profilesDone: row.profilesDone,
    eventsRead: row.eventsRead,
    moves: row.moves,
    startedAt: row.startedAt.toISOString(),
    ...(row.finishedAt !== null ? { finishedAt: row.finishedAt.toISOString() } : {}),
    ...(row.error !== null ? { error: row.error } : {}),
  };
}

export const INTERRUPTED =
  "interrupted: the process running it stopped; the chunks it finished stay written, start a recompute again";

/**
 * Starts a recompute of the workspace and answers its resource (finished when `wait`). A recompute
 * already running is a 409.
 */
export async function startRecompute(
  db: Db,
  workspaceId: string,
  now: () => number,
  options: RecomputeOptions = {},
): Promise<Recompute> {
  if ((await getWorkspace(db, workspaceId)) === null) throw notFound(`workspace ${workspaceId}`);
  const writer = await db.connect();
  const held = await tryHoldRecomputeLock(writer, workspaceId).catch((error: unknown) => {
    writer.release(true);
    throw error;
  });
  if (!held) {
    writer.release();
    throw conflict("recompute_running", "a recompute of this workspace is running: wait for it to finish");
  }
  const letGo = async () => {
    const unlocked = await releaseRecomputeLock(writer, workspaceId).then(
      () => true,
      () => false,
    );
    writer.release(!unlocked); // a connection that could not unlock is dropped, and its lock with it
  };
  const id = newId("recompute");
  try {
    // Holding the lock, any running job is one whose process died.
    await failRunning(writer, workspaceId, INTERRUPTED, now());
    await insertRecompute(writer, workspaceId, id, now());
  } catch (error) {
    await letGo();
    throw error;
  }
  const job = (async () => {
    try {
      await runRecompute({ db, writer, workspaceId, jobId: id, nowMs: now(), options });
      await finishRecompute(writer, workspaceId, id, now());
    } catch (error) {
      const message = error instanceof Problem ? (error.detail ?? error.title) : "internal error";
      await failRunning(db, workspaceId, message, now(), id).catch(() => undefined);
      throw error;
    } finally {
      await letGo();
    }
  })();
  if (options.wait) await job;
  else job.catch(() => undefined); // recorded on the row as failed
  return toResource((await findRecompute(db, workspaceId, id))!);
}

export async function readRecompute(
  db: Db,
  workspaceId: string,
  id: string,
  nowMs: number,
): Promise<Recompute> {
  const row = await findRecompute(db, workspaceId, id);
  if (row === null) throw notFound(`loyalty recompute ${id}`);
  if (row.status !== "running") return toResource(row);
  // A running job whose lock is free died with its process: mark it failed.
  return toResource(
    await transaction(db, async (tx) => {
      if (!(await recomputeLockIsFree(tx, workspaceId))) return row;
      await failRunning(tx, workspaceId, INTERRUPTED, nowMs, id);
      return (await findRecompute(tx, workspaceId, id))!;
    }),
  );
}

// ---- The job ----------------------------------------------------------------------------------

interface Job {
  readonly db: Db;
  /** Holds the lock; writes the chunks. */
  readonly writer: Tx;
  readonly workspaceId: string;
  readonly jobId: string;
  readonly nowMs: number;
  readonly options: RecomputeOptions;
}

/** What a run has done, and what is left for the exact path. */
interface Run extends Job {
  readonly loaded: LoadedModel;
  readonly plan: EventPlan;
  /** Per plan type: the indexes of the plan's parameters that type carries. */
  readonly paramsOfType: readonly (readonly number[])[];
  readonly withAttributes: boolean;
  readonly chunkProfiles: number;
  /** The job's writer and a second one: PostgreSQL writes two chunks at a time. */
  readonly writers: readonly Tx[];
  readonly progress: { -readonly [K in keyof RecomputeProgress]: RecomputeProgress[K] };
  /** Profiles to rebuild under their row lock: written by someone else meanwhile, or tied events. */
  readonly exact: string[];
}

async function runRecompute(job: Job): Promise<void> {
  const loaded = await loyaltyModel(job.db, job.workspaceId);
  const nowMs = job.nowMs;
  const plan = eventPlan(loaded.compiled, nowMs);
  const strategy =
    plan.types.length === 0 ? null : (job.options.strategy ?? (await chooseStrategy(job, plan)));
  const run: Run = {
    ...job,
    loaded,
    plan,
    paramsOfType: plan.types.map((type) =>
      plan.params.flatMap((p, k) => (p.types.includes(type) ? [k] : [])),
    ),
    withAttributes: Object.keys(loaded.compiled.attributes).length > 0,
    chunkProfiles: job.options.chunkProfiles ?? CHUNK_PROFILES,
    progress: { phase: "reading", profilesTotal: 0, profilesDone: 0, eventsRead: 0, moves: 0 },
    exact: [],
    writers: [job.writer, await job.db.connect()],
  };
  let failed = true;
  try {
    for (const writer of run.writers) await prepareWriter(writer);
    await recomputeAll(run, strategy);
    failed = false;
  } finally {
    for (const writer of run.writers) await releaseWriter(writer).catch(() => undefined);
    run.writers[1]!.release(failed); // after a failure, a fresh connection for the pool
  }
  await rebuildExactly(run);
}

/**
 * Reads the profiles in one snapshot, in runs small enough for their events to fit in memory when
 * the events are scanned (one run for up to SCAN_EVENTS_MAX events), and recomputes them.
 */
async function recomputeAll(run: Run, strategy: RecomputeStrategy | null): Promise<void> {
  const twoReaders = strategy === "scan" && (await serverVersion(run.db)) >= 140_000; // TID range scans
  const snapshot = await openSnapshot(run.db, twoReaders ? 2 : 1);
  try {
    const first = snapshot.readers[0]!;
    run.progress.profilesTotal = await countProfiles(first, run.workspaceId);
    await recordTotal(run.writer, run.workspaceId, run.jobId, run.progress.profilesTotal);
    run.options.onProgress?.({ ...run.progress });
    const scan = strategy === "scan" ? await scanSize(run, first) : null;
    const perRun = scan?.profiles ?? Number.MAX_SAFE_INTEGER;
    let after: string | null = null;
    for (;;) {
      const profiles = await readProfiles(
        first,
        run.workspaceId,
        { after, limit: perRun },
        run.withAttributes,
      );
      if (profiles.ids.length === 0) break;
      const whole = after === null && profiles.ids.length < perRun;
      if (scan !== null) await recomputeScanned(run, snapshot.readers, profiles, whole, scan.events);
      else await recomputeChunked(run, strategy === "index" ? first : null, profiles);
      if (profiles.ids.length < perRun) break;
      after = profiles.ids[profiles.ids.length - 1]!;
    }
  } finally {
    await snapshot.close();
  }
}

/**
 * The events an aggregate can see: their types, each from the first instant that can count (a type
 * that feeds only windowed aggregates counts from the start of the longest window at `nowMs`), and
 * the parameters read, each from the types that use it. Exact: rebuildState skips the rest.
 */
export function eventPlan(compiled: CompiledModel, nowMs: number): EventPlan {
  const uses = new Map<string, { types: Set<string>; number: boolean }>();
  const fromMs = new Map<string, number>();
  for (const agg of compiled.aggregates) {
    const type = agg.body.event;
    const start = agg.windowMs === 0 ? -Infinity : floorToHour(nowMs - agg.windowMs);
    fromMs.set(type, Math.min(fromMs.get(type) ?? Infinity, start));
    const declared = eventParamsOf(compiled.model, type) ?? {};
    for (const name of [agg.body.param, ...(agg.body.filters ?? []).map((f) => f.param)]) {
      if (name === undefined || name === TIMESTAMP || !Object.hasOwn(declared, name)) continue; // undeclared: never read
      const use = uses.get(name) ?? { types: new Set<string>(), number: true };
      use.types.add(type);
      use.number &&= declared[name] === "number";
      uses.set(name, use);
    }
  }
  const types = [...compiled.eventTypes].sort();
  return {
    types,
    fromMs: types.map((type) => (Number.isFinite(fromMs.get(type)) ? fromMs.get(type)! : null)),
    params: [...uses]
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([name, use]) => ({ name, kind: use.number ? "number" : "value", types: [...use.types].sort() })),
  };
}

async function chooseStrategy(job: Job, plan: EventPlan): Promise<RecomputeStrategy> {
  const estimate = await estimateEvents(job.db, job.workspaceId, plan.types);
  return estimate.workspace >= SCAN_EVENTS_MIN && estimate.workspace >= SCAN_SHARE_MIN * estimate.table
    ? "scan"
    : "index";
}

async function serverVersion(db: Db): Promise<number> {
  const { rows } = await db.query<{ v: number }>(`select current_setting('server_version_num')::int as v`);
  return rows[0]!.v;
}

/** How many profiles one scan covers, so that their events fit in memory, and how many events that is. */
async function scanSize(run: Run, reader: Tx): Promise<{ profiles: number; events: number }> {
  const estimate = await estimateEvents(reader, run.workspaceId, run.plan.types);
  const scans = Math.max(1, Math.ceil(estimate.workspace / SCAN_EVENTS_MAX));
  return {
    profiles: Math.ceil((run.progress.profilesTotal + 1) / scans),
    events: estimate.workspace / scans,
  };
}

// ---- Scanned: all events of a run of profiles read at once, grouped per profile in memory --------

async function recomputeScanned(
  run: Run,
  readers: readonly Tx[],
  profiles: ProfileIndex,
  whole: boolean,
  eventsEstimate: number,
): Promise<void> {
  const table = new EventTable(run.plan, Math.min(SCAN_EVENTS_MAX, Math.ceil(eventsEstimate * 1.1)));
  const bounds = whole ? null : { first: profiles.ids[0]!, last: profiles.ids[profiles.ids.length - 1]! };
  await scanEvents(readers, run.workspaceId, run.plan, profiles, bounds, table);
  const events: ChunkEvents = { table, first: 0, start: table.group(0, profiles.ids.length), ordered: false };
  await foldAndWrite(run, profiles, async () => events);
}

// ---- Chunked: each chunk's events read through the index, the next one while this one folds ------

async function recomputeChunked(run: Run, reader: Tx | null, profiles: ProfileIndex): Promise<void> {
  const read = async (from: number, to: number): Promise<ChunkEvents> => {
    const table =
      reader === null
        ? new EventTable(run.plan)
        : await readRangeEvents(reader, run.workspaceId, run.plan, profiles, {
            first: profiles.ids[from]!,
            last: profiles.ids[to - 1]!,
          });
    return { table, first: from, start: table.group(from, to), ordered: true };
  };
  await foldAndWrite(run, profiles, read);
}

// ---- Folding and writing ----------------------------------------------------------------------

/** The events of a chunk's profiles, grouped per profile (the table may hold more profiles). */
interface ChunkEvents {
  readonly table: EventTable;
  /** Profile `first + i`'s records are start[i] … start[i + 1] (EventTable.group). */
  readonly first: number;
  readonly start: Int32Array;
  /** Whether each profile's events come in (occurred_at, id) order, so ties keep the exact order. */
  readonly ordered: boolean;
}

/**
 * Chunk after chunk: the next chunk's events are requested before this one is folded, and each chunk
 * is written while the next ones fold, by one of the writers in turn.
 */
async function foldAndWrite(
  run: Run,
  profiles: ProfileIndex,
  read: (from: number, to: number) => Promise<ChunkEvents>,
): Promise<void> {
  const chunks: (readonly [number, number])[] = [];
  for (let from = 0; from < profiles.ids.length; from += run.chunkProfiles)
    chunks.push([from, Math.min(profiles.ids.length, from + run.chunkProfiles)]);
  let reading = chunks.length > 0 ? read(...chunks[0]!) : null;
  const writing: Promise<void>[] = run.writers.map(() => Promise.resolve());
  for (let k = 0; k < chunks.length; k++) {
    const events: ChunkEvents = await reading!;
    reading = k + 1 < chunks.length ? read(...chunks[k + 1]!) : null;
    reading?.catch(() => undefined); // awaited next round; a failure must not go unhandled meanwhile
    const folded = await foldChunk(run, profiles, events, chunks[k]!);
    const w = k % writing.length;
    await writing[w];
    writing[w] = writeFolded(run, run.writers[w]!, folded);
    writing[w].catch(() => undefined);
  }
  await Promise.all(writing);
}

interface FoldedChunk {
  readonly rows: ChunkRows;
  /** Events folded into the chunk's profiles. */
  events: number;
}

const NO_ATTRIBUTES: Readonly<Record<string, ScalarValue>> = Object.freeze({});
const NO_TIERS: Readonly<Record<string, string>> = Object.freeze({});

/** Rebuilds, evaluates and encodes the profiles from `from` to `to`; tied ones are left for the exact path. */
async function foldChunk(
  run: Run,
  profiles: ProfileIndex,
  chunk: ChunkEvents,
  [from, to]: readonly [number, number],
): Promise<FoldedChunk> {
  const { compiled } = run.loaded;
  const folded: FoldedChunk = { rows: new ChunkRows(), events: 0 };
  for (let ordinal = from; ordinal < to; ordinal++) {
    if ((ordinal - from) % FOLD_SLICE === FOLD_SLICE - 1) await yieldToIo();
    const customerId = profiles.ids[ordinal]!;
    const events = profileEvents(run, chunk, ordinal);
    if (events === null) {
      run.exact.push(customerId);
      continue;
    }
    const state = rebuildState(compiled, events, run.nowMs);
    const attributes = run.withAttributes
      ? (JSON.parse(profiles.attributes[ordinal]!) as Record<string, ScalarValue>)
      : NO_ATTRIBUTES;
    const evaluation = evaluateProfile(compiled, { attributes, state }, run.nowMs);
    const tiers = tiersOf(evaluation);
    const storedText = profiles.tiers[ordinal]!;
    const stored = storedText === "{}" ? NO_TIERS : (JSON.parse(storedText) as Record<string, string>);
    for (const m of movesBetween(customerId, stored, tiers, "recompute"))
      folded.rows.addMove(customerId, m.programId, m.fromTier, m.toTier);
    const { segmentIds } = evaluation;
    folded.rows.addProfile(
      customerId,
      profiles.versions[ordinal]!,
      JSON.stringify(state),
      JSON.stringify(tiers),
      segmentIds,
    );
    folded.events += events.length;
  }
  return folded;
}

/**
 * A profile's events as rebuildState takes them, oldest first; null when two of them share their
 * instant and their read order is not (occurred_at, id): their order then is the exact path's to set.
 * The event id is not read by folding: it is left empty.
 */
function profileEvents(run: Run, chunk: ChunkEvents, ordinal: number): ProfileEvent[] | null {
  const { records, stride, scalars } = chunk.table;
  const first = chunk.start[ordinal - chunk.first]! * stride;
  const end = chunk.start[ordinal - chunk.first + 1]! * stride;
  // Record offsets by instant: an insertion sort, stable, quick on the nearly sorted heap order.
  const order: number[] = [];
  for (let at = first; at < end; at += stride) {
    let j = order.length - 1;
    while (j >= 0 && records[order[j]!]! > records[at]!) j--;
    order.splice(j + 1, 0, at);
  }
  const events: ProfileEvent[] = [];
  for (let i = 0; i < order.length; i++) {
    const at = order[i]!;
    if (!chunk.ordered && i > 0 && records[order[i - 1]!] === records[at]) return null;
    const type = records[at + 1]!;
    const params: Record<string, ScalarValue> = {};
    for (const k of run.paramsOfType[type]!) {
      const field = records[at + 2 + k]!;
      if (run.plan.params[k]!.kind === "number") {
        if (!Number.isNaN(field)) params[run.plan.params[k]!.name] = field;
      } else if (field >= 0) params[run.plan.params[k]!.name] = scalars[field]!;
    }
    events.push({ id: "", type: run.plan.types[type]!, atMs: millisOf(records[at]!), params });
  }
  return events;
}

/**
 * The instant in epoch milliseconds exactly as loadEvents reads it, `(extract(epoch from occurred_at) *
 * 1000)::bigint`: microseconds / 1000 rounded half away from zero.
 */
function millisOf(micros: number): number {
  const magnitude = Math.abs(micros);
  const whole = Math.floor(magnitude / 1_000);
  const ms = magnitude - whole * 1_000 >= 500 ? whole + 1 : whole;
  return micros < 0 ? 0 - ms : ms;
}

async function writeFolded(run: Run, writer: Tx, chunk: FoldedChunk): Promise<void> {
  run.progress.phase = "writing";
  const outcome = await writeChunk(
    writer,
    run.workspaceId,
    { id: run.jobId, eventsRead: chunk.events },
    chunk.rows,
    run.nowMs,
  );
  run.exact.push(...outcome.conflicts);
  run.progress.profilesDone += chunk.rows.size - outcome.conflicts.length;
  run.progress.eventsRead += chunk.events;
  run.progress.moves += outcome.moves;
  run.options.onProgress?.({ ...run.progress });
}

// ---- The exact path ---------------------------------------------------------------------------

/**
 * Rebuilds the left-over profiles as a sale's fallback does: their state rows locked (created if
 * missing), all their events loaded in (occurred_at, id) order, folded, written with the moves.
 */
async function rebuildExactly(run: Run): Promise<void> {
  const { compiled } = run.loaded;
  for (let i = 0; i < run.exact.length; i += EXACT_BATCH) {
    const ids = run.exact.slice(i, i + EXACT_BATCH);
    const done = await transaction(run.db, async (tx) => {
      const locked = await lockStates(tx, run.workspaceId, ids, emptyState(), run.nowMs);
      const history = await loadEvents(tx, run.workspaceId, ids);
      const writes: StateWrite[] = [];
      const moves: TierMove[] = [];
      let events = 0;
      for (const [customerId, row] of locked) {
        const all = history.get(customerId) ?? [];
        events += all.filter((e) => run.plan.types.includes(e.type)).length;
        const state = rebuildState(compiled, all, run.nowMs);
        const evaluation = evaluateProfile(compiled, { attributes: row.attributes, state }, run.nowMs);
        const tiers = tiersOf(evaluation);
        writes.push({ customerId, state, tiers, segmentIds: evaluation.segmentIds });
        moves.push(...movesBetween(customerId, row.tiers, tiers, "recompute"));
      }
      await writeStates(tx, run.workspaceId, writes, moves, run.nowMs);
      const progress = { profiles: writes.length, events, moves: moves.length };
      await addProgress(tx, run.workspaceId, run.jobId, progress);
      return progress;
    });
    run.progress.profilesDone += done.profiles;
    run.progress.eventsRead += done.events;
    run.progress.moves += done.moves;
    run.options.onProgress?.({ ...run.progress });
  }
}
