// The full recompute of profile states (services/loyalty-recompute.ts): its job rows, the advisory lock
// that makes it one per workspace and tells a live job from a dead one, and the bulk reads and writes.
//
// Bulk data moves as binary COPY (node-postgres has no COPY of its own; the two small Submittables
// below speak the protocol): decoding a row of bytes costs a fraction of what a parsed result row
// costs, and PostgreSQL sends timestamps as integers instead of formatting them. Events are decoded
// into fixed-width records (EventTable) and name their profile by its ordinal, so reading 20 million
// events allocates no object per event.
import type pg from "pg";
import type { ScalarValue } from "../domain/loyalty/definitions.js";
import type { Db, Queryable, Tx } from "./db.js";

// ---- Jobs -------------------------------------------------------------------------------------

export type RecomputeStatus = "running" | "done" | "failed";

export interface RecomputeRow {
  readonly id: string;
  readonly status: RecomputeStatus;
  readonly profilesTotal: number;
  readonly profilesDone: number;
  readonly eventsRead: number;
  readonly moves: number;
  readonly error: string | null;
  readonly startedAt: Date;
  readonly finishedAt: Date | null;
}

const RECOMPUTE_COLUMNS = `id, status, profiles_total as "profilesTotal", profiles_done as "profilesDone",
  events_read as "eventsRead", moves, error, started_at as "startedAt", finished_at as "finishedAt"`;

/**
 * The advisory lock a recompute's writer connection holds while it runs: one recompute per
 * workspace, and a running row whose lock is free belongs to a process that died.
 */
function lockKey(workspaceId: string): string {
  return `till_loyalty_recompute:${workspaceId}`;
}

/** Takes the workspace's recompute lock on this session; false when another session holds it. */
export async function tryHoldRecomputeLock(client: Tx, workspaceId: string): Promise<boolean> {
  const { rows } = await client.query<{ held: boolean }>(
    `select pg_try_advisory_lock(hashtextextended($1, 0)) as held`,
    [lockKey(workspaceId)],
  );
  return rows[0]!.held;
}

export async function releaseRecomputeLock(client: Tx, workspaceId: string): Promise<void> {
  await client.query(`select pg_advisory_unlock(hashtextextended($1, 0))`, [lockKey(workspaceId)]);
}

/** Inside a transaction: true when no session holds the lock (taken until the transaction ends). */
export async function recomputeLockIsFree(tx: Tx, workspaceId: string): Promise<boolean> {
  const { rows } = await tx.query<{ free: boolean }>(
    `select pg_try_advisory_xact_lock(hashtextextended($1, 0)) as free`,
    [lockKey(workspaceId)],
  );
  return rows[0]!.free;
}

export async function insertRecompute(
  q: Queryable,
  workspaceId: string,
  id: string,
  nowMs: number,
): Promise<void> {
  await q.query(
    `insert into loyalty_recomputes (workspace_id, id, status, started_at) values ($1, $2, 'running', $3)`,
    [workspaceId, id, new Date(nowMs)],
  );
}

export async function findRecompute(
  q: Queryable,
  workspaceId: string,
  id: string,
): Promise<RecomputeRow | null> {
  const { rows } = await q.query<RecomputeRow>(
    `select ${RECOMPUTE_COLUMNS} from loyalty_recomputes where workspace_id = $1 and id = $2`,
    [workspaceId, id],
  );
  return rows[0] ?? null;
}

/** Marks running jobs failed: all of the workspace's (`id` omitted), or one. */
export async function failRunning(
  q: Queryable,
  workspaceId: string,
  error: string,
  nowMs: number,
  id?: string,
): Promise<void> {
  await q.query(
    `update loyalty_recomputes set status = 'failed', error = $2, finished_at = $3
      where workspace_id = $1 and status = 'running' and ($4::text is null or id = $4)`,
    [workspaceId, error, new Date(nowMs), id ?? null],
  );
}

export async function recordTotal(
  q: Queryable,
  workspaceId: string,
  id: string,
  total: number,
): Promise<void> {
  await q.query(`update loyalty_recomputes set profiles_total = $3 where workspace_id = $1 and id = $2`, [
    workspaceId,
    id,
    total,
  ]);
}

/** Adds to the job's counters. */
export async function addProgress(
  q: Queryable,
  workspaceId: string,
  id: string,
  progress: { profiles: number; events: number; moves: number },
): Promise<void> {
  await q.query(
    `update loyalty_recomputes
        set profiles_done = profiles_done + $3, events_read = events_read + $4, moves = moves + $5
      where workspace_id = $1 and id = $2`,
    [workspaceId, id, progress.profiles, progress.events, progress.moves],
  );
}

