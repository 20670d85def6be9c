// The connection pool and the one way to run a transaction. Everything that talks SQL lives in
// src/store; services call these functions and never build SQL themselves.
import pg from "pg";

export type Db = pg.Pool;
export type Tx = pg.PoolClient;
/** A pool or a client inside a transaction: read functions accept either. */
export type Queryable = pg.Pool | pg.PoolClient;

// bigint columns hold money and counters far below 2^53: read them as numbers, not strings.
pg.types.setTypeParser(pg.types.builtins.INT8, (text) => Number(text));

export interface PoolOptions {
  readonly url: string;
  readonly max?: number;
}

export function createPool(options: PoolOptions): Db {
  const pool = new pg.Pool({
    connectionString: options.url,
    max: options.max ?? 20,
    // A query that waits this long on a lock is a bug or an overload: fail rather than pile up.
    statement_timeout: 30_000,
    idleTimeoutMillis: 30_000,
  });
  // An idle client that loses its connection emits here; without a listener Node would crash.
  pool.on("error", () => undefined);
  return pool;
}

/** PostgreSQL error codes worth a retry of the whole transaction. */
const RETRYABLE = new Set(["40001", "40P01"]); // serialization_failure, deadlock_detected
const ATTEMPTS_MAX = 5;

export function isUniqueViolation(error: unknown, constraint?: string): boolean {
  const e = error as { code?: string; constraint?: string };
  return e.code === "23505" && (constraint === undefined || e.constraint === constraint);
}

/**
 * Runs `work` in one READ COMMITTED transaction, retried from the start on a deadlock or a
 * serialization failure (so `work` must not have side effects outside the database).
 */
export async function transaction<T>(db: Db, work: (tx: Tx) => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    const client = await db.connect();
    pipeline(client, true);
    try {
      // Pipelined: BEGIN goes out with the work's first statement, one round trip for both. Its
      // outcome is kept as a value: if the connection dies, the work fails first and BEGIN's error
      // must not be left unhandled.
      const begun = client.query("begin").then(
        () => null,
        (error: unknown) => error,
      );
      const result = await work(client);
      const beginFailed = await begun;
      if (beginFailed !== null) throw beginFailed;
      const committed = commitsSent.get(client);
      if (committed === undefined) await client.query("commit");
      else {
        const commitFailed = await committed;
        if (commitFailed !== null) throw commitFailed;
      }
      return result;
    } catch (error) {
      // Behind a COMMIT already sent this answers a warning, nothing more.
      await client.query("rollback").catch(() => undefined);
      const code = (error as { code?: string }).code;
      if (attempt >= ATTEMPTS_MAX || code === undefined || !RETRYABLE.has(code)) throw error;
      await new Promise((resolve) => setTimeout(resolve, Math.random() * 10 * attempt));
    } finally {
      commitsSent.delete(client);
      pipeline(client, false);
      client.release();
    }
  }
}

/**
 * SQLSTATE of till_moved (migration 0013): something the transaction read (a limit's capacity, a
 * loyalty state) was changed by another since, so its last statement failed and COMMIT rolled back.
 */
const MOVED = "TL001";

export function isMoved(error: unknown): boolean {
  return (error as { code?: string }).code === MOVED;
}

/** The COMMIT a transaction's work sent itself (queryAndCommit), as its outcome: null when committed. */
const commitsSent = new WeakMap<Tx, Promise<unknown>>();

/**
 * A transaction's last statement with COMMIT sent right behind it, in the same round trip, so that
 * the locks the statement takes are released as soon as it is done. If the statement fails,
 * PostgreSQL answers the COMMIT with a rollback, and the statement's error is thrown. Inside
 * `transaction` only, and last: a statement sent after it would run outside the transaction, and so
 * would code that throws after it (the work must not fail once this returned; checks belong in the
 * statement).
 */
export async function queryAndCommit<R extends pg.QueryResultRow>(
  tx: Tx,
  query: pg.QueryConfig,
): Promise<pg.QueryResult<R>> {
  const result = tx.query<R>(query);
  commitsSent.set(
    tx,
    tx.query("commit").then(
      (reply) => (reply.command === "COMMIT" ? null : new Error(`COMMIT answered ${reply.command}`)),
      (error: unknown) => error,
    ),
  );
  return result;
}

/**
 * node-postgres' pipeline mode (pg ≥ 8.23: a statement is sent without waiting for the answer to the
 * one before; each still gets its own answer or error, in order). On for transactions only, where
 * every statement is awaited in turn except what is deliberately sent ahead (BEGIN; COMMIT behind a
 * last statement, queryAndCommit); off again before the client goes back to the pool, since COPY
 * (store/loyalty-recompute.ts) cannot run pipelined. Only switched while the client has nothing in
 * flight. Without pipeline mode the same code stays correct: the statements queue and run in the
 * same order, each waiting for the one before.
 *
 * Why: this machine runs in a VM where a round trip costs both processes a context switch each way,
 * and that, not computing, was most of a sale's cost (see docs/server.md "Performance").
 */
function pipeline(client: Tx, on: boolean): void {
  (client as Tx & { pipeline: boolean }).pipeline = on;
}
