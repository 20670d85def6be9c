// store/db.ts: transactions run pipelined (BEGIN goes out with the first statement), and a work may
// send COMMIT right behind its last statement (queryAndCommit); a failing last statement rolls the
// whole transaction back, and till_moved (migration 0013) is told apart by isMoved.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isMoved, queryAndCommit, transaction } from "../../src/store/db.js";
import { startServer, type TestServer } from "./harness.js";

let server: TestServer;

beforeAll(async () => {
  server = await startServer();
  await server.db.query("create table probe (note text primary key)");
});
afterAll(async () => server?.close());

async function notes(): Promise<string[]> {
  const { rows } = await server.db.query<{ note: string }>("select note from probe order by note");
  return rows.map((r) => r.note);
}

describe("transaction and queryAndCommit", () => {
  it("commits the statements before a last statement sent with its COMMIT", async () => {
    const answer = await transaction(server.db, async (tx) => {
      await tx.query("insert into probe values ('first')");
      const { rows } = await queryAndCommit<{ note: string }>(tx, {
        text: "insert into probe values ($1) returning note",
        values: ["last"],
      });
      return rows[0]!.note;
    });
    expect(answer).toBe("last");
    expect(await notes()).toEqual(["first", "last"]);
  });

  it("rolls everything back when the last statement fails with till_moved, and says so", async () => {
    const failure = await transaction(server.db, async (tx) => {
      await tx.query("insert into probe values ('kept only if committed')");
      await queryAndCommit(tx, { text: "select till_moved('the probe')" });
    }).catch((error: unknown) => error);
    expect(isMoved(failure)).toBe(true);
    expect((failure as Error).message).toBe("the probe moved since it was read");
    expect(await notes()).toEqual(["first", "last"]);
  });

  it("rolls back when the work throws after its first statement, and the pool stays usable", async () => {
    const failure = await transaction(server.db, async (tx) => {
      await tx.query("insert into probe values ('thrown')");
      throw new Error("work failed");
    }).catch((error: unknown) => error);
    expect((failure as Error).message).toBe("work failed");
    // Every client of the pool (20) comes back out of pipeline mode and outside a transaction.
    const counts = await Promise.all(
      Array.from({ length: 40 }, () =>
        transaction(
          server.db,
          async (tx) => (await tx.query("select count(*)::int as n from probe")).rows[0]!.n,
        ),
      ),
    );
    expect(new Set(counts)).toEqual(new Set([2]));
    expect((await server.db.query("select 1 as one")).rows).toEqual([{ one: 1 }]);
  });
});