export async function finishRecompute(
  q: Queryable,
  workspaceId: string,
  id: string,
  nowMs: number,
): Promise<void> {
  await q.query(
    `update loyalty_recomputes set status = 'done', finished_at = $3 where workspace_id = $1 and id = $2`,
    [workspaceId, id, new Date(nowMs)],
  );
}

export async function countProfiles(q: Queryable, workspaceId: string): Promise<number> {
  const { rows } = await q.query<{ n: number }>(
    `select count(*)::int8 as n from customers where workspace_id = $1`,
    [workspaceId],
  );
  return rows[0]!.n;
}

// ---- COPY in binary format --------------------------------------------------------------------

/** What node-postgres's connection can do beyond its published type: send COPY data. */
interface CopyConnection extends pg.Connection {
  sendCopyFromChunk(chunk: Buffer): void;
  endCopyFrom(): void;
}

const TEXT_OID = 25;
const COPY_SIGNATURE = Buffer.from("PGCOPY\n\xff\r\n\0", "latin1");
const COPY_HEADER_BYTES = COPY_SIGNATURE.length + 8;

/**
 * One COPY statement as a node-postgres Submittable. COPY … TO STDOUT hands each row (its bytes from
 * the field count on) to `onRow`; COPY … FROM STDIN sends `data`.
 *
 * A COPY out sends one protocol message per row, and node-postgres spends a microsecond on each
 * (a message object, two events): more than decoding the row. So while the rows stream, this reads
 * the socket itself: it takes the place of node-postgres's parser as the socket's only data listener,
 * decodes the CopyData messages, and hands everything from the first other message on (CopyDone,
 * an error, a notice) back to the parser, which then finishes the statement as usual. Where the
 * socket does not look as expected, node-postgres parses and `handleCopyData` gets the rows.
 */
class Copy implements pg.Submittable {
  readonly done: Promise<void>;
  private settle!: (error?: unknown) => void;
  private atHeader = true;

  constructor(
    private readonly text: string,
    private readonly onRow: ((row: Buffer, at: number) => void) | null,
    private readonly data: readonly Buffer[],
  ) {
    this.done = new Promise<void>((resolve, reject) => {
      this.settle = (error) => (error === undefined ? resolve() : reject(error));
    });
  }

  submit(connection: pg.Connection): void {
    if (this.onRow !== null) this.readSocket(connection);
    connection.query(this.text);
  }

  /** Reads the rows off the socket until the first message that is not a row (see above). */
  private readSocket(connection: pg.Connection): void {
    const socket = (connection as { stream?: NodeJS.EventEmitter }).stream;
    const listeners = socket?.listeners("data") ?? [];
    if (socket === undefined || listeners.length !== 1) return;
    const parser = listeners[0] as (chunk: Buffer) => void;
    let pending: Buffer | null = null;
    const read = (chunk: Buffer): void => {
      const bytes: Buffer = pending === null ? chunk : Buffer.concat([pending, chunk]);
      pending = null;
      let at = 0;
      while (at + 5 <= bytes.length) {
        const code = bytes[at]!;
        const end = at + 1 + bytes.readUInt32BE(at + 1);
        if (code !== COPY_DATA && code !== COPY_OUT_RESPONSE) {
          socket.removeListener("data", read);
          socket.on("data", parser);
          parser(bytes.subarray(at));
          return;
        }
        if (end > bytes.length) break;
        if (code === COPY_DATA) this.copyData(bytes, at + 5, end);
        at = end;
      }
      if (at < bytes.length) pending = Buffer.from(bytes.subarray(at));
    };
    socket.removeListener("data", parser);
    socket.on("data", read);
  }

  handleCopyInResponse(connection: CopyConnection): void {
    for (const chunk of this.data) connection.sendCopyFromChunk(chunk);
    connection.endCopyFrom();
  }

  handleCopyData(message: { chunk: Buffer }): void {
    this.copyData(message.chunk, 0, message.chunk.length);
  }

  /** One CopyData message's bytes: from `at` to `end`. */
  private copyData(bytes: Buffer, at: number, end: number): void {
    if (this.atHeader) {
      // The header (signature, flags, extension length and extension) comes before the first row.
      this.atHeader = false;
      at += COPY_HEADER_BYTES + bytes.readInt32BE(at + COPY_SIGNATURE.length + 4);
      if (at >= end) return;
    }
    if (bytes.readInt16BE(at) < 0) return; // the trailer
    this.onRow?.(bytes, at + 2);
  }

