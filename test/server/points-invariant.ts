// The points ledger invariant (docs/server.md "Points"), read from the tables, for tests of other
// features that move points: each lot's remaining is the sum of its ledger entries, and the API's
// balance at the clock is sum(ledger) − the remaining of lots expired by then (not yet written off),
// never negative. Every test that moves points checks it.
import { expect } from "vitest";
import type { TestServer } from "./harness.js";

/** Asserts the invariant for one customer of the server's first workspace; answers the balance. */
export async function expectPointsInvariant(server: TestServer, customerId: string): Promise<number> {
  const { rows } = await server.db.query<{ ledger: number; unwritten: number; badLots: number }>(
    `select
       (select coalesce(sum(amount), 0)::bigint from points_ledger where workspace_id = $1 and customer_id = $2) as ledger,
       (select coalesce(sum(remaining), 0)::bigint from points_lots
         where workspace_id = $1 and customer_id = $2 and expires_at <= $3) as unwritten,
       (select count(*)::int from points_lots l
         where l.workspace_id = $1 and l.customer_id = $2
           and l.remaining <> (select coalesce(sum(e.amount), 0) from points_ledger e
                                where e.workspace_id = l.workspace_id and e.customer_id = l.customer_id
                                  and e.lot_id = l.id)) as "badLots"`,
    [server.workspaceId, customerId, new Date(server.clock.now)],
  );
  const { ledger, unwritten, badLots } = rows[0]!;
  const reply = await server.request<{ balance: number }>("GET", `/v1/customers/${customerId}/points`);
  expect(reply.status, JSON.stringify(reply.body)).toBe(200);
  const { balance } = reply.body;
  expect(badLots).toBe(0);
  expect(Number(balance)).toBe(Number(ledger) - Number(unwritten));
  expect(balance).toBeGreaterThanOrEqual(0);
  return balance;
}