  handleError(error: unknown): void {
    this.settle(error);
  }

  handleReadyForQuery(): void {
    this.settle();
  }

  handleCommandComplete(): void {}
  handleEmptyQuery(): void {}
}

/** Backend message codes: CopyData, CopyOutResponse. */
const COPY_DATA = 0x64;
const COPY_OUT_RESPONSE = 0x48;

function copyOut(client: Tx, text: string, onRow: (row: Buffer, at: number) => void): Promise<void> {
  return client.query(new Copy(text, onRow, [])).done;
}

function copyIn(client: Tx, text: string, data: Buffer): Promise<void> {
  return client.query(new Copy(text, null, [data])).done;
}

/** Rows in COPY's binary format, into one growing buffer. */
class BinaryRows {
  private buffer = Buffer.allocUnsafe(1 << 20);
  private at = 0;

  constructor() {
    COPY_SIGNATURE.copy(this.buffer, 0);
    this.buffer.writeInt32BE(0, COPY_SIGNATURE.length); // flags
    this.buffer.writeInt32BE(0, COPY_SIGNATURE.length + 4); // no header extension
    this.at = COPY_HEADER_BYTES;
  }

  private room(bytes: number): void {
    if (this.at + bytes <= this.buffer.length) return;
    const grown = Buffer.allocUnsafe(Math.max(this.buffer.length * 2, this.at + bytes));
    this.buffer.copy(grown, 0, 0, this.at);
    this.buffer = grown;
  }

  row(fields: number): void {
    this.room(2);
    this.buffer.writeInt16BE(fields, this.at);
    this.at += 2;
  }

  /** text, or jsonb (its binary form is a version byte, 1, and the JSON text). */
  text(value: string, jsonb = false): void {
    const prefix = jsonb ? 1 : 0;
    this.room(4 + prefix + 3 * value.length);
    if (jsonb) this.buffer[this.at + 4] = 1;
    const bytes = this.buffer.write(value, this.at + 4 + prefix, "utf8");
    this.buffer.writeInt32BE(bytes + prefix, this.at);
    this.at += 4 + prefix + bytes;
  }

  nullableText(value: string | null): void {
    if (value !== null) return this.text(value);
    this.room(4);
    this.buffer.writeInt32BE(-1, this.at);
    this.at += 4;
  }

  /** A one-dimensional text[] without nulls (an empty one has no dimension). */
  textArray(items: readonly string[]): void {
    const lengthAt = this.at;
    this.room(24);
    this.buffer.writeInt32BE(items.length === 0 ? 0 : 1, this.at + 4); // dimensions
    this.buffer.writeInt32BE(0, this.at + 8); // no nulls
    this.buffer.writeInt32BE(TEXT_OID, this.at + 12);
    this.at += 16;
    if (items.length > 0) {
      this.buffer.writeInt32BE(items.length, this.at);
      this.buffer.writeInt32BE(1, this.at + 4); // lower bound
      this.at += 8;
    }
    for (const item of items) this.text(item);
    this.buffer.writeInt32BE(this.at - lengthAt - 4, lengthAt);
  }

  int8(value: number): void {
    this.room(12);
    this.buffer.writeInt32BE(8, this.at);
    this.buffer.writeBigInt64BE(BigInt(value), this.at + 4);
    this.at += 12;
  }

  finish(): Buffer {
    this.room(2);
    this.buffer.writeInt16BE(-1, this.at);
    return this.buffer.subarray(0, this.at + 2);
  }
}

// ---- Snapshot readers -------------------------------------------------------------------------

/**
 * `count` connections reading in one snapshot (the first exports it, the others import it), in
 * read-only REPEATABLE READ transactions without a statement timeout: a scan may outlast it.
 */
export async function openSnapshot(
  db: Db,
  count: number,
): Promise<{ readers: Tx[]; close(): Promise<void> }> {
  const readers: Tx[] = [];
  const close = async () => {
    for (const r of readers.splice(0)) {
      const ended = await r.query("rollback").then(
        () => true,
        () => false,
      );
      r.release(!ended);
    }
  };
  try {
    let snapshot: string | undefined;
    for (let i = 0; i < count; i++) {
      const reader = await db.connect();
      readers.push(reader);
      await reader.query("begin isolation level repeatable read, read only");
      await reader.query(
        "set local statement_timeout = 0; set local jit = off; set local work_mem = '256MB'",
      );
      if (snapshot === undefined)
        snapshot = (await reader.query<{ s: string }>("select pg_export_snapshot() as s")).rows[0]!.s;
      else await reader.query(`set transaction snapshot ${reader.escapeLiteral(snapshot)}`);
    }
  } catch (error) {
    await close();
    throw error;
  }
  return { readers, close };
}

// ---- Profiles ---------------------------------------------------------------------------------

/**
 * A run of profiles in id order (an ordinal is a position in it), with what the recompute compares
 * against, the stored version and tiers, and the attributes when the model declares any.
 *
 * Each profile is also found by the bytes of its id, so an event names its profile without a string
 * being made: open addressing over a 32-bit FNV-1a hash, each slot holding the ordinal, the hash and
 * where the id's bytes are (a probe reads one cache line, the comparison one more). A hash join in
 * PostgreSQL does the same matching at twice the cost, on the cores the readers need.
 */
export class ProfileIndex {
  readonly ids: string[] = [];
  readonly versions: number[] = [];
  /** The stored tiers as JSON text ("{}" when none). */
  readonly tiers: string[] = [];
  /** The attributes as JSON text, when read. */
  readonly attributes: string[] = [];
  private keys: Buffer = Buffer.allocUnsafe(1 << 16);
  private keysUsed = 0;
  /** Four int32 per slot: ordinal (-1: empty), hash, start of the id's bytes in `keys`, their length. */
  private slots: Int32Array = new Int32Array(4 * 4_096).fill(-1);

  get size(): number {
    return this.ids.length;
  }

  private static hash(bytes: Buffer, start: number, end: number): number {
    let h = 0x811c9dc5;
    for (let i = start; i < end; i++) h = Math.imul(h ^ bytes[i]!, 0x01000193);
    return h;
  }

  add(bytes: Buffer, start: number, end: number): void {
    const ordinal = this.ids.length;
    const length = end - start;
    if (this.keysUsed + length > this.keys.length) {
      const grown = Buffer.allocUnsafe(Math.max(this.keys.length * 2, this.keysUsed + length));
      this.keys.copy(grown);
      this.keys = grown;
    }
    bytes.copy(this.keys, this.keysUsed, start, end);
    if (8 * (ordinal + 1) > this.slots.length) this.rehash(this.slots.length * 2);
    this.place(ordinal, ProfileIndex.hash(bytes, start, end), this.keysUsed, length);
    this.keysUsed += length;
    this.ids.push(bytes.toString("utf8", start, end));
  }

  private place(ordinal: number, hash: number, start: number, length: number): void {
    const mask = (this.slots.length >> 2) - 1;
    let slot = hash & mask;
    while (this.slots[slot << 2] !== -1) slot = (slot + 1) & mask;
    const at = slot << 2;
    this.slots[at] = ordinal;
    this.slots[at + 1] = hash;
    this.slots[at + 2] = start;
    this.slots[at + 3] = length;
  }

  private rehash(size: number): void {
    const old = this.slots;
    this.slots = new Int32Array(size).fill(-1);
    for (let at = 0; at < old.length; at += 4) {
      if (old[at] !== -1) this.place(old[at]!, old[at + 1]!, old[at + 2]!, old[at + 3]!);
    }
  }

  /** The profile whose id is these bytes, or -1. */
  find(bytes: Buffer, start: number, end: number): number {
    const length = end - start;
    const hash = ProfileIndex.hash(bytes, start, end);
    const slots = this.slots;
    const mask = (slots.length >> 2) - 1;
    for (let slot = hash & mask; ; slot = (slot + 1) & mask) {
      const at = slot << 2;
      const ordinal = slots[at]!;
      if (ordinal === -1) return -1;
      if (slots[at + 1] !== hash || slots[at + 3] !== length) continue;
      const from = slots[at + 2]!;
      let i = 0;
      while (i < length && this.keys[from + i] === bytes[start + i]) i++;
      if (i === length) return ordinal;
    }
  }
}

/**
 * Up to `limit` profiles after `after` (all from the start when null), in id order, with their stored
 * version (0: no state row) and tiers, and their attributes when asked.
 */
export async function readProfiles(
  client: Tx,
  workspaceId: string,
  range: { after: string | null; limit: number },
  withAttributes: boolean,
): Promise<ProfileIndex> {
  const index = new ProfileIndex();
  // A hash join whatever the statistics say: a nested loop over states the statistics have not seen
  // yet would scan them once per customer.
  await client.query("set local enable_nestloop = off");
  const text = `copy (
    select c.id, coalesce(s.version, 0)::int8, coalesce(s.tiers, '{}'::jsonb)${withAttributes ? ", c.attributes" : ""}
      from customers c
      left join profile_states s on s.workspace_id = c.workspace_id and s.customer_id = c.id
     where c.workspace_id = ${client.escapeLiteral(workspaceId)}
       ${range.after === null ? "" : `and c.id > ${client.escapeLiteral(range.after)}`}
     order by c.id limit ${Math.trunc(range.limit)}
  ) to stdout (format binary)`;
  await copyOut(client, text, (row, at) => {
    let length = row.readInt32BE(at);
    index.add(row, at + 4, at + 4 + length);
    at += 4 + length;
    index.versions.push(readInt8(row, at + 4));
    at += 12;
    length = row.readInt32BE(at);
    index.tiers.push(row.toString("utf8", at + 5, at + 4 + length));
    at += 4 + length;
    if (withAttributes) index.attributes.push(row.toString("utf8", at + 5, at + 4 + row.readInt32BE(at)));
  });
  return index;
}

/** A big-endian int8, exact up to 2^53. */
function readInt8(row: Buffer, at: number): number {
  return row.readInt32BE(at) * 4_294_967_296 + row.readUInt32BE(at + 4);
}

// ---- Events -----------------------------------------------------------------------------------

/**
 * What to read of each event: only the types that feed an aggregate, each from the first instant that
 * can count, and only the parameters an aggregate reads or filters on, each from the types that use
 * it. A "number" parameter is read only by number readers, which skip any other value: it is kept as
 * a float, NaN for "absent or not a number". A "value" parameter keeps its JSON scalar.
 */
export interface EventPlan {
  readonly types: readonly string[];
  /** Per type, the first instant (epoch ms) whose events can count; null: all. */
  readonly fromMs: readonly (number | null)[];
  readonly params: readonly {
    readonly name: string;
    readonly kind: "number" | "value";
    readonly types: readonly string[];
  }[];
}

/**
 * Events as fixed-width records in one Float64Array: [occurred_at in microseconds since 1970 (exact:
 * below 2^53), the type's index in plan.types, one field per plan parameter]. A "number" parameter's
 * field is its value (NaN: absent or not a number); a "value" parameter's is an index into `scalars`
 * (-1: absent). `group` then moves each profile's records together, so folding reads them in a row.
 */
export class EventTable {
  count = 0;
  readonly stride: number;
  records: Float64Array;
  /** Each record's profile ordinal, until grouped. */
  private profile: Int32Array;
  readonly scalars: ScalarValue[] = [];

  constructor(
    readonly plan: EventPlan,
    capacity = 1_024,
  ) {
    this.stride = 2 + plan.params.length;
    this.records = new Float64Array(Math.max(1, capacity) * this.stride);
    this.profile = new Int32Array(Math.max(1, capacity));
  }

  /** Room for one more record of this profile; answers where its fields start in `records`. */
  add(ordinal: number): number {
    const i = this.count++;
    if (i === this.profile.length) {
      const profile = new Int32Array(i * 2);
      profile.set(this.profile);
      this.profile = profile;
      const records = new Float64Array(i * 2 * this.stride);
      records.set(this.records);
      this.records = records;
    }
    this.profile[i] = ordinal;
    return i * this.stride;
  }

  /**
   * Moves the records so that profile `from + i`'s are records start[i] … start[i + 1], in the order
   * they were added (a counting sort); the table must hold only profiles from `from` to `to`.
   */
  group(from: number, to: number): Int32Array {
    const start = new Int32Array(to - from + 1);
    const { count, stride, profile, records } = this;
    for (let i = 0; i < count; i++) start[profile[i]! - from + 1]!++;
    for (let p = 0; p < to - from; p++) start[p + 1]! += start[p]!;
    const next = start.slice(0, to - from);
    const grouped = new Float64Array(count * stride);
    for (let i = 0; i < count; i++) {
      const at = next[profile[i]! - from]!++ * stride;
      for (let k = 0; k < stride; k++) grouped[at + k] = records[i * stride + k]!;
    }
    this.records = grouped;
    this.profile = new Int32Array(0);
    return start;
  }
}

const SLICES_PER_READER = 8;

/** Microseconds from 1970 to 2000, PostgreSQL's epoch. */
const PG_EPOCH_MICROS = 946_684_800_000_000;

/**
 * The SQL that reads the plan's events of the customers from `first` to `last` (all the workspace's
 * when null), in the format `decodeEvent` reads.
 */
function eventsQuery(
  client: Tx,
  workspaceId: string,
  plan: EventPlan,
  bounds: { first: string; last: string } | null,
  more: { pages?: readonly (readonly [number, number | null])[]; orderBy?: string },
): string {
  const literal = (text: string) => client.escapeLiteral(text);
  const list = (items: readonly string[]) => items.map(literal).join(", ");
  const typeCode = `(case e.type ${plan.types.map((t, i) => `when ${literal(t)} then ${i}`).join(" ")} end)::int2`;
  const params = plan.params.map((p) => {
    const value = `e.params -> ${literal(p.name)}`;
    return p.types.length === plan.types.length
      ? value
      : `case when e.type in (${list(p.types)}) then ${value} end`;
  });
  // A millisecond early: loadEvents rounds occurred_at to the millisecond.
  const since = plan.types.flatMap((t, i) => {
    const from = plan.fromMs[i];
    return from === null || from === undefined
      ? []
      : [
          `when ${literal(t)} then e.occurred_at >= ${literal(new Date(from - 1).toISOString())}::timestamptz`,
        ];
  });
  // Page ranges (TID range scans, one after the other) when the table is shared between readers.
  const source =
    more.pages === undefined
      ? "events"
      : `(${more.pages
          .map(
            ([from, to]) =>
              `select * from events where ctid >= '(${from},0)'::tid${to === null ? "" : ` and ctid < '(${to},0)'::tid`}`,
          )
          .join(" union all ")})`;
  return `copy (
    select e.customer_id, ${typeCode}, e.occurred_at${params.map((p) => `, ${p}`).join("")}
      from ${source} e
     where e.workspace_id = ${literal(workspaceId)} and e.type in (${list(plan.types)})
       ${since.length === 0 ? "" : `and case e.type ${since.join(" ")} else true end`}
       ${bounds === null ? "" : `and e.customer_id >= ${literal(bounds.first)} and e.customer_id <= ${literal(bounds.last)}`}
     ${more.orderBy ?? ""}
  ) to stdout (format binary)`;
}

/** Decodes one row of eventsQuery into the table (an event of another customer is skipped). */
function decodeEvent(row: Buffer, at: number, profiles: ProfileIndex, table: EventTable): void {
  const length = row.readInt32BE(at);
  const ordinal = profiles.find(row, at + 4, at + 4 + length);
  if (ordinal < 0) return;
  at += 4 + length;
  const base = table.add(ordinal);
  const records = table.records;
  records[base + 1] = row.readInt16BE(at + 4);
  records[base] = readInt8(row, at + 10) + PG_EPOCH_MICROS;
  at += 18;
  const { params } = table.plan;
  for (let k = 0; k < params.length; k++) {
    const length = row.readInt32BE(at);
    at += 4;
    if (params[k]!.kind === "number")
      records[base + 2 + k] = length < 0 ? NaN : jsonNumber(row, at + 1, at + length);
    else {
      const value = length < 0 ? null : (JSON.parse(row.toString("utf8", at + 1, at + length)) as unknown);
      const scalar = typeof value === "string" || typeof value === "number" || typeof value === "boolean";
      records[base + 2 + k] = scalar ? table.scalars.push(value) - 1 : -1;
    }
    if (length > 0) at += length;
  }
}

/** A JSON number's value (what JSON.parse gives), or NaN when the JSON text is anything else. */
function jsonNumber(row: Buffer, start: number, end: number): number {
  const first = row[start]!;
  if (first !== 0x2d && (first < 0x30 || first > 0x39)) return NaN;
  // An integer of up to 15 digits is exact as a double: no string needed.
  if (end - start <= 15) {
    let value = 0;
    let i = first === 0x2d ? start + 1 : start;
    for (; i < end; i++) {
      const digit = row[i]! - 0x30;
      if (digit < 0 || digit > 9) break;
      value = value * 10 + digit;
    }
    if (i === end && end > start + (first === 0x2d ? 1 : 0)) return first === 0x2d ? -value : value;
  }
  return Number(row.toString("latin1", start, end));
}

/**
 * Every planned event of the profiles (all the workspace's when `bounds` is null), read in heap
 * order: each reader scans its share of the table's pages (a TID range), so PostgreSQL works on as
 * many cores as there are readers.
 */
export async function scanEvents(
  readers: readonly Tx[],
  workspaceId: string,
  plan: EventPlan,
  profiles: ProfileIndex,
  bounds: { first: string; last: string } | null,
  table: EventTable,
): Promise<void> {
  // Each reader takes every n-th of SLICES_PER_READER × n page ranges: events of the same age sit
  // together in the heap, and the plan may skip old ones, so contiguous halves would not be even.
  let shares: (readonly (readonly [number, number | null])[] | undefined)[] = [undefined];
  if (readers.length > 1) {
    const { rows } = await readers[0]!.query<{ pages: number }>(
      `select (pg_relation_size('events') / current_setting('block_size')::int8)::int8 as pages`,
    );
    const slices = SLICES_PER_READER * readers.length;
    const per = Math.max(1, Math.ceil(rows[0]!.pages / slices));
    // The last slice is open-ended: pages added since the size was read hold no visible row anyway.
    const ranges = Array.from(
      { length: slices },
      (_, k) => [k * per, k === slices - 1 ? null : (k + 1) * per] as const,
    );
    shares = readers.map((_, i) => ranges.filter((_, k) => k % readers.length === i));
  }
  await Promise.all(
    readers.map(async (reader, i) => {
      const pages = shares[i];
      const text = eventsQuery(reader, workspaceId, plan, bounds, pages === undefined ? {} : { pages });
      await copyOut(reader, text, (row, at) => decodeEvent(row, at, profiles, table));
    }),
  );
}

/** The planned events of the profiles from `first` to `last`, through the index, in (customer, occurred_at, id) order. */
export async function readRangeEvents(
  reader: Tx,
  workspaceId: string,
  plan: EventPlan,
  profiles: ProfileIndex,
  bounds: { first: string; last: string },
): Promise<EventTable> {
  const table = new EventTable(plan, 16_384);
  const text = eventsQuery(reader, workspaceId, plan, bounds, {
    orderBy: "order by e.customer_id, e.occurred_at, e.id",
  });
  await copyOut(reader, text, (row, at) => decodeEvent(row, at, profiles, table));
  return table;
}

/**
 * The planner's estimates of the workspace's planned events and of the whole table's rows: whether
 * reading the whole table beats the index.
 */
export async function estimateEvents(
  q: Queryable,
  workspaceId: string,
  types: readonly string[],
): Promise<{ workspace: number; table: number }> {
  const rows = async (sql: string, values: unknown[]) => {
    const { rows } = await q.query<{ "QUERY PLAN": [{ Plan: { "Plan Rows": number } }] }>(
      `explain (format json) ${sql}`,
      values,
    );
    return rows[0]!["QUERY PLAN"][0].Plan["Plan Rows"];
  };
  return {
    workspace: await rows(`select 1 from events where workspace_id = $1 and type = any($2::text[])`, [
      workspaceId,
      types,
    ]),
    table: await rows(`select 1 from events`, []),
  };
}

// ---- Writes -----------------------------------------------------------------------------------

/**
 * A chunk of recomputed profiles and their tier moves, encoded for COPY as they are added: a chunk
 * waiting for its writer holds bytes, not a few megabytes of strings for the garbage collector to
 * move about.
 */
export class ChunkRows {
  readonly customerIds: string[] = [];
  private readonly profiles = new BinaryRows();
  private readonly moves = new BinaryRows();
  private movesCount = 0;

  /** A profile, written only if its state row is still at `version` (0: no row). */
  addProfile(
    customerId: string,
    version: number,
    state: string,
    tiers: string,
    segmentIds: readonly string[],
  ): void {
    this.customerIds.push(customerId);
    const rows = this.profiles;
    rows.row(5);
    rows.text(customerId);
    rows.int8(version);
    rows.text(state, true);
    rows.text(tiers, true);
    rows.textArray(segmentIds);
  }

  addMove(customerId: string, programId: string, fromTier: string | null, toTier: string | null): void {
    this.movesCount++;
    const rows = this.moves;
    rows.row(4);
    rows.text(customerId);
    rows.text(programId);
    rows.nullableText(fromTier);
    rows.nullableText(toTier);
  }

  get size(): number {
    return this.customerIds.length;
  }

  /** The encoded profiles, and the moves (null when none). */
  finish(): { profiles: Buffer; moves: Buffer | null } {
    return { profiles: this.profiles.finish(), moves: this.movesCount === 0 ? null : this.moves.finish() };
  }
}

/**
 * Readies a writer session: room for a chunk in temporary buffers (settable only before the session
 * first touches a temporary table), and the tables a chunk is copied into.
 */
export async function prepareWriter(client: Tx): Promise<void> {
  await client.query(`set temp_buffers = '64MB'`).catch(() => undefined);
  await client.query(
    `create temporary table if not exists till_recompute_states
       (customer_id text, version bigint, state jsonb, tiers jsonb, segment_ids text[]) on commit delete rows;
     create temporary table if not exists till_recompute_moves
       (customer_id text, program_id text, from_tier text, to_tier text) on commit delete rows`,
  );
}

/** Leaves the pooled session as it was found. */
export async function releaseWriter(client: Tx): Promise<void> {
  await client.query(`drop table if exists till_recompute_states, till_recompute_moves`);
}

/**
 * Writes a chunk in one transaction: the profiles without a state row are inserted (unless one
 * appeared meanwhile), the others replace the rows still at the version read; the moves of the
 * profiles written are recorded, and the job's progress. Answers the customers not written, because
 * another writer changed their state since it was read, and the moves recorded.
 */
export async function writeChunk(
  client: Tx,
  workspaceId: string,
  job: { id: string; eventsRead: number },
  chunk: ChunkRows,
  nowMs: number,
): Promise<{ conflicts: string[]; moves: number }> {
  const { profiles, moves } = chunk.finish();
  // Row by row through the primary key and the ctid (see WRITE_STATES), never by hashing the states.
  await client.query(
    "begin; set local jit = off; set local enable_hashjoin = off; set local enable_mergejoin = off",
  );
  try {
    await copyIn(client, "copy till_recompute_states from stdin (format binary)", profiles);
    const { rows } = await client.query<{ written: number; ids: string[] | null }>(WRITE_STATES, [
      workspaceId,
      new Date(nowMs),
      chunk.size,
    ]);
    const { written, ids } = rows[0]!;
    const writtenIds = ids === null ? null : new Set(ids);
    const conflicts = writtenIds === null ? [] : chunk.customerIds.filter((id) => !writtenIds.has(id));
    let recorded = 0;
    if (moves !== null) {
      await copyIn(client, "copy till_recompute_moves from stdin (format binary)", moves);
      const result = await client.query(
        `insert into tier_moves (workspace_id, customer_id, program_id, from_tier, to_tier, moved_at, cause)
         select $1, customer_id, program_id, from_tier, to_tier, $2, 'recompute' from till_recompute_moves
          where customer_id <> all($3::text[])`,
        [workspaceId, new Date(nowMs), conflicts],
      );
      recorded = result.rowCount ?? 0;
    }
    await addProgress(client, workspaceId, job.id, {
      profiles: written,
      events: job.eventsRead,
      moves: recorded,
    });
    await client.query("commit");
    return { conflicts, moves: recorded };
  } catch (error) {
    await client.query("rollback").catch(() => undefined);
    throw error;
  }
}

/**
 * Writes the copied states; answers how many, and which when not all of them. The rows to replace are
 * found one by one through the primary key (a lateral subquery the planner cannot turn around) and
 * updated by their ctid: the statistics of profile_states lag behind a recompute that is filling it,
 * and a plan that trusted them would scan the workspace's states for every copied row. A row another
 * writer updated meanwhile has another ctid, so it is left alone.
 */
const WRITE_STATES = `
  with fresh as (
    insert into profile_states as s (workspace_id, customer_id, state, tiers, segment_ids, version, evaluated_at)
    select $1, t.customer_id, t.state, t.tiers, t.segment_ids, 1, $2 from till_recompute_states t where t.version = 0
    on conflict do nothing
    returning s.customer_id
  ), current as (
    select t.customer_id, t.version, t.state, t.tiers, t.segment_ids, p.at
      from till_recompute_states t
      cross join lateral (
        select ctid as at from profile_states
         where workspace_id = $1 and customer_id = t.customer_id and version = t.version offset 0
      ) p
     where t.version > 0
  ), stored as (
    update profile_states s
       set state = c.state, tiers = c.tiers, segment_ids = c.segment_ids, version = s.version + 1, evaluated_at = $2
      from current c where s.ctid = c.at and s.version = c.version
    returning s.customer_id
  ), written as (
    select customer_id from fresh union all select customer_id from stored
  )
  select count(*)::int as written, case when count(*) < $3 then array_agg(customer_id) end as ids from written`;
